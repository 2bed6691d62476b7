/**
 * Runs test/fixtures/requests/invalid-requests.json through every surface that takes a
 * request: the library's decide(), `bastion check` and the HTTP service (a real
 * `bastion serve --dev` on a loopback port), each with the audit log on and off. An invalid
 * request is REQUEST_INVALID naming its field, the same way everywhere; a near miss is decided.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteAuditReader } from '../../src/storage/index.js';
import { validateRequest } from '../../src/core/request.js';
import { quote } from '../../src/core/errors.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { buildServer } from '../../src/server/index.js';
import { runBastion } from '../helpers/cli.js';

const root = new URL('../..', import.meta.url).pathname;
const policy = join(root, 'test/fixtures/requests/allow-all.yaml');

type Surface = 'library' | 'cli' | 'http';
interface Case {
  description: string;
  json?: string;
  nest?: { open: string; close: string; leaf: string; levels: number };
  hex?: string;
  field?: string;
  message?: string;
  surfaces?: Surface[];
}
const corpus = JSON.parse(readFileSync(join(root, 'test/fixtures/requests/invalid-requests.json'), 'utf8')) as { invalid: Case[]; valid: Case[] };

function bytesOf(c: Case): Buffer {
  if (c.hex !== undefined) return Buffer.from(c.hex, 'hex');
  const n = c.nest;
  const text = n === undefined ? (c.json as string) : (c.json as string).replace('@NEST@', n.open.repeat(n.levels) + n.leaf + n.close.repeat(n.levels));
  return Buffer.from(text, 'utf8');
}
const on = (c: Case, s: Surface) => (c.surfaces ?? ['library', 'cli', 'http']).includes(s);

/** The message must name the field (as messages quote it) and say what is wrong. */
function expectMessage(c: Case, message: string): void {
  if (c.field !== undefined) expect(message, c.description).toContain(`field ${quote(c.field)}: `);
  expect(message, c.description).toContain(c.message);
}

const audit = [
  ['audit log off', false],
  ['audit log on', true],
] as const;

describe('the request corpus', () => {
  it('holds every case it is meant to (the corpus cannot silently go empty)', () => {
    expect(corpus.invalid.length).toBeGreaterThanOrEqual(24);
    expect(corpus.valid.length).toBeGreaterThanOrEqual(6);
    for (const c of [...corpus.invalid, ...corpus.valid]) expect(c.json ?? c.hex, c.description).toBeDefined();
  });
});

describe.each(audit)('library decide() (%s)', (_what, withAudit) => {
  let gateway: Gateway;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'bastion-requests-'));
    gateway = await createGateway({ policies: [policy], ...(withAudit ? { dataDir } : {}) });
  });
  afterAll(async () => gateway.close());

  it.each(corpus.invalid.filter((c) => on(c, 'library')).map((c) => [c.description, c] as const))('refuses %s', async (_d, c) => {
    const raw = JSON.parse(bytesOf(c).toString('utf8')) as unknown;
    const checked = validateRequest(raw);
    expect(checked.ok, c.description).toBe(false);
    if (checked.ok) return;
    expect(checked.errors[0]).toMatchObject({ code: 'REQUEST_INVALID', field: c.field });
    expectMessage(c, checked.errors[0]?.message ?? '');
    // INVARIANT: decide() never rejects for a bad request; it denies with the errors.
    const d = await gateway.decide(raw);
    expect(d).toMatchObject({ decision: 'deny', reason: 'request is invalid' });
    expect(d.errors[0]).toMatchObject({ policy: 'bastion/request', rule: 'validate', code: 'REQUEST_INVALID', field: c.field });
    expectMessage(c, d.errors[0]?.message ?? '');
    if (withAudit) expect((await gateway.auditLog?.getTrace(d.traceId))?.map((e) => e.decision)).toEqual(['deny']);
  });

  it.each(corpus.valid.map((c) => [c.description, c] as const))('decides %s', async (_d, c) => {
    const d = await gateway.decide(JSON.parse(bytesOf(c).toString('utf8')));
    expect(d, c.description).toMatchObject({ decision: 'allow', errors: [] });
  });

  it('leaves a log that verifies', async () => {
    if (withAudit) expect((await gateway.auditLog?.verify())?.ok).toBe(true);
  });
});

describe.each(audit)('bastion check (%s)', (_what, withAudit) => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-requests-cli-'));
  const check = (c: Case, i: number) => {
    const file = join(dir, `request-${i}.json`);
    writeFileSync(file, bytesOf(c));
    return runBastion(['check', '--policy', policy, '--input', file, '--json', ...(withAudit ? ['--data-dir', join(dir, 'data')] : [])], { cwd: root });
  };

  it.each(corpus.invalid.filter((c) => on(c, 'cli')).map((c, i) => [c.description, c, i] as const))('exits 2 with one line on %s', async (_d, c, i) => {
    const r = await check(c, i);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^bastion check: input/);
    expectMessage(c, r.stderr);
    expect(r.code).toBe(2);
  });

  it.each(corpus.valid.map((c, i) => [c.description, c, i] as const))('decides %s', async (_d, c, i) => {
    const r = await check(c, 1000 + i);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ decision: 'allow' });
  });

  it('leaves a log that verifies', async () => {
    if (!withAudit) return;
    const reader = await openSqliteAuditReader(join(dir, 'data', 'bastion.db'));
    if (!reader.ok) throw new Error('cannot open the audit log');
    expect((await reader.value.verify()).ok).toBe(true);
    await reader.value.close();
  });
});

