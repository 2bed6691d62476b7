/**
 * What a refusal looks like in each API's own shape, so the official SDKs raise it:
 *
 * - OpenAI (Chat Completions, Responses): HTTP 403 `{"error": {"type": "governance_denied",
 *   "code": "governance_denied", "message", "param": null, "decision", "tool_call"}}`; a held
 *   call is `approval_required`, with `approval_id`. In a stream that already started, the
 *   same `error` object in an SSE event (the SDKs throw on any event whose data has `error`).
 * - Anthropic Messages: HTTP 403 `{"type": "error", "error": {"type": "governance_denied",
 *   "message"}, "decision", …}`; in a stream, the `error` event Anthropic itself sends.
 *
 * Errors of the proxy itself (upstream down, a stream it cannot read) use the same shapes,
 * with the type `upstream_error` and Bastion's error code.
 */

import { formatEvent } from '../server/index.js';
import type { GatedCall } from './gate.js';
import { refusalMessage } from './gate.js';

/** Which API a route speaks. */
export type ApiKind = 'chat' | 'responses' | 'messages';

export const TRACE_HEADER = 'x-bastion-trace-id';
export const APPROVAL_HEADER = 'x-bastion-approval-id';

function refusalType(g: GatedCall): 'governance_denied' | 'approval_required' {
  return g.decision.decision === 'require_approval' && g.decision.approval !== undefined ? 'approval_required' : 'governance_denied';
}

/** The `error` member (OpenAI) or the whole body's extras (Anthropic) of a refusal. */
function refusalError(g: GatedCall): Record<string, unknown> {
  const type = refusalType(g);
  return {
    type,
    code: type,
    message: refusalMessage(g),
    param: null,
    decision: g.decision,
    tool_call: { id: g.call.id, name: g.call.name },
    ...(type === 'approval_required' && g.decision.approval ? { approval_id: g.decision.approval.id } : {}),
  };
}

/** The JSON body of a refused answer (HTTP 403). */
export function refusalBody(api: ApiKind, g: GatedCall): Record<string, unknown> {
  const error = refusalError(g);
  if (api !== 'messages') return { error };
  const { type, message, code: _code, param: _param, ...rest } = error;
  return { type: 'error', error: { type, message }, ...rest };
}

/** The headers of a refused answer. */
export function refusalHeaders(g: GatedCall): Record<string, string> {
  // The SDKs retry some statuses; a refusal is final until a human acts.
  const headers: Record<string, string> = { 'x-should-retry': 'false' };
  if (g.decision.decision === 'require_approval' && g.decision.approval) headers[APPROVAL_HEADER] = g.decision.approval.id;
  return headers;
}

/** A refusal inside a stream that already started. */
export function refusalFrame(api: ApiKind, g: GatedCall): string {
  const body = refusalBody(api, g);
  return formatEvent({ event: 'error', data: JSON.stringify(api === 'responses' ? { type: 'error', ...body } : body) });
}

/** A proxy error (`code`, `message`) as the API's error body. */
export function errorBody(api: ApiKind, code: string, message: string): Record<string, unknown> {
  if (api === 'messages') return { type: 'error', error: { type: 'upstream_error', message }, code };
  return { error: { type: 'upstream_error', code, message, param: null } };
}

/** A proxy error that ends a stream: the stream is cut off here, nothing after it is passed on. */
export function errorFrame(api: ApiKind, code: string, message: string): string {
  const body = errorBody(api, code, message);
  return formatEvent({ event: 'error', data: JSON.stringify(api === 'responses' ? { type: 'error', ...body } : body) });
}

/** The text that replaces a stripped call (`proxy.onDeny: strip`). */
export function explanation(g: GatedCall): string {
  return `[${refusalMessage(g)}]`;
}
