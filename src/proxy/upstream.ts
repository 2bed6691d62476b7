/**
 * The upstream provider: one `fetch` per proxied request (Node's built-in undici), with the
 * provider key the gateway holds (never the agent's credential), bounded in time: `timeoutMs`
 * until the answer (a plain answer's whole body, a stream's headers), `idleTimeoutMs` between
 * two chunks of a stream. An upstream that cannot be reached is `UPSTREAM_UNAVAILABLE` (502)
 * and one that is too slow `UPSTREAM_TIMEOUT` (504), each naming the upstream.
 */

import { BastionException, bastionError, quote } from '../core/errors.js';

export interface UpstreamSettings {
  /** The base URL, ending in `/v1` (no trailing slash). */
  baseUrl: string;
  /** The provider key (`BASTION_UPSTREAM_API_KEY`); absent for an upstream that needs none. */
  apiKey?: string;
  timeoutMs: number;
  idleTimeoutMs: number;
}

/** The upstream's origin and path, for messages (never its key). */
export function upstreamName(settings: UpstreamSettings): string {
  return settings.baseUrl;
}

function unavailable(settings: UpstreamSettings, message: string): BastionException {
  return new BastionException(bastionError('UPSTREAM_UNAVAILABLE', `upstream ${quote(upstreamName(settings))}: ${message}`));
}

function timedOut(settings: UpstreamSettings, what: string, ms: number): BastionException {
  return new BastionException(bastionError('UPSTREAM_TIMEOUT', `upstream ${quote(upstreamName(settings))} did not ${what} within ${ms} ms`));
}

/** Why a fetch failed, from undici's cause chain (`ECONNREFUSED`, `ENOTFOUND`, …). */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? 'unknown error';
}

export interface UpstreamCall {
  method: 'GET' | 'POST';
  /** Under the base URL, e.g. `/chat/completions`. */
  path: string;
  body?: string;
  /** How the key is sent: `bearer` (OpenAI) or `x-api-key` (Anthropic). */
  auth: 'bearer' | 'x-api-key';
  /** Further headers to send (e.g. `anthropic-version`). */
  headers?: Record<string, string>;
  /** Aborts the call (the client went away). */
  signal: AbortSignal;
}

export interface UpstreamAnswer {
  response: Response;
  /** Stops the time limit on the headers (call once the body is being read as a stream). */
  controller: AbortController;
}

/** Sends the call; resolves once the upstream answered its headers. */
export async function callUpstream(settings: UpstreamSettings, call: UpstreamCall): Promise<UpstreamAnswer> {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  call.signal.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined = setTimeout(() => controller.abort(timedOut(settings, 'answer', settings.timeoutMs)), settings.timeoutMs);
  const headers: Record<string, string> = { accept: 'application/json, text/event-stream', ...call.headers };
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  if (settings.apiKey !== undefined) {
    if (call.auth === 'bearer') headers['authorization'] = `Bearer ${settings.apiKey}`;
    else headers['x-api-key'] = settings.apiKey;
  }
  try {
    const response = await fetch(`${settings.baseUrl}${call.path}`, { method: call.method, headers, ...(call.body !== undefined ? { body: call.body } : {}), signal: controller.signal });
    clearTimeout(timer);
    timer = undefined;
    return { response, controller };
  } catch (err) {
    if (timer) clearTimeout(timer);
    const reason = controller.signal.reason;
    if (reason instanceof BastionException) throw reason;
    if (call.signal.aborted) throw unavailable(settings, 'the client went away');
    throw unavailable(settings, `cannot be reached: ${causeOf(err)}`);
  } finally {
    call.signal.removeEventListener('abort', onAbort);
  }
}

/** The whole body as text, within the time limit. */
export async function readBody(settings: UpstreamSettings, answer: UpstreamAnswer): Promise<string> {
  const timer = setTimeout(() => answer.controller.abort(timedOut(settings, 'send its answer', settings.timeoutMs)), settings.timeoutMs);
  try {
    return await answer.response.text();
  } catch (err) {
    const reason = answer.controller.signal.reason;
    if (reason instanceof BastionException) throw reason;
    throw unavailable(settings, `the answer broke off: ${causeOf(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** The body's chunks, each within `idleTimeoutMs` of the one before. */
export async function* readChunks(settings: UpstreamSettings, answer: UpstreamAnswer): AsyncGenerator<Uint8Array> {
  const body = answer.response.body;
  if (body === null) return;
  const reader = body.getReader();
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(timedOut(settings, `send the next part of its stream`, settings.idleTimeoutMs)), settings.idleTimeoutMs);
      });
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await Promise.race([reader.read(), idle]);
      } catch (err) {
        if (err instanceof BastionException) throw err;
        throw unavailable(settings, `the stream broke off: ${causeOf(err)}`);
      } finally {
        clearTimeout(timer);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    answer.controller.abort();
    reader.releaseLock();
  }
}
