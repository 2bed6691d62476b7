/**
 * `bastion check`: decide one action request offline against policy files, as the service
 * would, and print the decision. With `--data-dir` the decision is recorded in the audit log.
 */

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { validateRequest } from '../../core/request.js';
import { parseRequestJson } from '../../core/request-json.js';
import { createGateway } from '../../gateway/index.js';
import { BastionException, quote } from '../../core/errors.js';
import { parseKillSwitchChange, type KillSwitchState } from '../../killswitch/index.js';
import { badInput, parseOptions, readAllBytes, type CliIo, type Command, EXIT } from '../command.js';
import { formatDecision } from '../format.js';

/** How strict each decision is, for `--fail-on`: failing on one fails on everything stricter. */
const STRICTNESS: Readonly<Record<string, number>> = { allow: 0, require_approval: 1, deny: 2 };

const HELP = `Usage: bastion check --policy <file|dir> [--policy …] --input <file|-> [--json] [--fail-on deny|require_approval] [--data-dir DIR] [--no-baseline] [--kill-switch JSON]

Decides one action request (JSON: {principal, action, resource?, environment?, args?, context?, risk?})
with the same engine as the service: analyzers, scanners, policies, baseline.

Options:
  --policy PATH     a policy file or directory (repeatable; every format is detected by shape)
  --input FILE      the request as JSON; \`-\` reads standard input
  --json            print the decision object as JSON
  --data-dir DIR    record the decision in DIR/bastion.db, like the service does
  --no-baseline     switch off the built-in baseline policy (bastion/baseline)
  --kill-switch JSON  decide under this kill-switch state, e.g. '{"read_only_mode":true}' (the keys
                    of PUT /v1/kill-switch; applied over a policy file's kill_switch block)
  --fail-on EFFECT  exit 1 when the decision is EFFECT or stricter (deny is stricter than
                    require_approval): a CI gate. The decision is printed either way

Exit codes: 0 a decision was made (whatever it is, unless --fail-on), 1 the decision hit
--fail-on, 2 bad input (one line on stderr).

Examples:
  echo '{"principal":{"id":"ops-agent","groups":[]},"action":"shell.execute","args":{"command":"rm -r -f /var/log"}}' \\
    | bastion check --policy examples/capfence --input - --json
  bastion check --policy policies/ --input planned-call.json --fail-on require_approval
`;

export const checkCommand: Command = {
  name: 'check',
  summary: 'decide one action request against policies and print the decision',
  help: HELP,
  async run(args: string[], io: CliIo): Promise<number> {
    const options = parseOptions(io, 'check', args, {
      help: HELP,
      options: {
        policy: { type: 'string', multiple: true },
        input: { type: 'string' },
        json: { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
        'no-baseline': { type: 'boolean', default: false },
        'kill-switch': { type: 'string' },
        'fail-on': { type: 'string' },
      },
    });
    if (!options.ok) return options.exit;
    const opts = options.values;
    const failOn = opts['fail-on'];
    if (failOn !== undefined && (failOn === 'allow' || !Object.hasOwn(STRICTNESS, failOn))) {
      return badInput(io, 'check', `option \`--fail-on\`: expected deny or require_approval, got ${quote(failOn)}`);
    }
    if (!opts.policy || opts.policy.length === 0) return badInput(io, 'check', 'missing --policy <file|dir>');
    if (opts.input === undefined) return badInput(io, 'check', 'missing --input <file|-> (the action request as JSON)');
    let bytes: Buffer;
    try {
      bytes = opts.input === '-' ? await readAllBytes(io.stdin) : readFileSync(resolve(io.cwd, opts.input));
    } catch (err) {
      return badInput(io, 'check', `cannot read \`${opts.input}\`: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    // Strict JSON: invalid UTF-8 and duplicate keys are errors, as in the HTTP service.
    const parsed = parseRequestJson(bytes, 'input');
    if (!parsed.ok) return badInput(io, 'check', oneLine(parsed.errors.map((e) => e.message)));
    const valid = validateRequest(parsed.value, 'input');
    if (!valid.ok) return badInput(io, 'check', oneLine(valid.errors.map((e) => e.message)));
    let killSwitch: Partial<KillSwitchState> | undefined;
    if (opts['kill-switch'] !== undefined) {
      const raw = parseRequestJson(Buffer.from(opts['kill-switch']), '--kill-switch');
      if (!raw.ok) return badInput(io, 'check', oneLine(raw.errors.map((e) => e.message)));
      const change = parseKillSwitchChange(raw.value, '--kill-switch');
      if (!change.ok) return badInput(io, 'check', oneLine(change.errors.map((e) => e.message)));
      killSwitch = change.value;
    }
    let gateway;
    try {
      gateway = await createGateway({
        ...(killSwitch !== undefined ? { killSwitch } : {}),
        policies: opts.policy,
        cwd: io.cwd,
        surface: 'cli',
        // A dry evaluation: it prints the decision and opens no approval.
        approvals: { enabled: false },
        ...(opts['no-baseline'] ? { baseline: { enabled: false } } : {}),
        ...(opts['data-dir'] !== undefined ? { dataDir: resolve(io.cwd, opts['data-dir']) } : {}),
      });
    } catch (err) {
      if (err instanceof BastionException) return badInput(io, 'check', oneLine(err.details.map((e) => e.message)));
      throw err;
    }
    try {
      const decision = await gateway.decide(valid.value);
      io.stdout.write(opts.json ? JSON.stringify(decision, null, 2) + '\n' : formatDecision(decision));
      if (failOn !== undefined && (STRICTNESS[decision.decision] ?? STRICTNESS['deny'] ?? 2) >= (STRICTNESS[failOn] ?? 0)) {
        io.stderr.write(`bastion check: the decision is ${decision.decision} (--fail-on ${failOn}): ${decision.reason}\n`);
        return EXIT.FAILED;
      }
      return EXIT.OK;
    } finally {
      await gateway.close();
    }
  },
};

/** The contract asks for one line on stderr: the first error, and how many more there are. */
export function oneLine(messages: string[]): string {
  const first = messages[0] ?? 'unknown error';
  return messages.length > 1 ? `${first} (and ${messages.length - 1} more)` : first;
}
