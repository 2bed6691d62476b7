/**
 * The composition root: builds, from one validated configuration, everything a running
 * Bastion is made of (the stores, the gateway, the policy watcher, the SIEM sink, audit
 * retention and the HTTP server) and starts and stops them in the right order. `bastion
 * serve` is a thin command over it, and so will be every later surface (the MCP proxy, the
 * model-API proxy, hooks), so none of them copies the wiring.
 *
 *   createBastionApp(config) → stores → notifier → gateway → server (built, not bound)
 *   app.start()  → retention, approval expiry sweep, SIEM sink, watcher, listen, then `service.start`, then the notification outbox
 *   app.stop()   → drain the server, watcher, timers, notifier, `service.stop`, flush the sink, stores
 */

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createNotifier, type Notifier, type WebhookTarget } from '../approvals/index.js';
import { createSiemSink, keyDirectory, type SiemSink } from '../audit/index.js';
import type { BastionConfig } from '../config/index.js';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';
import { openGateway, type Gateway } from '../gateway/index.js';
import { buildAuthenticator, type Authenticator } from '../identity/index.js';
import type { McpHttp, UpstreamSpec } from '../mcp/index.js';
import { countPending, createMetrics, timeAuditAppends, type Metrics } from '../metrics/index.js';
import { watchPolicies, type PolicyWatcher } from '../policy/index.js';
// The HTTP service (Fastify), the model-API proxy and MCP over HTTP are loaded only by an app
// that serves: a `bastion hook` process per tool call builds one with `server: false`.
import type { buildServer, LogOptions } from '../server/index.js';
import { createChangeReview, fixtureBackend, httpBackend, type ReviewBackend, type ReviewModelOptions } from '../review/index.js';
// The local stores only: PostgreSQL (pg) and Redis (ioredis) are loaded when configured.
import { createMemoryStores, ensureDirectory, loadPostgresStores, loadRedisLimitStore, openSqliteLimitStore, openSqliteStores, type RedisLimitStore, type StateStores } from '../storage/local.js';
import type { LimitStore } from '../limits/index.js';

/** Where operator messages go and where secrets (`BASTION_SIEM_TOKEN`) come from. */
export interface AppIo {
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
}

export interface BastionAppOptions {
  config: BastionConfig;
  io: AppIo;
  /** Recorded in audit events; default `http`. */
  surface?: string;
  /** Default true: build the HTTP server (bound by `start()`). */
  server?: boolean;
  /** Default true: watch the policy files and reload every valid change. */
  watch?: boolean;
  /** Request logs (pino JSON); none when absent. */
  requestLog?: LogOptions;
  /** State in memory instead of the data directory (tests, throwaway runs). */
  memory?: boolean;
  /** Who may call the routes that need an identity; default from the config's mode. */
  identity?: Authenticator;
  /** The clock limits count with (ms since the epoch); default `Date.now`. For tests. */
  now?: () => number;
  /** How often expired approvals are written as `expired` (and audited); default 5 s. */
  approvalSweepMs?: number;
  /** The systems behind `POST /review-change`; default the demo's fixture files (`examples/change-review/`). */
  reviewBackend?: ReviewBackend;
}

export interface BastionApp {
  readonly config: BastionConfig;
  readonly gateway: Gateway;
  readonly stores: StateStores;
  /** Who may call the service, built from `config.identity` (and `config.dev`). */
  readonly identity: Authenticator;
  /** Approval notifications; undefined without a `notifications` section. */
  readonly notifier: Notifier | undefined;
  /**
   * This app's Prometheus metrics (`GET /metrics`). A part that lets a call through while a
   * dependency is down counts it: `app.metrics.failOpen('limit store')`.
   */
  readonly metrics: Metrics;
  /** The Fastify app, for `inject()`; undefined when built with `server: false`. */
  readonly server: Awaited<ReturnType<typeof buildServer>> | undefined;
  /**
   * Prunes by retention, starts the SIEM sink and the watcher, binds the server, and only
   * then records `service.start`: a start that failed (port taken) is not a start.
   */
  start(): Promise<Result<{ url?: string }, BastionError>>;
  /** Drains requests in flight, stops everything started, records `service.stop`, closes the stores. */
  stop(reason?: string): Promise<void>;
}

