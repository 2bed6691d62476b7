import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCheckpointSignature, parsePublicKey, type Checkpoint } from '../../src/audit/index.js';
import { openSqliteAuditReader } from '../../src/storage/index.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { createApp } from '../../src/server/app.js';

const root = new URL('../..', import.meta.url).pathname;

describe('the HTTP app (no socket)', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await createGateway({ policies: [join(root, 'examples/zyx')] });
  });
  afterAll(async () => gateway.close());

  const body = JSON.stringify({ principal: { id: 'e', groups: ['grp-ai-devops-readonly'], deviceCompliant: true }, action: 'jira_read' });

  it('answers /health with status ok and the policy version', async () => {
    const app = createApp(gateway, { dev: false, startedAt: new Date() });
    const r = await app({ method: 'GET', url: '/health', headers: {}, body: '' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ status: 'ok', mode: 'production', policyVersion: gateway.policySet.version });
  });

  it('refuses /v1/decide in production mode: identity never comes from the body', async () => {
    const app = createApp(gateway, { dev: false, startedAt: new Date() });
    const r = await app({ method: 'POST', url: '/v1/decide', headers: {}, body });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'IDENTITY_MISSING' } });
  });

  it('decides in development mode and says identity is not verified', async () => {
    const app = createApp(gateway, { dev: true, startedAt: new Date() });
    const r = await app({ method: 'POST', url: '/v1/decide', headers: {}, body });
    expect(r.status).toBe(200);
    expect(r.headers['x-bastion-mode']).toMatch(/NOT verified/);
    expect(JSON.parse(r.body)).toMatchObject({ decision: 'allow', reason: 'authorized' });
  });

  it.each([
    ['GET', '/v1/decide', '', 405, 'METHOD_NOT_ALLOWED'],
    ['POST', '/v1/decide', '{nope', 400, 'REQUEST_INVALID'],
    ['POST', '/v1/decide', '{"action":"x"}', 400, 'REQUEST_INVALID'],
    ['GET', '/nope', '', 404, 'NOT_FOUND'],
  ])('%s %s → %i %s', async (method, url, b, status, code) => {
    const app = createApp(gateway, { dev: true, startedAt: new Date() });
    const r = await app({ method, url, headers: {}, body: b });
    expect(r.status).toBe(status);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code } });
  });
});

describe('the checkpoint endpoints (for external witnesses)', () => {
  it('serve signed checkpoints that verify with the published key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-witness-'));
    const gateway = await createGateway({ policies: [join(root, 'examples/zyx')], dataDir });
    await gateway.setKillSwitch({ read_only_mode: true }, 'secops'); // a kill-switch change is checkpointed
    const app = createApp(gateway, { dev: false, startedAt: new Date() });
    const pem = (await app({ method: 'GET', url: '/v1/audit/public-key', headers: {}, body: '' })).body;
    const r = await app({ method: 'GET', url: '/v1/audit/checkpoints?since=0', headers: {}, body: '' });
    expect(r.status).toBe(200);
    const { checkpoints } = JSON.parse(r.body) as { checkpoints: Checkpoint[] };
    expect(checkpoints.length).toBeGreaterThan(0);
    const key = parsePublicKey(pem);
    if (!key) throw new Error('no key');
    for (const cp of checkpoints) expect(checkCheckpointSignature(cp, key)).toBeUndefined();
    const forged = { ...(checkpoints[0] as Checkpoint), root: '0'.repeat(64) };
    expect(checkCheckpointSignature(forged, key)).toBeDefined();
    await gateway.close();
  });
});

describe('bastion serve (real process, real socket)', () => {
  it('starts, answers /health and /v1/decide, records start, decision and stop, and stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-serve-'));
    const child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'serve', '--policy', join(root, 'examples/zyx'), '--port', '0', '--data-dir', dataDir, '--dev'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 20_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (http:\/\/[^ ]+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    try {
      expect(stderr).toContain('DEVELOPMENT MODE');
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', mode: 'development' });
      const decided = await fetch(`${url}/v1/decide`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ principal: { id: 'intern', groups: ['grp-ai-users'], deviceCompliant: true }, action: 'jira_read', traceId: 'serve-test-1' }),
      });
      expect(await decided.json()).toMatchObject({ decision: 'deny', reason: 'user does not belong to an allowed group', traceId: 'serve-test-1' });
      const key = await (await fetch(`${url}/v1/audit/public-key`)).text();
      expect(key).toContain('BEGIN PUBLIC KEY');
      const bad = await fetch(`${url}/v1/audit/checkpoints?since=x`);
      expect(bad.status).toBe(400);
    } finally {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    const reader = await openSqliteAuditReader(join(dataDir, 'bastion.db'));
    expect(reader.ok).toBe(true);
    if (!reader.ok) return;
    try {
      const types = (await reader.value.query({})).map((e) => e.type);
      expect(types[0]).toBe('policy.loaded');
      expect(types).toContain('service.start');
      expect(types).toContain('decision');
      expect(types[types.length - 1]).toBe('service.stop');
      expect((await reader.value.verify()).ok).toBe(true);
      // The checkpoints a witness fetched verify against the log as it is now.
      const latest = await reader.value.latestCheckpoint();
      expect(latest?.size).toBe(types.length);
    } finally {
      await reader.value.close();
    }
  });
});

describe('bastion serve with a SIEM in its config', () => {
  it('streams the audit log (decisions and the signed checkpoint) to the collector, with the token from the environment', async () => {
    const received: { auth: string | undefined; body: string }[] = [];
    const collector = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ auth: req.headers.authorization, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', () => r()));
    const port = (collector.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'bastion-siem-serve-'));
    writeFileSync(
      join(dir, 'bastion.yaml'),
      `server: { host: 127.0.0.1, port: 0 }\ndataDir: ./data\npolicies: [${JSON.stringify(join(root, 'examples/zyx'))}]\ndev: true\naudit:\n  siem: { url: "http://127.0.0.1:${port}/services/collector/event", format: splunk-hec }\n`,
    );
    const child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'serve', '--config', join(dir, 'bastion.yaml')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BASTION_SIEM_TOKEN: 'hec-token-123' },
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /listening on (http:\/\/[^ ]+)/.exec(out);
          if (m) resolve(m[1] as string);
        });
        child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
      });
      await fetch(`${url}/v1/decide`, {
        method: 'POST',
        body: JSON.stringify({ principal: { id: 'intern', groups: [] }, action: 'jira_read', traceId: 'siem-trace-1' }),
      });
    } finally {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      collector.close();
    }
    const all = received.map((r) => r.body).join('\n');
    expect(received.length).toBeGreaterThan(0);
    expect(received.every((r) => r.auth === 'Splunk hec-token-123')).toBe(true);
    expect(all).toContain('siem-trace-1');
    expect(all).toContain('user does not belong to an allowed group');
  });
});
