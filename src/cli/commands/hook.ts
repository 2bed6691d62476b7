/**
 * `bastion hook claude-code`: a Claude Code `command` hook. Reads the PreToolUse or
 * PostToolUse JSON on stdin and writes Claude Code's answer on stdout (exit 0). It fails
 * closed: bad options, a policy that does not load, malformed input, an unknown event, a
 * timeout or an internal error all answer deny with exit 2 and the reason on stderr, which
 * Claude Code treats as a block (any other exit code would let the call through).
 */

import { homedir } from 'node:os';
import { parseRequestJson } from '../../core/request-json.js';
import { claudeCodeHook, hookRefusal, type ApprovalMode, type HookAnswer } from '../../hooks/index.js';
import { AGENT_OPTIONS, buildAgentApp, type AgentApp } from '../agent-app.js';
import { commandGroup, errorLine, parseOptions, readAllBytes, type CliIo, type Subcommand } from '../command.js';

/** Tool results can be large (a whole file read); more than this is refused, not truncated. */
const MAX_INPUT_BYTES = 64 * 1024 * 1024;

const CLAUDE_HELP = `Usage: bastion hook claude-code [--config FILE] [--policy PATH]… [--principal ID] [--groups G1,G2] [--data-dir DIR]
                               [--on-approval ask|wait] [--wait SECONDS] [--timeout SECONDS] [--no-baseline]

A Claude Code hook (type "command") for PreToolUse and PostToolUse. Reads the hook's JSON on
stdin, decides the tool call with the policies, and prints Claude Code's answer on stdout:
{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"allow|deny|ask",…}}.

The action is the tool name (Bash, Write, Edit, MultiEdit, NotebookEdit, Read, WebFetch,
WebSearch, mcp__<server>__<tool>), args its tool_input, the trace id the session id. Bash's
command is shell-analyzed; the file tools' file_path path-analyzed against the project (cwd).
PostToolUse scans tool_response: secrets are reported (and redacted for MCP tools), prompt
injection blocks and marks the session, so later calls in it see analysis.untrustedContent.

Options:
  --config FILE        bastion.yaml (policies, dataDir, baseline, approvals, hooks.claudeCode)
  --policy PATH        policy file or directory (repeatable; replaces the config's list)
  --principal ID       who the agent acts for (default: claude-code)
  --groups G1,G2       the principal's groups
  --data-dir DIR       state and audit log in DIR/bastion.db (needed for taint across calls
                       and for --on-approval wait); without it and --config, state is in memory
  --on-approval MODE   require_approval becomes: ask (default: Claude Code asks you) or
                       wait (wait for the Bastion approval, then allow or deny)
  --wait SECONDS       how long wait mode waits for the approval (default 120)
  --timeout SECONDS    deadline of the decision; later is deny (default 30)
  --no-baseline        switch off the built-in baseline policy

Exit codes: 0 an answer is on stdout (allow, deny, ask or a PostToolUse report); 2 the call is
refused because Bastion could not decide (reason on stderr).

settings.json:
  {"hooks":{"PreToolUse":[{"matcher":"*","hooks":[{"type":"command","command":"bastion hook claude-code --policy ~/bastion/examples/claude-code/policy.yaml --data-dir ~/.bastion","timeout":60,"onFailure":"block"}]}]}}
  (and the same under "PostToolUse"; see the README, "Claude Code")
`;

const HOOK_HELP = `Usage: bastion hook <agent> [options]

Agent CLI hooks decided by Bastion's policies.

Subcommands:
  claude-code   Claude Code PreToolUse / PostToolUse hook (stdin JSON, stdout answer)

Run \`bastion hook claude-code --help\` for its options.
`;

function parsePositiveSeconds(raw: string | undefined, option: string, fallback: number): number | string {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(raw) || !(n > 0) || n > 86_400) return `option \`${option}\` must be a number of seconds above 0, got \`${raw}\``;
  return n;
}