describe.each(audit)('POST /v1/decide through the HTTP app (%s)', (_what, withAudit) => {
  let gateway: Gateway;
  let app: Awaited<ReturnType<typeof buildServer>>;
  beforeAll(async () => {
    gateway = await createGateway({ policies: [policy], ...(withAudit ? { dataDir: mkdtempSync(join(tmpdir(), 'bastion-requests-app-')) } : {}) });
    app = await buildServer(gateway, { dev: true, startedAt: new Date() });
  });
  afterAll(async () => {
    await app.close();
    await gateway.close();
  });
  // The bytes as a client sends them: the app's JSON parser decodes them strictly.
  const post = async (c: Case) => {
    const r = await app.inject({ method: 'POST', url: '/v1/decide', headers: { 'content-type': 'application/json' }, payload: bytesOf(c) });
    return { status: r.statusCode, body: r.body };
  };

  it.each(corpus.invalid.filter((c) => on(c, 'http')).map((c) => [c.description, c] as const))('answers 400 REQUEST_INVALID on %s', async (_d, c) => {
    const r = await post(c);
    const body = JSON.parse(r.body) as { error: { code: string; message: string } };
    expect(body.error.code, body.error.message).toBe('REQUEST_INVALID');
    expectMessage(c, body.error.message);
    expect(r.status).toBe(400);
  });

  it.each(corpus.valid.map((c) => [c.description, c] as const))('decides %s', async (_d, c) => {
    const r = await post(c);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ decision: 'allow' });
  });
});

/** Starts `bastion serve --dev` on a free loopback port; resolves with its URL. */
async function serve(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const args = ['serve', '--policy', policy, '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--dev'];
  const child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), ...args], { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 20_000);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/[^ \n]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  return { url, child };
}

// `bastion serve` always keeps an audit log; the bytes go over a real socket as a client sends them.
describe('POST /v1/decide on a real bastion serve --dev', () => {
  let server: { url: string; child: ChildProcess } | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-requests-http-'));
  beforeAll(async () => {
    server = await serve(dataDir);
  });
  afterAll(async () => {
    const child = server?.child;
    if (child === undefined) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  });
  const post = (c: Case) => fetch(`${server?.url}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array(bytesOf(c)) });

  it.each(corpus.invalid.filter((c) => on(c, 'http')).map((c) => [c.description, c] as const))('answers 400 REQUEST_INVALID on %s', async (_d, c) => {
    const r = await post(c);
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code, body.error.message).toBe('REQUEST_INVALID');
    expectMessage(c, body.error.message);
    expect(r.status).toBe(400);
  });

  it.each(corpus.valid.map((c) => [c.description, c] as const))('decides %s', async (_d, c) => {
    const r = await post(c);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ decision: 'allow' });
  });

  it('leaves a log that verifies', async () => {
    const r = await runBastion(['audit', 'verify', '--data-dir', dataDir], { cwd: root });
    expect(r.stdout + r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
  });
});

describe('the request schema (src/core/request.ts) words each shape problem exactly', () => {
  it.each([
    [{ action: 'x' }, 'request: field `principal`: is required: an object with `id` and `groups`'],
    [{ principal: { id: 'a' } }, 'request: field `action`: is required: a non-empty string such as `shell.execute`'],
    [{ principal: { id: 'a', group: ['x'] }, action: 'x' }, 'request: field `principal.group`: unknown field `group` in a principal (expected one of id, groups, deviceCompliant, attributes)'],
    [{ principal: { id: 'a', groups: ['x', 3] }, action: 'x' }, 'request: field `principal.groups[1]`: must be a list of strings'],
    [{ principal: { id: '' }, action: 'x' }, 'request: field `principal.id`: must be a non-empty string'],
    [{ principal: { id: 'a', deviceCompliant: 'yes' }, action: 'x' }, 'request: field `principal.deviceCompliant`: must be true or false'],
    [{ principal: { id: 'a' }, action: 'x', args: [1] }, 'request: field `args`: must be an object'],
    [{ principal: { id: 'a' }, action: 'x', environment: '' }, 'request: field `environment`: must be a non-empty string'],
    [{ principal: { id: 'a' }, action: 'x', risk: 'High' }, 'request: field `risk`: unknown risk `High` (expected low, medium, high or critical)'],
    [{ principal: { id: 'a' }, action: 'x', context: { danger_level: 'extreme' } }, 'request: field `context.danger_level`: unknown risk `extreme` (expected low, medium, high or critical)'],
    [
      { principal: { id: 'a' }, action: 'x', enviroment: 'prod' },
      'request: field `enviroment`: unknown field `enviroment` in an action request (expected one of principal, action, resource, environment, args, context, risk, approvalId, traceId)',
    ],
  ] as const)('%j', (raw, message) => {
    const r = validateRequest(raw);
    expect(r.ok ? [] : r.errors.map((e) => e.message)).toEqual([message]);
  });

  it('fills in groups and returns a deeply frozen copy', () => {
    const raw = { principal: { id: 'a', attributes: { team: 'x' } }, action: 'x', args: { a: [1] }, context: { risk: 'low' } };
    const r = validateRequest(raw);
    expect(r.ok && r.value).toEqual({ principal: { id: 'a', groups: [], attributes: { team: 'x' } }, action: 'x', args: { a: [1] }, context: { risk: 'low' } });
    if (!r.ok) return;
    for (const part of [r.value, r.value.principal, r.value.principal.groups, r.value.principal.attributes, r.value.args, r.value.args?.['a'], r.value.context])
      expect(Object.isFrozen(part)).toBe(true);
    expect(r.value.args).not.toBe(raw.args);
  });
});
