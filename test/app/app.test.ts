/**
 * The composition root: what `bastion serve` (and every later surface) is built from. It
 * opens the stores, the gateway and the server from one configuration, records a start only
 * once the port is bound, and closes what it opened when something fails.
 */

import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBastionApp, type BastionAppOptions } from '../../src/app/index.js';
import { DEFAULT_CONFIG, type BastionConfig } from '../../src/config/index.js';
import pg from 'pg';
import { openPostgresAuditReader, openPostgresKillSwitchStore, openSqliteAuditReader } from '../../src/storage/index.js';
import { Database } from '../../src/storage/sqlite/driver.js';
import { createTestDatabase, postgresAvailable } from '../helpers/services.js';

const root = new URL('../..', import.meta.url).pathname;
const quiet = { stderr: { write: () => true }, env: {} };

function config(extra: Partial<BastionConfig> = {}): BastionConfig {
  return { ...DEFAULT_CONFIG, port: 0, dataDir: mkdtempSync(join(tmpdir(), 'bastion-app-')), policies: [join(root, 'examples/zyx')], dev: true, ...extra };
}

async function build(options: Partial<BastionAppOptions> & { config: BastionConfig }) {
  const built = await createBastionApp({ io: quiet, watch: false, ...options });
  if (!built.ok) throw new Error(built.errors.map((e) => e.message).join('; '));
  return built.value;
}

async function eventTypes(dataDir: string): Promise<string[]> {
  const reader = await openSqliteAuditReader(join(dataDir, 'bastion.db'));
  if (!reader.ok) throw new Error(reader.errors[0]?.message);
  try {
    return (await reader.value.query({})).map((e) => e.type);
  } finally {
    await reader.value.close();
  }
}

