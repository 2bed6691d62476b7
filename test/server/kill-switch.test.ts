/**
 * `GET`/`PUT /v1/kill-switch` (finding 21, issue 10): strict bodies from a fixture file; only
 * principals in `admin_groups` may change it (403 otherwise, and in development mode without
 * identity headers); on a real server (port 0, fetch, token identity) every change is
 * enforced on the very next decision, audited with who and why, and checkpointed; and the
 * runtime state and a ZYX file's `kill_switch` block combine (either can disable): an API
 * change never re-enables what the file disables, and a file edit never undoes an API switch.
 */

import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBastionApp, type BastionApp } from '../../src/app/index.js';
import { DEFAULT_CONFIG, type BastionConfig } from '../../src/config/index.js';
import type { Authenticator } from '../../src/identity/index.js';
import { openSqliteAuditReader } from '../../src/storage/index.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { buildServer } from '../../src/server/index.js';
import { tokenIdentity } from '../helpers/identity.js';
import { atomicWrite, eventually, sedInPlace } from './serve-process.js';

const root = new URL('../..', import.meta.url).pathname;
const ZYX = join(root, 'examples/zyx/tool_policies.yaml');

interface PutCase {
  description: string;
  body: string;
  status: number;
  code?: string;
  fields?: string[];
  message?: string;
  state?: Record<string, unknown>;
}

const fixture = JSON.parse(readFileSync(join(root, 'test/fixtures/server/kill-switch-puts.json'), 'utf8')) as { cases: PutCase[] };

const engineer = { id: 'engineer@zyxbank.example', groups: ['grp-ai-devops-readonly'], deviceCompliant: true };
const slackPost = { principal: engineer, action: 'slack_post_message', args: { channel: 'devsecops-change-review', message: 'CHG-18422 requires Cloud Security review before promotion.' } };
const jiraRead = { principal: engineer, action: 'jira_read', args: { ticket: 'CHG-18422' } };
/** A kill-switch admin, named by the seeds' development-mode identity headers. */
const DEV_ADMIN = { 'x-controlzero-user-id': 'oncall@zyxbank.example', 'x-controlzero-user-group': 'bastion-admins' };

