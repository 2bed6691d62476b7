/**
 * `GET`/`PUT /v1/kill-switch` (finding 21): strict bodies from a fixture file, the
 * development-mode rule, and on a real `bastion serve` the change enforced, audited and
 * checkpointed; then how the API's state and a ZYX file's `kill_switch` block meet on reload:
 * every edit of the block is applied (finding 2), and only the keys an edit changes, so an
 * operator's switch holds until the file changes that key.
 */

import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteAuditReader } from '../../src/storage/index.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { buildServer } from '../../src/server/index.js';
import { atomicWrite, decide, eventually, request, sedInPlace, serve, type Served } from './serve-process.js';

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
    const r = await app.inject({ method: 'PUT', url: '/v1/kill-switch', headers: { 'content-type': 'application/json' }, payload: c.body });
    const body = r.json() as Record<string, unknown> & { error?: { code: string; message: string; fields?: string[] } };
    expect(r.statusCode, c.description).toBe(c.status);
    expect(r.headers['x-bastion-mode']).toMatch(/NOT verified/);
    if (c.status === 200) {
      expect(body, c.description).toMatchObject(c.state ?? {});
      expect(gateway.killSwitch()).toEqual(body);
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
      const r = await app.inject({ method, url: '/v1/kill-switch', headers: { 'content-type': 'application/json' }, payload: '{"read_only_mode":true}' });
      expect(r.statusCode).toBe(405);
      expect(r.headers['allow']).toBe('GET, PUT');
    }
    expect(gateway.killSwitch().read_only_mode).toBe(false);
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

