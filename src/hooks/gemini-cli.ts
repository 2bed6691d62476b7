/**
 * Gemini CLI's tool hooks (`BeforeTool`, `AfterTool`; geminicli.com/docs/hooks/reference)
 * over the one gateway, as `bastion hook gemini-cli` (Gemini CLI runs `command` hooks only).
 *
 *   BeforeTool: tool_name → action, tool_input → args, session_id → trace id, cwd → context
 *               → gateway.decide → {"decision":"allow"|"deny","reason"}
 *   AfterTool:  tool_response.llmContent → gateway.inspectResult → secrets redacted from
 *               what the model sees (`hookSpecificOutput.tool_output`), withheld when the
 *               action's output mode blocks, prompt injection replaces the result
 *               (`decision: deny`) and taints the session
 *
 * Gemini CLI's built-in tools are decided under the names of their Claude Code counterparts
 * (run_shell_command → Bash, write_file → Write, replace → Edit, read_file → Read,
 * web_fetch → WebFetch, google_web_search → WebSearch; MCP tools are `mcp__server__tool` in
 * both), so one policy (examples/claude-code/policy.yaml) governs both CLIs and decides a
 * call the same way; the Gemini name is kept in `context.tool`. Gemini CLI cannot ask its
 * user from a hook: `require_approval` is a deny naming the Bastion approval, or in `wait`
 * mode the approval is waited for. Fails closed like the Claude Code hook: bad input, an
 * unknown event, a timeout or an error answers exit 2 with the reason on stderr (Gemini CLI:
 * "System Block").
 */

import * as z from 'zod';
import { isPlainObject } from '../core/schema.js';
import type { ActionRequest, Principal } from '../core/types.js';
import type { Gateway } from '../gateway/index.js';
import { type ClaudeCodeHookOptions, HOOK_INPUT_FIELDS, type HookAnswer, deadline, decideHookCall, responseText } from './claude-code.js';

/** The options of the Gemini CLI hook: the Claude Code hook's, with `ask` not available. */
export interface GeminiCliHookOptions extends Omit<ClaudeCodeHookOptions, 'onApproval'> {
  /** `deny` (default): the reason names the Bastion approval; `wait`: wait for it, then allow or deny. */
  onApproval?: 'deny' | 'wait';
}

const GEMINI_EVENTS = ['BeforeTool', 'AfterTool'] as const;

/** Gemini CLI's built-in tools and the Claude Code tools whose arguments they share. */
export const GEMINI_TOOL_ACTIONS: Readonly<Record<string, string>> = Object.freeze({
  run_shell_command: 'Bash',
  write_file: 'Write',
  replace: 'Edit',
  read_file: 'Read',
  web_fetch: 'WebFetch',
  google_web_search: 'WebSearch',
});

/** The hook input as Gemini CLI sends it; unknown fields are kept (new ones must not refuse every call). */
export const GeminiCliHookInputSchema = z.looseObject(
  { ...HOOK_INPUT_FIELDS, timestamp: z.string({ error: 'field `timestamp` must be a string' }).optional(), mcp_context: z.unknown().optional() },
  { error: 'the hook input must be a JSON object' },
);

export type GeminiCliHookInput = z.output<typeof GeminiCliHookInputSchema>;

/** The action request of a BeforeTool call (the approval binding holds nothing that changes between identical calls). */
export function geminiCliRequest(input: GeminiCliHookInput, principal: Principal, home?: string): ActionRequest {
  const context: Record<string, unknown> = { agent: 'gemini-cli', tool: input.tool_name };
  if (input.cwd !== undefined) context['cwd'] = input.cwd;
  if (home !== undefined && home.startsWith('/')) context['home'] = home;
  return { principal, action: GEMINI_TOOL_ACTIONS[input.tool_name] ?? input.tool_name, args: input.tool_input, context, traceId: input.session_id };
}

