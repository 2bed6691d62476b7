/**
 * The OpenAI Agents SDK for JS (`@openai/agents`): a function tool whose every call Bastion
 * decides. `guardAgentTool` takes what you would pass to the SDK's `tool()` and gives it back
 * with a guarded `execute` and a `needsApproval`, so the SDK's own human-in-the-loop flow
 * carries Bastion's approvals:
 *
 *   - allowed: the tool runs with the arguments that were decided;
 *   - denied: it does not run; the model gets `Bastion denied …: <reason>` as the result;
 *   - approval required: `needsApproval` asks Bastion (which records the request and creates
 *     the approval, bound to these exact arguments), and the run stops with an interruption
 *     naming it. An approver approves in Bastion (`bastion approvals approve ID`, another
 *     principal than the agent), your code calls `result.state.approve(interruption)` and
 *     runs the state again; the call is then decided again with the approval's id and runs
 *     only if Bastion approved exactly this call. Approving in the SDK alone runs nothing.
 *
 * Nothing here imports the SDK: the shapes are structural, so it serves the SDK's 0.x
 * releases as they come.
 *
 * @example
 * const shell = tool(guardAgentTool({ gateway, request: { principal: { id: 'ops-agent', groups: ['sre'] } }, action: 'shell.execute' }, {
 *   name: 'run_shell', description: 'Runs a shell command', parameters: z.object({ command: z.string() }),
 *   execute: async ({ command }) => runIt(command),
 * }));
 */

import { validateRequest } from '../core/request.js';
import type { Decision } from '../core/types.js';
import { evaluate } from '../policy/index.js';
import { guardedAction, runGuardedTool, type ToolGuardOptions } from './tool-call.js';

/** What `guardAgentTool` reads of a `tool()` definition; every other field passes through. */
export interface AgentToolDefinition {
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's execute is typed from the tool's parameters
  execute: (input: any, context?: any, details?: any) => unknown;
}

/** The approval function the SDK calls before it runs a call (`needsApproval`). */
export type AgentToolApproval = (runContext: unknown, input: unknown, callId?: string) => Promise<boolean>;

/** Pending approvals are kept this long for their call to come back (the SDK's run state). */
const PENDING_MS = 24 * 60 * 60 * 1000;

/**
 * Guards one OpenAI Agents SDK function tool (see the module's documentation).
 * Pass the result to the SDK's `tool()`.
 */
export function guardAgentTool<T extends AgentToolDefinition>(options: ToolGuardOptions, definition: T): T & { needsApproval: AgentToolApproval } {
  const action = guardedAction(options, definition.name);
  const original = definition.execute;
  // The approvals Bastion asked for, by the SDK's call id, with the arguments they bind.
  const pending = new Map<string, { args: string; decision: Decision; at: number }>();
  const forget = (now: number): void => {
    for (const [id, p] of pending) if (now - p.at > PENDING_MS) pending.delete(id);
  };

  const needsApproval: AgentToolApproval = async (_runContext, input, callId) => {
    // A dry evaluation of the loaded policies says whether this call can need an approval;
    // only then is it decided for real here (recorded, the approval created), so a call
    // that is allowed or denied is decided once, in execute.
    const request = validateRequest({ ...options.request, action, args: input });
    if (!request.ok) return false;
    const dry = evaluate(options.gateway.policySet, request.value, { killSwitch: options.gateway.killSwitch() });
    if (dry.decision !== 'require_approval') return false;
    const decision = await options.gateway.decide(request.value);
    if (decision.decision !== 'require_approval') return false;
    if (decision.approval !== undefined) options.approval?.onPending?.(decision.approval, action);
    if (callId === undefined) return true;
    const now = Date.now();
    forget(now);
    pending.set(callId, { args: JSON.stringify(input), decision, at: now });
    return true;
  };

  const execute = async (input: Record<string, unknown>, context?: unknown, details?: { toolCall?: { callId?: string } }): Promise<unknown> => {
    const fn = (args: Record<string, unknown>): unknown => original(args, context, details);
    const callId = details?.toolCall?.callId;
    const asked = callId === undefined ? undefined : pending.get(callId);
    if (callId !== undefined) pending.delete(callId);
    const approvalId = asked?.decision.approval?.id;
    // INVARIANT: an approval applies only to the arguments it was asked for; the retry
    // carries its id and the engine checks the binding again.
    const retry = asked !== undefined && approvalId !== undefined && asked.args === JSON.stringify(input) ? { approvalId, ...(asked.decision.traceId ? { traceId: asked.decision.traceId } : {}) } : {};
    const result = await runGuardedTool(options, action, fn, input, retry);
    return result.ran ? result.value : result.message;
  };

  return { ...definition, execute, needsApproval } as T & { needsApproval: AgentToolApproval };
}
