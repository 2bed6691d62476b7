/**
 * The HTTP API on Fastify 5. Tests drive it with `app.inject()`, without a socket;
 * `listen.ts` is the one file that binds a port.
 *
 * Every `/v1/*` route authenticates its caller before the body is read, in every mode,
 * except the audit log's public key and signed checkpoints (public by design). Production
 * mode accepts `Authorization: Bearer <jwt or api key>` only; a 401 names the reason in
 * `error.reason` and in `WWW-Authenticate` (RFC 6750). Development mode also takes identity
 * headers, or the body's principal, unverified, and every response says so
 * (`x-bastion-mode`). `/v1/decide` decides with the caller's verified principal: a principal
 * in the body is overwritten, never read.
 *
 * Approvals (`/v1/approvals…`) need an identity in every mode: an approver or requester is
 * the caller's verified principal (`Caller.principal`), never a name in the body. A long poll
 * (`GET /v1/approvals/<id>?wait=SECONDS`, at most 60) answers when the record changes, at the
 * deadline, or at once when the caller goes away or the server closes.
 *
 * `/health` answers 503 `degraded` when the policy watcher lost a watch or the last change
 * to the policy files did not load (the set in force is then not what the files say), when
 * a store or the audit log does not answer its probe (`health.ts`), or when no key can verify
 * a JWT (`checks.identity: failed`). A JWKS URL that does not answer, or a key file that does
 * not load, while keys are in force is `checks.identity: degraded`, listed in `degraded`:
 * still 200, the tokens those keys signed verify (`identityCheck`).
 *
 * `POST /v1/decide/batch` decides up to 100 requests, each exactly as `/v1/decide` would.
 * `/metrics` is Prometheus text from the app's own registry (`metrics/`); `/openapi.json` is
 * generated from the routes as registered and their documentation-only schemas
 * (`schemas.ts`): Zod validates, Fastify compiles nothing from those JSON Schemas.
 *
 * Errors have one shape and one mapping to a status (`errors.ts`). Bodies are JSON only,
 * read strictly (`parseRequestJson`: duplicate keys, invalid UTF-8 and integers beyond 2^53
 * refused), at most 1 MiB.
 */

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { BastionException, bastionError, quote, type BastionError } from '../core/errors.js';
import { schemaErrors, schemaProblems } from '../core/schema.js';
import { parseRequestJson } from '../core/request-json.js';
import { fail, ok, type Result } from '../core/result.js';
import type { Decision, Principal } from '../core/types.js';
import { MAX_WAIT_SECONDS } from '../approvals/index.js';
import type { Gateway } from '../gateway/index.js';
import {
  applyIdentity,
  contextFromHeaders,
  createRefusalAudit,
  credentialHint,
  DEFAULT_IDENTITY,
  developmentIdentity,
  identityCheck,
  noIdentity,
  refusalReason,
  type Authenticator,
  type Caller,
  type IdentityHeaders,
  type IdentityStatus,
} from '../identity/index.js';
import { parseKillSwitchChange } from '../killswitch/index.js';
import { createMetrics, type Metrics } from '../metrics/index.js';
import type { PolicyWatchStatus } from '../policy/index.js';
import { BODY_LIMIT, handleError, sendError } from './errors.js';
import { type HealthProbe, PROBE_TIMEOUT_MS, runProbes } from './health.js';
import { loggerOptions, type LogOptions } from './logging.js';
import { type DocumentedRoute, openApiDocument } from './openapi.js';
import { reviewRoute } from './review-route.js';
import type { ChangeReview } from '../review/index.js';
import { registerHookRoutes, type HookRouteSettings } from './hook-routes.js';
import { DecideBatchSchema, ROUTE_SCHEMAS, type RouteSchema } from './schemas.js';