/** A refusal: exit 2 and the reason on stderr, which Gemini CLI sends to the agent as the block's reason. */
export function geminiRefusal(reason: string): HookAnswer {
  const line = `bastion: ${reason.replace(/[\r\n]+/g, ' ')}`;
  return { exit: 2, output: { decision: 'deny', reason: line }, stderr: line };
}

/**
 * Answers one Gemini CLI hook call. Never throws and never allows on a failure.
 *
 * @example
 * const answer = await geminiCliHook(gateway, JSON.parse(stdin), { principal: { id: 'dev', groups: [] } });
 * process.stdout.write(JSON.stringify(answer.output)); process.exitCode = answer.exit;
 */
export async function geminiCliHook(gateway: Gateway, raw: unknown, options: GeminiCliHookOptions): Promise<HookAnswer> {
  try {
    const parsed = GeminiCliHookInputSchema.safeParse(raw);
    if (!parsed.success) return geminiRefusal(`invalid hook input: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    const input = parsed.data;
    if (!(GEMINI_EVENTS as readonly string[]).includes(input.hook_event_name)) {
      return geminiRefusal(`unsupported hook event \`${input.hook_event_name}\` (expected ${GEMINI_EVENTS.join(' or ')}); register \`bastion hook gemini-cli\` for BeforeTool and AfterTool only`);
    }
    const ms = (options.timeoutSeconds ?? 30) * 1000;
    if (input.hook_event_name === 'AfterTool') return await deadline(afterTool(gateway, input), ms, 'inspecting the tool result');
    const request = geminiCliRequest(input, options.principal, options.home);
    const verdict = await decideHookCall(gateway, request, { ...options, onApproval: options.onApproval === 'wait' ? 'wait' : 'ask' }, ms);
    if (verdict.permission === 'allow') return { exit: 0, output: { decision: 'allow', reason: verdict.reason }, decision: verdict.decision };
    // `ask` cannot be asked from a Gemini CLI hook: the call is refused, the reason names the approval.
    const reason = verdict.permission === 'ask' ? `${verdict.reason.replace(/^Bastion: /u, 'Bastion requires an approval: ')}; ask an approver, then retry` : verdict.reason;
    return { exit: 0, output: { decision: 'deny', reason }, decision: verdict.decision };
  } catch (err) {
    return geminiRefusal(`cannot decide, so the call is refused: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** What the model reads of a tool's result: `llmContent` (text, or parts as JSON). */
function llmText(response: unknown): string {
  if (isPlainObject(response) && 'llmContent' in response) return responseText(response['llmContent']);
  return responseText(response);
}

async function afterTool(gateway: Gateway, input: GeminiCliHookInput): Promise<HookAnswer> {
  if (input.tool_response === undefined) return geminiRefusal('invalid hook input: field `tool_response` is required for AfterTool');
  const tool = input.tool_name;
  const action = GEMINI_TOOL_ACTIONS[tool] ?? tool;
  const original = llmText(input.tool_response);
  const inspection = await gateway.inspectResult({ traceId: input.session_id, action, text: original, source: `gemini-cli:${tool}` });
  const rules = [...new Set(inspection.findings.map((f) => f.rule))];
  if (inspection.injection.attack) {
    const techniques = inspection.injection.techniques.join(', ') || 'unknown';
    return {
      exit: 0,
      output: {
        decision: 'deny',
        reason: `Bastion withheld the result of ${tool}: it scored as prompt injection (score ${inspection.injection.score.toFixed(2)}, ${techniques}). This session is now marked as tainted.`,
      },
    };
  }
  if (rules.length === 0) return { exit: 0, output: {} };
  if (inspection.action === 'block') return { exit: 0, output: { decision: 'deny', reason: `Bastion withheld the result of ${tool}: it held secrets (${rules.join(', ')}).` } };
  // Gemini CLI can replace any tool's output before the model sees it: the redacted text.
  return {
    exit: 0,
    output: {
      hookSpecificOutput: {
        hookEventName: 'AfterTool',
        tool_output: inspection.text,
        additionalContext: `Bastion redacted secrets in the result of ${tool} (${rules.join(', ')}).`,
      },
    },
  };
}
