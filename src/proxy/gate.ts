/**
 * The tool-call gate: every tool call in a model's answer is one action request, decided by
 * the gateway before the agent sees it. The function name is the action, its JSON arguments
 * the `args`; the principal, environment and declared danger level are the caller's, applied
 * exactly as `/v1/decide` applies them (`applyIdentity`), so the same call gets the same
 * decision through the proxy as through the decision API.
 *
 * Arguments are read strictly (`parseRequestJson`: duplicate keys, lone surrogates and
 * integers beyond 2^53 refused): a tool that reads the last of two `cmd` keys must never run
 * what the first one was decided as. Arguments that are not a JSON object are denied, with
 * the reason, and audited like an invalid request.
 */

import { parseRequestJson } from '../core/request-json.js';
import { isPlainObject } from '../core/schema.js';
import type { Decision, Principal } from '../core/types.js';
import type { Gateway } from '../gateway/index.js';
import { applyIdentity, type HeaderContext } from '../identity/index.js';
import { invalidRequestDecision } from '../policy/index.js';

/** One tool call as the model issued it: its arguments as text (OpenAI) or already an object (Anthropic's plain answers). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string | Record<string, unknown>;
}

/** Who asks, and where the decisions are recorded. */
export interface CallerContext {
  principal: Principal;
  context: HeaderContext;
  traceId: string;
  /** The approval the agent's retry names (`X-Bastion-Approval-Id`): it releases the one call it is bound to. */
  approvalId?: string;
}

export interface GatedCall {
  call: ToolCall;
  decision: Decision;
  /** The arguments that were decided (absent when they could not be read). */
  args?: Record<string, unknown>;
}

/** The arguments as an object, or why they cannot be decided. */
export function readArguments(call: ToolCall): { ok: true; value: Record<string, unknown> } | { ok: false; message: string } {
  if (typeof call.arguments !== 'string') return { ok: true, value: call.arguments };
  // A function without parameters: models send an empty string.
  if (call.arguments.trim() === '') return { ok: true, value: {} };
  const parsed = parseRequestJson(call.arguments, `arguments of tool call \`${call.name}\``);
  if (!parsed.ok) return { ok: false, message: parsed.errors.map((e) => e.message).join('; ') };
  if (!isPlainObject(parsed.value)) return { ok: false, message: `arguments of tool call \`${call.name}\` must be a JSON object` };
  return { ok: true, value: parsed.value as Record<string, unknown> };
}

/** Decides one call. */
export async function decideCall(gateway: Gateway, call: ToolCall, who: CallerContext): Promise<GatedCall> {
  const args = readArguments(call);
  if (!args.ok) {
    // Fail closed: nothing to decide on is a deny, recorded as an invalid request is.
    const decision = invalidRequestDecision(gateway.policySet, [{ message: args.message, field: 'args' }], who.traceId);
    await gateway.auditLog?.append({
      type: 'decision',
      traceId: who.traceId,
      principal: { id: who.principal.id, groups: [...who.principal.groups] },
      action: call.name,
      decision: 'deny',
      reason: decision.reason,
      data: { errors: decision.errors, surface: 'proxy', toolCallId: call.id },
    });
    return { call, decision };
  }
  const request = applyIdentity({ action: call.name, args: args.value, traceId: who.traceId, ...(who.approvalId !== undefined ? { approvalId: who.approvalId } : {}) }, who.principal, who.context);
  return { call, decision: await gateway.decide(request), args: args.value };
}

/** Decides every call at once (their audit events share group commits), in order. */
export async function decideCalls(gateway: Gateway, calls: readonly ToolCall[], who: CallerContext): Promise<GatedCall[]> {
  return Promise.all(calls.map((c) => decideCall(gateway, c, who)));
}

/** The first call that may not run: a deny before a held one (the stronger refusal is the one reported). */
export function firstRefused(gated: readonly GatedCall[]): GatedCall | undefined {
  return gated.find((g) => g.decision.decision === 'deny') ?? gated.find((g) => g.decision.decision !== 'allow');
}

/** What the agent is told about a refused call, in Bastion's grammar. */
export function refusalMessage(g: GatedCall): string {
  const d = g.decision;
  const detail = d.errors.length > 0 && d.reason === 'request is invalid' ? `: ${d.errors.map((e) => e.message).join('; ')}` : '';
  if (d.decision === 'require_approval' && d.approval !== undefined) {
    return `tool call \`${g.call.name}\` needs approval \`${d.approval.id}\` (${d.reason}): once it is approved, send the same request again with header \`X-Bastion-Approval-Id: ${d.approval.id}\``;
  }
  if (d.decision === 'require_approval') return `tool call \`${g.call.name}\` needs an approval that could not be opened: ${d.reason}`;
  return `Bastion denied tool call \`${g.call.name}\`: ${d.reason}${detail}`;
}