export interface ServerOptions {
  dev: boolean;
  /** Who may call the `/v1/*` routes; default development mode's or none, from `dev`. */
  identity?: Authenticator;
  /** The headers that carry the environment and danger level (default: Bastion's and the seeds' names). */
  identityHeaders?: IdentityHeaders;
  startedAt: Date;
  /** The policy watcher's state (`bastion serve` has one); reported by `/health`. */
  policyWatch?: () => PolicyWatchStatus;
  /** Structured JSON logs; off when left out (as in tests). */
  log?: LogOptions;
  /** Addresses or CIDR ranges of trusted fronts (load balancers) whose X-Forwarded-For names the caller; default none. */
  trustProxy?: readonly string[];
  /** Groups whose members may change the kill switch (`admin_groups`); default `[bastion-admins]`. */
  adminGroups?: readonly string[];
  /** The app's metrics (`createBastionApp` passes its own); a fresh registry when left out. */
  metrics?: Metrics;
  /**
   * What `/health` probes besides the policies; default the audit log's head, when the
   * gateway keeps one. `createBastionApp` adds the kill-switch and approval stores.
   */
  probes?: HealthProbe[];
  /** Per probe; default 1000 ms. */
  probeTimeoutMs?: number;
  /** The window of the aggregated `identity.refused` audit events (`createRefusalAudit`); default 60 s. */
  refusalAuditWindowMs?: number;
  /** The change review behind `POST /review-change` (the ZYX workflow); no route without it. */
  review?: ChangeReview;
  /**
   * More routes, registered by other stages (the model-API proxy) through the same `route()`
   * helper, so they authenticate, answer errors and appear in `/openapi.json` alike.
   */
  extensions?: readonly ((routes: ServerRoutes) => void)[];
  /** MCP over Streamable HTTP at `/mcp/<server>` (`mcp/`'s `createMcpHttp`); without it every `/mcp/*` answers 404. */
  mcp?: McpEndpoint;
  /** `POST /v1/hooks/claude-code`: `ask` or `wait` on require_approval, the wait, the deadline. */
  claudeCodeHook?: HookRouteSettings;
}

/** What `ServerOptions.extensions` get: the server's own route helper and the caller of each request. */
export interface ServerRoutes {
  /** Registers a route as the server's own are (authenticated under `/v1/`, schema from `ROUTE_SCHEMAS`). */
  route(method: Method, url: string, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>, options?: { bodyLimit?: number }): void;
  /** The caller `request` was authenticated as (undefined on public routes). */
  caller(request: FastifyRequest): Caller | undefined;
  /** The headers that carry the environment and danger level. */
  readonly identityHeaders: IdentityHeaders;
  readonly metrics: Metrics;
}

/**
 * What the `/mcp/<server>` routes hand the MCP proxy: a request whose `Origin` was checked and
 * whose caller was authenticated (its principal), with the raw Node request and response.
 */
export interface McpEndpoint {
  readonly servers: readonly string[];
  /** Browser origins allowed to call; a request with any other `Origin` is refused (no `Origin`: not a browser, allowed). */
  readonly allowedOrigins: readonly string[];
  handle(input: { server: string; principal: Principal; environment?: string; request: IncomingMessage; response: ServerResponse; body: unknown }): Promise<void>;
}

export const DEFAULT_ADMIN_GROUPS: readonly string[] = Object.freeze(['bastion-admins']);

const DEV_MODE_HEADER = 'development: identity is NOT verified';

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** The `/v1/*` routes anyone may read: an external witness keeps copies of the signed checkpoints. */
const PUBLIC_ROUTES = new Set(['/v1/audit/public-key', '/v1/audit/checkpoints']);

