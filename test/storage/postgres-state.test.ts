/**
 * The PostgreSQL state stores against the contracts every adapter passes (approvals, kill
 * switch, API keys, the outbox, tool pins; taint in taint-store.test.ts), and what only
 * several replicas show: an approval created on one pool, approved on another and consumed
 * exactly once by consumers racing on two pools; a kill-switch change seen by another
 * replica's `get()` within a bound; a lost listening connection making `get()` reject until
 * it reconnected by itself; the schema versions applied once. Skipped without a server.
 */

import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { KillSwitchSnapshot, KillSwitchStore } from '../../src/killswitch/index.js';
import { LISTENER_NAME } from '../../src/storage/postgres/kill-switch-store.js';
import {
  openPostgresApiKeyStore,
  openPostgresApprovalStore,
  openPostgresKillSwitchStore,
  openPostgresNotificationOutbox,
  openPostgresStores,
  openPostgresToolPinStore,
  POSTGRES_MIGRATIONS,
} from '../../src/storage/index.js';
import { keyDirectory } from '../../src/audit/index.js';
import { createGateway } from '../../src/gateway/index.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postgresAvailable } from '../helpers/services.js';
import { apiKeyStoreContract } from './contracts/api-keys.js';
import { approvalStoreContract, HASH, newApproval, T0 } from './contracts/approvals.js';
import { killSwitchStoreContract } from './contracts/kill-switch.js';
import { outboxContract } from './contracts/outbox.js';
import { toolPinStoreContract } from './contracts/tool-pins.js';
import { dropTestDatabase, freshSchema, schemaPool, testDatabase } from './postgres-harness.js';
import { prepare } from '../../src/storage/postgres/state.js';

const up = await postgresAvailable();
const root = fileURLToPath(new URL('../..', import.meta.url));

/** A store in a fresh schema, on a pool of its own that cleanup ends. */
function inFreshSchema<T extends { close(): Promise<void> }>(open: (pool: pg.Pool) => Promise<T>) {
  return async () => {
    const pool = await schemaPool(await freshSchema());
    const store = await open(pool);
    return {
      store,
      cleanup: async () => {
        await store.close();
        await pool.end();
      },
    };
  };
}

