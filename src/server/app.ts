/**
 * The HTTP API as a plain function from request to response, so tests drive it without a
 * socket (as Hono's `app.request()` does). `listen.ts` is the one file that binds a port.
 *
 * Until identity verification lands, `/v1/decide` and `/v1/kill-switch` answer only in
 * development mode, where the principal is read from the request body and every response
 * says so. In production mode they fail closed with 401: identity must never come from the
 * body, and an unauthenticated caller must not switch the kill switch off.
 *
 * `/health` answers 503 `degraded` when the policy watcher lost a watch or the last change
 * to the policy files did not load: the set in force is then not what the files say.
 */

import { bastionError, httpStatus, type BastionError } from '../core/errors.js';
import { parseRequestJson } from '../core/request-json.js';
import type { Gateway } from '../gateway/index.js';
import type { PolicyWatchStatus } from '../policy/watch.js';
import { parseKillSwitchChange } from '../killswitch/index.js';

export interface AppRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface AppResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface AppOptions {
  dev: boolean;
  startedAt: Date;
  /** The policy watcher's state (`bastion serve` has one); reported by `/health`. */
  policyWatch?: () => PolicyWatchStatus;
}

/** Who changed the kill switch, in its audit event, until identity verification lands. */
const UNVERIFIED_CALLER = 'http (development mode: identity not verified)';

const MAX_BODY = 1024 * 1024;

function json(status: number, value: unknown, extra: Record<string, string> = {}): AppResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...extra }, body: JSON.stringify(value) + '\n' };
}

function error(e: BastionError, extra: Record<string, string> = {}): AppResponse {
  return json(httpStatus(e.code), { error: { code: e.code, message: e.message } }, extra);
}

/**
 * Builds the request handler.
 *
 * @example const app = createApp(gateway, { dev: true, startedAt: new Date() }); await app({ method: 'GET', url: '/health', headers: {}, body: '' });
 */
export function createApp(gateway: Gateway, options: AppOptions): (req: AppRequest) => Promise<AppResponse> {
  const devHeader: Record<string, string> = options.dev ? { 'x-bastion-mode': 'development: identity is NOT verified' } : {};
  return async (req) => {
    const path = req.url.split('?')[0] ?? '/';
    if (path === '/health') {
      if (req.method !== 'GET') return error(bastionError('METHOD_NOT_ALLOWED', `method \`${req.method}\` is not allowed on \`/health\``), { allow: 'GET' });
      const watch = options.policyWatch?.();
      // Not ready while the set in force may differ from the files: a lost watch would
      // miss the next edit, and a failed reload left an older set in force.
      const degraded = watch !== undefined && (!watch.watching || watch.reloadError !== undefined);
      const policy = watch ?? { version: gateway.policySet.version };
      return json(
        degraded ? 503 : 200,
        { status: degraded ? 'degraded' : 'ok', mode: options.dev ? 'development' : 'production', policyVersion: gateway.policySet.version, policies: gateway.policySet.policies.length, startedAt: options.startedAt.toISOString(), policy },
        devHeader,
      );
    }
    if (path === '/v1/kill-switch') {
      if (req.method !== 'GET' && req.method !== 'PUT') return error(bastionError('METHOD_NOT_ALLOWED', `method \`${req.method}\` is not allowed on \`/v1/kill-switch\``), { allow: 'GET, PUT' });
      if (!options.dev) return error(bastionError('IDENTITY_MISSING', 'identity verification is not configured: this build answers /v1/kill-switch only in development mode (--dev); the `kill_switch` block of a ZYX policy file works in every mode'));
      if (req.method === 'GET') return json(200, gateway.killSwitch(), devHeader);
      if (req.body.length > MAX_BODY) return error(bastionError('REQUEST_INVALID', `request body is larger than ${MAX_BODY} bytes`), devHeader);
      const body = parseRequestJson(req.body, 'request body');
      if (!body.ok) return error(body.errors[0] as BastionError, devHeader);
      const change = parseKillSwitchChange(body.value);
      if (!change.ok) return json(400, { error: { code: 'REQUEST_INVALID', message: change.errors.map((e) => e.message).join('; '), fields: change.errors.flatMap((e) => (e.field !== undefined ? [e.field] : [])) } }, devHeader);
      return json(200, await gateway.setKillSwitch(change.value, UNVERIFIED_CALLER), devHeader);
    }
    if (path === '/v1/decide') {
      if (req.method !== 'POST') return error(bastionError('METHOD_NOT_ALLOWED', `method \`${req.method}\` is not allowed on \`/v1/decide\``), { allow: 'POST' });
      if (!options.dev) return error(bastionError('IDENTITY_MISSING', 'identity verification is not configured: this build answers /v1/decide only in development mode (--dev)'));
      if (req.body.length > MAX_BODY) return error(bastionError('REQUEST_INVALID', `request body is larger than ${MAX_BODY} bytes`));
      // Strict: a duplicate key is refused, never decided as the last one (a parser differential).
      const body = parseRequestJson(req.body, 'request body');
      if (!body.ok) return error(body.errors[0] as BastionError, devHeader);
      const decision = await gateway.decide(body.value);
      if (decision.reason === 'request is invalid') return json(400, { error: { code: 'REQUEST_INVALID', message: decision.errors.join('; ') }, decision }, devHeader);
      return json(200, decision, devHeader);
    }
    if (path === '/v1/audit/checkpoints' || path === '/v1/audit/public-key') {
      // Signed checkpoints and the public key are public by design: an external witness
      // keeps copies, so the log operator cannot quietly rewrite history.
      if (req.method !== 'GET') return error(bastionError('METHOD_NOT_ALLOWED', `method \`${req.method}\` is not allowed on \`${path}\``), { allow: 'GET' });
      const log = gateway.auditLog;
      if (!log) return error(bastionError('NOT_FOUND', 'this gateway keeps no audit log (no data directory)'));
      if (path === '/v1/audit/public-key') return { status: 200, headers: { 'content-type': 'application/x-pem-file' }, body: log.publicKeyPem() };
      const since = new URL(req.url, 'http://x').searchParams.get('since');
      const size = since === null ? undefined : Number(since);
      if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) return error(bastionError('REQUEST_INVALID', `\`since\` must be a log size (a whole number), got \`${since}\``));
      return json(200, { logId: (await log.latestCheckpoint())?.logId, checkpoints: await log.checkpoints(size) });
    }
    return error(bastionError('NOT_FOUND', `no route for \`${req.method} ${path}\``));
  };
}
