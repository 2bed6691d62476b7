/**
 * The service as an operator runs it, over real HTTP on a loopback port: batch decisions,
 * readiness probes, Prometheus metrics, the OpenAPI document, logs without credentials, and
 * bad input of every kind (a fixture corpus) answered with a 4xx, never a 5xx, never an allow.
 */

import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { register as globalRegister } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBastionApp, type BastionApp } from '../../src/app/index.js';
import { DEFAULT_CONFIG, type BastionConfig } from '../../src/config/index.js';
import { ActionRequestSchema } from '../../src/core/request.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { buildServer, jsonSchema, listen, MAX_BATCH, redactUrl } from '../../src/server/index.js';
import { openSqliteAuditReader } from '../../src/storage/index.js';
import { newApproval } from '../storage/contracts/approvals.js';

const root = new URL('../..', import.meta.url).pathname;
const quiet = { stderr: { write: () => true }, env: {} };
const intern = { id: 'intern@zyxbank.example', groups: ['grp-interns'] };
const reader = { id: 'analyst@zyxbank.example', groups: ['grp-ai-devops-readonly'], deviceCompliant: true };

function config(extra: Partial<BastionConfig> = {}): BastionConfig {
  return { ...DEFAULT_CONFIG, port: 0, host: '127.0.0.1', dataDir: mkdtempSync(join(tmpdir(), 'bastion-ops-')), policies: [join(root, 'examples/zyx')], dev: true, ...extra };
}

async function start(c: BastionConfig, extra: { requestLog?: { stream: Writable } } = {}): Promise<{ app: BastionApp; url: string }> {
  const built = await createBastionApp({ config: c, io: quiet, watch: false, ...extra });
  if (!built.ok) throw new Error(built.errors.map((e) => e.message).join('; '));
  const started = await built.value.start();
  if (!started.ok || started.value.url === undefined) throw new Error('no url');
  return { app: built.value, url: started.value.url };
}

/** A kill-switch admin, named by development-mode identity headers. */
const ADMIN = { 'x-controlzero-user-id': 'oncall', 'x-controlzero-user-group': 'bastion-admins' };

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function decisionEvents(dataDir: string): Promise<{ traceId?: string; decision?: string }[]> {
  const opened = await openSqliteAuditReader(join(dataDir, 'bastion.db'));
  if (!opened.ok) throw new Error(opened.errors[0]?.message);
  try {
    return (await opened.value.query({ type: 'decision' })) as { traceId?: string; decision?: string }[];
  } finally {
    await opened.value.close();
  }
}

