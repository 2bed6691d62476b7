/**
 * `bastion mcp -- <command>`: an MCP server on stdio that proxies the MCP server `<command>`
 * starts, every `tools/call` decided by the gateway for the configured principal. Only MCP
 * JSON-RPC goes to stdout; Bastion's messages (and the upstream's stderr) go to stderr.
 *
 * `bastion mcp pins` lists the pinned tool definitions and the changes seen since;
 * `bastion mcp accept --server NAME --tool T` accepts a changed or held definition.
 */

import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createBastionApp } from '../../app/index.js';
import { DEFAULT_CONFIG, loadConfig, type BastionConfig } from '../../config/index.js';
import { validateRequest } from '../../core/request.js';
import { acceptTool, connectUpstream, createSessionServer, createToolIntegrity, serverNameFor } from '../../mcp/index.js';
import { badInput, type CliIo, type Command, EXIT, failWith, parseOptions } from '../command.js';
import { openStateStores, stateTarget } from '../state.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const HELP = `Usage: bastion mcp [--config FILE] [--policy PATH]… --principal ID [--groups G1,G2] [--environment ENV]
                  [--data-dir DIR] [--server NAME] [--approval-wait SECONDS] -- <command that starts an MCP server>
       bastion mcp pins [--data-dir DIR | --postgres URL] [--server NAME] [--json]
       bastion mcp accept --server NAME --tool T [--data-dir DIR | --postgres URL]

Serves an MCP server on stdio that proxies the one <command> starts. The tools' names are the
actions and their arguments the \`args\` of each decision; the principal is the one given here.

  tools/list   shows only tools whose definitions are the pinned ones and that policy could allow
               the principal; a definition that changed since it was first seen, a name another
               server pinned first (shadowing) and a description that scores as a prompt
               injection are hidden and audited until an admin accepts them
  tools/call   decided with its arguments: a deny is an error result with the reason; a call that
               needs approval asks the user (elicitation) to wait for Bastion's approvers, or is an
               error result with the approval id: retry it with _meta {"bastion/approvalId": "<id>"}

Options:
  --config FILE          YAML configuration (policies, dataDir, approvals, …)
  --policy PATH          policy file or directory (repeatable; replaces the config's list)
  --principal ID         who the agent is (required)
  --groups G1,G2         the principal's groups
  --environment ENV      the environment of every call (for rules' \`environments\`)
  --data-dir DIR         state directory (audit log, approvals, pins in DIR/bastion.db); default .bastion
  --postgres URL         (pins, accept) the PostgreSQL database replicas share (\`env\`: BASTION_POSTGRES_URL)
  --server NAME          the upstream's name (pins, audit, \`context.mcp.server\`); default from the command
  --approval-wait S      how long a call held for approval waits once the user agreed; default 300

The upstream inherits the environment except BASTION_* variables.

Examples:
  bastion mcp --policy policies/ --principal claude --groups sre -- npx -y @modelcontextprotocol/server-filesystem /srv
  bastion mcp pins
  bastion mcp accept --server server-filesystem --tool read_file
`;

function localOperator(): string {
  try {
    return `local operator (${userInfo().username})`;
  } catch {
    return 'local operator';
  }
}