function write(io: CliIo, answer: HookAnswer): number {
  io.stdout.write(JSON.stringify(answer.output) + '\n');
  if (answer.stderr !== undefined) io.stderr.write(answer.stderr + '\n');
  return answer.exit;
}

/** The event named in the input, for a refusal's shape when the input cannot be used otherwise. */
function eventOf(value: unknown): string {
  if (typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)['hook_event_name'] === 'string') return (value as Record<string, string>)['hook_event_name'] as string;
  return 'PreToolUse';
}

const claudeCode: Subcommand = {
  name: 'claude-code',
  summary: 'Claude Code PreToolUse / PostToolUse hook',
  help: CLAUDE_HELP,
  async run(args, io) {
    // INVARIANT: every way out is an answer on stdout with exit 0, or a refusal with exit 2;
    // an exception reaching the dispatcher would exit 70, which Claude Code lets through.
    let built: AgentApp | undefined;
    try {
      const parsed = parseOptions(io, 'hook claude-code', args, {
        help: CLAUDE_HELP,
        options: { ...AGENT_OPTIONS, 'on-approval': { type: 'string' }, wait: { type: 'string' }, timeout: { type: 'string' } },
      });
      // Help is exit 0; a refused option is exit 2 with its one line on stderr: a block.
      if (!parsed.ok) return parsed.exit;
      const values = parsed.values;
      const mode = values['on-approval'];
      if (mode !== undefined && mode !== 'ask' && mode !== 'wait') return write(io, hookRefusal(`option \`--on-approval\` must be ask or wait, got \`${mode}\``));
      const bytes = await readAllBytes(io.stdin);
      if (bytes.length > MAX_INPUT_BYTES) return write(io, hookRefusal(`the hook input is larger than ${MAX_INPUT_BYTES} bytes`));
      const input = parseRequestJson(bytes, 'hook input');
      if (!input.ok) return write(io, hookRefusal(`invalid hook input: ${errorLine(input.errors)}`));
      const event = eventOf(input.value);
      const opened = await buildAgentApp(io, values, 'claude-code-hook', 'claude-code');
      if (!opened.ok) return write(io, hookRefusal(`cannot load the configuration: ${errorLine(opened.errors)}`, event));
      built = opened.value;
      const settings = built.config.hooks.claudeCode;
      const onApproval: ApprovalMode = (mode as ApprovalMode | undefined) ?? settings.onApproval;
      const waitSeconds = parsePositiveSeconds(values.wait, '--wait', settings.waitSeconds);
      const timeoutSeconds = parsePositiveSeconds(values.timeout, '--timeout', settings.timeoutSeconds);
      if (typeof waitSeconds === 'string') return write(io, hookRefusal(waitSeconds, event));
      if (typeof timeoutSeconds === 'string') return write(io, hookRefusal(timeoutSeconds, event));
      if (onApproval === 'wait' && !built.persistent) {
        return write(io, hookRefusal('--on-approval wait needs a data directory (--data-dir or --config) where approvers can decide', event));
      }
      const home = io.env['HOME'] ?? homedir();
      const answer = await claudeCodeHook(built.app.gateway, input.value, {
        principal: built.principal,
        onApproval,
        waitSeconds,
        timeoutSeconds,
        ...(home.startsWith('/') ? { home } : {}),
        onPending: (approval) => io.stderr.write(`bastion: waiting up to ${waitSeconds} s for approval ${approval.id} (bastion approvals approve ${approval.id})\n`),
      });
      return write(io, answer);
    } catch (err) {
      return write(io, hookRefusal(`internal error, so the call is refused: ${err instanceof Error ? err.message : String(err)}`));
    } finally {
      if (built !== undefined) await built.app.stop('hook answered').catch(() => undefined);
    }
  },
};

export const hookCommand = commandGroup({ name: 'hook', summary: 'agent CLI hooks (Claude Code PreToolUse / PostToolUse)', help: HOOK_HELP, subcommands: [claudeCode] });
