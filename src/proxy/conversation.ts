/**
 * Which trace a proxied request belongs to, and the tool results it carries back in.
 *
 * Trace: the agent names it with `X-Bastion-Trace-Id`; without it, the proxy links the turns
 * of one conversation itself. Every tool call it releases (and, for the Responses API, every
 * response id) is remembered with its trace, per principal; a later request that carries one
 * of those ids back (the assistant's `tool_calls`, a `tool_result`'s `tool_use_id`, a
 * `function_call_output`'s `call_id`, `previous_response_id`) continues that trace. A request
 * with none of them starts a new trace. The memory is this process's (50 000 ids, oldest
 * forgotten first): with several replicas, send the header.
 *
 * Tool results are untrusted content: each is checked by `gateway.inspectResult` (secrets
 * redacted or withheld per the tool's `output` mode before the text goes upstream, prompt
 * injection scored; an attack taints the trace, so flow rules on `analysis.untrustedContent`
 * act on every later call in it). Chat APIs resend the whole history each turn, so the same
 * result is inspected (and audited) once per trace, not on every turn.
 */

import { createHash, randomUUID } from 'node:crypto';
import { BastionException, bastionError, quote } from '../core/errors.js';
import type { Gateway, ResultInspection } from '../gateway/index.js';
import { TRACE_HEADER } from './answers.js';

/** A small least-recently-used map. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
}

/** One tool result found in a request, with a way to put the checked text back. */
export interface ToolResult {
  /** The tool call it answers. */
  callId: string;
  /** The tool's name when the request shows it (the call is in the history), else undefined. */
  name: string | undefined;
  text: string;
  replace(text: string): void;
}

const TRACE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const WITHHELD = '[withheld by Bastion: this tool result carried a secret]';

export class Conversations {
  private readonly traces = new Lru<string>(50_000);
  private readonly inspected = new Lru<ResultInspection>(10_000);
  private readonly names = new Lru<string>(50_000);

  /** The trace of a request: the header's, else the one an id it carries was released in, else a new one. */
  traceOf(headers: Record<string, string | string[] | undefined>, principalId: string, ids: readonly string[]): string {
    const raw = headers[TRACE_HEADER];
    if (raw !== undefined) {
      const value = Array.isArray(raw) ? raw[0] : raw;
      if (Array.isArray(raw) && new Set(raw).size > 1)
        throw new BastionException(bastionError('REQUEST_INVALID', `header ${quote(TRACE_HEADER)} is sent more than once with different values`, { field: `headers.${TRACE_HEADER}` }));
      if (value === undefined || !TRACE_ID.test(value))
        throw new BastionException(
          bastionError('REQUEST_INVALID', `header ${quote(TRACE_HEADER)}: must be 1 to 128 letters, digits, \`.\`, \`_\`, \`:\` or \`-\``, { field: `headers.${TRACE_HEADER}` }),
        );
      return value;
    }
    for (const id of ids) {
      const found = this.traces.get(`${principalId}\u0000${id}`);
      if (found !== undefined) return found;
    }
    return randomUUID();
  }

  /** Remembers ids released in a trace (tool calls, response ids), and the tool each call names. */
  remember(principalId: string, traceId: string, ids: readonly { id: string; name?: string }[]): void {
    for (const { id, name } of ids) {
      if (id === '') continue;
      this.traces.set(`${principalId}\u0000${id}`, traceId);
      if (name !== undefined) this.names.set(`${principalId}\u0000${id}`, name);
    }
  }

  /** The tool a released call named, when the request itself does not show it. */
  toolName(principalId: string, callId: string): string | undefined {
    return this.names.get(`${principalId}\u0000${callId}`);
  }

  /** Inspects each result (once per trace and content) and puts the checked text back. */
  async inspect(gateway: Gateway, traceId: string, results: readonly ToolResult[]): Promise<void> {
    await Promise.all(
      results.map(async (r) => {
        const action = r.name ?? 'tool_result';
        const key = `${traceId}\u0000${action}\u0000${createHash('sha256').update(r.text).digest('base64')}`;
        let seen = this.inspected.get(key);
        if (seen === undefined) {
          seen = await gateway.inspectResult({ traceId, action, text: r.text, source: `tool result ${r.callId}`.slice(0, 200) });
          this.inspected.set(key, seen);
        }
        if (seen.action === 'block') r.replace(WITHHELD);
        else if (seen.action === 'redact') r.replace(seen.text);
      }),
    );
  }
}
