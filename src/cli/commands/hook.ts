/**
 * `bastion hook claude-code`: a Claude Code `command` hook. Reads the PreToolUse or
 * PostToolUse JSON on stdin and writes Claude Code's answer on stdout (exit 0); `bastion hook
 * gemini-cli` is the same for Gemini CLI's BeforeTool and AfterTool. It fails
 * closed: bad options, a policy that does not load, malformed input, an unknown event, a
 * timeout or an internal error all answer deny with exit 2 and the reason on stderr, which
 * Claude Code treats as a block (any other exit code would let the call through).
 */

import { homedir } from 'node:os';
import { parseRequestJson } from '../../core/request-json.js';
import { claudeCodeHook, geminiCliHook, geminiRefusal, hookRefusal, type ApprovalMode, type HookAnswer } from '../../hooks/index.js';
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

const GEMINI_HELP = `Usage: bastion hook gemini-cli [--config FILE] [--policy PATH]… [--principal ID] [--groups G1,G2] [--data-dir DIR]
                              [--on-approval deny|wait] [--wait SECONDS] [--timeout SECONDS] [--no-baseline]

A Gemini CLI hook (type "command") for BeforeTool and AfterTool. Reads the hook's JSON on
stdin, decides the tool call with the policies, and prints Gemini CLI's answer on stdout:
{"decision":"allow|deny","reason":"…"}.

Built-in tools are decided under their Claude Code names, so one policy serves both CLIs
(examples/claude-code/policy.yaml): run_shell_command → Bash, write_file → Write,
replace → Edit, read_file → Read, web_fetch → WebFetch, google_web_search → WebSearch;
mcp__<server>__<tool> and other tools keep their names (context.tool holds Gemini's name).
AfterTool scans tool_response.llmContent: secrets are redacted from what the model sees
(hookSpecificOutput.tool_output), prompt injection replaces the result and marks the session.

Options:
  --config FILE        bastion.yaml (policies, dataDir, baseline, approvals, hooks.geminiCli)
  --policy PATH        policy file or directory (repeatable; replaces the config's list)
  --principal ID       who the agent acts for (default: gemini-cli)
  --groups G1,G2       the principal's groups
  --data-dir DIR       state and audit log in DIR/bastion.db (needed for taint across calls
                       and for --on-approval wait); without it and --config, state is in memory
  --on-approval MODE   require_approval becomes: deny (default: the reason names the Bastion
                       approval; a hook cannot make Gemini CLI ask) or wait (wait for it)
  --wait SECONDS       how long wait mode waits (default 50: Gemini CLI's hook timeout is
                       60 s unless the hook's "timeout" (milliseconds) says more)
  --timeout SECONDS    deadline of the decision; later is deny (default 30)
  --no-baseline        switch off the built-in baseline policy

Exit codes: 0 an answer is on stdout; 2 the call is refused because Bastion could not
decide (reason on stderr, which Gemini CLI sends to the agent).

settings.json:
  {"hooks":{"BeforeTool":[{"matcher":".*","hooks":[{"type":"command","command":"bastion hook gemini-cli --policy ~/bastion/examples/claude-code/policy.yaml --data-dir ~/.bastion","timeout":60000}]}]}}
  (and the same under "AfterTool"; see the README, "Gemini CLI")
`;