/**
 * Says at start who may call the service. (A JWKS that does not answer its first fetch does
 * not hold the start: the verifier says so, `/health` is not ready, and it is retried.)
 */
function announceIdentity(config: BastionConfig, io: AppIo): void {
  const jwt = config.identity.jwt;
  const ways = [
    jwt ? `JWTs from ${jwt.issuer.join(', ')} for ${jwt.audience.join(', ')} (${jwt.keys.kind === 'jwksUrl' ? jwt.keys.url : jwt.keys.path})` : undefined,
    config.identity.apiKeys ? 'API keys (`bastion keys`)' : undefined,
  ].filter((w) => w !== undefined);
  if (config.dev) io.stderr.write(`bastion: development mode: identity headers and request bodies are trusted, NOT verified${ways.length > 0 ? `; bearer ${ways.join(' and ')} are verified` : ''}\n`);
  else if (ways.length === 0) {
    io.stderr.write(
      'bastion: WARNING: no identity is configured (`identity.jwt`, `identity.apiKeys` in the config file): every /v1 call is refused with 401 until one is; see the README, "Identity"\n',
    );
  } else io.stderr.write(`bastion: identity: ${ways.join('; ')}\n`);
  // A JWKS that did not answer at start was reported by the verifier when it happened.
}

/**
 * The change review's optional model step from `review.model` (its API key read from the
 * environment now, so a missing one stops the start); undefined when none is configured.
 *
 * @example const model = reviewModelFor(config, process.env);
 */
export function reviewModelFor(config: BastionConfig, env: AppIo['env']): Result<ReviewModelOptions | undefined, BastionError> {
  const m = config.review?.model;
  if (m === undefined) return ok(undefined);
  const key = m.apiKeyEnv !== undefined ? env[m.apiKeyEnv] : undefined;
  if (m.apiKeyEnv !== undefined && (key === undefined || key === ''))
    return fail(bastionError('CONFIG_INVALID', `field ${quote('review.model.apiKeyEnv')}: the environment variable ${quote(m.apiKeyEnv)} is not set`, { field: 'review.model.apiKeyEnv' }));
  return ok({ baseUrl: m.baseUrl, model: m.model, timeoutMs: m.timeoutMs, ...(key !== undefined ? { apiKey: key } : {}) });
}

/**
 * The change review's systems: the real ones of `review.http` (their tokens read from the
 * environment now, so a missing one stops the start), else the fixture data. `bastion review
 * --config` uses it too.
 *
 * @example const backend = reviewBackendFor(config, process.env);
 */