/** The value of one sample in Prometheus text, e.g. `bastion_decisions_total{effect="deny"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('POST /v1/decide/batch', () => {
  let app: BastionApp;
  let url: string;
  let c: BastionConfig;
  beforeAll(async () => {
    c = config();
    ({ app, url } = await start(c));
  });
  afterAll(async () => app.stop());

  it('answers the decisions in order, each decided and audited as /v1/decide would', async () => {
    const requests = [
      { principal: intern, action: 'jira_read', traceId: 'batch-0' },
      { principal: reader, action: 'jira_read', environment: 'development', traceId: 'batch-1' },
      { principal: intern, action: 'jira_add_comment', args: { comment: 'hi' }, traceId: 'batch-2' },
    ];
    const single = await Promise.all(requests.map((r) => post(`${url}/v1/decide`, { ...r, traceId: `${r.traceId}-single` })));
    const r = await post(`${url}/v1/decide/batch`, { requests });
    expect(r.status).toBe(200);
    const decisions = r.body['decisions'] as { decision: string; reason: string; traceId: string; matched: unknown }[];
    expect(decisions.map((d) => d.traceId)).toEqual(['batch-0', 'batch-1', 'batch-2']);
    // The same decision as the single route gives, field for field (trace id aside).
    decisions.forEach((d, i) => expect({ ...d, traceId: '' }).toEqual({ ...(single[i]?.body as object), traceId: '' }));
    expect(decisions.map((d) => d.decision)).toEqual(single.map((s) => s.body['decision']));
    expect(r.body['errors']).toBeUndefined();
    const events = await decisionEvents(c.dataDir);
    for (const id of ['batch-0', 'batch-1', 'batch-2'])
      expect(
        events.filter((e) => e.traceId === id),
        id,
      ).toHaveLength(1);
  });

  it('audits the entries in request order, though invalid entries finish deciding first', async () => {
    // An invalid entry is decided without a store read, so it finishes before a valid one:
    // with the decisions' own completion order, these events would come out 1, 3, 5, 0, 2, 4.
    const requests = Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? { principal: reader, action: 'jira_read', traceId: `order-${i}` } : { principal: intern, action: 42 }));
    const r = await post(`${url}/v1/decide/batch`, { requests });
    expect(r.status).toBe(200);
    const answered = (r.body['decisions'] as { traceId: string }[]).map((d) => d.traceId);
    expect(answered.filter((_, i) => i % 2 === 0)).toEqual(['order-0', 'order-2', 'order-4']);
    const ids = new Set(answered);
    const events = (await decisionEvents(c.dataDir)) as { traceId?: string; seq: number }[];
    const audited = events.filter((e) => e.traceId !== undefined && ids.has(e.traceId));
    expect(audited.map((e) => e.traceId)).toEqual(answered);
    // One after the other in the log, nothing between them.
    expect(audited.map((e) => e.seq - (audited[0]?.seq ?? 0))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('an invalid entry is a deny with its errors, and the answer names its index and fields', async () => {
    const r = await post(`${url}/v1/decide/batch`, {
      requests: [
        { principal: intern, action: 'jira_read' },
        { principal: { id: 'a', groups: 'sre' }, action: 'jira_read' },
      ],
    });
    expect(r.status).toBe(200);
    const decisions = r.body['decisions'] as { decision: string; errors: { code: string; field?: string }[] }[];
    expect(decisions.map((d) => d.decision)).toEqual(['deny', 'deny']);
    expect(decisions[1]?.errors).toMatchObject([{ code: 'REQUEST_INVALID', field: 'principal.groups' }]);
    expect(r.body['errors']).toEqual([{ index: 1, code: 'REQUEST_INVALID', message: 'requests[1]: field `principal.groups`: must be a list of strings', fields: ['requests[1].principal.groups'] }]);
  });

  it(`takes ${MAX_BATCH} requests, and refuses ${MAX_BATCH + 1} naming the field`, async () => {
    const full = await post(`${url}/v1/decide/batch`, { requests: Array.from({ length: MAX_BATCH }, () => ({ principal: intern, action: 'jira_read' })) });
    expect(full.status).toBe(200);
    expect(full.body['decisions']).toHaveLength(MAX_BATCH);
    const over = await post(`${url}/v1/decide/batch`, { requests: Array.from({ length: MAX_BATCH + 1 }, () => ({ principal: intern, action: 'jira_read' })) });
    expect(over).toEqual({
      status: 400,
      body: { error: { code: 'REQUEST_INVALID', message: 'batch: field `requests`: must hold at most 100 action requests (send more batches)', fields: ['requests'] } },
    });
  });

  it('production mode: 401 before the body is read, nothing decided', async () => {
    const p = config({ dev: false });
    const prod = await start(p);
    try {
      const r = await post(`${prod.url}/v1/decide/batch`, { requests: [{ principal: reader, action: 'jira_read', traceId: 'prod-batch' }] });
      expect(r.status).toBe(401);
      expect((r.body['error'] as { code: string }).code).toBe('IDENTITY_MISSING');
    } finally {
      await prod.app.stop();
    }
    expect((await decisionEvents(p.dataDir)).filter((e) => e.traceId === 'prod-batch')).toEqual([]);
  });
});

describe('GET /health', () => {
  it('is ready when the policies, stores and audit log answer, and reports each check', async () => {
    const { app, url } = await start(config());
    try {
      const r = await fetch(`${url}/health`);
      expect(r.status).toBe(200);
      const body = (await r.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ status: 'ok', mode: 'development', policyVersion: app.gateway.policySet.version, policies: 1 });
      expect(Object.keys(body['checks'] as object)).toEqual(['policies', 'killSwitch', 'approvals', 'auditLog', 'identity']);
      for (const check of Object.values(body['checks'] as Record<string, { status: string }>)) expect(check.status).toBe('ok');
      expect(body['failed']).toBeUndefined();
    } finally {
      await app.stop();
    }
  });

  describe('a dependency that fails or hangs makes it 503, naming it, without leaking its error', () => {
    let gateway: Gateway;
    beforeAll(async () => {
      gateway = await createGateway({ policies: [join(root, 'examples/zyx')] });
    });
    afterAll(async () => gateway.close());

    it.each([
      ['fails', () => Promise.reject(new Error('SQLITE_IOERR: disk I/O error at /srv/secret/bastion.db')), 'not usable (the error is in the service log)'],
      ['hangs', () => new Promise(() => {}), 'did not answer within 100 ms'],
    ])('a store that %s', async (_what, check, error) => {
      let logged = '';
      const stream = new Writable({
        write(chunk: Buffer, _enc, done) {
          logged += chunk.toString();
          done();
        },
      });
      const server = await buildServer(gateway, {
        dev: false,
        startedAt: new Date(),
        probeTimeoutMs: 100,
        log: { stream },
        probes: [
          { name: 'killSwitch', check },
          { name: 'auditLog', check: async () => undefined },
        ],
      });
      const url = await listen(server, '127.0.0.1', 0);
      try {
        const r = await fetch(`${url}/health`);
        expect(r.status).toBe(503);
        const text = await r.text();
        expect(text).not.toContain('/srv/secret');
        const body = JSON.parse(text) as { status: string; failed: string[]; checks: Record<string, { status: string; error?: string }> };
        expect(body.status).toBe('degraded');
        expect(body.failed).toEqual(['killSwitch']);
        expect(body.checks['killSwitch']).toMatchObject({ status: 'failed', error });
        expect(body.checks['auditLog']?.status).toBe('ok');
        if (_what === 'fails') expect(logged).toContain('SQLITE_IOERR');
      } finally {
        await server.close();
      }
    });
  });
});

describe('GET /metrics', () => {
  it('counts decisions by effect, times them and the audit appends, reads the kill switch and pending approvals, counts fail-opens', async () => {
    const { app, url } = await start(config());
    try {
      await post(`${url}/v1/decide`, { principal: intern, action: 'jira_read' });
      await post(`${url}/v1/decide`, { principal: intern, action: 'jira_read' });
      await post(`${url}/v1/decide/batch`, { requests: [{ principal: intern, action: 'jira_read' }, { action: 7 }] });
      const put = await fetch(`${url}/v1/kill-switch`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...ADMIN },
        body: JSON.stringify({ read_only_mode: true, disabled_users: ['mallory'] }),
      });
      expect(put.status).toBe(200);
      const now = Date.now();
      for (const id of ['appr-1', 'appr-2']) {
        const created = await app.stores.approvals.create(newApproval({ id, createdAt: now, expiresAt: now + 15 * 60_000 }));
        expect(created.ok).toBe(true);
      }
      app.metrics.failOpen('limit store');

      const r = await fetch(`${url}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const text = await r.text();
      expect(sample(text, 'bastion_decisions_total{effect="deny"}')).toBe(4);
      expect(sample(text, 'bastion_decisions_total{effect="allow"}')).toBe(0);
      expect(sample(text, 'bastion_decisions_total{effect="require_approval"}')).toBe(0);
      expect(sample(text, 'bastion_decision_duration_seconds_count')).toBe(4);
      // policy.loaded, service.start, 4 decisions, the kill-switch change: each append timed.
      expect(sample(text, 'bastion_audit_append_duration_seconds_count')).toBeGreaterThanOrEqual(7);
      expect(sample(text, 'bastion_kill_switch_active{key="read_only_mode"}')).toBe(1);
      expect(sample(text, 'bastion_kill_switch_active{key="disabled_users"}')).toBe(1);
      expect(sample(text, 'bastion_kill_switch_active{key="all_write_tools_disabled"}')).toBe(0);
      expect(sample(text, 'bastion_approvals_pending')).toBe(2);
      expect(sample(text, 'bastion_fail_open_total{dependency="limit store"}')).toBe(1);
      expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    } finally {
      await app.stop();
    }
  });

  it('each app has its own registry: nothing leaks between apps or into the global registry', async () => {
    const a = await start(config());
    const b = await start(config());
    try {
      await post(`${a.url}/v1/decide`, { principal: intern, action: 'jira_read' });
      const textB = await (await fetch(`${b.url}/metrics`)).text();
      expect(sample(textB, 'bastion_decisions_total{effect="deny"}')).toBe(0);
      const textA = await (await fetch(`${a.url}/metrics`)).text();
      expect(sample(textA, 'bastion_decisions_total{effect="deny"}')).toBe(1);
      expect(await globalRegister.metrics()).not.toContain('bastion_');
    } finally {
      await a.app.stop();
      await b.app.stop();
    }
  });
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document in which every registered route appears, with a summary', async () => {
    const { app, url } = await start(config());
    try {
      const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
        openapi: string;
        paths: Record<string, Record<string, { summary?: string; requestBody?: { content: Record<string, { schema: unknown }> } }>>;
      };
      expect(doc.openapi).toBe('3.1.0');
      // Every route Fastify has, counted in its own route table, is documented, and every
      // documented operation is a route Fastify has.
      const server = app.server;
      if (!server) throw new Error('no server');
      const registered = [...server.printRoutes({ commonPrefix: false }).matchAll(/\(([A-Z, ]+)\)/g)].flatMap((m) => (m[1] as string).split(', '));
      expect(registered.length).toBeGreaterThanOrEqual(9);
      const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase(), url: path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1') })));
      expect(documented).toHaveLength(registered.length);
      for (const route of documented) expect(server.hasRoute(route as { method: 'GET'; url: string }), `${route.method} ${route.url}`).toBe(true);
      for (const [path, ops] of Object.entries(doc.paths)) for (const [m, op] of Object.entries(ops)) expect(op.summary, `${m} ${path}`).toBeTruthy();
      // The body schema is the one Zod validates with.
      expect(doc.paths['/v1/decide']?.['post']?.requestBody?.content['application/json']?.schema).toEqual(jsonSchema(ActionRequestSchema));
      expect(doc.paths['/v1/decide/batch']?.['post']?.requestBody?.content['application/json']?.schema).toMatchObject({ properties: { requests: { type: 'array', maxItems: MAX_BATCH } } });
    } finally {
      await app.stop();
    }
  });

  it('documents without validating: Zod still answers, in its own words', async () => {
    const { app, url } = await start(config());
    try {
      const r = await post(`${url}/v1/decide`, { principal: intern, action: 'jira_read', enviroment: 'x' });
      expect(r.status).toBe(400);
      expect((r.body['error'] as { message: string }).message).toMatch(/^request: field `enviroment`: unknown field `enviroment` in an action request/);
    } finally {
      await app.stop();
    }
  });
});

describe('logs', () => {
  it('a bearer token, an API key and a token in the query string are never logged', async () => {
    let logged = '';
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        logged += chunk.toString();
        done();
      },
    });
    const { app, url } = await start(config(), { requestLog: { stream } });
    try {
      const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlLXNlY3JldA';
      await post(`${url}/v1/decide?access_token=${token}&trace=1`, { principal: intern, action: 'jira_read' }, { authorization: `Bearer ${token}`, 'x-api-key': 'bst_live_key_secret' });
      await fetch(`${url}/health?api_key=bst_query_key_secret`, { headers: { cookie: 'session=cookie-secret' } });
    } finally {
      await app.stop();
    }
    expect(logged).toContain('"url":"/v1/decide?access_token=[redacted]&trace=1"');
    expect(logged).toContain('"authorization":"[redacted]"');
    for (const secret of ['eyJhbGciOiJFUzI1NiJ9', 'c2lnbmF0dXJlLXNlY3JldA', 'bst_live_key_secret', 'bst_query_key_secret', 'cookie-secret']) expect(logged).not.toContain(secret);
  });

  it.each([
    ['/x', '/x'],
    ['/x?token=a&b=c', '/x?token=[redacted]&b=c'],
    ['/x?Access_Token=a', '/x?Access_Token=[redacted]'],
    ['/x?%74oken=a', '/x?%74oken=[redacted]'],
    ['/x?%zz=secret', '/x?%zz=[redacted]'],
    ['/x?tokenish=a', '/x?tokenish=a'],
  ])('redactUrl(%s)', (input, want) => expect(redactUrl(input)).toBe(want));
});

describe('graceful shutdown', () => {
  it('a request in flight when stop() is called is answered and audited before service.stop', async () => {
    const c = config();
    const { app, url } = await start(c);
    const body = JSON.stringify({ principal: intern, action: 'jira_read', traceId: 'in-flight' });
    const half = Math.floor(body.length / 2);
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(`${url}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, half));
      // The rest arrives only after stop() began: the request is in flight while the server drains.
      setTimeout(() => {
        stopping = app.stop('test');
        setTimeout(() => req.end(body.slice(half)), 100);
      }, 100);
    });
    let stopping: Promise<void> | undefined;
    const r = await answered;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ decision: 'deny', traceId: 'in-flight' });
    await stopping;
    const opened = await openSqliteAuditReader(join(c.dataDir, 'bastion.db'));
    if (!opened.ok) throw new Error(opened.errors[0]?.message);
    try {
      const events = (await opened.value.query({})) as { type: string; traceId?: string }[];
      const decided = events.findIndex((e) => e.type === 'decision' && e.traceId === 'in-flight');
      expect(decided).toBeGreaterThan(-1);
      expect(events.findIndex((e) => e.type === 'service.stop')).toBeGreaterThan(decided);
    } finally {
      await opened.value.close();
    }
  });
});

interface BadInputCase {
  description: string;
  method?: string;
  url: string;
  contentType?: string;
  body?: string;
  bodyBase64?: string;
  repeat?: { prefix: string; unit: string; times: number; middle?: string; closer?: string; suffix: string };
  status: number;
  code?: string;
  fields?: string[];
  decision?: string;
  decisions?: string[];
  batchErrors?: { index: number; code: string; fields?: string[] }[];
}

const corpus = JSON.parse(readFileSync(join(root, 'test/fixtures/server/bad-input.json'), 'utf8')) as { cases: BadInputCase[] };

describe('bad input of every kind, over HTTP (test/fixtures/server/bad-input.json)', () => {
  let app: BastionApp;
  let url: string;
  beforeAll(async () => {
    ({ app, url } = await start(config()));
  });
  afterAll(async () => app.stop());

  it('the corpus is not empty', () => expect(corpus.cases.length).toBeGreaterThanOrEqual(30));

  it.each(corpus.cases.map((c) => [c.description, c] as const))('%s', async (_d, c) => {
    // Bytes as a plain Uint8Array: fetch's BodyInit (DOM's or undici's) takes that, not every Buffer.
    let body: string | Uint8Array<ArrayBuffer> | undefined = c.body;
    if (c.bodyBase64 !== undefined) body = new Uint8Array(Buffer.from(c.bodyBase64, 'base64'));
    if (c.repeat) body = c.repeat.prefix + c.repeat.unit.repeat(c.repeat.times) + (c.repeat.middle ?? '') + (c.repeat.closer ?? '').repeat(c.repeat.times) + c.repeat.suffix;
    const method = c.method ?? 'POST';
    const r = await fetch(`${url}${c.url}`, {
      method,
      // The kill switch's PUT needs an admin (named by development-mode identity headers).
      headers: method === 'GET' ? {} : { 'content-type': c.contentType ?? 'application/json', ...(c.url === '/v1/kill-switch' ? ADMIN : {}) },
      ...(body === undefined || method === 'GET' ? {} : { body }),
    });
    const text = await r.text();
    expect(r.status, c.description).toBe(c.status);
    expect(text, 'never an allow').not.toContain('"decision":"allow"');
    const answer = JSON.parse(text) as { error?: { code: string; message: string; fields?: string[] }; decision?: string; decisions?: { decision: string }[]; errors?: unknown[] };
    if (c.code !== undefined) {
      expect(answer.error?.code).toBe(c.code);
      expect(answer.error?.message).toMatch(/^[^A-Z]/); // Cedar's grammar: lowercase, no final period
      expect(answer.error?.message).not.toMatch(/\.$/);
    }
    if (c.fields !== undefined) expect(answer.error?.fields).toEqual(c.fields);
    if (c.decision !== undefined) expect(answer.decision).toBe(c.decision);
    if (c.decisions !== undefined) expect(answer.decisions?.map((d) => d.decision)).toEqual(c.decisions);
    if (c.batchErrors !== undefined) expect(answer.errors).toMatchObject(c.batchErrors);
  });
});
