/**
 * `bastion serve`: the gateway as a service. Loads the configuration and policies, watches the
 * policies (a bad edit keeps the last good set; a failed reload
 * or a lost watch is reported on stderr and makes `/health` answer 503), answers `/health`
 * and, in development mode, `/v1/decide` and `/v1/kill-switch`; records `service.start` once
 * the port is bound; on SIGINT/SIGTERM drains the requests in flight, then closes the audit log.
 */

import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { DEFAULT_CONFIG, loadConfig, type BastionConfig } from '../../config/index.js';
import { BastionException } from '../../core/errors.js';
import { createSiemSink, type SiemSink } from '../../audit/index.js';
import { createGateway } from '../../gateway/index.js';
import { watchPolicies } from '../../policy/watch.js';
import { buildServer, listen, stopServer, type LogOptions } from '../../server/index.js';
import { badInput, type CliIo, type Command, errorLine, EXIT, failWith } from '../command.js';

/** How long SIGINT/SIGTERM waits for requests in flight before it cuts the connections left. */
const SHUTDOWN_GRACE_MS = 10_000;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'off'] as const;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the gateway service (HTTP API, /health)',
  help: `Usage: bastion serve [--config FILE] [--policy PATH]… [--port N] [--host H] [--data-dir DIR] [--upstream URL] [--dev] [--log-level L]

Options (flags override the config file):
  --config FILE    YAML configuration (server, dataDir, policies, baseline, audit, upstream, dev)
  --policy PATH    policy file or directory (repeatable; replaces the config's list)
  --port N         default 8700
  --host H         default 127.0.0.1
  --data-dir DIR   state directory (audit log in DIR/bastion.db); default .bastion
  --upstream URL   the OpenAI-compatible provider the proxy forwards to (key: BASTION_UPSTREAM_API_KEY)
  --dev            development mode: identity is read from the request, NOT verified
  --log-level L    request log as JSON lines on stderr: trace, debug, info (default), warn,
                   error, fatal, or off; credentials in headers are redacted

Endpoints: GET /health (503 "degraded" while a policy change did not load or a watch is lost),
POST /v1/decide and GET/PUT /v1/kill-switch (development mode until identity verification
lands), GET /v1/audit/checkpoints[?since=SIZE] and GET /v1/audit/public-key (for external
witnesses). Bodies are JSON (\`application/json\`, else 415), at most 1 MiB (else 413).

Policy files are watched: every valid change is loaded, an invalid one is reported and the
last good set stays in force.

Example:
  bastion serve --config examples/bastion.yaml
`,
  async run(args: string[], io: CliIo): Promise<number> {
    let opts;
    try {
      opts = parseArgs({
        args,
        options: {
          config: { type: 'string' },
          policy: { type: 'string', multiple: true },
          port: { type: 'string' },
          host: { type: 'string' },
          'data-dir': { type: 'string' },
          upstream: { type: 'string' },
          dev: { type: 'boolean', default: false },
          'log-level': { type: 'string', default: 'info' },
        },
      }).values;
    } catch (err) {
      return badInput(io, 'serve', (err as Error).message);
    }
    let config: BastionConfig = { ...DEFAULT_CONFIG, dataDir: resolve(io.cwd, DEFAULT_CONFIG.dataDir) };
    if (opts.config !== undefined) {
      const loaded = loadConfig(opts.config, io.cwd);
      if (!loaded.ok) return failWith(io, 'serve', loaded.errors);
      config = loaded.value;
    }
    if (opts.policy) config.policies = opts.policy.map((p) => resolve(io.cwd, p));
    if (opts.host !== undefined) config.host = opts.host;
    if (opts['data-dir'] !== undefined) config.dataDir = resolve(io.cwd, opts['data-dir']);
    if (opts.upstream !== undefined) config.upstream = opts.upstream;
    if (opts.dev) config.dev = true;
    if (opts.port !== undefined) {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) return badInput(io, 'serve', `--port: \`${opts.port}\` is not a port number`);
      config.port = port;
    }
    const level = opts['log-level'];
    if (!LOG_LEVELS.includes(level as (typeof LOG_LEVELS)[number])) return badInput(io, 'serve', `--log-level: \`${level}\` is not one of ${LOG_LEVELS.join(', ')}`);
    const requestLog: LogOptions | undefined = level === 'off' ? undefined : { level: level as NonNullable<LogOptions['level']>, stream: io.stderr };
    if (config.policies.length === 0) return badInput(io, 'serve', 'no policies: pass --policy PATH or a --config file that lists policies');

    let gateway;
    try {
      gateway = await createGateway({
        policies: config.policies,
        baseline: config.baseline,
        dataDir: config.dataDir,
        durable: config.audit.durable,
        surface: 'http',
        ...(config.audit.retentionDays !== undefined ? { retentionDays: config.audit.retentionDays } : {}),
      });
    } catch (err) {
      if (err instanceof BastionException) return failWith(io, 'serve', err.details);
      throw err;
    }
    const log = gateway.auditLog;
    const startedAt = new Date();
    // Retention: prune at start and every six hours; each pruning is itself an audit event.
    const prune = async (): Promise<void> => {
      if (!log || config.audit.retentionDays === undefined) return;
      try {
        const report = await log.prune();
        if (report.pruned > 0) io.stderr.write(`bastion: audit retention pruned ${report.pruned} events (through seq ${report.throughSeq})\n`);
      } catch (err) {
        io.stderr.write(`bastion: audit retention failed: ${(err as Error).message}\n`);
      }
    };
    await prune();
    // SIEM streaming: at-least-once delivery from a cursor persisted in the audit file, so a
    // restart resumes where the collector last acknowledged.
    let sink: SiemSink | undefined;
    if (log && config.audit.siem) {
      const token = io.env['BASTION_SIEM_TOKEN'];
      const created = createSiemSink({ log, url: config.audit.siem.url, format: config.audit.siem.format, eventFormat: config.audit.siem.eventFormat, ...(token ? { token } : {}) });
      if (!created.ok) {
        await gateway.close();
        return failWith(io, 'serve', created.errors);
      }
      sink = created.value;
      sink.start();
      io.stderr.write(`bastion: streaming the audit log to ${config.audit.siem.url} (${config.audit.siem.format}, ${config.audit.siem.eventFormat})\n`);
    }
    const pruneTimer = setInterval(() => void prune(), 6 * 3600_000);
    pruneTimer.unref();
    const watcher = watchPolicies(config.policies, gateway.policySet, {
      onReload: async (set) => {
        await gateway.setPolicySet(set);
        io.stderr.write(`bastion: policies reloaded, version ${set.version}\n`);
      },
      onError: (errors) => io.stderr.write(`bastion: policy change rejected, keeping version ${watcher.current().version}: ${errorLine(errors)}\n`),
      onWatchLost: (path, message) => io.stderr.write(`bastion: policy watch lost for \`${path}\`: ${message}; checking for changes every 2 s until it is re-armed\n`),
      onWatchRestored: (path) => io.stderr.write(`bastion: policy watch re-armed for \`${path}\`\n`),
    }, { baseline: config.baseline });
    const app = await buildServer(gateway, { dev: config.dev, startedAt, policyWatch: () => watcher.status(), ...(requestLog ? { log: requestLog } : {}) });
    let url: string;
    try {
      url = await listen(app, config.host, config.port);
    } catch (err) {
      await app.close();
      watcher.close();
      clearInterval(pruneTimer);
      await sink?.stop();
      await gateway.close();
      return badInput(io, 'serve', `cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`);
    }
    // Recorded once the port is bound: a start that failed (port taken) is not a start.
    await log?.append({ type: 'service.start', data: { host: config.host, port: Number(new URL(url).port), dev: config.dev, policyVersion: gateway.policySet.version } });
    if (config.dev) io.stderr.write('\n  !!! DEVELOPMENT MODE: identity is read from requests and NOT verified. Never expose this. !!!\n\n');
    io.stdout.write(`bastion listening on ${url} (policy ${gateway.policySet.version}, data ${config.dataDir})\n`);

    await new Promise<void>((done) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    // Drain first: requests in flight finish (and are audited) before the log closes.
    await stopServer(app, SHUTDOWN_GRACE_MS);
    watcher.close();
    clearInterval(pruneTimer);
    await log?.append({ type: 'service.stop', data: { reason: 'signal' } });
    if (sink) {
      // Ship what is left (bounded: a collector that is down must not hold the shutdown).
      await Promise.race([sink.flush().catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]);
      await sink.stop();
    }
    await gateway.close();
    io.stdout.write('bastion stopped\n');
    return EXIT.OK;
  },
};
