/**
 * The one way an agent framework's tool runs under Bastion: decide the call with the
 * gateway's `guard` (the tool gets the frozen, audited copy of its arguments, and a rate
 * limit's concurrency slot is held while it runs), and when the call is not allowed, answer
 * the model with the decision's reason instead of running it. A call that needs an approval
 * either waits for a Bastion approver (`approval.waitSeconds`) and then runs, bound to the
 * exact arguments approved, or answers that the approval is pending. The framework adapters
 * (OpenAI Agents SDK, Vercel AI SDK, LangChain.js) are thin shapes over `runGuardedTool`.
 */

import type { ActionRequestInput } from '../core/request.js';
import type { ActionRequest, Decision, DecisionApproval } from '../core/types.js';
import { ActionDeniedError, approvalRefusal, type Gateway } from '../gateway/index.js';

/** What every guarded tool call of one agent shares. */
export interface ToolGuardOptions {
  /** The gateway that decides (`createGateway`, `ActionRuntime.gateway`). */
  gateway: Gateway;
  /** The rest of each request: who the agent is (required), environment, context, trace id. */
  request: Omit<ActionRequestInput, 'action' | 'args' | 'approvalId'>;
  /** The action each tool's calls are decided as; default the tool's own name. */
  action?: string | ((toolName: string) => string);
  /**
   * A call that needs an approval: wait up to `waitSeconds` for a Bastion approver, then run
   * it (default 0: answer at once that the approval is pending). `onPending` is told the
   * approval's id before the wait, to show it to whoever can approve.
   */
  approval?: { waitSeconds?: number; onPending?: (approval: DecisionApproval, action: string) => void };
}

/** How one guarded call ended: the tool's result, or the decision that refused it. */
export type GuardedToolResult<R> = { ran: true; value: R; decision?: undefined } | { ran: false; decision: Decision; message: string };

/** The action a tool's calls are decided as. */
export function guardedAction(options: ToolGuardOptions, toolName: string): string {
  const { action } = options;
  if (action === undefined) return toolName;
  return typeof action === 'function' ? action(toolName) : action;
}

/** The text a refused call answers the model with: it names the action and the reason. */
export function refusalMessage(action: string, decision: Decision, detail?: string): string {
  if (decision.decision === 'require_approval') {
    const id = decision.approval?.id;
    const head = `Bastion requires an approval for \`${action}\`: ${decision.reason}.`;
    if (detail !== undefined) return `${head} The call did not run: ${detail}.`;
    return id === undefined ? `${head} The call did not run.` : `${head} The call did not run; approval \`${id}\` is pending (an approver runs \`bastion approvals approve ${id}\`).`;
  }
  return `Bastion denied \`${action}\`: ${decision.reason}. The call did not run.`;
}

/**
 * Decides one call and runs `fn` only when it is allowed. `approvalId` retries a call whose
 * approval was asked for before (the OpenAI Agents SDK's interruptions); `traceId` keeps the
 * call in its trace. Errors the tool itself throws pass through.
 */
export async function runGuardedTool<A extends Record<string, unknown>, R>(
  options: ToolGuardOptions,
  action: string,
  fn: (args: A) => R | Promise<R>,
  args: A,
  retry: { approvalId?: string; traceId?: string } = {},
): Promise<GuardedToolResult<R>> {
  const run = options.gateway.guard(
    action,
    fn, // The gateway validates the request (a missing `groups` is filled in there).
    options.request as Omit<ActionRequest, 'action' | 'args'>,
  );
  const overrides = { ...(retry.approvalId === undefined ? {} : { approvalId: retry.approvalId }), ...(retry.traceId === undefined ? {} : { traceId: retry.traceId }) };
  let first: Decision;
  try {
    return { ran: true, value: await run(args, overrides) };
  } catch (error) {
    if (!(error instanceof ActionDeniedError)) throw error;
    first = error.decision;
  }
  const seconds = options.approval?.waitSeconds ?? 0;
  const approval = first.approval;
  if (first.decision !== 'require_approval' || approval === undefined || seconds <= 0) return { ran: false, decision: first, message: refusalMessage(action, first) };
  options.approval?.onPending?.(approval, action);
  const waited = await waitForApproval(options.gateway, approval.id, seconds);
  if (waited !== 'approved') {
    const detail = approvalRefusal({ outcome: waited.outcome, decision: first, ...(waited.error === undefined ? {} : { error: waited.error }) }, seconds);
    return { ran: false, decision: first, message: refusalMessage(action, first, detail) };
  }
  // INVARIANT: the retry is the same call (same binding) with the approval's id, so the
  // engine allows exactly what was approved, once.
  try {
    return { ran: true, value: await run(args, { approvalId: approval.id, ...(first.traceId ? { traceId: first.traceId } : {}) }) };
  } catch (error) {
    if (!(error instanceof ActionDeniedError)) throw error;
    return { ran: false, decision: error.decision, message: refusalMessage(action, error.decision) };
  }
}

type WaitEnd = 'approved' | { outcome: 'denied' | 'expired' | 'cancelled' | 'timeout' | 'error'; error?: string };

async function waitForApproval(gateway: Gateway, id: string, seconds: number): Promise<WaitEnd> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const left = Math.ceil((deadline - Date.now()) / 1000);
    if (left <= 0) return { outcome: 'timeout' };
    const view = await gateway.approvals.wait(id, Math.min(60, left));
    if (!view.ok) return { outcome: 'error', error: view.errors.map((e) => e.message).join('; ') };
    const { status } = view.value;
    if (status === 'approved') return 'approved';
    if (status === 'denied' || status === 'expired' || status === 'cancelled') return { outcome: status };
    if (status === 'consumed') return { outcome: 'error', error: `approval \`${id}\` was already used` };
  }
}