export function reviewBackendFor(config: BastionConfig, env: AppIo['env']): Result<ReviewBackend, BastionError> {
  const h = config.review?.http;
  if (h === undefined) return ok(fixtureBackend(...(config.review?.fixtures !== undefined ? [config.review.fixtures] : [])));
  const missing: BastionError[] = [];
  const read = (name: string, field: string): string => {
    const value = env[name];
    if (value === undefined || value === '')
      missing.push(bastionError('CONFIG_INVALID', `field ${quote(`review.http.${field}`)}: the environment variable ${quote(name)} is not set`, { field: `review.http.${field}` }));
    return value ?? '';
  };
  const backend = httpBackend({
    jira: { baseUrl: h.jira.baseUrl, email: h.jira.email, apiToken: read(h.jira.tokenEnv, 'jira.tokenEnv'), ...(h.jira.rollbackField !== undefined ? { rollbackField: h.jira.rollbackField } : {}) },
    github: { owner: h.github.owner, token: read(h.github.tokenEnv, 'github.tokenEnv'), ...(h.github.baseUrl !== undefined ? { baseUrl: h.github.baseUrl } : {}) },
    confluence: { baseUrl: h.confluence.baseUrl, email: h.confluence.email, apiToken: read(h.confluence.tokenEnv, 'confluence.tokenEnv'), standardsPageId: h.confluence.standardsPageId },
    slack: { token: read(h.slack.tokenEnv, 'slack.tokenEnv'), ...(h.slack.baseUrl !== undefined ? { baseUrl: h.slack.baseUrl } : {}) },
    aws: {
      environment: h.aws.environment,
      region: h.aws.region,
      credentials: {
        accessKeyId: read(h.aws.accessKeyIdEnv, 'aws.accessKeyIdEnv'),
        secretAccessKey: read(h.aws.secretAccessKeyEnv, 'aws.secretAccessKeyEnv'),
        ...(h.aws.sessionTokenEnv !== undefined ? { sessionToken: read(h.aws.sessionTokenEnv, 'aws.sessionTokenEnv') } : {}),
      },
      ...(h.aws.alias !== undefined ? { alias: h.aws.alias } : {}),
      ...(h.aws.stsEndpoint !== undefined ? { stsEndpoint: h.aws.stsEndpoint } : {}),
      ...(h.aws.ec2Endpoint !== undefined ? { ec2Endpoint: h.aws.ec2Endpoint } : {}),
    },
  });
  return missing.length > 0 ? fail(...missing) : ok(backend);
}

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The upstream MCP servers of `config.mcp`; a stdio server inherits the environment without Bastion's own `BASTION_*` settings. */
function mcpUpstreams(config: BastionConfig, env: AppIo['env']): Record<string, UpstreamSpec> {
  const inherited: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !k.startsWith('BASTION_')) inherited[k] = v;
  const specs: Record<string, UpstreamSpec> = {};
  for (const [name, server] of Object.entries(config.mcp?.servers ?? {})) {
    specs[name] = 'url' in server ? { kind: 'http', url: server.url } : { kind: 'stdio', command: server.command[0] as string, args: server.command.slice(1), cwd: server.cwd, env: inherited };
  }
  return specs;
}

/** How long requests in flight may take to finish on stop before their connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;
/** A SIEM collector that is down must not hold the shutdown for longer than this. */
const SINK_FLUSH_MS = 5_000;
const RETENTION_INTERVAL_MS = 6 * 3600_000;
const APPROVAL_SWEEP_MS = 5_000;
/** Notifications still in flight at stop may take this long before they are audited as undelivered. */
const NOTIFY_DRAIN_MS = 2_000;