async function pins(args: string[], io: CliIo): Promise<number> {
  const parsed = parseOptions(io, 'mcp pins', args, {
    help: HELP,
    options: { 'data-dir': { type: 'string' }, postgres: { type: 'string' }, server: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (!parsed.ok) return parsed.exit;
  const target = stateTarget(parsed.values.postgres === undefined ? { 'data-dir': parsed.values['data-dir'] ?? DEFAULT_CONFIG.dataDir } : parsed.values, io);
  if ('error' in target) return badInput(io, 'mcp pins', target.error);
  const opened = await openStateStores(target);
  if (!opened.ok) return failWith(io, 'mcp pins', opened.errors);
  try {
    const server = parsed.values.server;
    const list = await opened.value.toolPins.list(server);
    const changes = await opened.value.toolPins.changes(server);
    if (parsed.values.json) {
      io.stdout.write(`${JSON.stringify({ pins: list, changes })}\n`);
      return EXIT.OK;
    }
    for (const p of list) {
      const changed = changes.filter((c) => c.server === p.server && c.tool === p.tool).length;
      const state = changed > 0 ? `changed (${changed} new definition${changed > 1 ? 's' : ''} hidden)` : p.status === 'held' ? `held: ${p.reason ?? ''}` : 'trusted';
      io.stdout.write(`${p.server}\t${p.tool}\t${p.hash.slice(0, 19)}\t${state}\n`);
    }
    if (list.length === 0) io.stderr.write('bastion mcp pins: no tool is pinned yet\n');
    return EXIT.OK;
  } finally {
    await opened.value.close();
  }
}

async function accept(args: string[], io: CliIo): Promise<number> {
  const parsed = parseOptions(io, 'mcp accept', args, {
    help: HELP,
    options: { 'data-dir': { type: 'string' }, postgres: { type: 'string' }, server: { type: 'string' }, tool: { type: 'string' } },
  });
  if (!parsed.ok) return parsed.exit;
  const { server, tool } = parsed.values;
  if (server === undefined || tool === undefined) return badInput(io, 'mcp accept', 'give --server NAME and --tool T (see `bastion mcp pins`)');
  const target = stateTarget(parsed.values.postgres === undefined ? { 'data-dir': parsed.values['data-dir'] ?? DEFAULT_CONFIG.dataDir } : parsed.values, io);
  if ('error' in target) return badInput(io, 'mcp accept', target.error);
  const opened = await openStateStores(target);
  if (!opened.ok) return failWith(io, 'mcp accept', opened.errors);
  try {
    const audit = opened.value.audit;
    const done = await acceptTool(opened.value.toolPins, async (e) => void (await audit?.append(e)), { server, tool, by: localOperator() });
    if (!done.ok) return failWith(io, 'mcp accept', done.errors);
    io.stdout.write(`${JSON.stringify(done.value)}\n`);
    io.stderr.write(`bastion mcp accept: \`${tool}\` of \`${server}\` is trusted as ${done.value.hash}; a running proxy shows it at its next tools/list\n`);
    return EXIT.OK;
  } finally {
    await opened.value.close();
  }
}

async function proxy(args: string[], io: CliIo): Promise<number> {
  const parsed = parseOptions(io, 'mcp', args, {
    help: HELP,
    positionals: true,
    options: {
      config: { type: 'string' },
      policy: { type: 'string', multiple: true },
      principal: { type: 'string' },
      groups: { type: 'string' },
      environment: { type: 'string' },
      'data-dir': { type: 'string' },
      server: { type: 'string' },
      'approval-wait': { type: 'string' },
    },
  });
  if (!parsed.ok) return parsed.exit;
  const v = parsed.values;
  const command = parsed.positionals;
  if (command.length === 0 || command[0] === '') return badInput(io, 'mcp', 'give the command that starts the MCP server after `--`, e.g. `bastion mcp --principal agent -- node server.js`');
  if (v.principal === undefined) return badInput(io, 'mcp', '--principal ID is required: every call is decided for this principal');
  const groups =
    v.groups === undefined
      ? []
      : v.groups
          .split(',')
          .map((g) => g.trim())
          .filter((g) => g !== '');
  const principal = validateRequest({ principal: { id: v.principal, groups }, action: 'mcp' });
  if (!principal.ok) return failWith(io, 'mcp', principal.errors);
  if (v.environment === '') return badInput(io, 'mcp', '--environment must not be empty');
  const wait = v['approval-wait'] === undefined ? 300 : Number(v['approval-wait']);
  if (!Number.isInteger(wait) || wait < 0 || wait > 86_400) return badInput(io, 'mcp', `--approval-wait: \`${v['approval-wait']}\` is not a whole number of seconds from 0 to 86400`);
  const server = v.server ?? serverNameFor(command);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(server)) return badInput(io, 'mcp', `--server: \`${server}\` is not a name of letters, digits, \`.\`, \`_\` or \`-\``);

  let config: BastionConfig = { ...DEFAULT_CONFIG, dataDir: resolve(io.cwd, DEFAULT_CONFIG.dataDir) };
  if (v.config !== undefined) {
    const loaded = loadConfig(v.config, io.cwd);
    if (!loaded.ok) return failWith(io, 'mcp', loaded.errors);
    config = loaded.value;
  }
  if (v.policy) config.policies = v.policy.map((p) => resolve(io.cwd, p));
  if (v['data-dir'] !== undefined) config.dataDir = resolve(io.cwd, v['data-dir']);

  const built = await createBastionApp({ config, io, surface: 'mcp', server: false });
  if (!built.ok) return failWith(io, 'mcp', built.errors);
  const app = built.value;
  const started = await app.start();
  if (!started.ok) {
    await app.stop('start failed');
    return failWith(io, 'mcp', started.errors);
  }
  // The upstream gets the environment without Bastion's own settings (secrets among them).
  const env: Record<string, string> = {};
  for (const [k, val] of Object.entries(io.env)) if (val !== undefined && !k.startsWith('BASTION_')) env[k] = val;
  const upstream = await connectUpstream(server, { kind: 'stdio', command: command[0] as string, args: command.slice(1), env, cwd: io.cwd }, { version: VERSION });
  if (!upstream.ok) {
    await app.stop('upstream failed');
    return failWith(io, 'mcp', upstream.errors);
  }
  const audit = app.stores.audit;
  const integrity = createToolIntegrity({ pins: app.stores.toolPins, record: async (e) => void (await audit?.append(e)) });
  const session = createSessionServer({
    upstream: upstream.value,
    gateway: app.gateway,
    integrity,
    principal: principal.value.principal,
    ...(v.environment !== undefined ? { environment: v.environment } : {}),
    approvalWaitSeconds: wait,
    info: { name: `bastion (${server})`, version: VERSION },
    log: (line) => io.stderr.write(line),
    record: async (e) => void (await audit?.append(e)),
  });
  const transport = new StdioServerTransport(io.stdin, io.stdout);
  io.stderr.write(`bastion mcp: proxying \`${server}\` (${command.join(' ')}) for principal \`${principal.value.principal.id}\`, policy ${app.gateway.policySet.version}\n`);

  const reason = await new Promise<string>((done) => {
    io.stdin.once('end', () => done('client closed stdin'));
    transport.onclose = () => done('client closed');
    upstream.value.onClose(() => done('upstream exited'));
    const signal = () => done('signal');
    process.once('SIGINT', signal);
    process.once('SIGTERM', signal);
    session.connect(transport).catch((err: Error) => done(`transport failed: ${err.message}`));
  });
  await session.close().catch(() => undefined);
  await upstream.value.close();
  await app.stop(reason);
  if (reason === 'upstream exited') {
    io.stderr.write(`bastion mcp: the MCP server \`${server}\` exited\n`);
    return EXIT.FAILED;
  }
  return EXIT.OK;
}

export const mcpCommand: Command = {
  name: 'mcp',
  summary: 'proxy an MCP server on stdio, every tool call decided (pins, accept)',
  help: HELP,
  ownSubcommands: ['pins', 'accept'],
  async run(args: string[], io: CliIo): Promise<number> {
    if (args[0] === 'pins') return pins(args.slice(1), io);
    if (args[0] === 'accept') return accept(args.slice(1), io);
    return proxy(args, io);
  },
};
