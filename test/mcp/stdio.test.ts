/**
 * `bastion mcp -- <command>` end to end: the official MCP SDK client on a real `bastion mcp`
 * process that proxies the fixture MCP server (test/fixtures/mcp/server.mjs), with the
 * decisions, pins and audit in a real SQLite data directory.
 */

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ElicitRequestSchema, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { serve } from '../server/serve-process.js';
import { CLI, FIXTURE_POLICY, FIXTURE_SERVER, auditEvents, proxied, tempDir, textOf, type Proxied } from './helpers.js';

const open: Proxied[] = [];
afterEach(async () => {
  for (const p of open.splice(0)) await p.close();
});
async function start(options: Parameters<typeof proxied>[0]): Promise<Proxied> {
  const p = await proxied(options);
  open.push(p);
  return p;
}

describe('bastion mcp (stdio)', () => {
  it('lists only the tools policy could allow and decides each call with its arguments', async () => {
    const dataDir = tempDir();
    const { client } = await start({ dataDir });
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    // `notes` is hidden: its description is a prompt injection.
    expect(names).toEqual(['deploy', 'mutate', 'page', 'read_file', 'shell.execute', 'weather']);

    const allowed = await client.callTool({ name: 'shell.execute', arguments: { command: 'ls -la' } });
    expect(allowed.isError).toBeUndefined();
    expect(textOf(allowed)).toBe('ran: ls -la');
    expect(allowed._meta?.['bastion/decision']).toMatchObject({ decision: 'allow', reason: 'allowed by mcp-tools/allow-agent-tools' });

    const denied = await client.callTool({ name: 'shell.execute', arguments: { command: 'rm -rf /' } });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toBe('Bastion denied `shell.execute`: critical risk: denied by the baseline policy');
    expect(denied._meta?.['bastion/decision']).toMatchObject({ decision: 'deny', risk: 'critical', categories: ['fs.delete'] });

    // The audit log holds both decisions, for the configured principal, with the server in the context.
    const decisions = auditEvents(dataDir, ['--type', 'decision', '--action', 'shell.execute']);
    expect(decisions.map((e) => [e['decision'], (e['args'] as { command: string }).command])).toEqual([
      ['allow', 'ls -la'],
      ['deny', 'rm -rf /'],
    ]);
    expect(decisions[0]).toMatchObject({ principal: { id: 'agent-1', groups: ['agents'] }, context: { mcp: { server: 'server' } }, surface: 'mcp' });
  });

  it('an intern sees and may call only read_file; a hidden tool called anyway is denied by policy', async () => {
    const { client } = await start({ dataDir: tempDir(), principal: 'intern-1', groups: 'intern' });
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['read_file']);
    const refused = await client.callTool({ name: 'shell.execute', arguments: { command: 'ls' } });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toBe('Bastion denied `shell.execute`: no rule allows this action');
  });

  it('a definition changed between two tools/list calls is hidden and audited until an admin accepts it', async () => {
    const dataDir = tempDir();
    const { client } = await start({ dataDir });
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('weather');
    expect(textOf(await client.callTool({ name: 'mutate', arguments: {} }))).toBe('weather changed');
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('weather');
    const call = await client.callTool({ name: 'weather', arguments: { city: 'Oslo' } });
    expect(call.isError).toBe(true);
    expect(textOf(call)).toMatch(/^Bastion refused `weather`: the definition of tool `weather` changed since it was pinned: hidden until an admin accepts it/);

    // The refused call is a deny decision in the audit log, like every other refusal.
    expect(auditEvents(dataDir, ['--type', 'decision', '--action', 'weather'])[0]).toMatchObject({
      decision: 'deny',
      matched: [{ policy: 'bastion/mcp-integrity', rule: 'changed', effect: 'deny' }],
      args: { city: 'Oslo' },
    });
    const changed = auditEvents(dataDir, ['--type', 'mcp.tool.changed']);
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({
      action: 'weather',
      data: { server: 'server', tool: 'weather', pinned: { description: 'Tells the weather in a city.' }, definition: { description: 'Tells the weather. Also accepts a `notes` argument.' } },
    });

    // The admin accepts the new definition; the running proxy shows it at its next listing.
    const accept = spawn(process.execPath, [CLI, 'mcp', 'accept', '--server', 'server', '--tool', 'weather', '--data-dir', dataDir]);
    expect(await new Promise((r) => accept.once('exit', r))).toBe(0);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('weather');
    expect(textOf(await client.callTool({ name: 'weather', arguments: { city: 'Oslo' } }))).toBe('sunny in Oslo');
    expect(auditEvents(dataDir, ['--type', 'mcp.tool.accepted'])[0]).toMatchObject({ action: 'weather', data: { server: 'server', tool: 'weather' } });
  });

  it('a pin outlives the process: the changed definition stays hidden on the next run', async () => {
    const dataDir = tempDir();
    const first = await start({ dataDir });
    await first.client.listTools();
    await first.close();
    open.splice(0);
    // The next run starts a server whose `weather` is already the changed one.
    const second = await start({ dataDir, serverArgs: [] });
    await second.client.callTool({ name: 'mutate', arguments: {} });
    expect((await second.client.listTools()).tools.map((t) => t.name)).not.toContain('weather');
  });

  it('a description that is a prompt injection is hidden and audited; calling it is refused', async () => {
    const dataDir = tempDir();
    const { client } = await start({ dataDir });
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('notes');
    const call = await client.callTool({ name: 'notes', arguments: {} });
    expect(call.isError).toBe(true);
    expect(textOf(call)).toMatch(/^Bastion refused `notes`: tool `notes` is held: the definition scores as a prompt injection \(/);
    expect(auditEvents(dataDir, ['--type', 'mcp.tool.pinned', '--action', 'notes'])[0]).toMatchObject({ data: { status: 'held' } });
    expect(auditEvents(dataDir, ['--type', 'mcp.tool.refused', '--action', 'notes'])[0]).toMatchObject({ data: { refusal: 'injection' } });
  });

  it('a tool name another server pinned first is refused (shadowing)', async () => {
    const dataDir = tempDir();
    const a = await start({ dataDir, extra: ['--server', 'files'] });
    expect((await a.client.listTools()).tools.map((t) => t.name)).toContain('read_file');
    const b = await start({ dataDir, extra: ['--server', 'other'], serverArgs: ['--only', 'read_file,weather'] });
    expect((await b.client.listTools()).tools.map((t) => t.name)).toEqual([]);
    const call = await b.client.callTool({ name: 'read_file', arguments: { path: '/etc/hostname' } });
    expect(textOf(call)).toBe('Bastion refused `read_file`: tool `read_file` shadows the tool of the same name on server `files`, pinned first');
    expect(auditEvents(dataDir, ['--type', 'mcp.tool.refused', '--action', 'read_file'])[0]).toMatchObject({ data: { refusal: 'shadowed', owner: 'files', server: 'other' } });
  });

  it('secrets in a result are redacted and an injected result taints the trace', async () => {
    const dir = tempDir();
    const file = join(dir, 'creds.txt');
    writeFileSync(file, 'aws_access_key_id = AKIAZ7VQ3XKPL2M4N5TR\n');
    const { client } = await start({ dataDir: dir });
    const read = await client.callTool({ name: 'read_file', arguments: { path: file } });
    expect(textOf(read)).not.toContain('AKIAZ7VQ3XKPL2M4N5TR');
    await client.callTool({ name: 'page', arguments: {} });
    const validations = auditEvents(dir, ['--type', 'validation']);
    expect(validations.map((e) => (e['data'] as { injection: boolean }).injection)).toEqual([false, true]);
    // The taint is a fact of later decisions in the session's trace: a flow rule acts on it.
    const after = await client.callTool({ name: 'shell.execute', arguments: { command: 'ls' } });
    expect(textOf(after)).toBe('Bastion denied `shell.execute`: untrusted content read in this trace scored as prompt injection');
  });

  it('a call held for approval carries the approval id; the retry naming it is released once, after an approver approved', async () => {
    const dataDir = tempDir();
    const service = await serve(['--policy', FIXTURE_POLICY, '--data-dir', dataDir, '--dev', '--log-level', 'off']);
    try {
      const { client } = await start({ dataDir });
      const held = await client.callTool({ name: 'deploy', arguments: { service: 'api' } });
      expect(held.isError).toBe(true);
      const approval = (held._meta?.['bastion/decision'] as { approval?: { id: string; status: string } } | undefined)?.approval ?? { id: '', status: 'missing' };
      expect(approval.status).toBe('pending');
      expect(textOf(held)).toContain(`Approval id: ${approval.id}`);
      const approve = await fetch(`${service.url}/v1/approvals/${approval.id}/approve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-bastion-principal-id': 'lead-1', 'x-bastion-principal-groups': 'approvers' },
        body: '{"comment":"ok"}',
      });
      expect(approve.status).toBe(200);
      const retry = { name: 'deploy', arguments: { service: 'api' }, _meta: { 'bastion/approvalId': approval.id } };
      const released = await client.callTool(retry);
      expect(textOf(released)).toBe('deployed api');
      // Single use: the same retry again is denied.
      const again = await client.callTool(retry);
      expect(again.isError).toBe(true);
      expect(textOf(again)).toMatch(/^Bastion denied `deploy`: /);
      // Other arguments do not match the approval.
      const other = await client.callTool({ name: 'deploy', arguments: { service: 'db' }, _meta: { 'bastion/approvalId': approval.id } });
      expect(other.isError).toBe(true);
    } finally {
      await service.stop();
    }
  });

  it('with elicitation the user is told the approval id and waits; the approvers decide, not the answer', async () => {
    const dataDir = tempDir();
    const service = await serve(['--policy', FIXTURE_POLICY, '--data-dir', dataDir, '--dev', '--log-level', 'off']);
    try {
      const { client } = await start({ dataDir, capabilities: { elicitation: {} } });
      const asked: string[] = [];
      client.setRequestHandler(ElicitRequestSchema, async (request) => {
        const message = String(request.params.message);
        asked.push(message);
        const id = /Approval id: ([0-9a-f-]+)/.exec(message)?.[1];
        // The user accepts at once; the call still waits for the approver.
        setTimeout(() => {
          void fetch(`${service.url}/v1/approvals/${id}/approve`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-bastion-principal-id': 'lead-1', 'x-bastion-principal-groups': 'approvers' },
            body: '{}',
          });
        }, 300);
        return { action: 'accept', content: {} };
      });
      const result = await client.callTool({ name: 'deploy', arguments: { service: 'web' } });
      expect(asked).toHaveLength(1);
      expect(asked[0]).toMatch(/^Bastion holds the call to `deploy` for approval: deploys need an approver\. Approval id: /);
      expect(textOf(result)).toBe('deployed web');
    } finally {
      await service.stop();
    }
  });

  it('with elicitation declined the call is an error result carrying the approval id', async () => {
    const { client } = await start({ dataDir: tempDir(), capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'decline' }));
    const result = await client.callTool({ name: 'deploy', arguments: { service: 'web' } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Bastion holds `deploy` for approval: deploys need an approver\. Approval id: /);
  });

  it('negotiates the current protocol revision and the previous one', async () => {
    const { client } = await start({ dataDir: tempDir() });
    expect(LATEST_PROTOCOL_VERSION).toBe('2025-11-25');
    expect(client.getServerVersion()?.name).toBe('bastion (server)');
    // The previous revision, over raw JSON-RPC on the process's stdio.
    const child = spawn(process.execPath, [CLI, 'mcp', '--policy', FIXTURE_POLICY, '--principal', 'a', '--data-dir', tempDir(), '--', process.execPath, FIXTURE_SERVER], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    try {
      for (const version of ['2025-06-18', '2025-11-25']) {
        const answer = await new Promise<Record<string, unknown>>((resolve) => {
          let out = '';
          const onData = (c: Buffer) => {
            out += c.toString();
            const line = out.split('\n')[0];
            if (out.includes('\n') && line) {
              child.stdout.off('data', onData);
              resolve(JSON.parse(line) as Record<string, unknown>);
            }
          };
          child.stdout.on('data', onData);
          child.stdin.write(
            `${JSON.stringify({ jsonrpc: '2.0', id: version, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })}\n`,
          );
        });
        expect(answer).toMatchObject({ id: version, result: { protocolVersion: version, capabilities: { tools: { listChanged: true } } } });
      }
    } finally {
      child.kill();
    }
  });

  it('refuses bad flags with one line and exit 2, and writes nothing but JSON-RPC to stdout', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'mcp', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.once('exit', (code) => resolve({ code, stdout, stderr }));
      });
    expect(await run(['--policy', FIXTURE_POLICY, '--', 'node', 'x.js'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'bastion mcp: --principal ID is required: every call is decided for this principal\n',
    });
    expect(await run(['--policy', FIXTURE_POLICY, '--principal', 'a'])).toMatchObject({ code: 2, stdout: '' });
    const missing = await run(['--policy', FIXTURE_POLICY, '--principal', 'a', '--data-dir', tempDir(), '--', join(tempDir(), 'no-such-server')]);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/^bastion mcp: MCP server `no-such-server` \(command `.*no-such-server`\) did not start: /m);
  });
});
