/**
 * The HTTP API on Fastify 5. Tests drive it with `app.inject()`, without a socket;
 * `listen.ts` is the one file that binds a port.
 *
 * Until identity verification lands, `/v1/decide` and `/v1/kill-switch` answer only in
 * development mode, where the principal is read from the request body and every response
 * says so (`x-bastion-mode`). In production mode they fail closed with 401 before the body is
 * read: identity must never come from the body, and an unauthenticated caller must not
 * switch the kill switch off.
 *
 * `/health` answers 503 `degraded` when the policy watcher lost a watch or the last change
 * to the policy files did not load (the set in force is then not what the files say), or
 * when a store or the audit log does not answer its probe (`health.ts`).
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
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { BastionException, bastionError, quote, type BastionError } from '../core/errors.js';
import { schemaErrors, schemaProblems } from '../core/schema.js';
import { parseRequestJson } from '../core/request-json.js';
import type { Decision } from '../core/types.js';
import type { Gateway } from '../gateway/index.js';
import { developmentIdentity, noIdentity, type Authenticator, type Caller } from '../identity/index.js';
import { parseKillSwitchChange } from '../killswitch/index.js';
import { createMetrics, type Metrics } from '../metrics/index.js';
import type { PolicyWatchStatus } from '../policy/index.js';
import { BODY_LIMIT, handleError, sendError } from './errors.js';
import { type HealthProbe, PROBE_TIMEOUT_MS, runProbes } from './health.js';
import { loggerOptions, type LogOptions } from './logging.js';
import { type DocumentedRoute, openApiDocument } from './openapi.js';
import { DecideBatchSchema, ROUTE_SCHEMAS, type RouteSchema } from './schemas.js';

export interface ServerOptions {
  dev: boolean;
  /** Who may call the routes that need an identity; default development mode's or none, from `dev`. */
  identity?: Authenticator;
  startedAt: Date;
  /** The policy watcher's state (`bastion serve` has one); reported by `/health`. */
  policyWatch?: () => PolicyWatchStatus;
  /** Structured JSON logs; off when left out (as in tests). */
  log?: LogOptions;
  /** The app's metrics (`createBastionApp` passes its own); a fresh registry when left out. */
  metrics?: Metrics;
  /**
   * What `/health` probes besides the policies; default the audit log's head, when the
   * gateway keeps one. `createBastionApp` adds the kill-switch and approval stores.
   */
  probes?: HealthProbe[];
  /** Per probe; default 1000 ms. */
  probeTimeoutMs?: number;
}

const DEV_MODE_HEADER = 'development: identity is NOT verified';

type Method = 'GET' | 'PUT' | 'POST';

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

  const identity = options.identity ?? (options.dev ? developmentIdentity() : noIdentity());
  /** The caller each identified request was authenticated as. */
  const callers = new WeakMap<FastifyRequest, Caller>();
  const route = (method: Method, url: string, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>, devOnly = false) => {
    methods.set(url, [...(methods.get(url) ?? []), method]);
    const schema = (ROUTE_SCHEMAS as Record<string, RouteSchema>)[`${method} ${url}`];
    app.route({
      method,
      url,
      handler,
      ...(schema ? { schema, ...DOCUMENTATION_ONLY } : {}),
      // Checked before the body is read: a caller who cannot be identified gets nothing.
      ...(devOnly
        ? {
            onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
              const caller = await identity.authenticate({ route: url, headers: request.headers });
              if (caller.ok) {
                callers.set(request, caller.value);
                return undefined;
              }
              const hint = url === '/v1/kill-switch' ? '; the `kill_switch` block of a ZYX policy file works in every mode' : '';
              return sendError(
                request,
                reply,
                caller.errors.map((e) => ({ ...e, message: e.message + hint })),
              );
            },
          }
        : {}),
    });
  };

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
    const checks = {
      policies: policiesOk ? { status: 'ok' } : { status: 'failed', error: watch?.reloadError ? 'the last change to the policy files did not load' : 'a policy watch is lost' },
      ...probed,
    };
    const failed = Object.entries(checks)
      .filter(([, c]) => c.status !== 'ok')
      .map(([name]) => name);
    return reply.code(failed.length > 0 ? 503 : 200).send({
      status: failed.length > 0 ? 'degraded' : 'ok',
      mode: options.dev ? 'development' : 'production',
      policyVersion: gateway.policySet.version,
      policies: gateway.policySet.policies.length,
      startedAt: options.startedAt.toISOString(),
      policy,
      checks,
      ...(failed.length > 0 ? { failed } : {}),
    });
  });

  // Prometheus scrapes without credentials, like most exporters: the listener is loopback
  // by default, and the figures hold counts and switch states, no request content.
  route('GET', '/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.render()));
  route('GET', '/openapi.json', async () => openApiDocument(documented, PACKAGE_VERSION));

  route('GET', '/v1/kill-switch', async () => await gateway.killSwitch(), true);
  route(
    'PUT',
    '/v1/kill-switch',
    async (request, reply) => {
      const change = parseKillSwitchChange(bodyOf(request));
      if (!change.ok) return sendError(request, reply, change.errors);
      return await gateway.setKillSwitch(change.value, callers.get(request)?.label ?? 'unknown caller');
    },
    true,
  );

  /**
   * One decision, timed and counted: what `/v1/decide` and each entry of a batch do, for the
   * caller `request` was authenticated as (`callers`), so both routes decide alike.
   */
  const decideOne = async (_request: FastifyRequest, body: unknown): Promise<Decision> => {
    const started = process.hrtime.bigint();
    const decision = await gateway.decide(body);
    metrics.decision(decision.decision, Number(process.hrtime.bigint() - started) / 1e9);
    return decision;
  };

  route(
    'POST',
    '/v1/decide',
    async (request, reply) => {
      const decision = await decideOne(request, bodyOf(request));
      if (isRequestInvalid(decision)) return sendError(request, reply, decisionErrors(decision), { body: { decision } });
      return decision;
    },
    true,
  );

  route(
    'POST',
    '/v1/decide/batch',
    async (request, reply) => {
      const envelope = DecideBatchSchema.safeParse(bodyOf(request));
      if (!envelope.success)
        return sendError(
          request,
          reply,
          schemaErrors(schemaProblems(envelope.error.issues, 'REQUEST_INVALID'), () => ({ prefix: 'batch: ' })),
        );
      // Decided together, so their audit events share group commits; answered in order.
      const decisions = await Promise.all(envelope.data.requests.map((item) => decideOne(request, item)));
      const errors = decisions.flatMap((decision, index) => (isRequestInvalid(decision) ? [batchEntryErrors(index, decisionErrors(decision))] : []));
      return { decisions, ...(errors.length > 0 ? { errors } : {}) };
    },
    true,
  );

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

  return app;
}
