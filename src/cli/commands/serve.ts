/**
 * `bastion serve`: the gateway as a service. Loads the configuration and policies, watches the
 * policies (a bad edit keeps the last good set; a failed reload
 * or a lost watch is reported on stderr and makes `/health` answer 503), answers `/health`
 * and, in development mode, `/v1/decide` and `/v1/kill-switch`; records `service.start` once
 * the port is bound; on SIGINT/SIGTERM drains the requests in flight, then closes the audit log.
 */

import { resolve } from 'node:path';
import { DEFAULT_CONFIG, loadConfig, type BastionConfig } from '../../config/index.js';
import { createBastionApp } from '../../app/index.js';
import type { LogOptions } from '../../server/index.js';
import { badInput, type CliIo, type Command, EXIT, failWith, parseOptions } from '../command.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'off'] as const;

const HELP = `Usage: bastion serve [--config FILE] [--policy PATH]… [--port N] [--host H] [--data-dir DIR] [--upstream URL] [--dev] [--log-level L]

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
`;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the gateway service (HTTP API, /health)',
  help: HELP,
  async run(args: string[], io: CliIo): Promise<number> {
    const parsed = parseOptions(io, 'serve', args, {
      help: HELP,
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
    });
    if (!parsed.ok) return parsed.exit;
    const opts = parsed.values;
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
    const built = await createBastionApp({ config, io, surface: 'http', ...(requestLog ? { requestLog } : {}) });
    if (!built.ok) return failWith(io, 'serve', built.errors);
    const app = built.value;
    const started = await app.start();
    if (!started.ok) {
      await app.stop('start failed');
      return failWith(io, 'serve', started.errors);
    }
    if (config.dev) io.stderr.write('\n  !!! DEVELOPMENT MODE: identity is read from requests and NOT verified. Never expose this. !!!\n\n');
    io.stdout.write(`bastion listening on ${started.value.url} (policy ${app.gateway.policySet.version}, data ${config.dataDir})\n`);

    await new Promise<void>((done) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await app.stop('signal');
    io.stdout.write('bastion stopped\n');
    return EXIT.OK;
  },
};
