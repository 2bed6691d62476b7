/**
 * `bastion exec -- <command>`: decide `shell.execute` for the command, then run it in the
 * bubblewrap sandbox (read-only root, writable working directory, private /tmp, no network
 * unless granted), with a time limit and an output cap; its output is printed redacted and the
 * outcome is audited. Exit status: the command's when it ran (124 on timeout, 128+N when
 * killed by signal N); 126 when Bastion refused it, with the reason on stderr.
 */

import { constants } from 'node:os';
import { resolve } from 'node:path';
import { runCommand } from '../../exec/index.js';
import { AGENT_OPTIONS, buildAgentApp } from '../agent-app.js';
import { badInput, errorLine, parseOptions, type CliIo, type Command } from '../command.js';

/** What `bastion exec` exits with when it did not run the command (as a shell does for "cannot execute"). */
export const EXIT_REFUSED = 126;
/** A command stopped at its time limit (as `timeout(1)` exits). */
export const EXIT_TIMEOUT = 124;

const HELP = `Usage: bastion exec [--config FILE] [--policy PATH]… [--data-dir DIR] [--principal ID] [--groups G1,G2]
                    [--cwd DIR] [--timeout SECONDS] [--max-output BYTES] [--wait SECONDS] [--no-sandbox] -- <command>

Decides the command as action shell.execute (args {command, cwd}) and runs it only when allowed,
in a bubblewrap sandbox: the root read-only, the working directory writable, a private /tmp,
no network (unless the allowing rule carries the obligation {type: sandbox, network: true}),
killed with Bastion, at the time limit, or when its output passes the cap. Output is printed
with secrets redacted; the outcome (exit code, duration, output digest) is audited.

On require_approval it prints the approval id on stderr, waits for the decision (--wait), then
runs the command or refuses it.

Options:
  --config FILE       bastion.yaml (policies, dataDir, exec: {sandbox, timeoutSeconds, maxOutputBytes, approvalWaitSeconds})
  --policy PATH       policy file or directory (repeatable; replaces the config's list)
  --data-dir DIR      state and audit log in DIR/bastion.db (approvals need it)
  --principal ID      who runs the command (default: the USER environment variable, else exec)
  --groups G1,G2      the principal's groups
  --cwd DIR           working directory, the one writable place (default: the current directory)
  --timeout SECONDS   time limit (default 300)
  --max-output BYTES  cap per stream (default 1048576)
  --wait SECONDS      how long to wait for an approval (default 900)
  --no-sandbox        run without the sandbox (announced on every run and audited; a policy's
                      sandbox obligation still applies)
  --no-baseline       switch off the built-in baseline policy

Exit codes: the command's own when it ran; 124 timed out; 126 refused by Bastion (reason on
stderr); 2 bad options.

Example:
  bastion exec --policy examples/native --groups sre --data-dir .bastion -- df -h
`;

function positive(raw: string | undefined, option: string, fallback: number, max: number): number | string {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw) || n < 1 || n > max) return `option \`${option}\` must be a whole number from 1 to ${max}, got \`${raw}\``;
  return n;
}

/** The command line after `--`: one argument is a shell command; several are quoted into one. */
function commandLine(words: string[]): string {
  if (words.length === 1) return words[0] as string;
  return words.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export const execCommand: Command = {
  name: 'exec',
  summary: 'decide a shell command, then run it in the sandbox (126 when refused)',
  help: HELP,
  async run(args: string[], io: CliIo): Promise<number> {
    const parsed = parseOptions(io, 'exec', args, {
      help: HELP,
      positionals: true,
      options: {
        ...AGENT_OPTIONS,
        cwd: { type: 'string' },
        timeout: { type: 'string' },
        'max-output': { type: 'string' },
        wait: { type: 'string' },
        'no-sandbox': { type: 'boolean', default: false },
      },
    });
    if (!parsed.ok) return parsed.exit;
    const dash = args.indexOf('--');
    if (dash < 0 || parsed.positionals.length === 0) return badInput(io, 'exec', 'missing the command: bastion exec [options] -- <command>');
    if (parsed.positionals.length !== args.length - dash - 1) return badInput(io, 'exec', 'put the command after `--`: bastion exec [options] -- <command>');
    const command = commandLine(args.slice(dash + 1));
    const values = parsed.values;
    const built = await buildAgentApp(io, values, 'exec', io.env['USER'] || 'exec');
    if (!built.ok) return badInput(io, 'exec', errorLine(built.errors));
    const { app, config, principal } = built.value;
    try {
      const settings = config.exec;
      const timeout = positive(values.timeout, '--timeout', settings.timeoutSeconds, 86_400);
      const maxOutput = positive(values['max-output'], '--max-output', settings.maxOutputBytes, 1_073_741_824);
      const wait = positive(values.wait, '--wait', settings.approvalWaitSeconds, 86_400);
      for (const v of [timeout, maxOutput, wait]) if (typeof v === 'string') return badInput(io, 'exec', v);
      const sandbox = values['no-sandbox'] === true ? false : settings.sandbox;
      const outcome = await runCommand(command, {
        gateway: app.gateway,
        principal,
        cwd: resolve(io.cwd, values.cwd ?? '.'),
        sandbox,
        timeoutSeconds: timeout as number,
        maxOutputBytes: maxOutput as number,
        onWarning: (line) => io.stderr.write(line + '\n'),
        ...(built.value.persistent
          ? {
              approval: {
                waitSeconds: wait as number,
                onPending: (a) => io.stderr.write(`bastion exec: approval required: waiting up to ${wait} s for approval ${a.id} (bastion approvals approve ${a.id})\n`),
              },
            }
          : {}),
      });
      if (!outcome.ran) {
        io.stderr.write(`bastion exec: refused: ${outcome.reason.replace(/[\r\n]+/g, ' ')}\n`);
        return EXIT_REFUSED;
      }
      io.stdout.write(outcome.stdout);
      io.stderr.write(outcome.stderr);
      if (outcome.redactions.length > 0) io.stderr.write(`bastion exec: redacted from the output: ${outcome.redactions.join(', ')}\n`);
      if (outcome.truncated) io.stderr.write(`bastion exec: the output passed ${maxOutput} bytes: the command was stopped and its output truncated\n`);
      if (outcome.timedOut) {
        io.stderr.write(`bastion exec: the command did not finish within ${timeout} s and was killed\n`);
        return EXIT_TIMEOUT;
      }
      if (outcome.exitCode !== null) return outcome.exitCode;
      const signal = outcome.signal !== null ? (constants.signals as Record<string, number>)[outcome.signal] : undefined;
      return 128 + (signal ?? 9);
    } finally {
      await app.stop('exec finished');
    }
  },
};
