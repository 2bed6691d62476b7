/**
 * Waiting for a human: what a surface that runs the tool itself (`bastion exec`, the Claude
 * Code hook in `wait` mode) does with a `require_approval` decision. It tells the caller the
 * approval id, long-polls the approvals service until the approval is decided or the wait is
 * over, and on approval decides the same request again with `approvalId` (the engine then
 * allows by the approval, which is used once). Nothing here edits a decision: the outcome
 * says what happened, the decision is the engine's.
 */

import type { ActionRequest, Decision, DecisionApproval } from '../core/types.js';
import type { Gateway } from './index.js';

/** How the wait ended. `approved` carries the engine's decision of the retry. */
export type ApprovalOutcome = 'not_needed' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'timeout' | 'error';

export interface AwaitedDecision {
  outcome: ApprovalOutcome;
  /** The retry's decision when approved, else the first decision. */
  decision: Decision;
  /** Set on `error`: why the wait could not go on. */
  error?: string;
}

export interface AwaitApprovalOptions {
  /** How long to wait for the approval, in seconds. */
  seconds: number;
  /** Told once, before the wait, which approval is pending (print its id). */
  onPending?: (approval: DecisionApproval) => void;
  signal?: AbortSignal;
  /** The clock (tests); default `Date.now`. */
  now?: () => number;
}

/** One long poll is at most this long (the approvals service's limit). */
const POLL_SECONDS = 60;

/**
 * Decides `request` and, when it needs an approval, waits for it.
 *
 * @example
 * const { outcome, decision } = await decideAndWait(gateway, request, { seconds: 300, onPending: (a) => console.error(`approval ${a.id}`) });
 */
export async function decideAndWait(gateway: Gateway, request: ActionRequest, options: AwaitApprovalOptions): Promise<AwaitedDecision> {
  const first = await gateway.decide(request);
  return awaitApproval(gateway, request, first, options);
}

/** Waits for the approval of a `require_approval` decision (see {@link decideAndWait}). */
export async function awaitApproval(gateway: Gateway, request: ActionRequest, first: Decision, options: AwaitApprovalOptions): Promise<AwaitedDecision> {
  const approval = first.approval;
  if (first.decision !== 'require_approval' || approval === undefined) return { outcome: 'not_needed', decision: first };
  options.onPending?.(approval);
  // The service's long poll keeps no timer referenced (a server must be able to stop); a CLI
  // that only waits would otherwise see its event loop empty and exit mid-wait.
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    return await waitFor(gateway, request, first, approval, options);
  } finally {
    clearInterval(keepAlive);
  }
}

async function waitFor(gateway: Gateway, request: ActionRequest, first: Decision, approval: DecisionApproval, options: AwaitApprovalOptions): Promise<AwaitedDecision> {
  const now = options.now ?? Date.now;
  const deadline = now() + Math.max(0, options.seconds) * 1000;
  for (;;) {
    const left = Math.ceil((deadline - now()) / 1000);
    if (left <= 0 || options.signal?.aborted === true) return { outcome: 'timeout', decision: first };
    const view = await gateway.approvals.wait(approval.id, Math.min(POLL_SECONDS, left), options.signal);
    if (!view.ok) return { outcome: 'error', decision: first, error: view.errors.map((e) => e.message).join('; ') };
    const status = view.value.status;
    if (status === 'approved') {
      // INVARIANT: the retry is the same request (same binding), so the approval applies to
      // exactly the call that was approved.
      const retry = await gateway.decide({ ...request, approvalId: approval.id, ...(first.traceId ? { traceId: first.traceId } : {}) });
      return { outcome: 'approved', decision: retry };
    }
    if (status === 'denied' || status === 'expired' || status === 'cancelled') return { outcome: status, decision: first };
    if (status === 'consumed') return { outcome: 'error', decision: first, error: `approval \`${approval.id}\` was already used` };
  }
}

/** The one line a surface reports when the wait did not end in an approval. */
export function approvalRefusal(awaited: AwaitedDecision, seconds: number): string {
  const id = awaited.decision.approval?.id ?? 'unknown';
  switch (awaited.outcome) {
    case 'denied':
      return `approval \`${id}\` was denied`;
    case 'expired':
      return `approval \`${id}\` expired`;
    case 'cancelled':
      return `approval \`${id}\` was cancelled`;
    case 'timeout':
      return `approval \`${id}\` was not given within ${seconds} s`;
    case 'error':
      return `cannot wait for approval \`${id}\`: ${awaited.error ?? 'unknown error'}`;
    default:
      return awaited.decision.reason;
  }
}
