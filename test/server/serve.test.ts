import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCheckpointSignature, parsePublicKey, type Checkpoint } from '../../src/audit/index.js';
import { openSqliteAuditReader } from '../../src/storage/index.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { buildServer } from '../../src/server/index.js';
import { eventually, serve } from './serve-process.js';

const root = new URL('../..', import.meta.url).pathname;

describe('the HTTP app (inject, no socket)', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await createGateway({ policies: [join(root, 'examples/zyx')] });
  });
  afterAll(async () => gateway.close());

  const payload = JSON.stringify({ principal: { id: 'e', groups: ['grp-ai-devops-readonly'], deviceCompliant: true }, action: 'jira_read' });
  const json = { 'content-type': 'application/json' };

  it('answers /health with status ok and the policy version', async () => {
    const app = await buildServer(gateway, { dev: false, startedAt: new Date() });
    const r = await app.inject({ method: 'GET', url: '/health' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ status: 'ok', mode: 'production', policyVersion: gateway.policySet.version });
    expect(r.headers['x-bastion-mode']).toBeUndefined();
  });

  it('refuses /v1/decide in production mode before reading the body: identity never comes from the body', async () => {
    const app = await buildServer(gateway, { dev: false, startedAt: new Date() });
    for (const body of [payload, '{nope', 'x'.repeat(2 * 1024 * 1024)]) {
      const r = await app.inject({ method: 'POST', url: '/v1/decide', headers: json, payload: body });
      expect(r.statusCode).toBe(401);
      expect(r.json()).toMatchObject({ error: { code: 'IDENTITY_MISSING' } });
    }
  });

  it('decides in development mode and says identity is not verified', async () => {
    const app = await buildServer(gateway, { dev: true, startedAt: new Date() });
    const r = await app.inject({ method: 'POST', url: '/v1/decide', headers: json, payload });
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-bastion-mode']).toMatch(/NOT verified/);
    expect(r.json()).toMatchObject({ decision: 'allow', reason: 'authorized' });
  });

  it('answers an invalid request 400 with its errors and the deny decision, the status from the error code', async () => {
    const app = await buildServer(gateway, { dev: true, startedAt: new Date() });
    const r = await app.inject({ method: 'POST', url: '/v1/decide', headers: json, payload: '{"action":"x"}' });
    expect(r.statusCode).toBe(400);
    const body = r.json() as { error: { code: string; message: string }; decision: { decision: string; reason: string; errors: unknown[] } };
    expect(body.error.code).toBe('REQUEST_INVALID');
    expect(body.error.message).toContain('principal');
    expect(body.decision).toMatchObject({ decision: 'deny', reason: 'request is invalid' });
    expect(body.decision.errors.length).toBeGreaterThan(0);
  });

  const big = JSON.stringify({ principal: { id: 'e', groups: [] }, action: 'jira_read', args: { text: 'x'.repeat(1024 * 1024) } });
  interface Case {
    what: string;
    method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD' | 'OPTIONS';
    url: string;
    headers?: Record<string, string>;
    payload?: string | Buffer;
    status: number;
    code: string;
    message?: string;
    allow?: string;
  }
  const cases: Case[] = [
    { what: 'GET on a POST route', method: 'GET', url: '/v1/decide', status: 405, code: 'METHOD_NOT_ALLOWED', allow: 'POST', message: 'method `GET` is not allowed on `/v1/decide`' },
    { what: 'HEAD is not GET', method: 'HEAD', url: '/health', status: 405, code: 'METHOD_NOT_ALLOWED', allow: 'GET' },
    { what: 'DELETE on the kill switch', method: 'DELETE', url: '/v1/kill-switch', status: 405, code: 'METHOD_NOT_ALLOWED', allow: 'GET, PUT' },
    {
      what: 'POST on the checkpoints with a body that is not JSON: 405 before the body',
      method: 'POST',
      url: '/v1/audit/checkpoints',
      headers: { 'content-type': 'text/plain' },
      payload: 'x',
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
      allow: 'GET',
    },
    { what: 'an unknown route', method: 'GET', url: '/nope?x=1', status: 404, code: 'NOT_FOUND', message: 'no route for `GET /nope`' },
    { what: 'an unknown route with a huge body: 404, the body is not read', method: 'POST', url: '/nope', headers: json, payload: 'x'.repeat(2 * 1024 * 1024), status: 404, code: 'NOT_FOUND' },
    { what: 'a trailing slash is another route', method: 'GET', url: '/health/', status: 404, code: 'NOT_FOUND' },
    { what: 'malformed JSON', method: 'POST', url: '/v1/decide', headers: json, payload: '{nope', status: 400, code: 'REQUEST_INVALID', message: 'request body is not valid JSON' },
    {
      what: 'a duplicate key',
      method: 'POST',
      url: '/v1/decide',
      headers: json,
      payload: '{"action":"a","action":"b"}',
      status: 400,
      code: 'REQUEST_INVALID',
      message: 'field `action`: duplicate key',
    },
    {
      what: 'invalid UTF-8',
      method: 'POST',
      url: '/v1/decide',
      headers: json,
      payload: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
      status: 400,
      code: 'REQUEST_INVALID',
      message: 'not valid UTF-8: invalid byte sequence at byte 2',
    },
    { what: 'an empty JSON body', method: 'POST', url: '/v1/decide', headers: json, payload: '', status: 400, code: 'REQUEST_INVALID', message: 'not valid JSON' },
    { what: 'no body and no content type', method: 'POST', url: '/v1/decide', status: 400, code: 'REQUEST_INVALID', message: 'request body is empty' },
    {
      what: 'a body of text/plain',
      method: 'POST',
      url: '/v1/decide',
      headers: { 'content-type': 'text/plain' },
      payload: '{"action":"x"}',
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: '`application/json`',
    },
    { what: 'a form body', method: 'POST', url: '/v1/decide', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'action=x', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { what: 'a malformed content type', method: 'POST', url: '/v1/decide', headers: { 'content-type': '/;;' }, payload: '{}', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { what: 'a body over 1 MiB', method: 'POST', url: '/v1/decide', headers: json, payload: big, status: 413, code: 'REQUEST_TOO_LARGE', message: 'request body is larger than 1048576 bytes' },
    {
      what: 'a kill-switch body over 1 MiB',
      method: 'PUT',
      url: '/v1/kill-switch',
      headers: json,
      payload: JSON.stringify({ reason: 'x'.repeat(1024 * 1024) }),
      status: 413,
      code: 'REQUEST_TOO_LARGE',
    },
  ];

  it.each(cases.map((c) => [c.what, c] as const))('%s', async (_what, c) => {
    const app = await buildServer(gateway, { dev: true, startedAt: new Date() });
    const r = await app.inject({ method: c.method, url: c.url, ...(c.headers ? { headers: c.headers } : {}), ...(c.payload !== undefined ? { payload: c.payload } : {}) });
    expect(r.statusCode, r.body).toBe(c.status);
    if (c.allow) expect(r.headers['allow']).toBe(c.allow);
    expect(r.headers['x-bastion-mode']).toMatch(/NOT verified/);
    if (c.method === 'HEAD') return;
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = r.json() as { error: { code: string; message: string } };
    expect(body.error.code).toBe(c.code);
    if (c.message) expect(body.error.message).toContain(c.message);
  });

  it('a body of exactly 1 MiB is read and decided', async () => {
    const app = await buildServer(gateway, { dev: true, startedAt: new Date() });
    const request = { principal: { id: 'e', groups: ['grp-ai-devops-readonly'], deviceCompliant: true }, action: 'jira_read', args: { text: '' } };
    const filler = 1024 * 1024 - JSON.stringify(request).length;
    const body = JSON.stringify({ ...request, args: { text: 'x'.repeat(filler) } });
    expect(Buffer.byteLength(body)).toBe(1024 * 1024);
    const r = await app.inject({ method: 'POST', url: '/v1/decide', headers: json, payload: body });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ decision: expect.any(String) });
  });

  it('the audit routes without an audit log answer 404', async () => {
    const app = await buildServer(gateway, { dev: false, startedAt: new Date() });
    for (const url of ['/v1/audit/public-key', '/v1/audit/checkpoints']) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode).toBe(404);
      expect(r.json()).toMatchObject({ error: { code: 'NOT_FOUND', message: 'this gateway keeps no audit log (no data directory)' } });
    }
  });
});