describe('PUT /v1/kill-switch bodies (the app, no socket)', () => {
  let gateway: Gateway;
  beforeEach(async () => {
    gateway = await createGateway({ policies: [ZYX] });
  });
  afterEach(async () => gateway.close());

  it('the fixture is not empty', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(fixture.cases.map((c) => [c.description, c] as const))('%s', async (_, c) => {
    const app = await buildServer(gateway, { dev: true, startedAt: new Date() });
    const before = gateway.killSwitch();
    const r = await app.inject({ method: 'PUT', url: '/v1/kill-switch', headers: { 'content-type': 'application/json', ...DEV_ADMIN }, payload: c.body });
    const body = r.json() as Record<string, unknown> & { error?: { code: string; message: string; fields?: string[] } };
    expect(r.statusCode, c.description).toBe(c.status);
    expect(r.headers['x-bastion-mode']).toMatch(/NOT verified/);
    if (c.status === 200) {
      expect(body, c.description).toMatchObject(c.state ?? {});
      const { sources, ...state } = body;
      expect(gateway.killSwitch()).toEqual(state);
      // The ZYX file's block is all off: the effective state is the runtime one.
      expect(sources).toMatchObject({ runtime: { ...state, version: 1 }, policy: { read_only_mode: false, all_write_tools_disabled: false } });
      const got = await app.inject({ method: 'GET', url: '/v1/kill-switch' });
      expect(got.json()).toEqual(body);
      return;
    }
    expect(body.error?.code, c.description).toBe(c.code);
    if (c.fields) expect(body.error?.fields, c.description).toEqual(c.fields);
    if (c.fields) for (const f of c.fields) expect(body.error?.message).toContain(`\`${f}\``);
    if (c.message) expect(body.error?.message, c.description).toContain(c.message);
    expect(gateway.killSwitch(), `${c.description}: a rejected body changes nothing`).toEqual(before);
  });

  it('only GET and PUT: other methods get 405 with Allow', async () => {
    const app = await buildServer(gateway, { dev: true, startedAt: new Date() });
    for (const method of ['POST', 'DELETE', 'PATCH'] as const) {
      const r = await app.inject({ method, url: '/v1/kill-switch', headers: { 'content-type': 'application/json', ...DEV_ADMIN }, payload: '{"read_only_mode":true}' });
      expect(r.statusCode).toBe(405);
      expect(r.headers['allow']).toBe('GET, PUT');
    }
    expect(gateway.killSwitch().read_only_mode).toBe(false);
  });

  it('development mode without identity headers: PUT is 403 FORBIDDEN naming how to identify, and nothing changes', async () => {
    const app = await buildServer(gateway, { dev: true, startedAt: new Date() });
    const put = await app.inject({ method: 'PUT', url: '/v1/kill-switch', headers: { 'content-type': 'application/json' }, payload: '{"read_only_mode":true}' });
    expect(put.statusCode).toBe(403);
    const error = (put.json() as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toContain('`X-ControlZero-User-ID`');
    expect(error.message).toContain('`bastion-admins`');
    // Identity headers naming a principal outside the admin groups: 403 naming it.
    const other = await app.inject({
      method: 'PUT',
      url: '/v1/kill-switch',
      headers: { 'content-type': 'application/json', 'x-controlzero-user-id': 'engineer@zyxbank.example', 'x-controlzero-user-group': 'grp-ai-devops-readonly' },
      payload: '{"read_only_mode":true}',
    });
    expect(other.statusCode).toBe(403);
    expect(other.json()).toMatchObject({ error: { code: 'FORBIDDEN', message: expect.stringContaining('`engineer@zyxbank.example` may not change the kill switch') } });
    expect(gateway.killSwitch().read_only_mode).toBe(false);
    // Reading it needs no admin.
    expect((await app.inject({ method: 'GET', url: '/v1/kill-switch' })).statusCode).toBe(200);
  });

  it('production mode: GET and PUT answer 401 IDENTITY_MISSING and nothing changes', async () => {
    const app = await buildServer(gateway, { dev: false, startedAt: new Date() });
    const put = await app.inject({ method: 'PUT', url: '/v1/kill-switch', headers: { 'content-type': 'application/json' }, payload: '{"read_only_mode":true}' });
    expect(put.statusCode).toBe(401);
    expect(put.json()).toMatchObject({ error: { code: 'IDENTITY_MISSING' } });
    const get = await app.inject({ method: 'GET', url: '/v1/kill-switch' });
    expect(get.statusCode).toBe(401);
    expect(gateway.killSwitch().read_only_mode).toBe(false);
  });
});

const quiet = { stderr: { write: () => true }, env: {} };
const ADMIN = { id: 'oncall@zyxbank.example', groups: ['bastion-admins', 'sre'] };
const tokens = { 'admin-token': ADMIN, 'engineer-token': engineer, 'lead-token': { id: 'lead@zyxbank.example', groups: ['sre-leads'] } };

interface Running {
  url: string;
  app: BastionApp;
  dataDir: string;
  call(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
}

async function start(policies: string[], extra: Partial<BastionConfig> = {}, options: { identity?: Authenticator; watch?: boolean; dataDir?: string } = {}): Promise<Running> {
  const dataDir = options.dataDir ?? join(mkdtempSync(join(tmpdir(), 'bastion-ks-')), 'data');
  const config: BastionConfig = { ...DEFAULT_CONFIG, port: 0, dataDir, policies, dev: false, ...extra };
  const built = await createBastionApp({ config, io: quiet, watch: options.watch ?? false, identity: options.identity ?? tokenIdentity(tokens) });
  if (!built.ok) throw new Error(built.errors.map((e) => e.message).join('; '));
  const started = await built.value.start();
  if (!started.ok) throw new Error(started.errors.map((e) => e.message).join('; '));
  const url = started.value.url as string;
  return {
    url,
    app: built.value,
    dataDir,
    async call(method, path, token, body) {
      const headers: Record<string, string> = {};
      if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const r = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    },
  };
}

async function killSwitchEvents(dataDir: string): Promise<{ seq: number; data: Record<string, unknown> }[]> {
  const reader = await openSqliteAuditReader(join(dataDir, 'bastion.db'));
  if (!reader.ok) throw new Error(reader.errors.map((e) => e.message).join('; '));
  try {
    expect((await reader.value.verify()).ok).toBe(true);
    const sizes = (await reader.value.checkpoints()).map((c) => c.size);
    const changes = (await reader.value.query({})).filter((e) => e.type === 'kill_switch.changed');
    // Every change is pinned by a signed checkpoint taken right after it: before the next
    // change (events appended meanwhile, decisions say, may join it).
    changes.forEach((e, i) => {
      const next = changes[i + 1]?.seq ?? Number.POSITIVE_INFINITY;
      expect(
        sizes.some((size) => size >= e.seq && size < next),
        `a checkpoint covering change ${e.seq}`,
      ).toBe(true);
    });
    return changes.map((e) => ({ seq: e.seq, data: e.data as Record<string, unknown> }));
  } finally {
    await reader.value.close();
  }
}

describe('the kill switch on a real service', () => {
  const running: Running[] = [];
  afterEach(async () => {
    for (const r of running.splice(0)) await r.app.stop();
  });

  it('only admins change it: 401 without a token, 403 for a non-admin, 200 for an admin; GET needs any identity', async () => {
    const s = await start([ZYX]);
    running.push(s);
    expect(await s.call('PUT', '/v1/kill-switch', undefined, { read_only_mode: true })).toMatchObject({ status: 401, body: { error: { code: 'IDENTITY_MISSING' } } });
    const refused = await s.call('PUT', '/v1/kill-switch', 'engineer-token', { read_only_mode: true });
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect(String((refused.body['error'] as { message: string }).message)).toBe(
      'principal `engineer@zyxbank.example` may not change the kill switch: it is in none of the admin groups (`bastion-admins`)',
    );
    // A refused caller's body is not even read: a malformed one still gets 403, not 400.
    expect((await s.call('PUT', '/v1/kill-switch', 'engineer-token', { read_only: 'x' })).status).toBe(403);
    expect((await s.call('GET', '/v1/kill-switch', 'engineer-token')).body).toMatchObject({ read_only_mode: false, sources: { runtime: { version: 0, updatedAt: null } } });
    expect(await s.call('PUT', '/v1/kill-switch', 'admin-token', { read_only_mode: true, reason: 'incident 42' })).toMatchObject({ status: 200, body: { read_only_mode: true } });
    const events = await killSwitchEvents(s.dataDir);
    expect(events.map((e) => e.data['by'])).toEqual(['oncall@zyxbank.example']);
  });

  it('admin_groups in the configuration decides who is an admin', async () => {
    const s = await start([ZYX], { adminGroups: ['sre-leads'] });
    running.push(s);
    expect((await s.call('PUT', '/v1/kill-switch', 'admin-token', { read_only_mode: true })).status).toBe(403);
    expect((await s.call('PUT', '/v1/kill-switch', 'lead-token', { read_only_mode: true })).status).toBe(200);
  });

  it('PUT applies to the very next decision, GET reads it, and each change is audited with who and why and checkpointed', async () => {
    const s = await start([ZYX]);
    running.push(s);
    const decide = async (req: unknown) => (await s.call('POST', '/v1/decide', 'engineer-token', req)).body;
    expect(await decide(slackPost)).toMatchObject({ decision: 'allow', reason: 'authorized' });
    const on = await s.call('PUT', '/v1/kill-switch', 'admin-token', { read_only_mode: true, reason: 'incident 42' });
    expect(on).toMatchObject({ status: 200, body: { read_only_mode: true, all_write_tools_disabled: false, reason: 'incident 42' } });
    expect((await s.call('GET', '/v1/kill-switch', 'engineer-token')).body).toEqual(on.body);
    // No wait, no poll: the decision right after the PUT is denied.
    expect(await decide(slackPost)).toMatchObject({ decision: 'deny', reason: 'agent is in read-only mode', matched: [{ policy: 'bastion/kill-switch', rule: 'read_only_mode', effect: 'deny' }] });
    expect(await decide(jiraRead)).toMatchObject({ decision: 'allow', reason: 'authorized' });
    expect((await s.call('PUT', '/v1/kill-switch', 'admin-token', { read_only_mode: 'false' })).status).toBe(400);
    expect(await decide(slackPost)).toMatchObject({ decision: 'deny', reason: 'agent is in read-only mode' });
    expect((await s.call('PUT', '/v1/kill-switch', 'admin-token', { read_only_mode: false })).status).toBe(200);
    expect(await decide(slackPost)).toMatchObject({ decision: 'allow', reason: 'authorized' });
    await s.app.stop();
    running.splice(0);
    const events = await killSwitchEvents(s.dataDir);
    expect(events.map((e) => [e.data['by'], e.data['via'], e.data['reason'], (e.data['state'] as { read_only_mode: boolean }).read_only_mode])).toEqual([
      ['oncall@zyxbank.example', 'http', 'incident 42', true],
      ['oncall@zyxbank.example', 'http', null, false],
    ]);
    expect(events[0]?.data['change']).toEqual({ read_only_mode: true, reason: 'incident 42' });
  });

  it('production mode without a verifier: 401 on GET and PUT, and the switch stays as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-ks-prod-'));
    const built = await createBastionApp({ config: { ...DEFAULT_CONFIG, port: 0, dataDir: join(dir, 'data'), policies: [ZYX] }, io: quiet, watch: false });
    if (!built.ok) throw new Error('not built');
    const started = await built.value.start();
    if (!started.ok) throw new Error('not started');
    try {
      const url = started.value.url as string;
      const put = await fetch(`${url}/v1/kill-switch`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"disabled_users":[]}' });
      expect(put.status).toBe(401);
      expect(await put.json()).toMatchObject({ error: { code: 'IDENTITY_MISSING' } });
      expect((await fetch(`${url}/v1/kill-switch`)).status).toBe(401);
      expect(built.value.gateway.killSwitch().disabled_users).toEqual([]);
    } finally {
      await built.value.stop();
    }
  });

  it("the file's block and the runtime state combine: either disables, an API change never re-enables what the file disables, an edit never undoes an API switch", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-ks-file-'));
    const file = join(dir, 'tool_policies.yaml');
    copyFileSync(ZYX, file);
    const dataDir = join(dir, 'data');
    let s = await start([file], {}, { watch: true, dataDir });
    running.push(s);
    const state = async () => (await s.call('GET', '/v1/kill-switch', 'engineer-token')).body;
    const decide = async () => (await s.call('POST', '/v1/decide', 'engineer-token', slackPost)).body;
    const reloaded = async (edit: () => void, what: string) => {
      const before = s.app.gateway.policySet.version;
      edit();
      await eventually(() => (s.app.gateway.policySet.version !== before ? true : undefined), what);
      // The set is swapped in first, then its kill-switch change and policy.loaded are recorded:
      // wait for the latter, so the next change in this test follows the reload's checkpoint.
      const version = s.app.gateway.policySet.version;
      await eventually(async () => ((await s.app.gateway.auditLog?.query({ type: 'policy.loaded' }))?.some((e) => e.policyVersion === version) ? true : undefined), `${what}: recorded`);
    };

    // The file switches writes off; an admin's PUT of `false` cannot switch them back on.
    await reloaded(() => sedInPlace(file, 's/all_write_tools_disabled: false/all_write_tools_disabled: true/'), 'the file switching writes off');
    expect(await decide()).toMatchObject({ decision: 'deny', reason: 'all write tools disabled by kill switch' });
    const put = await s.call('PUT', '/v1/kill-switch', 'admin-token', { all_write_tools_disabled: false, read_only_mode: true, reason: 'incident 7' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      all_write_tools_disabled: true,
      read_only_mode: true,
      sources: { runtime: { all_write_tools_disabled: false, read_only_mode: true, reason: 'incident 7', version: 1 }, policy: { all_write_tools_disabled: true, read_only_mode: false } },
    });
    expect(await decide()).toMatchObject({ decision: 'deny', reason: 'all write tools disabled by kill switch' });

    // The file switching writes back on leaves the operator's read-only mode on.
    await reloaded(() => sedInPlace(file, 's/all_write_tools_disabled: true/all_write_tools_disabled: false/'), 'the file switching writes on');
    expect(await state()).toMatchObject({ all_write_tools_disabled: false, read_only_mode: true, sources: { runtime: { read_only_mode: true, version: 1 } } });
    expect(await decide()).toMatchObject({ decision: 'deny', reason: 'agent is in read-only mode' });

    // Lists unite: the file disables a user, the API a connector; an edit of the file's
    // read_only_mode to false (it already is) undoes nothing.
    await reloaded(() => atomicWrite(file, readFileSync(file, 'utf8').replace('disabled_users: []', 'disabled_users: [intern@zyxbank.example]')), 'the file disabling a user');
    expect((await s.call('PUT', '/v1/kill-switch', 'admin-token', { disabled_users: ['mallory@zyxbank.example'], read_only_mode: false })).body).toMatchObject({
      disabled_users: ['intern@zyxbank.example', 'mallory@zyxbank.example'],
      read_only_mode: false,
    });
    expect(await decide()).toMatchObject({ decision: 'allow', reason: 'authorized' });

    // A restart keeps the runtime state as the operator left it; the file's block was never
    // written into the store (the runtime version counts the two PUTs only).
    await s.app.stop();
    running.splice(0);
    s = await start([file], {}, { dataDir });
    running.push(s);
    expect(await state()).toMatchObject({
      disabled_users: ['intern@zyxbank.example', 'mallory@zyxbank.example'],
      sources: { runtime: { disabled_users: ['mallory@zyxbank.example'], version: 2 }, policy: { disabled_users: ['intern@zyxbank.example'] } },
    });
    await s.app.stop();
    running.splice(0);
    // The file's edits are audited as changes too, by `policy file`.
    const events = await killSwitchEvents(dataDir);
    expect(events.map((e) => e.data['by'])).toEqual(['policy file', 'oncall@zyxbank.example', 'policy file', 'policy file', 'oncall@zyxbank.example']);
  });
});