const approve = { approver: 'carol', groups: ['sre-approvers'], verdict: 'approve' as const, at: T0 + 1000 };

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const got = await probe().catch(() => undefined);
    if (got !== undefined) return got;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.skipIf(!up)('PostgreSQL state stores', () => {
  afterAll(dropTestDatabase);

  approvalStoreContract(
    'postgres',
    inFreshSchema((pool) => openPostgresApprovalStore(pool)),
  );
  apiKeyStoreContract(
    'postgres',
    inFreshSchema((pool) => openPostgresApiKeyStore(pool)),
  );
  toolPinStoreContract(
    'postgres',
    inFreshSchema((pool) => openPostgresToolPinStore(pool)),
  );
  outboxContract('postgres', async () => {
    const { store, cleanup } = await inFreshSchema((pool) => openPostgresNotificationOutbox(pool))();
    return { outbox: store, cleanup };
  });
  killSwitchStoreContract('postgres', (clock) => inFreshSchema((pool) => openPostgresKillSwitchStore(pool, { now: clock }))());

  describe('across replicas (one pool each)', () => {
    it('creates an approval on one replica, lists and approves it on another, and lets exactly one of many racing consumers on both use it', async () => {
      const schema = await freshSchema();
      const [poolA, poolB] = [await schemaPool(schema, 6), await schemaPool(schema, 6)];
      const a = await openPostgresApprovalStore(poolA);
      const b = await openPostgresApprovalStore(poolB);
      try {
        expect((await a.create(newApproval({ id: 'appr-1' }))).ok).toBe(true);
        const listed = await b.list({ status: 'pending' }, T0 + 10);
        expect(listed.ok && listed.value.records.map((r) => r.id)).toEqual(['appr-1']);
        expect((await b.decide('appr-1', approve, T0 + 1000)).ok).toBe(true);
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).consume('appr-1', HASH, T0 + 2000)));
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        expect(results.filter((r) => !r.ok).map((r) => (r.ok ? '' : r.errors[0]?.reason))).toEqual(Array(19).fill('consumed'));
        const stored = await a.get('appr-1', T0 + 3000);
        expect(stored.ok && stored.value.status).toBe('consumed');
        // Two replicas expiring at once: each due approval is expired (and audited) once.
        await a.create(newApproval({ id: 'appr-2' }));
        const due = newApproval({ id: 'appr-2' }).expiresAt ?? T0 + 3_600_000;
        const [ea, eb] = await Promise.all([a.expire(due + 1), b.expire(due + 1)]);
        expect([...ea, ...eb].map((r) => r.id)).toEqual(['appr-2']);
      } finally {
        await a.close();
        await b.close();
        await Promise.all([poolA.end(), poolB.end()]);
      }
    });

    it('revokes a key once when two replicas revoke it at once: both answer it revoked, at the first time', async () => {
      const schema = await freshSchema();
      const [poolA, poolB] = [await schemaPool(schema, 4), await schemaPool(schema, 4)];
      const a = await openPostgresApiKeyStore(poolA);
      const b = await openPostgresApiKeyStore(poolB);
      try {
        const made = await a.create({ principal: { id: 'ci-bot' } }, T0);
        if (!made.ok) throw new Error('no key');
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).revoke(made.value.record.id, T0 + 1 + i)));
        const times = results.map((r) => (r.ok ? r.value.revokedAt : undefined));
        expect(times.every((t) => t !== undefined && t === times[0])).toBe(true);
        expect((await b.lookup(made.value.key)).status).toBe('revoked');
      } finally {
        await a.close();
        await b.close();
        await Promise.all([poolA.end(), poolB.end()]);
      }
    });

    it("shows a change made through one replica in another's get() within a second, and tells its subscribers", async () => {
      const schema = await freshSchema();
      const [poolA, poolB] = [await schemaPool(schema, 2), await schemaPool(schema, 2)];
      // A re-read every 30 s: what is measured is the notification, not the safety net.
      const a = await openPostgresKillSwitchStore(poolA, { refreshMs: 30_000 });
      const b = await openPostgresKillSwitchStore(poolB, { refreshMs: 30_000 });
      const heard: KillSwitchSnapshot[] = [];
      b.subscribe((s) => heard.push(s));
      try {
        const times: number[] = [];
        for (let i = 1; i <= 5; i++) {
          const start = performance.now();
          await a.update({ read_only_mode: i % 2 === 1, reason: `drill ${i}` });
          await until(`version ${i} on b`, async () => ((await b.get()).reason === `drill ${i}` ? true : undefined));
          times.push(performance.now() - start);
        }
        expect(Math.max(...times)).toBeLessThanOrEqual(1000);
        expect(heard.map((s) => s.version)).toEqual([1, 2, 3, 4, 5]);
        expect((await b.snapshot()).state).toMatchObject({ read_only_mode: true, reason: 'drill 5' });
      } finally {
        await a.close();
        await b.close();
        await Promise.all([poolA.end(), poolB.end()]);
      }
    });

    it('rejects get() with STATE_UNAVAILABLE once its listening connection is killed, and recovers by itself with the state changed meanwhile', async () => {
      const schema = await freshSchema();
      const [poolA, poolB] = [await schemaPool(schema, 2), await schemaPool(schema, 2)];
      const a = await openPostgresKillSwitchStore(poolA, { refreshMs: 30_000, reconnectMs: 300 });
      const b: KillSwitchStore = await openPostgresKillSwitchStore(poolB, { refreshMs: 30_000 });
      try {
        await a.update({ disabled_users: ['bob'] });
        await until('b to learn version 1', async () => ((await b.snapshot()).version === 1 ? true : undefined));
        // Terminate the listening connections (both replicas'): neither can know the state now.
        const admin = await schemaPool(schema, 1);
        const killed = await admin.query<{ n: number }>('SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1', [
          LISTENER_NAME,
        ]);
        await admin.end();
        expect(killed.rows[0]?.n).toBe(2);
        await until(
          'b to report the lost connection',
          async () =>
            (await b.get().then(
              () => undefined,
              (e: unknown) => e,
            )) as unknown,
        );
        await expect(b.get()).rejects.toMatchObject({
          code: 'STATE_UNAVAILABLE',
          message: expect.stringMatching(/^the kill-switch store cannot learn the current state: its connection to PostgreSQL is lost \(.+\); reconnecting$/),
        });
        // A change while both are deaf (writes go through the pool): each reads it once it has reconnected.
        await a.update({ all_write_tools_disabled: true });
        const recovered = await until('b to recover', async () => b.snapshot(), 5000);
        expect(recovered).toMatchObject({ version: 2, state: { all_write_tools_disabled: true, disabled_users: ['bob'] } });
        expect((await until('a to recover', async () => a.snapshot(), 5000)).version).toBe(2);
      } finally {
        await a.close();
        await b.close();
        await Promise.all([poolA.end(), poolB.end()]);
      }
    });

    it('a gateway on it answers no decision (STATE_UNAVAILABLE) while the listener is down, not an allow, and decides again once it is back', async () => {
      const schema = await freshSchema();
      const pool = await schemaPool(schema, 2);
      const killSwitch = await openPostgresKillSwitchStore(pool, { refreshMs: 30_000, reconnectMs: 300 });
      const gateway = await createGateway({ policies: [join(root, 'examples/native')], stores: { killSwitch } });
      const request = { principal: { id: 'sre-agent', groups: ['sre'] }, action: 'shell.execute', args: { command: 'df -h' } };
      try {
        expect((await gateway.decide(request)).decision).toBe('allow');
        const admin = await schemaPool(schema, 1);
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1', [LISTENER_NAME]);
        await admin.end();
        await until(
          'the lost listener',
          async () =>
            (await killSwitch.get().then(
              () => undefined,
              (e: unknown) => e,
            )) as unknown,
        );
        await expect(gateway.decide(request)).rejects.toMatchObject({ code: 'STATE_UNAVAILABLE' });
        await until('the listener back', () => killSwitch.get());
        expect((await gateway.decide(request)).decision).toBe('allow');
      } finally {
        await gateway.close();
        await killSwitch.close();
        await pool.end();
      }
    });

    it('re-reads on its own schedule: a change written behind its back (no NOTIFY) is seen after refreshMs', async () => {
      const schema = await freshSchema();
      const pool = await schemaPool(schema, 2);
      const store = await openPostgresKillSwitchStore(pool, { refreshMs: 100 });
      try {
        await pool.query(`UPDATE killswitch_state SET state = $1, version = 1, updated_at = 5 WHERE id = 1`, [
          JSON.stringify({ all_write_tools_disabled: false, read_only_mode: true, disabled_connectors: [], disabled_users: [], disabled_workflows: [] }),
        ]);
        const seen = await until('the re-read', async () => ((await store.get()).read_only_mode ? store.snapshot() : undefined), 2000);
        expect(seen).toMatchObject({ version: 1, updatedAt: 5 });
        // A damaged row makes the next re-read fail: get() rejects rather than serve the old state.
        await pool.query(`UPDATE killswitch_state SET state = '{not json', version = 2 WHERE id = 1`);
        await until(
          'the damaged row to be noticed',
          async () =>
            (await store.get().then(
              () => undefined,
              (e: unknown) => e,
            )) as unknown,
          2000,
        );
        await expect(store.get()).rejects.toMatchObject({ code: 'STATE_STORAGE' });
      } finally {
        await store.close();
        await pool.end();
      }
    });
  });

  it('lives through PostgreSQL dropping a connection checked out mid-transaction: that transaction fails STATE_UNAVAILABLE, the next works', async () => {
    // Regression: pg emits `error` on a checked-out client whose socket dies, and pg-pool
    // listens only to idle ones, so a replica died of an unhandled `error` event when
    // PostgreSQL stopped mid-load (the replica fault test, and CI, caught it).
    const pool = await schemaPool(await freshSchema(), 2);
    const admin = await schemaPool('public', 1);
    const state = await prepare(pool, 'test store', [], {});
    const uncaught: unknown[] = [];
    const heard = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', heard);
    try {
      const failed = await state
        .tx('write a row', async (client) => {
          const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
          await new Promise((r) => setTimeout(r, 300));
          await client.query('SELECT 1');
        })
        .catch((err: unknown) => err);
      expect(failed).toMatchObject({ code: 'STATE_UNAVAILABLE', message: expect.stringMatching(/^the test store cannot write a row: PostgreSQL is unreachable/) });
      await new Promise((r) => setTimeout(r, 100));
      expect(uncaught).toEqual([]);
      expect(await state.tx('read', async (client) => (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one)).toBe(1);
    } finally {
      process.off('uncaughtException', heard);
      await pool.end();
      await admin.end();
    }
  });

  it('openPostgresStores opens every store but limits on one database, migrated once, and closes them all', async () => {
    const { url } = await testDatabase();
    const schema = await freshSchema();
    const scoped = `${url}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const key = keyDirectory(mkdtempSync(join(tmpdir(), 'bastion-pgkey-')));
    const first = await openPostgresStores(scoped, { key });
    if (!first.ok) throw new Error(first.errors[0]?.message);
    const second = await openPostgresStores(scoped, { key });
    if (!second.ok) throw new Error(second.errors[0]?.message);
    try {
      const made = await first.value.apiKeys.create({ principal: { id: 'ci-bot' } }, T0);
      if (!made.ok) throw new Error('no key');
      expect((await second.value.apiKeys.lookup(made.value.key)).status).toBe('valid');
      await first.value.audit?.append({ type: 'api_key.created', principal: { id: 'ci-bot', groups: [] }, surface: 'cli', data: { id: made.value.record.id } });
      await second.value.audit?.append({ type: 'api_key.revoked', principal: { id: 'ci-bot', groups: [] }, surface: 'cli', data: { id: made.value.record.id } });
      expect((await first.value.audit?.verify())?.ok).toBe(true);
      const pool = await schemaPool(schema, 1);
      const ledger = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM bastion_schema_migrations');
      await pool.end();
      expect(ledger.rows[0]?.n).toBe(POSTGRES_MIGRATIONS.length);
    } finally {
      await first.value.close();
      await second.value.close();
    }
    await expect(first.value.killSwitch.get()).rejects.toMatchObject({ code: 'STATE_STORAGE', message: 'the kill-switch store is closed' });
  });

  it('openPostgresStores refuses a URL that is not postgres:// and reports an unreachable server, without the password', async () => {
    const bad = await openPostgresStores('mysql://u:secret@db/x', { key: keyDirectory(mkdtempSync(join(tmpdir(), 'bastion-pgkey-'))) });
    expect(bad.ok === false && bad.errors[0]).toMatchObject({ code: 'STATE_STORAGE', message: '`mysql://u:***@db/x` is not a postgres:// or postgresql:// URL' });
    const down = await openPostgresStores('postgres://u:secret@127.0.0.1:1/x', { key: keyDirectory(mkdtempSync(join(tmpdir(), 'bastion-pgkey-'))) });
    expect(down.ok).toBe(false);
    const message = down.ok ? '' : (down.errors[0]?.message ?? '');
    expect(message).toMatch(/^while opening `postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x`: /);
    expect(message).not.toContain('secret');
  });
});