describe('the checkpoint endpoints (for external witnesses)', () => {
  it('serve signed checkpoints that verify with the published key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-witness-'));
    const gateway = await createGateway({ policies: [join(root, 'examples/zyx')], dataDir });
    await gateway.setKillSwitch({ read_only_mode: true }, 'secops'); // a kill-switch change is checkpointed
    const app = await buildServer(gateway, { dev: false, startedAt: new Date() });
    const keyAnswer = await app.inject({ method: 'GET', url: '/v1/audit/public-key' });
    expect(keyAnswer.headers['content-type']).toBe('application/x-pem-file');
    const pem = keyAnswer.body;
    const r = await app.inject({ method: 'GET', url: '/v1/audit/checkpoints?since=0' });
    expect(r.statusCode).toBe(200);
    const { logId, checkpoints } = r.json() as { logId: string; checkpoints: Checkpoint[] };
    expect(logId).toMatch(/./);
    expect(checkpoints.length).toBeGreaterThan(0);
    const key = parsePublicKey(pem);
    if (!key) throw new Error('no key');
    for (const cp of checkpoints) expect(checkCheckpointSignature(cp, key)).toBeUndefined();
    const forged = { ...(checkpoints[0] as Checkpoint), root: '0'.repeat(64) };
    expect(checkCheckpointSignature(forged, key)).toBeDefined();
    for (const since of ['x', '-1', '1.5', '', '0x10', '1e3', '9007199254740993']) {
      const bad = await app.inject({ method: 'GET', url: `/v1/audit/checkpoints?since=${encodeURIComponent(since)}` });
      expect(bad.statusCode, since).toBe(400);
      expect(bad.json(), since).toMatchObject({ error: { code: 'REQUEST_INVALID', fields: ['since'] } });
    }
    const last = checkpoints.at(-1)?.size ?? 0;
    const later = await app.inject({ method: 'GET', url: `/v1/audit/checkpoints?since=${last}&since=0` });
    expect((later.json() as { checkpoints: Checkpoint[] }).checkpoints.every((c) => c.size >= last)).toBe(true);
    await app.close();
    await gateway.close();
  });
});

