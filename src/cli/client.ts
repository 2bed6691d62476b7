/**
 * How CLI commands act on a running service (`--server URL`): one JSON request, the token
 * from `BASTION_TOKEN` as `Authorization: Bearer`, and the service's error body turned into
 * the CLI's one error convention. Commands that act on a running service all go through here.
 */

import { bastionError, quote, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';

export interface ServerCall {
  /** The service's base URL, e.g. `http://127.0.0.1:8700`. */
  server: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path and query, e.g. `/v1/approvals?status=pending`. */
  path: string;
  body?: unknown;
  /** Default 30 s; a long poll (`?wait=`) passes its own. */
  timeoutMs?: number;
}

export interface ServerAnswer {
  status: number;
  body: unknown;
}

/** Whether `value` is an http(s) base URL; returns the error naming `--server` otherwise. */
export function checkServerUrl(value: string): Result<URL, BastionError> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(bastionError('INPUT_INVALID', `--server must be an http(s) URL such as http://127.0.0.1:8700, got ${quote(value)}`, { field: 'server' }));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return fail(bastionError('INPUT_INVALID', `--server must be an http(s) URL such as http://127.0.0.1:8700, got ${quote(value)}`, { field: 'server' }));
  }
  return ok(url);
}

/**
 * Sends one request to the service. A 2xx answer is `ok` with the parsed body; any other
 * status, an unreachable server or a body that is not JSON is an error whose message says
 * what the service said (its `error.message`) or why it could not be asked.
 *
 * @example
 * const r = await callServer({ server: 'http://127.0.0.1:8700', method: 'GET', path: '/v1/kill-switch' }, io.env);
 */
export async function callServer(call: ServerCall, env: Record<string, string | undefined>): Promise<Result<ServerAnswer, BastionError>> {
  const base = checkServerUrl(call.server);
  if (!base.ok) return base;
  const url = new URL(call.path, base.value.href.endsWith('/') ? base.value.href : `${base.value.href}/`);
  const token = env['BASTION_TOKEN'];
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== undefined && token !== '') headers['authorization'] = `Bearer ${token}`;
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url, {
      method: call.method,
      headers,
      ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
      signal: AbortSignal.timeout(call.timeoutMs ?? 30_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = (err as Error).name === 'TimeoutError' ? 'timed out' : (cause?.code ?? cause?.message ?? (err as Error).message);
    return fail(bastionError('SERVICE_CALL_FAILED', `cannot reach the service at ${base.value.origin}: ${why}`));
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  if (response.ok) return ok({ status: response.status, body });
  const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  const hint = response.status === 401 && (token === undefined || token === '') ? ' (set BASTION_TOKEN to a JWT or API key)' : '';
  return fail(
    bastionError(
      'SERVICE_CALL_FAILED',
      `the service answered ${response.status}${error?.code ? ` ${error.code}` : ''}: ${error?.message ?? (typeof body === 'string' ? body.slice(0, 200) : 'no message')}${hint}`,
    ),
  );
}