describe('createBastionApp', () => {
  it('starts a server that decides, records service.start once bound and service.stop at the end', async () => {
    const c = config();
    const app = await build({ config: c });
    const started = await app.start();
    if (!started.ok) throw new Error(started.errors[0]?.message);
    const answer = await fetch(`${started.value.url}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ principal: { id: 'intern@zyxbank.example', groups: ['grp-interns'] }, action: 'jira_read' }),
    });
    expect(await answer.json()).toMatchObject({ decision: 'deny', reason: 'user does not belong to an allowed group' });
    expect(await app.start()).toEqual({ ok: false, errors: [{ code: 'INTERNAL', message: 'the application was already started' }] });
    await app.stop();
    await app.stop(); // a second stop does nothing
    expect(await eventTypes(c.dataDir)).toEqual(['policy.loaded', 'service.start', 'decision', 'service.stop']);
  });

  it('a port that is taken is an error naming it, and no start is recorded', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    const c = config({ port });
    try {
      const app = await build({ config: c });
      const started = await app.start();
      expect(started.ok).toBe(false);
      expect(!started.ok && started.errors[0]?.message).toBe(`port ${port} is in use: pass --port N (npm start -- --port N)`);
      await app.stop('start failed');
    } finally {
      taken.close();
    }
    expect(await eventTypes(c.dataDir)).toEqual(['policy.loaded']);
  });

  it('answers errors for what cannot be built, and closes what it opened', async () => {
    const noPolicies = await createBastionApp({ config: config({ policies: [] }), io: quiet });
    expect(noPolicies).toEqual({ ok: false, errors: [{ code: 'CONFIG_INVALID', message: 'no policies: pass --policy PATH or a --config file that lists policies', field: 'policies' }] });

    const missing = await createBastionApp({ config: config({ policies: [join(root, 'no-such-dir')] }), io: quiet });
    expect(missing.ok === false && missing.errors[0]?.code).toBe('POLICY_NOT_FOUND');

    const c = config({ audit: { durable: true, siem: { url: 'ftp://siem.example', format: 'json', eventFormat: 'ocsf' } as never } });
    const badSiem = await createBastionApp({ config: c, io: quiet });
    expect(badSiem.ok === false && badSiem.errors[0]?.message).toBe('siem sink: url `ftp://siem.example` is not http or https');
    // The stores were closed: the file opens again for writing at once.
    const again = await build({ config: { ...c, audit: { durable: true } } });
    await again.stop();
  });

  it('with memory stores, keeps nothing on disk and decides through inject()', async () => {
    const app = await build({ config: config(), memory: true });
    expect(app.stores.audit).toBeUndefined();
    const r = await app.server?.inject({ method: 'GET', url: '/v1/kill-switch' });
    expect(r?.json()).toMatchObject({ read_only_mode: false, all_write_tools_disabled: false });
    await app.stop();
  });
});

// `storage: {kind: postgres}`: the audit log and the shared state in PostgreSQL, limits in the data directory.
const pgUp = await postgresAvailable();
describe.skipIf(!pgUp)('createBastionApp with its state in PostgreSQL', () => {
  it('records into PostgreSQL (url from BASTION_POSTGRES_URL, key from audit.keyDir), follows a kill switch changed by another replica, and keeps only limits in the data directory', async () => {
    const db = await createTestDatabase('app');
    try {
      const c = config({ storage: { kind: 'postgres' } });
      c.audit = { ...c.audit, keyDir: join(c.dataDir, 'shared-key') };
      const app = await build({ config: c, io: { ...quiet, env: { BASTION_POSTGRES_URL: db.url } } });
      const started = await app.start();
      if (!started.ok) throw new Error(started.errors[0]?.message);
      const answer = await fetch(`${started.value.url}/v1/decide`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ principal: { id: 'intern@zyxbank.example', groups: ['grp-interns'] }, action: 'jira_read' }),
      });
      expect(await answer.json()).toMatchObject({ decision: 'deny' });
      // Another replica switches read-only mode on: this one's next read of the state has it.
      const other = await openPostgresKillSwitchStore(new pg.Pool({ connectionString: db.url, max: 1 }), { ownsPool: true });
      await other.update({ read_only_mode: true, reason: 'drill' });
      await other.close();
      const deadline = Date.now() + 2000;
      let metrics = '';
      while (!metrics.includes('bastion_kill_switch_active{key="read_only_mode"} 1') && Date.now() < deadline) {
        metrics = await (await fetch(`${started.value.url}/metrics`)).text();
      }
      expect(metrics).toContain('bastion_kill_switch_active{key="read_only_mode"} 1');
      await app.stop();
      const reader = await openPostgresAuditReader(db.url, { keyDir: join(c.dataDir, 'shared-key') });
      if (!reader.ok) throw new Error(reader.errors[0]?.message);
      try {
        expect(reader.value.keySource).toBe('key-file');
        expect((await reader.value.query({})).map((e) => e.type)).toEqual(['policy.loaded', 'service.start', 'decision', 'service.stop']);
        expect(await reader.value.verify()).toMatchObject({ ok: true, events: 4 });
      } finally {
        await reader.value.close();
      }
      // The data directory holds the limits only: no audit log, no approvals, no kill switch.
      expect(existsSync(join(c.dataDir, 'bastion.db'))).toBe(true);
      const file = new Database(join(c.dataDir, 'bastion.db'), { readonly: true });
      const tables = file.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck(true).all();
      file.close();
      expect(tables).toEqual(['limit_budgets', 'limit_rates', 'state_schema']);
      expect(existsSync(join(c.dataDir, 'audit-signing-key.pem'))).toBe(false);
      expect(await openSqliteAuditReader(join(c.dataDir, 'bastion.db'))).toMatchObject({ ok: false });
    } finally {
      await db.drop();
    }
  });

  it('refuses `kind: postgres` without a url, naming where it may come from', async () => {
    const built = await createBastionApp({ config: config({ storage: { kind: 'postgres' } }), io: quiet, watch: false });
    expect(built).toMatchObject({
      ok: false,
      errors: [{ code: 'CONFIG_INVALID', message: 'field `storage.url`: `kind: postgres` needs a url, in the file or in the environment variable BASTION_POSTGRES_URL' }],
    });
  });
});
