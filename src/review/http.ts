/**
 * The one HTTP helper the connectors share: a bounded request (timeout, response size), JSON
 * or text, rate limits honoured (429, or GitHub's 403 with `x-ratelimit-remaining: 0`: wait
 * `Retry-After` / until `x-ratelimit-reset`, at most `maxWaitMs`, a bounded number of times),
 * and failures as values: 404 is `NOT_FOUND`, anything else unexpected `CONNECTOR_FAILED`
 * naming the system, the status and the API's own message. Tokens never appear in errors.
 */

import { bastionError, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';

export interface HttpOptions {
  /** Default the global `fetch`. */
  fetch?: typeof fetch;
  /** Per request; default 15 s. */
  timeoutMs?: number;
  /** Retries after a rate-limit answer; default 2. */
  maxRetries?: number;
  /** The longest a rate-limit wait may be; a longer one fails at once. Default 30 s. */
  maxWaitMs?: number;
  /** For tests. */
  sleep?: (ms: number) => Promise<void>;
  /** For tests: the clock `x-ratelimit-reset` is compared with. */
  now?: () => number;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

const MAX_BODY = 5 * 1024 * 1024;

/** How long a rate-limited answer asks to wait, in ms; undefined when it is not one. */
function rateLimitWait(r: Response, now: number): number | undefined {
  const limited = r.status === 429 || (r.status === 403 && r.headers.get('x-ratelimit-remaining') === '0');
  if (!limited) return undefined;
  const after = r.headers.get('retry-after');
  if (after !== null && /^\d+$/.test(after.trim())) return Number(after.trim()) * 1000;
  const reset = r.headers.get('x-ratelimit-reset');
  if (reset !== null && /^\d+$/.test(reset.trim())) return Math.max(0, Number(reset.trim()) * 1000 - now);
  return 1000;
}

/** The API's own words for an error, from the usual fields (`message`, `errorMessages`, `error`, `error.message`). */
function apiMessage(text: string): string {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    const error = v['error'];
    // OpenAI-style APIs nest it: `{"error": {"message": "…"}}`.
    const nested = typeof error === 'object' && error !== null ? (error as Record<string, unknown>)['message'] : error;
    const m = v['message'] ?? (Array.isArray(v['errorMessages']) ? (v['errorMessages'] as unknown[]).join('; ') : undefined) ?? nested ?? v['title'];
    if (typeof m === 'string' && m !== '') return `: ${m.slice(0, 200)}`;
  } catch {
    const m = /<Message>([^<]{1,200})<\/Message>/.exec(text);
    if (m) return `: ${m[1]}`;
  }
  return '';
}

/**
 * One request; `what` names it in errors (`github: GET /repos/o/r/pulls/1`).
 *
 * @example const r = await httpRequest('slack: chat.postMessage', url, { method: 'POST', headers, body }, options);
 */
export async function httpRequest(what: string, url: string, init: RequestInit, options: HttpOptions = {}): Promise<Result<HttpAnswer, BastionError>> {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxRetries = options.maxRetries ?? 2;
  const maxWait = options.maxWaitMs ?? 30_000;
  for (let attempt = 0; ; attempt++) {
    let r: Response;
    try {
      r = await doFetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(options.timeoutMs ?? 15_000) });
    } catch (err) {
      const e = err as Error;
      return fail(bastionError('CONNECTOR_FAILED', `${what}: ${e.name === 'TimeoutError' ? 'no answer in time' : `cannot connect (${e.message})`}`));
    }
    const declared = Number(r.headers.get('content-length') ?? '0');
    if (declared > MAX_BODY) return fail(bastionError('CONNECTOR_FAILED', `${what}: the answer is larger than ${MAX_BODY} bytes`));
    const text = await r.text();
    if (text.length > MAX_BODY) return fail(bastionError('CONNECTOR_FAILED', `${what}: the answer is larger than ${MAX_BODY} bytes`));
    const wait = rateLimitWait(r, options.now?.() ?? Date.now());
    if (wait !== undefined) {
      if (attempt >= maxRetries || wait > maxWait) return fail(bastionError('CONNECTOR_FAILED', `${what}: rate limited (HTTP ${r.status}); retry in ${Math.ceil(wait / 1000)} s`));
      await sleep(wait);
      continue;
    }
    if (r.status === 404) return fail(bastionError('NOT_FOUND', `${what}: not found (HTTP 404)${apiMessage(text)}`));
    if (r.status < 200 || r.status > 299) {
      const hint = r.status === 401 || r.status === 403 ? ' (check the connector token and its scopes)' : '';
      return fail(bastionError('CONNECTOR_FAILED', `${what}: HTTP ${r.status}${apiMessage(text)}${hint}`));
    }
    return ok({ status: r.status, headers: r.headers, text });
  }
}

/** The JSON of an answer, or `CONNECTOR_FAILED` saying it was not JSON. */
export function jsonOf(what: string, answer: HttpAnswer): Result<unknown, BastionError> {
  try {
    return ok(JSON.parse(answer.text) as unknown);
  } catch {
    return fail(bastionError('CONNECTOR_FAILED', `${what}: the answer is not JSON`));
  }
}

/** The `rel="next"` URL of a `Link` header (GitHub's pagination). */
export function nextLink(headers: Headers): string | undefined {
  const link = headers.get('link');
  if (link === null) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return m[1];
  }
  return undefined;
}