const HOOK_HELP = `Usage: bastion hook <agent> [options]

Agent CLI hooks decided by Bastion's policies.

Subcommands:
  claude-code   Claude Code PreToolUse / PostToolUse hook (stdin JSON, stdout answer)
  gemini-cli    Gemini CLI BeforeTool / AfterTool hook (stdin JSON, stdout answer)

Run \`bastion hook <agent> --help\` for its options.
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

/** What differs between the agent CLIs' hooks: the answer's shape, the approval modes, the settings. */
interface HookSpec {
  name: string;
  summary: string;
  help: string;
  /** `--on-approval` values; the first of them with a wait is `wait`. */
  modes: readonly string[];
  settings: (config: AgentApp['config']) => { onApproval: string; waitSeconds: number; timeoutSeconds: number };
  refusal: (reason: string, event: string) => HookAnswer;
  answer: (
    gateway: AgentApp['app']['gateway'],
    input: unknown,
    options: { principal: AgentApp['principal']; onApproval: string; waitSeconds: number; timeoutSeconds: number; home?: string; onPending: (approval: { id: string }) => void },
  ) => Promise<HookAnswer>;
}

function hookSubcommand(spec: HookSpec): Subcommand {
  return {
    name: spec.name,
    summary: spec.summary,
    help: spec.help,
    async run(args, io) {
      // INVARIANT: every way out is an answer on stdout with exit 0, or a refusal with exit 2;
      // an exception reaching the dispatcher would exit 70, which the agent CLI lets through.
      let built: AgentApp | undefined;
      try {
        const parsed = parseOptions(io, `hook ${spec.name}`, args, {
          help: spec.help,
          options: { ...AGENT_OPTIONS, 'on-approval': { type: 'string' }, wait: { type: 'string' }, timeout: { type: 'string' } },
        });
        // Help is exit 0; a refused option is exit 2 with its one line on stderr: a block.
        if (!parsed.ok) return parsed.exit;
        const values = parsed.values;
        const mode = values['on-approval'];
        if (mode !== undefined && !spec.modes.includes(mode)) return write(io, spec.refusal(`option \`--on-approval\` must be ${spec.modes.join(' or ')}, got \`${mode}\``, 'PreToolUse'));
        const bytes = await readAllBytes(io.stdin);
        if (bytes.length > MAX_INPUT_BYTES) return write(io, spec.refusal(`the hook input is larger than ${MAX_INPUT_BYTES} bytes`, 'PreToolUse'));
        const input = parseRequestJson(bytes, 'hook input');
        if (!input.ok) return write(io, spec.refusal(`invalid hook input: ${errorLine(input.errors)}`, 'PreToolUse'));
        const event = eventOf(input.value);
        const opened = await buildAgentApp(io, values, `${spec.name}-hook`, spec.name);
        if (!opened.ok) return write(io, spec.refusal(`cannot load the configuration: ${errorLine(opened.errors)}`, event));
        built = opened.value;
        const settings = spec.settings(built.config);
        const onApproval = mode ?? settings.onApproval;
        const waitSeconds = parsePositiveSeconds(values.wait, '--wait', settings.waitSeconds);
        const timeoutSeconds = parsePositiveSeconds(values.timeout, '--timeout', settings.timeoutSeconds);
        if (typeof waitSeconds === 'string') return write(io, spec.refusal(waitSeconds, event));
        if (typeof timeoutSeconds === 'string') return write(io, spec.refusal(timeoutSeconds, event));
        if (onApproval === 'wait' && !built.persistent) {
          return write(io, spec.refusal('--on-approval wait needs a data directory (--data-dir or --config) where approvers can decide', event));
        }
        const home = io.env['HOME'] ?? homedir();
        const answer = await spec.answer(built.app.gateway, input.value, {
          principal: built.principal,
          onApproval,
          waitSeconds,
          timeoutSeconds,
          ...(home.startsWith('/') ? { home } : {}),
          onPending: (approval) => io.stderr.write(`bastion: waiting up to ${waitSeconds} s for approval ${approval.id} (bastion approvals approve ${approval.id})\n`),
        });
        return write(io, answer);
      } catch (err) {
        return write(io, spec.refusal(`internal error, so the call is refused: ${err instanceof Error ? err.message : String(err)}`, 'PreToolUse'));
      } finally {
        if (built !== undefined) await built.app.stop('hook answered').catch(() => undefined);
      }
    },
  };
}

const claudeCode = hookSubcommand({
  name: 'claude-code',
  summary: 'Claude Code PreToolUse / PostToolUse hook',
  help: CLAUDE_HELP,
  modes: ['ask', 'wait'],
  settings: (config) => config.hooks.claudeCode,
  refusal: hookRefusal,
  answer: (gateway, input, options) => claudeCodeHook(gateway, input, { ...options, onApproval: options.onApproval as ApprovalMode }),
});

const geminiCli = hookSubcommand({
  name: 'gemini-cli',
  summary: 'Gemini CLI BeforeTool / AfterTool hook',
  help: GEMINI_HELP,
  modes: ['deny', 'wait'],
  settings: (config) => config.hooks.geminiCli,
  refusal: (reason) => geminiRefusal(reason),
  answer: (gateway, input, options) => geminiCliHook(gateway, input, { ...options, onApproval: options.onApproval as 'deny' | 'wait' }),
});

export const hookCommand = commandGroup({
  name: 'hook',
  summary: 'agent CLI hooks (Claude Code PreToolUse / PostToolUse, Gemini CLI BeforeTool / AfterTool)',
  help: HOOK_HELP,
  subcommands: [claudeCode, geminiCli],
});
