/**
 * Limits over HTTP (issue 10), on a real server (port 0, fetch, token identity): a burst and
 * then 429 with `Retry-After` (seconds, rounded up) and the decision in the body; a calls
 * budget exhausted and whole again at the next window (on a clock the test moves); the limit
 * store failing: closed by default (429), open when `limits.onStoreError: open` (allowed,
 * audited, counted); and `bastion.yaml`'s `limits` and `admin_groups` checked with located errors.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBastionApp, type BastionApp } from '../../src/app/index.js';
import { DEFAULT_CONFIG, loadConfig, type BastionConfig } from '../../src/config/index.js';
import { openSqliteAuditReader } from '../../src/storage/index.js';
import { tokenIdentity } from '../helpers/identity.js';

const root = new URL('../..', import.meta.url).pathname;
const POLICY = join(root, 'test/fixtures/limits/policy.yaml');
const quiet = { stderr: { write: () => true }, env: {} };
const alice = { id: 'alice', groups: ['agents'] };
const identity = tokenIdentity({ 'alice-token': alice });
const HOUR = 3_600_000;

interface Running {
  app: BastionApp;
  dataDir: string;
  decide(body: unknown): Promise<{ status: number; retryAfter: string | null; body: Record<string, unknown> }>;
}

const apps: BastionApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop();
});

async function start(extra: Partial<BastionConfig> = {}, now?: () => number): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-limits-http-'));
  const config: BastionConfig = { ...DEFAULT_CONFIG, port: 0, dataDir, policies: [POLICY], ...extra };
  const built = await createBastionApp({ config, io: quiet, watch: false, identity, ...(now ? { now } : {}) });
  if (!built.ok) throw new Error(built.errors.map((e) => e.message).join('; '));
  apps.push(built.value);
  const started = await built.value.start();
  if (!started.ok) throw new Error(started.errors.map((e) => e.message).join('; '));
  const url = started.value.url as string;
  return {
    app: built.value,
    dataDir,
    async decide(body) {
      const r = await fetch(`${url}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer alice-token' }, body: JSON.stringify(body) });
      return { status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as Record<string, unknown> };
    },
  };
}

const shell = { principal: alice, action: 'shell.execute', args: { command: 'ls -la' } };

describe('limits over HTTP', () => {
  it('a burst of 3 is answered 200, the 4th 429 with Retry-After and the decision in the body', async () => {
    let now = Date.UTC(2030, 0, 1);
    const s = await start({}, () => now);
    for (let i = 0; i < 3; i++) expect(await s.decide(shell)).toMatchObject({ status: 200, retryAfter: null, body: { decision: 'allow' } });
    const refused = await s.decide(shell);
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('1'); // 500 ms, rounded up
    expect(refused.body).toMatchObject({
      error: { code: 'LIMIT_EXCEEDED', message: 'rate limit exceeded: `shell-rate`' },
      decision: {
        decision: 'deny',
        reason: 'rate limit exceeded: `shell-rate`',
        matched: [
          { policy: 'limited', rule: 'allow-agents', effect: 'allow' },
          { policy: 'bastion/limits', rule: 'shell-rate', effect: 'deny' },
        ],
        limit: { name: 'shell-rate', kind: 'rate', retryAfterSeconds: 1 },
      },
    });
    now += 500;
    expect((await s.decide(shell)).status).toBe(200);
    // A deploy held for approval takes from its own rate limit: the second within a minute is 429, Retry-After 60.
    expect(await s.decide({ principal: alice, action: 'deploy.web' })).toMatchObject({ status: 200, body: { decision: 'require_approval' } });
    expect(await s.decide({ principal: alice, action: 'deploy.web' })).toMatchObject({ status: 429, retryAfter: '60' });
    await s.app.stop();
    // The refusal is audited: its decision event names the limit.
    const reader = await openSqliteAuditReader(join(s.dataDir, 'bastion.db'));
    if (!reader.ok) throw new Error(reader.errors[0]?.message);
    try {
      const decisions = (await reader.value.query({})).filter((e) => e.type === 'decision');
      expect(decisions.map((e) => e.decision)).toEqual(['allow', 'allow', 'allow', 'deny', 'allow', 'require_approval', 'deny']);
      expect(decisions[3]).toMatchObject({ reason: 'rate limit exceeded: `shell-rate`', data: { limit: { name: 'shell-rate', kind: 'rate', retryAfterSeconds: 1 } } });
    } finally {
      await reader.value.close();
    }
  });

  it('a calls budget is exhausted, answered 429 until the window ends, then whole again', async () => {
    const start0 = Date.UTC(2030, 0, 1, 9);
    let now = start0 + 15 * 60_000; // a quarter past the hour
    const s = await start({}, () => now);
    const jira = { principal: alice, action: 'jira_add_comment', args: { ticket: 'OPS-1' } };
    for (let i = 0; i < 3; i++) expect((await s.decide(jira)).status).toBe(200);
    const refused = await s.decide(jira);
    expect(refused).toMatchObject({ status: 429, retryAfter: String(45 * 60), body: { decision: { reason: 'budget exhausted: `jira-calls`' } } });
    now = start0 + HOUR - 1;
    expect(await s.decide(jira)).toMatchObject({ status: 429, retryAfter: '1' });
    now = start0 + HOUR;
    expect((await s.decide(jira)).status).toBe(200);
  });

  it('budgets and rate limits survive a restart (the counters are in the data directory)', async () => {
    const now = Date.UTC(2030, 0, 1, 9);
    const s = await start({}, () => now);
    const jira = { principal: alice, action: 'jira_add_comment' };
    for (let i = 0; i < 3; i++) expect((await s.decide(jira)).status).toBe(200);
    await s.app.stop();
    const built = await createBastionApp({ config: { ...DEFAULT_CONFIG, port: 0, dataDir: s.dataDir, policies: [POLICY] }, io: quiet, watch: false, identity, now: () => now });
    if (!built.ok) throw new Error('not built');
    apps.push(built.value);
    const started = await built.value.start();
    if (!started.ok) throw new Error('not started');
    const r = await fetch(`${started.value.url}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer alice-token' }, body: JSON.stringify(jira) });
    expect(r.status).toBe(429);
  });

  it('the limit store failing: closed by default, a 429 saying so', async () => {
    const s = await start();
    await s.app.stores.limits.close(); // every take and spend now rejects with STATE_STORAGE
    expect(await s.decide(shell)).toMatchObject({ status: 429, retryAfter: '1', body: { decision: { decision: 'deny', reason: 'limit store unavailable: `shell-rate`' } } });
    expect(s.app.gateway.failOpenCount()).toBe(0);
    expect(await s.decide({ principal: alice, action: 'wiki.read' })).toMatchObject({ status: 200, body: { decision: 'allow' } });
  });

  it('limits.onStoreError: open lets rate-limited calls through, audited and counted; budgets still fail closed', async () => {
    const s = await start({ limits: { onStoreError: 'open' } });
    await s.app.stores.limits.close();
    expect(await s.decide(shell)).toMatchObject({ status: 200, body: { decision: 'allow' } });
    expect(await s.decide(shell)).toMatchObject({ status: 200, body: { decision: 'allow' } });
    expect(s.app.gateway.failOpenCount()).toBe(2);
    // And in the registry `/metrics` serves.
    expect(await s.app.metrics.render()).toContain('bastion_fail_open_total{dependency="limit store"} 2');
    expect(await s.decide({ principal: alice, action: 'jira_read' })).toMatchObject({ status: 429, body: { decision: { reason: 'limit store unavailable: `jira-calls`' } } });
    await s.app.stop();
    const reader = await openSqliteAuditReader(join(s.dataDir, 'bastion.db'));
    if (!reader.ok) throw new Error(reader.errors[0]?.message);
    try {
      const open = (await reader.value.query({})).filter((e) => e.type === 'limits.fail_open');
      expect(open.map((e) => [e.action, (e.data as { limit: string }).limit, (e.data as { error: string }).error])).toEqual([
        ['shell.execute', 'shell-rate', 'the limit store is closed'],
        ['shell.execute', 'shell-rate', 'the limit store is closed'],
      ]);
    } finally {
      await reader.value.close();
    }
  });
});

describe('bastion.yaml: limits and admin_groups', () => {
  const write = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-limits-config-'));
    writeFileSync(join(dir, 'bastion.yaml'), text);
    return loadConfig(join(dir, 'bastion.yaml'));
  };

  it('defaults: closed and [bastion-admins]; both can be set', () => {
    const d = write('policies: [./p]\n');
    expect(d.ok && [d.value.limits, d.value.adminGroups]).toEqual([{ onStoreError: 'closed' }, ['bastion-admins']]);
    const set = write('policies: [./p]\nlimits: { onStoreError: open }\nadmin_groups: [sre-leads, secops]\n');
    expect(set.ok && [set.value.limits, set.value.adminGroups]).toEqual([{ onStoreError: 'open' }, ['sre-leads', 'secops']]);
  });

  it.each([
    ['limits:\n  onStoreError: maybe\n', 'line 2, column 17: field `limits.onStoreError`: must be `closed`'],
    ['limits:\n  redis: x\n  onStoreErrors: open\n', 'field `limits.onStoreErrors`: unknown field'],
    ['admin_groups: []\n', 'line 1, column 15: field `admin_groups`: must be a non-empty list of group names'],
    ['admin_groups: bastion-admins\n', 'field `admin_groups`: must be a non-empty list of group names'],
  ])('%j is refused with a located error', (text, message) => {
    const r = write(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.message).join('\n')).toContain(message);
  });
});