/** A quoted-string of RFC 6750's `error_description`: printable ASCII without `"` and `\`. */
function headerText(text: string): string {
  return text
    .replace(/["\\]/g, "'")
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 300);
}

/** The `WWW-Authenticate` challenge of a 401: no error code when no credential was sent (RFC 6750 §3.1). */
function challenge(error: BastionError): string {
  if (error.code === 'IDENTITY_MISSING') return 'Bearer realm="bastion"';
  return `Bearer realm="bastion", error="invalid_token", error_description="${headerText(error.message)}"`;
}

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Route options that keep a route's `schema` documentation only: Zod is the one validator
 * (its messages name fields in Bastion's grammar), and answers are serialised as they are,
 * never filtered through a response schema.
 */
const DOCUMENTATION_ONLY = {
  validatorCompiler: () => () => true,
  serializerCompiler: () => (data: unknown) => JSON.stringify(data),
} as const;

/** The errors of a batch's invalid entry, as the batch answer lists them: the index in front of each message and field. */
function batchEntryErrors(index: number, errors: readonly BastionError[]): { index: number; code: string; message: string; fields?: string[] } {
  const where = `requests[${index}]`;
  const fields = errors.flatMap((e) => (e.field !== undefined ? [`${where}${e.field.startsWith('[') ? '' : '.'}${e.field}`] : []));
  const first = errors[0];
  return {
    index,
    code: first?.code ?? 'REQUEST_INVALID',
    message: errors.map((e) => `${where}: ${e.message.replace(/^request: /, '')}`).join('; '),
    ...(fields.length > 0 ? { fields } : {}),
  };
}

/** Whether a decision was refused because its request is malformed: read from the error code, never the reason. */
export function isRequestInvalid(decision: Decision): boolean {
  return decision.errors.some((e) => e.code === 'REQUEST_INVALID');
}

/** The request errors of a decision as error values, each naming its field where known. */
function decisionErrors(decision: Decision): BastionError[] {
  return decision.errors.filter((e) => e.code === 'REQUEST_INVALID').map((e) => bastionError(e.code, e.message, e.field !== undefined ? { field: e.field } : {}));
}

/** The parsed JSON body; a request without one is refused as an empty body. */
function bodyOf(request: FastifyRequest): unknown {
  if (request.body === undefined) throw new BastionException(bastionError('REQUEST_INVALID', 'request body is empty: send a JSON object as `application/json`'));
  return request.body;
}

/**
 * Builds the server (not listening: `listen()` binds it, `inject()` drives it without a socket).
 *
 * @example const app = await buildServer(gateway, { dev: true, startedAt: new Date() }); await app.inject({ method: 'GET', url: '/health' });
 */
export async function buildServer(gateway: Gateway, options: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.log ? loggerOptions(options.log) : false,
    bodyLimit: BODY_LIMIT,
    genReqId: () => randomUUID(),
    // HEAD is not a route of its own: it answers 405 like any other method not listed.
    exposeHeadRoutes: false,
    // A draining server answers new requests 503 while the ones in flight finish.
    return503OnClosing: true,
    // `request.ip` (the decisions' `context.source_ip`) is the socket's peer, unless that peer
    // is a front listed here: then the address it forwarded (X-Forwarded-For).
    trustProxy: options.trustProxy !== undefined && options.trustProxy.length > 0 ? [...options.trustProxy] : false,
  });

  // Strict JSON is the only body there is: any other content type is a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    const parsed = parseRequestJson(body as Buffer, 'request body');
    if (parsed.ok) done(null, parsed.value);
    else done(new BastionException(parsed.errors), undefined);
  });
  app.setErrorHandler(handleError);

  const metrics = options.metrics ?? createMetrics();
  // Every route as registered, for /openapi.json (routes added later, by other parts, too).
  const documented: DocumentedRoute[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      documented.push({ method, url: route.url, authenticated: route.onRequest !== undefined, ...(route.schema ? { schema: route.schema as RouteSchema } : {}) });
    }
  });

  const methods = new Map<string, Method[]>();
  const notFound = (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = methods.get(path);
    if (allowed !== undefined) {
      return sendError(request, reply, [bastionError('METHOD_NOT_ALLOWED', `method ${quote(request.method)} is not allowed on ${quote(path)}`)], { headers: { allow: allowed.join(', ') } });
    }
    return sendError(request, reply, [bastionError('NOT_FOUND', `no route for ${quote(`${request.method} ${path}`)}`)]);
  };
  app.setNotFoundHandler(notFound);
  // While closing, every answer ends its connection: a keep-alive client must not hold the
  // drain open until its own idle timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    // Long polls answer now (the record as it is) instead of holding the drain open.
    gateway.approvals.close();
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) void reply.header('connection', 'close');
  });
  app.addHook('onRequest', async (request, reply) => {
    if (options.dev) void reply.header('x-bastion-mode', DEV_MODE_HEADER);
    // An unknown route or method is answered before its body is read.
    if (request.is404) return notFound(request, reply);
    return undefined;
  });

  // MCP over Streamable HTTP. DNS rebinding: a page on another site that resolves its name to
  // this loopback listener sends its own `Origin`, which is refused here before the caller is
  // authenticated (a browser sends `Origin` on every POST; a GET or DELETE also needs the
  // session id, which only the session's own principal holds).
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/mcp/')) return undefined;
    const origin = request.headers.origin;
    if (origin === undefined || options.mcp?.allowedOrigins.includes(origin)) return undefined;
    return sendError(request, reply, [
      bastionError('FORBIDDEN', `origin ${quote(origin)} may not call the MCP endpoints (DNS-rebinding protection): list it in \`mcp.allowedOrigins\` of the config to allow it`),
    ]);
  });

  const identity = options.identity ?? (options.dev ? developmentIdentity() : noIdentity());
  const identityHeaders = options.identityHeaders ?? DEFAULT_IDENTITY.headers;
  /** The caller each identified request was authenticated as (every `/v1/*` route but the public ones). */
  const callers = new WeakMap<FastifyRequest, Caller>();
  // Refused logins are audited in aggregate (see `createRefusalAudit` and the README,
  // "Identity"): one event per reason per window, so unauthenticated traffic cannot flood
  // the hash-chained log. Counted and logged one by one.
  const auditLog = gateway.auditLog;
  const refusalAudit = auditLog
    ? createRefusalAudit({
        record: (event) => auditLog.append(event),
        ...(options.refusalAuditWindowMs !== undefined ? { windowMs: options.refusalAuditWindowMs } : {}),
        onError: (err) => app.log.error({ err }, 'cannot audit refused logins'),
      })
    : undefined;
  app.addHook('onClose', async () => {
    await refusalAudit?.flush();
  });
  // Checked before the body is read: a caller who cannot be identified gets nothing.
  const authenticate = (url: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    const caller = await identity.authenticate({ route: url, headers: request.headers });
    if (caller.ok) {
      callers.set(request, caller.value);
      return undefined;
    }
    const first = caller.errors[0];
    const reason = refusalReason(first);
    if (reason !== undefined && first !== undefined) {
      metrics.identityRefusal(reason);
      // INVARIANT: never the credential itself; an API key's id, a JWT's kid, a hash prefix.
      request.log.warn({ identity: { refused: reason, code: first.code, route: url, ...credentialHint(request.headers) }, error: first.message }, `identity refused: ${reason}`);
      refusalAudit?.refused({ reason, code: first.code, route: url, remoteAddress: request.ip });
    }
    const hint = url === '/v1/kill-switch' && first?.reason === 'not_configured' ? '; the `kill_switch` block of a ZYX policy file works in every mode' : '';
    return sendError(
      request,
      reply,
      caller.errors.map((e) => ({ ...e, message: e.message + hint })),
      first?.code.startsWith('IDENTITY_') ? { headers: { 'www-authenticate': challenge(first as BastionError) } } : {},
    );
  };
  /** `extra.onRequest`: a route outside `/v1/` that authenticates its own way (`/review-change`). */
  const route = (
    method: Method,
    url: string,
    handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
    extra: {
      bodyLimit?: number;
      onRequest?: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
      errorHandler?: (error: unknown, request: FastifyRequest, reply: FastifyReply) => unknown;
    } = {},
  ) => {
    methods.set(url, [...(methods.get(url) ?? []), method]);
    const needsIdentity = (url.startsWith('/v1/') || url.startsWith('/mcp/')) && !PUBLIC_ROUTES.has(url);
    const schema = (ROUTE_SCHEMAS as Record<string, RouteSchema>)[`${method} ${url}`];
    const check = needsIdentity ? authenticate(url) : extra.onRequest;
    app.route({
      method,
      url,
      handler,
      ...(extra.bodyLimit !== undefined ? { bodyLimit: extra.bodyLimit } : {}),
      ...(extra.errorHandler !== undefined ? { errorHandler: extra.errorHandler } : {}),
      ...(schema ? { schema, ...DOCUMENTATION_ONLY } : {}),
      ...(check ? { onRequest: check } : {}),
    });
  };
  const identityStatus = (): IdentityStatus => identity.status?.() ?? { mode: identity.mode, apiKeys: false };

  const probes: HealthProbe[] =
    options.probes ??
    (gateway.auditLog
      ? [
          {
            name: 'auditLog',
            check: async () => {
              const log = gateway.auditLog;
              if (log) await log.store.head();
            },
          },
        ]
      : []);
  route('GET', '/health', async (request, reply) => {
    const watch = options.policyWatch?.();
    // Not ready while the set in force may differ from the files: a lost watch would
    // miss the next edit, and a failed reload left an older set in force.
    const policiesOk = watch === undefined || (watch.watching && watch.reloadError === undefined);
    const policy = watch ?? { version: gateway.policySet.version };
    const probed = await runProbes(probes, options.probeTimeoutMs ?? PROBE_TIMEOUT_MS, (name, err) => request.log.error({ err, probe: name }, `health probe ${name} failed`));
    const identityNow = identityStatus();
    const checks: Record<string, { status: string; error?: string }> = {
      policies: policiesOk ? { status: 'ok' } : { status: 'failed', error: watch?.reloadError ? 'the last change to the policy files did not load' : 'a policy watch is lost' },
      ...probed,
      identity: identityCheck(identityNow),
    };
    const failed = Object.entries(checks)
      .filter(([, c]) => c.status === 'failed')
      .map(([name]) => name);
    // Degraded: usable, but not as configured (a JWKS URL down while cached keys verify).
    const degraded = Object.entries(checks)
      .filter(([, c]) => c.status === 'degraded')
      .map(([name]) => name);
    return reply.code(failed.length > 0 ? 503 : 200).send({
      status: failed.length > 0 ? 'degraded' : 'ok',
      mode: options.dev ? 'development' : 'production',
      policyVersion: gateway.policySet.version,
      policies: gateway.policySet.policies.length,
      ...(gateway.shadowPolicySet ? { shadowPolicyVersion: gateway.shadowPolicySet.version } : {}),
      startedAt: options.startedAt.toISOString(),
      policy,
      identity: identityNow,
      checks,
      ...(failed.length > 0 ? { failed } : {}),
      ...(degraded.length > 0 ? { degraded } : {}),
    });
  });

  // Prometheus scrapes without credentials, like most exporters: the listener is loopback
  // by default, and the figures hold counts and switch states, no request content.
  route('GET', '/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.render()));
  route('GET', '/openapi.json', async () => openApiDocument(documented, PACKAGE_VERSION));

  const adminGroups = options.adminGroups ?? DEFAULT_ADMIN_GROUPS;
  route('GET', '/v1/kill-switch', async () => await gateway.killSwitchStatus());
  route('PUT', '/v1/kill-switch', async (request, reply) => {
    // INVARIANT: only a principal the authenticator named, in an admin group, changes the
    // switch; checked before the body is read, so a refused caller learns nothing from it.
    const principal = callers.get(request)?.principal;
    const admins = adminGroups.map((g) => quote(g)).join(', ');
    if (principal === undefined) {
      return sendError(request, reply, [
        bastionError(
          'FORBIDDEN',
          `changing the kill switch needs an identified principal in an admin group (${admins}): send a token (\`Authorization: Bearer …\`), or in development mode identity headers such as \`X-ControlZero-User-ID\` and \`X-ControlZero-User-Group\`; on the host, \`bastion kill-switch set --data-dir DIR\` works too`,
        ),
      ]);
    }
    if (!principal.groups.some((g) => adminGroups.includes(g))) {
      return sendError(request, reply, [bastionError('FORBIDDEN', `principal ${quote(principal.id)} may not change the kill switch: it is in none of the admin groups (${admins})`)]);
    }
    const change = parseKillSwitchChange(bodyOf(request));
    if (!change.ok) return sendError(request, reply, change.errors);
    await gateway.setKillSwitch(change.value, principal.id, { via: 'http' });
    return await gateway.killSwitchStatus();
  });

  /** One decision, timed and counted, for the caller `request` was authenticated as (`callers`). */
  const decideOne = async (request: FastifyRequest, body: unknown): Promise<Decision> => {
    const context = contextFromHeaders(request.headers, identityHeaders, request.ip);
    if (!context.ok) throw new BastionException(context.errors);
    const started = process.hrtime.bigint();
    // INVARIANT: the decision is made for the authenticated principal; a principal in the
    // body is overwritten (it is read only in development mode without identity headers).
    const decision = await gateway.decide(applyIdentity(body, callers.get(request)?.principal, context.value));
    metrics.decision(decision.decision, Number(process.hrtime.bigint() - started) / 1e9);
    return decision;
  };

  route('POST', '/v1/decide', async (request, reply) => {
    const decision = await decideOne(request, bodyOf(request));
    if (isRequestInvalid(decision)) return sendError(request, reply, decisionErrors(decision), { body: { decision } });
    // A limit that refused the call: 429 with when to retry, the decision in the body.
    if (decision.limit !== undefined) {
      return sendError(request, reply, [bastionError('LIMIT_EXCEEDED', decision.reason)], { headers: { 'retry-after': String(decision.limit.retryAfterSeconds) }, body: { decision } });
    }
    return decision;
  });

  // Approvals: identified callers only; who may decide or cancel is the approvals service's rule.
  const approvalQuery = (request: FastifyRequest, allowed: readonly string[]): Result<URLSearchParams, BastionError> => {
    const params = new URLSearchParams(request.url.split('?')[1] ?? '');
    const errors: BastionError[] = [];
    for (const key of new Set(params.keys())) {
      if (!allowed.includes(key)) errors.push(bastionError('REQUEST_INVALID', `unknown query parameter ${quote(key)} (expected ${allowed.join(', ')})`, { field: key }));
      else if (params.getAll(key).length > 1) errors.push(bastionError('REQUEST_INVALID', `query parameter ${quote(key)} is given more than once`, { field: key }));
    }
    return errors.length > 0 ? fail(...errors) : ok(params);
  };
  const answer = (request: FastifyRequest, reply: FastifyReply, result: Result<unknown, BastionError>) => (result.ok ? result.value : sendError(request, reply, result.errors));
  const idOf = (request: FastifyRequest): string => (request.params as { id: string }).id;
  /** A POST body is optional here (`{comment}`): none is `{}`. */
  const optionalBody = (request: FastifyRequest): unknown => request.body ?? {};

  route('GET', '/v1/approvals', async (request, reply) => {
    const query = approvalQuery(request, ['status', 'requester', 'cursor', 'limit']);
    if (!query.ok) return sendError(request, reply, query.errors);
    const q = query.value;
    const filter: Record<string, unknown> = {};
    for (const key of ['status', 'requester', 'cursor'] as const) {
      const v = q.get(key);
      if (v !== null) filter[key] = v;
    }
    const limit = q.get('limit');
    if (limit !== null) {
      if (!/^[0-9]{1,7}$/.test(limit)) return sendError(request, reply, [bastionError('REQUEST_INVALID', `\`limit\` must be a whole number from 1 to 1000, got ${quote(limit)}`, { field: 'limit' })]);
      filter['limit'] = Number(limit);
    }
    return answer(request, reply, await gateway.approvals.list(filter));
  });
  route('GET', '/v1/approvals/:id', async (request, reply) => {
    const query = approvalQuery(request, ['wait']);
    if (!query.ok) return sendError(request, reply, query.errors);
    const wait = query.value.get('wait');
    if (wait === null) return answer(request, reply, await gateway.approvals.get(idOf(request)));
    if (!/^[0-9]{1,3}$/.test(wait) || Number(wait) > MAX_WAIT_SECONDS) {
      return sendError(request, reply, [bastionError('REQUEST_INVALID', `\`wait\` must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}, got ${quote(wait)}`, { field: 'wait' })]);
    }
    // A caller that hangs up ends its wait.
    const gone = new AbortController();
    const onClose = () => gone.abort();
    reply.raw.once('close', onClose);
    try {
      return answer(request, reply, await gateway.approvals.wait(idOf(request), Number(wait), gone.signal));
    } finally {
      reply.raw.off('close', onClose);
    }
  });
  for (const verb of ['approve', 'deny', 'cancel'] as const) {
    route('POST', `/v1/approvals/:id/${verb}`, async (request, reply) => {
      const who = callers.get(request)?.principal;
      const id = idOf(request);
      const body = optionalBody(request);
      const result =
        verb === 'approve' ? await gateway.approvals.approve(id, who, body) : verb === 'deny' ? await gateway.approvals.deny(id, who, body) : await gateway.approvals.cancel(id, who, body);
      return answer(request, reply, result);
    });
  }

  route('POST', '/v1/decide/batch', async (request, reply) => {
    const envelope = DecideBatchSchema.safeParse(bodyOf(request));
    if (!envelope.success)
      return sendError(
        request,
        reply,
        schemaErrors(schemaProblems(envelope.error.issues, 'REQUEST_INVALID'), () => ({ prefix: 'batch: ' })),
      );
    // Decided together; their audit events follow the request order and share one group
    // commit (`decideBatch`); answered in order.
    const context = contextFromHeaders(request.headers, identityHeaders, request.ip);
    if (!context.ok) throw new BastionException(context.errors);
    const principal = callers.get(request)?.principal;
    const started = process.hrtime.bigint();
    // INVARIANT: every entry is decided for the authenticated principal, as `/v1/decide` is.
    const decisions = await gateway.decideBatch(envelope.data.requests.map((item) => applyIdentity(item, principal, context.value)));
    // Each entry's latency is the batch's: its decision is audited when the batch's events are.
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    for (const decision of decisions) metrics.decision(decision.decision, seconds);
    const errors = decisions.flatMap((decision, index) => (isRequestInvalid(decision) ? [batchEntryErrors(index, decisionErrors(decision))] : []));
    return { decisions, ...(errors.length > 0 ? { errors } : {}) };
  });

  if (options.review) {
    const review = reviewRoute(options.review, identity);
    route('POST', '/review-change', review.handler, { onRequest: review.onRequest });
  }
  registerHookRoutes(route, { gateway, callers, ...(options.claudeCodeHook ? { claudeCode: options.claudeCodeHook } : {}) });

  // Signed checkpoints and the public key are public by design: an external witness keeps
  // copies, so the log operator cannot quietly rewrite history.
  const noLog = [bastionError('NOT_FOUND', 'this gateway keeps no audit log (no data directory)')];
  route('GET', '/v1/audit/public-key', async (request, reply) => {
    const log = gateway.auditLog;
    if (!log) return sendError(request, reply, noLog);
    return reply.type('application/x-pem-file').send(await log.publicKeyPem());
  });
  route('GET', '/v1/audit/checkpoints', async (request, reply) => {
    const log = gateway.auditLog;
    if (!log) return sendError(request, reply, noLog);
    // The first `since` counts, as URLSearchParams reads it (Fastify's parser would give a list).
    const since = new URLSearchParams(request.url.split('?')[1] ?? '').get('since');
    const size = since === null ? undefined : Number(since);
    if (since !== null && (!/^[0-9]+$/.test(since) || !Number.isSafeInteger(size))) {
      return sendError(request, reply, [bastionError('REQUEST_INVALID', `\`since\` must be a log size (a whole number), got ${quote(since)}`, { field: 'since' })]);
    }
    return { logId: (await log.latestCheckpoint())?.logId, checkpoints: await log.checkpoints(size) };
  });

  for (const method of ['POST', 'GET', 'DELETE'] as const) {
    route(method, '/mcp/:server', async (request, reply) => {
      const name = (request.params as { server: string }).server;
      const mcp = options.mcp;
      if (mcp === undefined || !mcp.servers.includes(name)) {
        return sendError(request, reply, [bastionError('NOT_FOUND', `no MCP server ${quote(name)} is configured (\`mcp.servers\` in the config)`)]);
      }
      const principal = callers.get(request)?.principal;
      if (principal === undefined) {
        return sendError(
          request,
          reply,
          [bastionError('IDENTITY_MISSING', 'the MCP endpoints need an identified caller: a bearer token, or in development mode identity headers such as `x-bastion-principal-id`')],
          {
            headers: { 'www-authenticate': 'Bearer realm="bastion"' },
          },
        );
      }
      const context = contextFromHeaders(request.headers, identityHeaders, request.ip);
      if (!context.ok) return sendError(request, reply, context.errors);
      // The MCP transport writes the answer itself (JSON or an SSE stream).
      reply.hijack();
      try {
        await mcp.handle({
          server: name,
          principal,
          ...(context.value.environment !== undefined ? { environment: context.value.environment } : {}),
          ...(context.value.sourceIp !== undefined ? { sourceIp: context.value.sourceIp } : {}),
          request: request.raw,
          response: reply.raw,
          body: request.body,
        });
      } catch (err) {
        request.log.error({ err }, 'MCP request failed');
        if (!reply.raw.headersSent)
          reply.raw.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'internal error' }, id: null }));
      }
      return reply;
    });
  }
  const routes: ServerRoutes = { route, caller: (request) => callers.get(request), identityHeaders, metrics };
  for (const extend of options.extensions ?? []) extend(routes);

  return app;
}