describe('the kill switch on a real service', () => {
  const served: Served[] = [];
  afterEach(async () => {
    for (const s of served.splice(0)) await s.stop();
  });

  it('PUT switches it, GET reads it, decisions follow, and each change is audited and checkpointed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-ks-api-'));
    const dataDir = join(dir, 'data');
    const s = await serve(['--dev', '--policy', ZYX, '--data-dir', dataDir]);
    served.push(s);
    expect(await decide(s.url, slackPost)).toMatchObject({ decision: 'allow', reason: 'authorized' });
    const on = await request(`${s.url}/v1/kill-switch`, 'PUT', { read_only_mode: true, reason: 'incident 42' });
    expect(on).toMatchObject({ status: 200, body: { read_only_mode: true, all_write_tools_disabled: false, reason: 'incident 42' } });
    expect((await request(`${s.url}/v1/kill-switch`, 'GET')).body).toEqual(on.body);
    expect(await decide(s.url, slackPost)).toMatchObject({ decision: 'deny', reason: 'agent is in read-only mode' });
    expect(await decide(s.url, jiraRead)).toMatchObject({ decision: 'allow', reason: 'authorized' });
    const bad = await request(`${s.url}/v1/kill-switch`, 'PUT', { read_only_mode: 'false' });
    expect(bad.status).toBe(400);
    expect(await decide(s.url, slackPost)).toMatchObject({ decision: 'deny', reason: 'agent is in read-only mode' });
    expect((await request(`${s.url}/v1/kill-switch`, 'PUT', { read_only_mode: false })).status).toBe(200);
    expect(await decide(s.url, slackPost)).toMatchObject({ decision: 'allow', reason: 'authorized' });
    expect(await s.stop()).toBe(0);
    const reader = await openSqliteAuditReader(join(dataDir, 'bastion.db'));
    if (!reader.ok) throw new Error(reader.errors.map((e) => e.message).join('; '));
    try {
      const changes = (await reader.value.query({})).filter((e) => e.type === 'kill_switch.changed');
      expect(changes.map((e) => (e.data as { by: string; state: { read_only_mode: boolean } }).state.read_only_mode)).toEqual([true, false]);
      expect(changes.every((e) => (e.data as { by: string }).by === 'http (development mode: identity not verified)')).toBe(true);
      expect((await reader.value.verify()).ok).toBe(true);
      // Every change is pinned by a signed checkpoint taken right after it.
      const sizes = (await reader.value.checkpoints()).map((c) => c.size);
      for (const e of changes) expect(sizes).toContain(e.seq);
    } finally {
      await reader.value.close();
    }
  });

  it('production mode: 401 on GET and PUT, and the switch stays as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-ks-prod-'));
    const s = await serve(['--policy', ZYX, '--data-dir', join(dir, 'data')]);
    served.push(s);
    const put = await request(`${s.url}/v1/kill-switch`, 'PUT', { disabled_users: [] });
    expect(put).toMatchObject({ status: 401, body: { error: { code: 'IDENTITY_MISSING' } } });
    expect((await request(`${s.url}/v1/kill-switch`, 'GET')).status).toBe(401);
    expect((await request(`${s.url}/health`, 'GET')).body).toMatchObject({ status: 'ok', mode: 'production' });
  });

  it("the ZYX file's kill_switch block follows every edit, and an operator's PUT holds until the file changes that key", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-ks-file-'));
    const file = join(dir, 'tool_policies.yaml');
    copyFileSync(ZYX, file);
    const s = await serve(['--dev', '--policy', file, '--data-dir', join(dir, 'data')]);
    served.push(s);
    const state = async () => (await request(`${s.url}/v1/kill-switch`, 'GET')).body;
    const until = (want: Record<string, unknown>, what: string) =>
      eventually(async () => {
        const got = await state();
        return Object.entries(want).every(([k, v]) => JSON.stringify(got[k]) === JSON.stringify(v)) ? got : undefined;
      }, what);
    // The state may already read as wanted before an edit is applied: wait for a new version.
    const version = async () => (await request(`${s.url}/health`, 'GET')).body['policyVersion'];
    const loaded = async (edit: () => void, what: string) => {
      const before = await version();
      edit();
      await eventually(async () => ((await version()) !== before ? true : undefined), what);
    };

    // Toggled through the file with sed -i, back and forth: each edit applies (seen through
    // decisions alone, so this part also runs against a build without the route).
    const decided = (decision: string, what: string) =>
      eventually(async () => {
        const d = await decide(s.url, slackPost);
        return d.decision === decision ? d : undefined;
      }, what);
    for (let round = 1; round <= 3; round++) {
      sedInPlace(file, 's/all_write_tools_disabled: false/all_write_tools_disabled: true/');
      expect(await decided('deny', `the file switching writes off (round ${round})`)).toMatchObject({ reason: 'all write tools disabled by kill switch' });
      sedInPlace(file, 's/all_write_tools_disabled: true/all_write_tools_disabled: false/');
      expect(await decided('allow', `the file switching writes back on (round ${round})`)).toMatchObject({ reason: 'authorized' });
    }
    expect(await state()).toMatchObject({ all_write_tools_disabled: false });

    // An operator switches read-only on through the API; an edit of another key in the file
    // applies that key and leaves read-only on.
    expect((await request(`${s.url}/v1/kill-switch`, 'PUT', { read_only_mode: true })).status).toBe(200);
    sedInPlace(file, 's/disabled_users: \\[\\]/disabled_users: [intern@zyxbank.example]/');
    await until({ disabled_users: ['intern@zyxbank.example'], read_only_mode: true }, 'the file disabling a user');
    expect(await decide(s.url, slackPost)).toMatchObject({ decision: 'deny', reason: 'agent is in read-only mode' });

    // The file changing read_only_mode itself wins for that key (the last change wins)…
    await loaded(() => atomicWrite(file, readFileSync(file, 'utf8').replace('read_only_mode: false', 'read_only_mode: true')), 'the file switching read-only on');
    expect(await state()).toMatchObject({ read_only_mode: true });
    atomicWrite(file, readFileSync(file, 'utf8').replace('read_only_mode: true', 'read_only_mode: false'));
    await until({ read_only_mode: false }, 'the file switching read-only off');
    expect(await decide(s.url, slackPost)).toMatchObject({ decision: 'allow', reason: 'authorized' });

    // …and an operator's later PUT wins again, through unrelated edits of the file.
    expect((await request(`${s.url}/v1/kill-switch`, 'PUT', { disabled_connectors: ['slack'] })).status).toBe(200);
    sedInPlace(file, 's/disabled_users: \\[intern@zyxbank.example\\]/disabled_users: []/');
    await until({ disabled_users: [] }, 'the file enabling the user again');
    expect(await state()).toMatchObject({ disabled_connectors: ['slack'], read_only_mode: false });
    expect(await decide(s.url, slackPost)).toMatchObject({ decision: 'deny', reason: 'connector disabled by kill switch' });
    expect(s.stderr()).not.toContain('rejected');
  });
});
