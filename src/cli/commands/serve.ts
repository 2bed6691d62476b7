/**
 * `bastion serve`: the gateway as a service. Loads the configuration and policies, watches the
 * policies (a bad edit keeps the last good set; a failed reload or a lost watch is reported on
 * stderr and makes `/health` answer 503), serves the HTTP API (`server/`), prints where it
 * listens and curl lines that work for the mode it runs in; records `service.start` once the
 * port is bound (a taken port says how to pick another); on SIGINT/SIGTERM drains the requests
 * in flight, then closes the audit log.
 */

import { resolve } from 'node:path';
import { DEFAULT_CONFIG, loadConfig, type BastionConfig } from '../../config/index.js';
import { createBastionApp } from '../../app/index.js';
import type { LogOptions } from '../../server/index.js';
import type { RedisLimitStore } from '../../storage/index.js';
import { badInput, type CliIo, type Command, EXIT, failWith, parseOptions } from '../command.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'off'] as const;

/**
 * The lines printed after start: curl commands that work as printed for the mode the service
 * runs in (development mode: the principal in the body; production: a bearer token).
 */
export function howToCall(url: string, dev: boolean): string {
  const request = dev ? '{"principal":{"id":"sre-agent","groups":["sre"]},"action":"shell.execute","args":{"command":"df -h"}}' : '{"action":"shell.execute","args":{"command":"df -h"}}';
  const auth = dev ? '' : ` -H "authorization: Bearer $BASTION_TOKEN"`;
  return [
    '',
    'Try it:',
    `  curl -s ${url}/health`,
    `  curl -s ${url}/v1/decide -H 'content-type: application/json'${auth} -d '${request}'`,
    ...(dev ? [] : ['  (BASTION_TOKEN: a JWT from your identity provider, or a key from `bastion keys create`)']),
    `Metrics: ${url}/metrics   API description: ${url}/openapi.json`,
    '',
  ].join('\n');
}

const HELP = `Usage: bastion serve [--config FILE] [--policy PATH]… [--shadow-policy PATH]… [--port N] [--host H] [--data-dir DIR] [--upstream URL] [--dev] [--log-level L]

Options (flags override the config file):
  --config FILE    YAML configuration (server, dataDir, policies, baseline, audit, storage,
                   upstream, proxy, dev, identity), e.g. config/bastion.yaml in the checkout
  --policy PATH    policy file or directory (repeatable; replaces the config's list)
  --shadow-policy PATH  a candidate set decided next to the policies and recorded in each
                   decision's audit event, never enforced (shadow mode; repeatable;
                   replaces the config's shadowPolicies)
  --port N         default 8700
  --host H         default 127.0.0.1
  --data-dir DIR   state directory (audit log in DIR/bastion.db); default .bastion
  --upstream URL   the model provider the proxy forwards to, a base URL ending in /v1 (its key:
                   BASTION_UPSTREAM_API_KEY, or the file BASTION_UPSTREAM_API_KEY_FILE names)
  --dev            development mode: identity is read from headers or the request body,
                   NOT verified (bearer tokens are still verified when configured)
  --log-level L    request log as JSON lines on stderr: trace, debug, info (default), warn,
                   error, fatal, or off; credentials in headers are redacted

Identity: every /v1 route except the audit checkpoints and public key needs
\`Authorization: Bearer <token>\`, a JWT (\`identity.jwt\` in the config: jwksUrl, jwksFile or
publicKeyFile, issuer, audience) or an API key (\`identity: { apiKeys: true }\`, keys made with
\`bastion keys create\`). Without either, production mode answers 401 to every call. /v1/decide
decides for the verified principal; a principal in the body is overwritten.

Endpoints: GET /health (503 "degraded" naming what failed: a policy change that did not load,
a lost watch, a store or the audit log not answering), GET /metrics (Prometheus text),
GET /openapi.json, POST /v1/decide, POST /v1/decide/batch (up to 100 requests) and
GET/PUT /v1/kill-switch, GET /v1/approvals[/ID[?wait=S]],
POST /v1/approvals/ID/approve|deny|cancel, GET /v1/audit/checkpoints[?since=SIZE] and GET /v1/audit/public-key
(for external witnesses), and POST|GET|DELETE /mcp/NAME (MCP over Streamable HTTP for each server of
\`mcp.servers\` in the config; an \`Origin\` not in \`mcp.allowedOrigins\` is refused). The model-API
proxy: POST /v1/chat/completions, /v1/responses, /v1/messages and GET /v1/models (every tool call
in an answer decided first; a refused one is HTTP 403 \`governance_denied\`; \`proxy:\` in the config:
onDeny, timeout, idleTimeout, redactText). Bodies are JSON (\`application/json\`, else 415), at most 1 MiB
(else 413).

Policy files are watched: every valid change is loaded, an invalid one is reported and the
last good set stays in force.

Examples:
  bastion serve --config config/bastion.yaml          (what \`npm start\` runs)
  bastion serve --policy examples/zyx --dev --port 8701
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
        'shadow-policy': { type: 'string', multiple: true },
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
    if (opts['shadow-policy']) config.shadowPolicies = opts['shadow-policy'].map((p) => resolve(io.cwd, p));
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
    if (config.dev) io.stderr.write('\n  !!! DEVELOPMENT MODE: identity is read from request headers and bodies and NOT verified. Never expose this. !!!\n\n');
    const shadow = app.gateway.shadowPolicySet;
    const where = (app.stores.limits as Partial<RedisLimitStore>).where;
    const state = config.storage.kind === 'postgres' ? ', state and audit log in PostgreSQL' : '';
    const limits = where !== undefined ? `, limits in Redis at ${where}` : config.storage.kind === 'postgres' ? ', limits in the data directory (per replica)' : '';
    io.stdout.write(
      `bastion listening on ${started.value.url} (policy ${app.gateway.policySet.version}${shadow ? `, shadow policy ${shadow.version}` : ''}, data ${config.dataDir}${state}${limits})\n`,
    );
    io.stdout.write(howToCall(started.value.url ?? `http://${config.host}:${config.port}`, config.dev));

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