/** The webhooks of `notifications`, their URLs and secrets read from the environment or files now, so a missing one stops the start. */
function webhookTargets(config: BastionConfig, env: AppIo['env']): Result<WebhookTarget[], BastionError> {
  const errors: BastionError[] = [];
  const targets: WebhookTarget[] = [];
  (config.notifications?.webhooks ?? []).forEach((w, i) => {
    const field = `notifications.webhooks[${i}]`;
    let url = w.url;
    if (w.urlEnv !== undefined) {
      url = env[w.urlEnv];
      if (url === undefined || !/^https?:\/\//.test(url))
        errors.push(bastionError('CONFIG_INVALID', `webhook ${quote(w.name)}: environment variable ${quote(w.urlEnv)} must hold an http(s) URL`, { field: `${field}.urlEnv` }));
    }
    let secret: string | undefined;
    if (w.secretEnv !== undefined) {
      secret = env[w.secretEnv];
      if (secret === undefined || secret === '')
        errors.push(bastionError('CONFIG_INVALID', `webhook ${quote(w.name)}: environment variable ${quote(w.secretEnv)} is not set (it holds the signing secret)`, { field: `${field}.secretEnv` }));
    } else if (w.secretFile !== undefined) {
      try {
        secret = readFileSync(w.secretFile, 'utf8').trim();
        if (secret === '') errors.push(bastionError('CONFIG_INVALID', `webhook ${quote(w.name)}: secret file ${quote(w.secretFile)} is empty`, { field: `${field}.secretFile` }));
      } catch (err) {
        errors.push(
          bastionError('CONFIG_INVALID', `webhook ${quote(w.name)}: cannot read secret file ${quote(w.secretFile)}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`, {
            field: `${field}.secretFile`,
          }),
        );
      }
    }
    if (url !== undefined) targets.push({ name: w.name, url, format: w.format, events: w.events, ...(secret ? { secret } : {}) });
  });
  return errors.length > 0 ? fail(...errors) : ok(targets);
}

/**
 * The stores of a configuration: everything in the data directory's SQLite file, or
 * (`storage.kind: postgres`) every store shared by the replicas in PostgreSQL (the audit
 * chain, approvals, the kill switch, API keys, the notification outbox, tool pins, taint),
 * limits still counted in the data directory's file. The signing key files: `audit.keyDir`,
 * else `BASTION_AUDIT_KEY_DIR`, else the data directory.
 */
async function openStores(config: BastionConfig, io: AppIo): Promise<Result<StateStores, BastionError>> {
  const redis = await openRedisLimits(config, io);
  if (!redis.ok) return redis;
  const opened = await openStateStores(config, io.env, redis.value);
  if (!opened.ok) {
    await redis.value?.close();
    return opened;
  }
  if (redis.value === undefined || config.storage.kind === 'postgres') return opened;
  // SQLite: every store in the file but limits, which replicas count in Redis.
  const limits = redis.value;
  return ok({ ...opened.value, limits, close: async () => void (await Promise.allSettled([opened.value.close(), limits.close()])) });
}

/**
 * The Redis limit store of a configuration (`limits.redis`, else `BASTION_REDIS_URL`), or
 * undefined when neither is set. Redis being down is not an error here: the store reports
 * it (stderr, `/health`, `/metrics`) and limits follow their fail modes until it is back.
 */
async function openRedisLimits(config: BastionConfig, io: AppIo): Promise<Result<RedisLimitStore | undefined, BastionError>> {
  const fromEnv = io.env.BASTION_REDIS_URL;
  const url = config.limits.redis ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
  if (url === undefined) {
    if (config.limits.prefix !== undefined)
      return fail(bastionError('CONFIG_INVALID', 'field `limits.prefix`: goes with a Redis limit store only (set `limits.redis`, or BASTION_REDIS_URL)', { field: 'limits.prefix' }));
    return ok(undefined);
  }
  const field = config.limits.redis !== undefined ? 'limits.redis' : 'BASTION_REDIS_URL';
  const { openRedisLimitStore, redisTarget } = await loadRedisLimitStore();
  const target = redisTarget(url);
  if (!target.ok) return fail(...target.errors.map((e) => ({ ...e, message: `${field}: ${e.message}`, field })));
  const name = `the limit store (Redis at ${target.value})`;
  const opened = await openRedisLimitStore(url, {
    ...(config.limits.prefix !== undefined ? { prefix: config.limits.prefix } : {}),
    onStatus: (problem) =>
      io.stderr.write(
        problem === undefined
          ? `bastion: ${name} is reachable\n`
          : `bastion: ${name} is unreachable (${problem}): rate limits fail ${config.limits.onStoreError}, budgets fail closed, until it is back\n`,
      ),
  });
  if (!opened.ok) return fail(...opened.errors.map((e) => ({ ...e, message: `${field}: ${e.message}`, field })));
  return opened;
}

async function openStateStores(config: BastionConfig, env: AppIo['env'], redisLimits: LimitStore | undefined): Promise<Result<StateStores, BastionError>> {
  const fromEnv = env.BASTION_AUDIT_KEY_DIR;
  const keyDir = config.audit.keyDir ?? (fromEnv !== undefined && fromEnv !== '' ? resolve(fromEnv) : undefined);
  const audit = {
    durable: config.audit.durable,
    ...(config.audit.retentionDays !== undefined ? { retentionDays: config.audit.retentionDays } : {}),
  };
  if (config.storage.kind !== 'postgres') return openSqliteStores(config.dataDir, { ...audit, ...(keyDir !== undefined ? { keyDir } : {}) });
  const url = postgresUrlOf(config, env);
  if (!url.ok) return url;
  const dir = keyDir ?? config.dataDir;
  const problem = ensureDirectory(dir);
  if (problem) return fail(bastionError('AUDIT_KEY', `the signing key directory ${quote(dir)}: ${problem}`));
  const limits = redisLimits !== undefined ? ok(redisLimits) : openDataDirLimits(config);
  if (!limits.ok) return limits;
  const { openPostgresStores } = await loadPostgresStores();
  return openPostgresStores(url.value, { key: keyDirectory(dir), limits: limits.value, ...(audit.retentionDays !== undefined ? { retentionDays: audit.retentionDays } : {}) });
}

/** Without Redis, a PostgreSQL deployment counts limits per replica in the data directory's file. */
function openDataDirLimits(config: BastionConfig): Result<LimitStore, BastionError> {
  const dataDirProblem = ensureDirectory(config.dataDir);
  if (dataDirProblem) return fail(bastionError('STATE_STORAGE', `while opening ${quote(config.dataDir)}: ${dataDirProblem}`));
  return openSqliteLimitStore(join(config.dataDir, 'bastion.db'), { synchronous: config.audit.durable === false ? 'NORMAL' : 'FULL' });
}

/**
 * The PostgreSQL URL of a configuration with `storage.kind: postgres`: `storage.url`, else
 * `BASTION_POSTGRES_URL`; `CONFIG_INVALID` when neither is set or it is not a postgres URL.
 *
 * @example postgresUrlOf(config, process.env) // { ok: true, value: 'postgres://bastion@db/bastion' }
 */
function postgresUrlOf(config: Pick<BastionConfig, 'storage'>, env: AppIo['env']): Result<string, BastionError> {
  const url = (config.storage.kind === 'postgres' ? config.storage.url : undefined) ?? env.BASTION_POSTGRES_URL;
  if (url === undefined || url === '') {
    return fail(bastionError('CONFIG_INVALID', 'field `storage.url`: `kind: postgres` needs a url, in the file or in the environment variable BASTION_POSTGRES_URL', { field: 'storage.url' }));
  }
  if (!/^postgres(ql)?:\/\/\S+$/.test(url)) return fail(bastionError('CONFIG_INVALID', 'BASTION_POSTGRES_URL must be a postgres:// or postgresql:// URL', { field: 'storage.url' }));
  return ok(url);
}

/**
 * Builds the application from a configuration (see `loadConfig`). Returns the errors when a
 * store cannot be opened, the policies do not load or the SIEM settings are invalid; what was
 * opened by then is closed again.
 *
 * @example
 * const built = await createBastionApp({ config, io: process });
 * if (!built.ok) throw new BastionException(built.errors);
 * const started = await built.value.start(); // { url: 'http://127.0.0.1:8700' }
 */
export async function createBastionApp(options: BastionAppOptions): Promise<Result<BastionApp, BastionError>> {
  const { config, io } = options;
  if (config.policies.length === 0) return fail(bastionError('CONFIG_INVALID', 'no policies: pass --policy PATH or a --config file that lists policies', { field: 'policies' }));
  const surface = options.surface ?? 'http';

  let stores: StateStores;
  if (options.memory === true) stores = createMemoryStores();
  else {
    const opened = await openStores(config, io);
    if (!opened.ok) return opened;
    stores = opened.value;
  }
  // A limit store with a server of its own (Redis) is probed by /health and /metrics.
  const limitPing = stores.limits.ping?.bind(stores.limits);
  const metrics = createMetrics({
    sources: {
      killSwitch: () => stores.killSwitch.get(),
      pendingApprovals: () => countPending(stores.approvals),
      ...(limitPing ? { limitStore: limitPing } : {}),
    },
  });
  // Every append through the app (decisions, service events, kill-switch changes) is timed.
  if (stores.audit) stores = { ...stores, audit: timeAuditAppends(stores.audit, metrics) };

  let notifier: Notifier | undefined;
  if (config.notifications !== undefined && config.notifications.webhooks.length > 0) {
    const targets = webhookTargets(config, io.env);
    if (!targets.ok) {
      await stores.close();
      return targets;
    }
    const audit = stores.audit;
    notifier = createNotifier({
      targets: targets.value,
      retry: config.notifications.retry,
      queueSize: config.notifications.queueSize,
      timeoutMs: config.notifications.timeoutMs,
      ...(audit ? { record: async (event) => void (await audit.append(event)) } : {}),
      log: (line) => io.stderr.write(line),
      // Undelivered notifications survive a restart in the data directory; state in memory
      // survives nothing, so there what is pending at stop is audited as failed instead.
      ...(options.memory === true ? {} : { outbox: stores.notifications }),
    });
  }

  // The classifier's key comes from the environment, never the file; a missing one stops the start.
  const classifier = config.injectionClassifier;
  const classifierKey = classifier?.apiKeyEnv !== undefined ? io.env[classifier.apiKeyEnv] : undefined;
  if (classifier?.apiKeyEnv !== undefined && (classifierKey === undefined || classifierKey === '')) {
    await stores.close();
    return fail(
      bastionError('CONFIG_INVALID', `field ${quote('scanners.injection.classifier.apiKeyEnv')}: the environment variable ${quote(classifier.apiKeyEnv)} is not set`, {
        field: 'scanners.injection.classifier.apiKeyEnv',
      }),
    );
  }
  const opened = await openGateway({
    policies: config.policies,
    ...(classifier !== undefined
      ? {
          injectionClassifier: {
            url: classifier.url,
            onError: classifier.onError,
            timeoutMs: classifier.timeoutMs,
            threshold: classifier.threshold,
            ...(classifierKey !== undefined ? { apiKey: classifierKey } : {}),
          },
        }
      : {}),
    ...(config.shadowPolicies.length > 0 ? { shadowPolicies: config.shadowPolicies, onShadow: (enforcing, shadow) => metrics.shadowDecision(enforcing.decision, shadow.decision) } : {}),
    onWouldBlock: (_decision, wouldBlock) => {
      for (const w of wouldBlock) metrics.wouldBlock(w.policy, w.rule);
    },
    baseline: config.baseline,
    ...(stores.audit ? { auditLog: stores.audit } : {}),
    stores: { killSwitch: stores.killSwitch, taint: stores.taint, limits: stores.limits, approvals: stores.approvals },
    limits: { onStoreError: config.limits.onStoreError, onFailOpen: () => metrics.failOpen('limit store') },
    ...(options.now ? { now: options.now } : {}),
    surface,
    approvals: { ...config.approvals, ...(notifier ? { notify: notifier.notify } : {}) },
  });
  if (!opened.ok) {
    await stores.close();
    return opened;
  }
  const gateway: Gateway = opened.value;

  const log = stores.audit;
  let sink: SiemSink | undefined;
  if (log && config.audit.siem) {
    const token = io.env['BASTION_SIEM_TOKEN'];
    const created = createSiemSink({ log, url: config.audit.siem.url, format: config.audit.siem.format, eventFormat: config.audit.siem.eventFormat, ...(token ? { token } : {}) });
    if (!created.ok) {
      await gateway.close();
      await stores.close();
      return fail(...created.errors);
    }
    sink = created.value;
  }

  const identity = buildAuthenticator(config.identity, { dev: config.dev, apiKeys: stores.apiKeys, jwt: { log: (line) => io.stderr.write(line) } });
  if (!identity.ok) {
    await gateway.close();
    await stores.close();
    return identity;
  }
  // A test may pass its own authenticator; the service's is built from the config.
  const authenticator = options.identity ?? identity.value;
  if (options.identity) identity.value.close?.();

  const reviewModel = reviewModelFor(config, io.env);
  const reviewBackend = !reviewModel.ok ? reviewModel : options.reviewBackend !== undefined ? ok(options.reviewBackend) : reviewBackendFor(config, io.env);
  if (!reviewBackend.ok) {
    await gateway.close();
    await stores.close();
    return reviewBackend;
  }

  const web =
    options.server === false
      ? undefined
      : await Promise.all([import('../server/index.js'), import('../proxy/index.js'), import('../mcp/index.js')]).then(([server, proxy, mcp]) => ({ server, proxy, mcp }));
  // The model-API proxy's provider key, from the environment or a secret file, never the config file.
  const key = web ? web.proxy.upstreamKey(io.env, (path) => readFileSync(path, 'utf8')) : { ok: true as const, value: undefined };
  if (!key.ok) {
    await gateway.close();
    await stores.close();
    return fail(bastionError('CONFIG_INVALID', key.message, { field: 'upstream' }));
  }
  const proxy = { ...config.proxy, ...(config.upstream !== undefined ? { upstream: config.upstream } : {}), ...(key.value !== undefined ? { apiKey: key.value } : {}) };

  // MCP over Streamable HTTP at `/mcp/<server>`, for the servers the config lists.
  const audit = stores.audit;
  const mcp: McpHttp | undefined =
    web !== undefined && config.mcp !== undefined && Object.keys(config.mcp.servers).length > 0
      ? web.mcp.createMcpHttp({
          servers: mcpUpstreams(config, io.env),
          gateway,
          pins: stores.toolPins,
          record: async (event) => void (await audit?.append(event)),
          version: PACKAGE_VERSION,
          log: (line) => io.stderr.write(line),
        })
      : undefined;

  let watcher: PolicyWatcher | undefined;
  const startedAt = new Date();
  const server =
    web === undefined
      ? undefined
      : await web.server.buildServer(gateway, {
          dev: config.dev,
          identity: authenticator,
          identityHeaders: config.identity.headers,
          startedAt,
          adminGroups: config.adminGroups,
          ...(config.trustProxy.length > 0 ? { trustProxy: config.trustProxy } : {}),
          claudeCodeHook: config.hooks.claudeCode,
          ...(options.watch !== false ? { policyWatch: () => watcher?.status() ?? { watching: false, version: gateway.policySet.version, watchErrors: [] } } : {}),
          ...(options.requestLog ? { log: options.requestLog } : {}),
          metrics,
          review: createChangeReview({
            gateway,
            backend: reviewBackend.value,
            ...(config.review?.slackChannel !== undefined ? { slackChannel: config.review.slackChannel } : {}),
            ...(reviewModel.ok && reviewModel.value !== undefined ? { model: reviewModel.value } : {}),
          }),
          extensions: [(routes) => web.proxy.registerProxy(routes, gateway, proxy)],
          ...(mcp ? { mcp: { servers: mcp.servers, allowedOrigins: config.mcp?.allowedOrigins ?? [], handle: mcp.handle } } : {}),
          probes: [
            { name: 'killSwitch', check: () => stores.killSwitch.get() },
            {
              name: 'approvals',
              check: async () => {
                const page = await stores.approvals.list({ status: 'pending', limit: 1 }, Date.now());
                if (!page.ok) throw new Error(page.errors.map((e) => e.message).join('; '));
              },
            },
            ...(log ? [{ name: 'auditLog', check: () => log.store.head() }] : []),
            // Shared by every replica and with documented fail modes: degraded, still ready.
            ...(limitPing ? [{ name: 'limitStore', onFailure: 'degraded' as const, check: limitPing }] : []),
          ],
        });

  // Retention: at start and every six hours; each pruning is itself an audit event.
  const prune = async (): Promise<void> => {
    if (!log || config.audit.retentionDays === undefined) return;
    try {
      const report = await log.prune();
      if (report.pruned > 0) io.stderr.write(`bastion: audit retention pruned ${report.pruned} events (through seq ${report.throughSeq})\n`);
    } catch (err) {
      io.stderr.write(`bastion: audit retention failed: ${(err as Error).message}\n`);
    }
  };
  let pruneTimer: NodeJS.Timeout | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  // Expiry applies on read at once; the sweep writes `expired` and audits it once per approval.
  let sweeping = false;
  const sweep = async (): Promise<void> => {
    if (sweeping) return;
    sweeping = true;
    try {
      await gateway.approvals.sweep();
    } catch (err) {
      io.stderr.write(`bastion: approval expiry sweep failed: ${(err as Error).message}\n`);
    } finally {
      sweeping = false;
    }
  };
  let started = false;
  /** Set once the start was recorded: only a recorded start gets a `service.stop`. */
  let running = false;
  let stopped = false;

  const stopParts = async (): Promise<void> => {
    watcher?.close();
    identity.value.close?.();
    if (pruneTimer) clearInterval(pruneTimer);
    if (sweepTimer) clearInterval(sweepTimer);
  };

  const app: BastionApp = {
    config,
    gateway,
    stores,
    identity: authenticator,
    notifier,
    metrics,
    server,
    async start() {
      if (started) return fail(bastionError('INTERNAL', 'the application was already started'));
      started = true;
      await prune();
      pruneTimer = setInterval(() => void prune(), RETENTION_INTERVAL_MS);
      pruneTimer.unref();
      await sweep();
      sweepTimer = setInterval(() => void sweep(), options.approvalSweepMs ?? APPROVAL_SWEEP_MS);
      sweepTimer.unref();
      if (options.watch !== false) {
        const current = watchPolicies(
          config.policies,
          gateway.policySet,
          {
            onReload: async (set) => {
              await gateway.setPolicySet(set);
              io.stderr.write(`bastion: policies reloaded, version ${set.version}\n`);
            },
            onError: (errors) => io.stderr.write(`bastion: policy change rejected, keeping version ${current.current().version}: ${errors.map((e) => e.message).join('; ')}\n`),
            onWatchLost: (path, message) => io.stderr.write(`bastion: policy watch lost for \`${path}\`: ${message}; checking for changes every 2 s until it is re-armed\n`),
            onWatchRestored: (path) => io.stderr.write(`bastion: policy watch re-armed for \`${path}\`\n`),
          },
          { baseline: config.baseline },
        );
        watcher = current;
      }
      // Fetched before the port opens, so the first request and `/health` already know the JWKS.
      if (server) await authenticator.refresh?.();
      let url: string | undefined;
      if (server) {
        try {
          url = await (web as NonNullable<typeof web>).server.listen(server, config.host, config.port);
        } catch (err) {
          await server.close();
          await stopParts();
          if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
            return fail(bastionError('CONFIG_INVALID', `port ${config.port} is in use: pass --port N (npm start -- --port N)`, { field: 'server.port' }));
          }
          return fail(bastionError('CONFIG_INVALID', `cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`, { field: 'server.port' }));
        }
      }
      if (sink) {
        sink.start();
        io.stderr.write(`bastion: streaming the audit log to ${config.audit.siem?.url} (${config.audit.siem?.format}, ${config.audit.siem?.eventFormat})\n`);
      }
      // Recorded once the port is bound: a start that failed (port taken) is not a start.
      running = true;
      if (server) announceIdentity(config, io);
      await log?.append({
        type: 'service.start',
        data: { host: config.host, port: url ? Number(new URL(url).port) : config.port, dev: config.dev, policyVersion: gateway.policySet.version, surface },
      });
      // What a previous run left undelivered (stopped or crashed mid-retry) goes out now.
      const resumed = (await notifier?.resume()) ?? 0;
      if (resumed > 0) io.stderr.write(`bastion: redelivering ${resumed} approval notification${resumed === 1 ? '' : 's'} left undelivered by the previous run\n`);
      return ok(url === undefined ? {} : { url });
    },
    async stop(reason = 'signal') {
      if (stopped) return;
      stopped = true;
      // MCP sessions hold SSE streams open: they end first, so the drain does not wait on them.
      if (mcp) await mcp.close();
      // Drain first: requests in flight finish (and are audited) before the log closes.
      if (server && web) await web.server.stopServer(server, SHUTDOWN_GRACE_MS);
      await stopParts();
      if (notifier) {
        await notifier.idle(NOTIFY_DRAIN_MS);
        await notifier.stop();
      }
      if (running) await log?.append({ type: 'service.stop', data: { reason } });
      if (sink) {
        await Promise.race([sink.flush().catch(() => undefined), new Promise((r) => setTimeout(r, SINK_FLUSH_MS).unref())]);
        await sink.stop();
      }
      await gateway.close();
      await stores.close();
    },
  };
  return ok(app);
}
