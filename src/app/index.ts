/**
 * The composition root: builds, from one validated configuration, everything a running
 * Bastion is made of (the stores, the gateway, the policy watcher, the SIEM sink, audit
 * retention and the HTTP server) and starts and stops them in the right order. `bastion
 * serve` is a thin command over it, and so will be every later surface (the MCP proxy, the
 * model-API proxy, hooks), so none of them copies the wiring.
 *
 *   createBastionApp(config) → stores → gateway → server (built, not bound)
 *   app.start()  → retention, SIEM sink, watcher, listen, then `service.start`
 *   app.stop()   → drain the server, watcher, timers, `service.stop`, flush the sink, stores
 */

import { createSiemSink, type SiemSink } from '../audit/index.js';
import type { BastionConfig } from '../config/index.js';
import { bastionError, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';
import { openGateway, type Gateway } from '../gateway/index.js';
import { countPending, createMetrics, timeAuditAppends, type Metrics } from '../metrics/index.js';
import { watchPolicies, type PolicyWatcher } from '../policy/index.js';
import { buildServer, listen, stopServer, type LogOptions } from '../server/index.js';
import { createMemoryStores, openSqliteStores, type StateStores } from '../storage/index.js';

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
}

export interface BastionApp {
  readonly config: BastionConfig;
  readonly gateway: Gateway;
  readonly stores: StateStores;
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

/** How long requests in flight may take to finish on stop before their connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;
/** A SIEM collector that is down must not hold the shutdown for longer than this. */
const SINK_FLUSH_MS = 5_000;
const RETENTION_INTERVAL_MS = 6 * 3600_000;

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
    const opened = await openSqliteStores(config.dataDir, {
      durable: config.audit.durable,
      ...(config.audit.retentionDays !== undefined ? { retentionDays: config.audit.retentionDays } : {}),
    });
    if (!opened.ok) return opened;
    stores = opened.value;
  }
  const metrics = createMetrics({
    sources: { killSwitch: () => stores.killSwitch.get(), pendingApprovals: () => countPending(stores.approvals) },
  });
  // Every append through the app (decisions, service events, kill-switch changes) is timed.
  if (stores.audit) stores = { ...stores, audit: timeAuditAppends(stores.audit, metrics) };

  const opened = await openGateway({
    policies: config.policies,
    baseline: config.baseline,
    ...(stores.audit ? { auditLog: stores.audit } : {}),
    stores: { killSwitch: stores.killSwitch, taint: stores.taint },
    surface,
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

  let watcher: PolicyWatcher | undefined;
  const startedAt = new Date();
  const server =
    options.server === false
      ? undefined
      : await buildServer(gateway, {
          dev: config.dev,
          startedAt,
          ...(options.watch !== false ? { policyWatch: () => watcher?.status() ?? { watching: false, version: gateway.policySet.version, watchErrors: [] } } : {}),
          ...(options.requestLog ? { log: options.requestLog } : {}),
          metrics,
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
  let started = false;
  /** Set once the start was recorded: only a recorded start gets a `service.stop`. */
  let running = false;
  let stopped = false;

  const stopParts = async (): Promise<void> => {
    watcher?.close();
    if (pruneTimer) clearInterval(pruneTimer);
  };

  const app: BastionApp = {
    config,
    gateway,
    stores,
    metrics,
    server,
    async start() {
      if (started) return fail(bastionError('INTERNAL', 'the application was already started'));
      started = true;
      await prune();
      pruneTimer = setInterval(() => void prune(), RETENTION_INTERVAL_MS);
      pruneTimer.unref();
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
      let url: string | undefined;
      if (server) {
        try {
          url = await listen(server, config.host, config.port);
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
      await log?.append({
        type: 'service.start',
        data: { host: config.host, port: url ? Number(new URL(url).port) : config.port, dev: config.dev, policyVersion: gateway.policySet.version, surface },
      });
      return ok(url === undefined ? {} : { url });
    },
    async stop(reason = 'signal') {
      if (stopped) return;
      stopped = true;
      // Drain first: requests in flight finish (and are audited) before the log closes.
      if (server) await stopServer(server, SHUTDOWN_GRACE_MS);
      await stopParts();
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