describe('bastion serve (real process, real socket)', () => {
  it('starts, answers /health and /v1/decide, records start, decision and stop, and stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-serve-'));
    const child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'serve', '--policy', join(root, 'examples/zyx'), '--port', '0', '--data-dir', dataDir, '--dev'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
        headers: { 'content-type': 'application/json' },
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

describe('bastion serve: failed start and graceful stop (real process)', () => {
  it('a port that is taken: exit 2 with one clear line, and no service.start recorded', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-serve-taken-'));
    try {
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(root, 'dist/cli/main.js'), 'serve', '--policy', join(root, 'examples/zyx'), '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir],
          (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
        );
      });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`bastion serve: port ${port} is in use: pass --port N (npm start -- --port N)\n`);
    } finally {
      taken.close();
    }
    const reader = await openSqliteAuditReader(join(dataDir, 'bastion.db'));
    if (!reader.ok) throw new Error(reader.errors.map((e) => e.message).join('; '));
    try {
      expect((await reader.value.query({})).map((e) => e.type)).not.toContain('service.start');
    } finally {
      await reader.value.close();
    }
  });

  it('SIGTERM drains: a request in flight is answered and audited before service.stop', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-serve-drain-'));
    const s = await serve(['--dev', '--policy', join(root, 'examples/zyx'), '--data-dir', dataDir]);
    const { port, hostname } = new URL(s.url);
    const body = JSON.stringify({ principal: { id: 'intern', groups: ['grp-ai-users'], deviceCompliant: true }, action: 'jira_read', traceId: 'drain-1' });
    let answer = '';
    let connection: string | undefined;
    const answered = new Promise<number | undefined>((resolve, reject) => {
      const req = httpRequest(
        { host: hostname, port, method: 'POST', path: '/v1/decide', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } },
        (res) => {
          connection = res.headers.connection;
          res.on('data', (c: Buffer) => (answer += c.toString()));
          res.on('end', () => resolve(res.statusCode));
        },
      );
      req.once('error', reject);
      // Half the body now: the request is in flight until the rest arrives.
      req.write(body.slice(0, 10));
      void eventually(async () => (req.socket?.remotePort !== undefined ? true : undefined), 'the request to connect').then(async () => {
        s.child.kill('SIGTERM');
        // Once the server is closing, finish the body.
        await eventually(async () => {
          try {
            // A closing server answers 503 on a connection it still holds, or refuses a new one.
            return (await fetch(`${s.url}/health`)).status === 503 ? true : undefined;
          } catch {
            return true;
          }
        }, 'the server to stop accepting');
        req.end(body.slice(10));
      });
    });
    expect(await answered).toBe(200);
    expect(JSON.parse(answer)).toMatchObject({ decision: 'deny', traceId: 'drain-1' });
    // A keep-alive client is told to go: it cannot hold the shutdown open.
    expect(connection).toBe('close');
    // Already signalled once: a second SIGTERM would cut the shutdown short.
    const code = s.child.exitCode ?? (await new Promise<number | null>((r) => s.child.once('exit', (c) => r(c))));
    expect(code).toBe(0);
    const reader = await openSqliteAuditReader(join(dataDir, 'bastion.db'));
    if (!reader.ok) throw new Error(reader.errors.map((e) => e.message).join('; '));
    try {
      const events = await reader.value.query({});
      const decision = events.findIndex((e) => e.type === 'decision' && JSON.stringify(e).includes('drain-1'));
      expect(decision).toBeGreaterThan(-1);
      expect(events.findIndex((e) => e.type === 'service.stop')).toBeGreaterThan(decision);
    } finally {
      await reader.value.close();
    }
  });
});
