/**
 * MCP over Streamable HTTP in a real `bastion serve` (production mode, API keys): the official
 * SDK client at `/mcp/<server>` for stdio and HTTP upstreams (the fixture server), with the
 * Origin check, the credential, sessions bound to their principal, both protocol revisions,
 * pins shared by every server of the service, approvals and the audit trail.
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type Served } from '../server/serve-process.js';
import { CLI, FIXTURE_POLICY, FIXTURE_SERVER, auditEvents, tempDir, textOf } from './helpers.js';

let dataDir: string;
let service: Served;
let remote: ChildProcess;
const keys: Record<string, string> = {};
const clients: Client[] = [];

function key(principal: string, groups: string): string {
  return execFileSync(process.execPath, [CLI, 'keys', 'create', '--principal', principal, '--groups', groups, '--data-dir', dataDir], { encoding: 'utf8' }).trim();
}

async function connect(server: string, bearer: string | undefined = keys['agent']): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${service.url}/mcp/${server}`), bearer ? { requestInit: { headers: { authorization: `Bearer ${bearer}` } } } : {});
  const client = new Client({ name: 'bastion-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

/** A raw JSON-RPC POST to `/mcp/<server>`. */
function post(server: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${service.url}/mcp/${server}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${keys['agent']}`, ...headers },
    body: JSON.stringify(body),
  });
}
const initialize = (version: string) => ({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

/** The JSON-RPC message of a response that may be JSON or one SSE event. */
async function message(response: Response): Promise<Record<string, unknown>> {
  const text = await response.text();
  const data = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '');
  return JSON.parse(data) as Record<string, unknown>;
}

beforeAll(async () => {
  dataDir = tempDir();
  remote = spawn(process.execPath, [FIXTURE_SERVER, '--http', '--only', 'weather,echo'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const remoteUrl = await new Promise<string>((resolve) => {
    let out = '';
    remote.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
  });
  keys['agent'] = key('agent-1', 'agents');
  keys['other'] = key('agent-2', 'agents');
  keys['intern'] = key('intern-1', 'intern');
  keys['lead'] = key('lead-1', 'approvers');
  const config = join(dataDir, 'bastion.yaml');
  writeFileSync(
    config,
    [
      `policies: [${JSON.stringify(FIXTURE_POLICY)}]`,
      `dataDir: ${JSON.stringify(dataDir)}`,
      'identity: { apiKeys: true }',
      // The tests' own requests come from 127.0.0.1; X-Forwarded-For then names a caller.
      'server: { trustProxy: [127.0.0.1] }',
      'mcp:',
      '  allowedOrigins: [https://app.example.com]',
      '  servers:',
      `    files: { command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(FIXTURE_SERVER)}] }`,
      `    other: { command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(FIXTURE_SERVER)}, --only, "read_file,deploy"] }`,
      `    remote: { url: ${JSON.stringify(remoteUrl)} }`,
      '',
    ].join('\n'),
  );
  service = await serve(['--config', config, '--log-level', 'off']);
}, 60_000);

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await service?.stop();
  remote?.kill();
});

describe('MCP over Streamable HTTP (bastion serve)', () => {
  it('filters tools/list and decides each call for the verified caller', async () => {
    const client = await connect('files');
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['deploy', 'mutate', 'page', 'read_file', 'shell.execute', 'weather']);
    expect(textOf(await client.callTool({ name: 'shell.execute', arguments: { command: 'ls -la' } }))).toBe('ran: ls -la');
    const denied = await client.callTool({ name: 'shell.execute', arguments: { command: 'rm -rf /' } });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toBe('Bastion denied `shell.execute`: critical risk: denied by the baseline policy');

    const intern = await connect('files', keys['intern']);
    expect((await intern.listTools()).tools.map((t) => t.name)).toEqual(['read_file']);

    const decisions = auditEvents(dataDir, ['--type', 'decision', '--action', 'shell.execute', '--principal', 'agent-1']);
    expect(decisions.map((e) => e['decision'])).toEqual(['allow', 'deny']);
    expect(decisions[1]).toMatchObject({ context: { mcp: { server: 'files' }, source_ip: '127.0.0.1' }, reason: 'critical risk: denied by the baseline policy' });
  });

  it('proxies an upstream that is itself a Streamable HTTP server', async () => {
    const client = await connect('remote');
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'over HTTP' } }))).toBe('over HTTP');
    // `weather` is `files`' (pinned first): on `remote` it shadows it.
    const call = await client.callTool({ name: 'weather', arguments: { city: 'Oslo' } });
    expect(textOf(call)).toBe('Bastion refused `weather`: tool `weather` shadows the tool of the same name on server `files`, pinned first');
  });

  it('refuses a tool name another configured server pinned first', async () => {
    await connect('files');
    const other = await connect('other');
    expect((await other.listTools()).tools.map((t) => t.name)).toEqual([]);
    expect(textOf(await other.callTool({ name: 'read_file', arguments: { path: '/etc/hostname' } }))).toMatch(/shadows the tool of the same name on server `files`/);
  });

  it('hides a definition changed between two tools/list calls, for every session', async () => {
    const a = await connect('files');
    const b = await connect('files', keys['other']);
    expect((await a.listTools()).tools.map((t) => t.name)).toContain('weather');
    await a.callTool({ name: 'mutate', arguments: {} });
    expect((await a.listTools()).tools.map((t) => t.name)).not.toContain('weather');
    expect((await b.listTools()).tools.map((t) => t.name)).not.toContain('weather');
    expect(auditEvents(dataDir, ['--type', 'mcp.tool.changed']).map((e) => (e['data'] as { server: string }).server)).toEqual(['files']);
  });

  it('an approval round trip releases exactly one call', async () => {
    const client = await connect('files');
    const held = await client.callTool({ name: 'deploy', arguments: { service: 'api' } });
    const id = (held._meta?.['bastion/decision'] as { approval?: { id: string } } | undefined)?.approval?.id ?? '';
    expect(textOf(held)).toContain(`Approval id: ${id}`);
    const approved = await fetch(`${service.url}/v1/approvals/${id}/approve`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${keys['lead']}` }, body: '{}' });
    expect(approved.status).toBe(200);
    const retry = { name: 'deploy', arguments: { service: 'api' }, _meta: { 'bastion/approvalId': id } };
    expect(textOf(await client.callTool(retry))).toBe('deployed api');
    expect((await client.callTool(retry)).isError).toBe(true);
  });

  it('refuses a foreign Origin and a missing or bad credential', async () => {
    const evil = await post('files', initialize('2025-11-25'), { origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    expect(((await evil.json()) as { error: { message: string } }).error.message).toBe(
      'origin `http://evil.example` may not call the MCP endpoints (DNS-rebinding protection): list it in `mcp.allowedOrigins` of the config to allow it',
    );
    expect((await post('files', initialize('2025-11-25'), { origin: 'https://app.example.com' })).status).toBe(200);
    const anonymous = await fetch(`${service.url}/mcp/files`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(initialize('2025-11-25')),
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="bastion"');
    expect((await post('files', initialize('2025-11-25'), { authorization: 'Bearer bst_0000000000000000_nope' })).status).toBe(401);
    await expect(connect('files', '')).rejects.toThrow();
    const unknown = await post('nope', initialize('2025-11-25'));
    expect(unknown.status).toBe(404);
  });

  it('binds a session to the principal that started it', async () => {
    const started = await post('files', initialize('2025-11-25'));
    const session = started.headers.get('mcp-session-id') ?? '';
    expect(session).not.toBe('');
    const stolen = await post('files', { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${keys['other']}` });
    expect(stolen.status).toBe(403);
    expect((await post('files', { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' })).status).toBe(200);
  });

  it("records each call's own address as context.source_ip, not the address that opened the session", async () => {
    const headers = (ip: string, session?: string) => ({ 'x-forwarded-for': ip, 'mcp-protocol-version': '2025-11-25', ...(session ? { 'mcp-session-id': session } : {}) });
    const started = await post('files', initialize('2025-11-25'), headers('198.51.100.1'));
    const session = started.headers.get('mcp-session-id') ?? '';
    expect(session).not.toBe('');
    expect((await post('files', { jsonrpc: '2.0', method: 'notifications/initialized' }, headers('198.51.100.1', session))).status).toBe(202);
    const call = (id: number, ip: string) =>
      post('files', { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'shell.execute', arguments: { command: `echo from-${ip}` } } }, headers(ip, session));
    expect(await message(await call(2, '198.51.100.2'))).toMatchObject({ id: 2, result: { content: [{ type: 'text', text: 'ran: echo from-198.51.100.2' }] } });
    expect(await message(await call(3, '203.0.113.9'))).toMatchObject({ id: 3, result: { content: [{ type: 'text', text: 'ran: echo from-203.0.113.9' }] } });
    const decisions = auditEvents(dataDir, ['--type', 'decision', '--action', 'shell.execute', '--principal', 'agent-1']).filter((e) =>
      String((e['args'] as { command?: string })?.command).startsWith('echo from-'),
    );
    expect(decisions.map((e) => e['context'])).toEqual([
      { mcp: { server: 'files' }, source_ip: '198.51.100.2' },
      { mcp: { server: 'files' }, source_ip: '203.0.113.9' },
    ]);
  });

  it('negotiates the current protocol revision and the previous one', async () => {
    for (const version of ['2025-11-25', '2025-06-18']) {
      const answer = await message(await post('files', initialize(version)));
      expect(answer).toMatchObject({ id: 1, result: { protocolVersion: version, serverInfo: { name: 'bastion (files)' }, capabilities: { tools: { listChanged: true } } } });
    }
  });
});
