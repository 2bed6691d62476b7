/**
 * What the PostgreSQL audit store adds to the contract (which it runs in audit-store.test.ts):
 * its migrations (idempotent, safe when replicas start together), a batch failing inside its
 * transaction, and one chain appended by three processes at once, verified as one log with
 * the checkpoints every replica signed. Skipped, with a warning, without a server.
 */

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChainHead, StoredRow } from '../../src/audit/index.js';
import { chainHash, keyDirectory, leafHash } from '../../src/audit/index.js';
import { openPostgresAuditLog, openPostgresAuditReader } from '../../src/storage/index.js';
import { AUDIT_MIGRATIONS, openPostgresAuditStore } from '../../src/storage/postgres/audit-store.js';
import { migrate } from '../../src/storage/postgres/migrate.js';
import { runBastion } from '../helpers/cli.js';
import { createTestDatabase, postgresAvailable } from '../helpers/services.js';
import { dropTestDatabase, freshSchema, postgresAuditHarness, schemaPool } from './postgres-harness.js';

const up = await postgresAvailable();
const dist = fileURLToPath(new URL('../../dist', import.meta.url));

function rows(head: ChainHead, bodies: string[]): { rows: StoredRow[]; head: ChainHead; result: number } {
  let previous = head.chainHash;
  const range = head.range.clone();
  const out: StoredRow[] = bodies.map((body, i) => {
    const leaf = leafHash(body);
    previous = chainHash(previous, leaf);
    range.append(leaf);
    return { seq: head.size + i + 1, body, chainHash: previous, traceId: null, time: '2026-01-01T00:00:00.000Z' };
  });
  return { rows: out, head: { size: head.size + bodies.length, chainHash: previous, range }, result: head.size + bodies.length };
}

const event = (seq: number, text = 'ok'): string => JSON.stringify({ reason: text, seq, time: '2026-01-01T00:00:00.000Z', type: 'decision', v: 1 });

describe.skipIf(!up)('PostgreSQL audit store', () => {
  afterAll(dropTestDatabase);

  it('migrates once: a second run applies nothing, and replicas starting together apply each step exactly once', async () => {
    const schema = await freshSchema();
    const pools = await Promise.all(Array.from({ length: 5 }, () => schemaPool(schema, 2)));
    try {
      const reports = await Promise.all(pools.map((pool) => migrate(pool, AUDIT_MIGRATIONS)));
      expect(reports.map((r) => r.applied.length).sort()).toEqual([0, 0, 0, 0, 1]);
      expect((await migrate(pools[0] as pg.Pool, AUDIT_MIGRATIONS)).applied).toEqual([]);
      const ledger = await (pools[0] as pg.Pool).query('SELECT component, version FROM bastion_schema_migrations');
      expect(ledger.rows).toEqual([{ component: 'audit', version: 1 }]);
      // Opening stores migrates too, and leaves the head row alone.
      const store = await openPostgresAuditStore(pools[1] as pg.Pool);
      expect((await store.head()).size).toBe(0);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('refuses migrations numbered out of order, and names a failing step', async () => {
    const pool = await schemaPool(await freshSchema(), 1);
    try {
      await expect(migrate(pool, [{ component: 'x', version: 2, description: 'two', sql: 'SELECT 1' }])).rejects.toThrow('migrations of x must be numbered 1, 2, 3, … in order, got 2');
      await expect(migrate(pool, [{ component: 'x', version: 1, description: 'broken', sql: 'CREATE TABLE (' }])).rejects.toThrow(/^migration x 1 \(broken\) failed: /);
      expect((await pool.query('SELECT count(*)::int AS n FROM bastion_schema_migrations')).rows[0].n).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it('leaves nothing of a batch that fails inside its transaction, and the next batch goes on from the old head', async () => {
    const { store } = await postgresAuditHarness();
    try {
      await store.appendBatch((head) => rows(head, [event(1), event(2)]));
      // The 50th row of 100 cannot be stored (PostgreSQL text holds no NUL): the insert
      // fails after the head was locked and the batch hashed.
      await expect(
        store.appendBatch((head) =>
          rows(
            head,
            Array.from({ length: 100 }, (_, i) => (i === 49 ? event(head.size + i + 1).replace('ok', 'bad\u0000') : event(head.size + i + 1))),
          ),
        ),
      ).rejects.toThrow();
      expect(await store.eventCount()).toBe(2);
      expect((await store.head()).size).toBe(2);
      expect(await store.appendBatch((head) => rows(head, [event(3)]))).toBe(3);
      const seqs: number[] = [];
      for await (const page of store.rows()) seqs.push(...page.map((r) => r.seq));
      expect(seqs).toEqual([1, 2, 3]);
    } finally {
      await store.close();
    }
  });

  it('keeps one gap-free chain when three processes append at once; every replica’s checkpoints verify with the one key', async () => {
    if (!existsSync(`${dist}/storage/postgres/audit-store.js`)) throw new Error('this test runs the built adapters: run `npm run build` first');
    const db = await createTestDatabase('replicas');
    const keyDir = mkdtempSync(join(tmpdir(), 'bastion-pg-key-'));
    try {
      // The key is provisioned before any replica starts, as docs/audit.md says to.
      keyDirectory(join(keyDir, 'key')).create();
      const perWriter = 400;
      const children = ['a', 'b', 'c'].map((name) => {
        const child = spawn(process.execPath, [fileURLToPath(new URL('./pg-audit-writer.mjs', import.meta.url)), dist, db.url, join(keyDir, 'key'), name, String(perWriter)], {
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        const ready = new Promise<void>((resolve, reject) => {
          const check = (): void => void (out.includes('ready\n') && resolve());
          child.stdout.on('data', check);
          child.once('exit', (code) => reject(new Error(`writer ${name} exited (${code}) before it was ready: ${err}`)));
        });
        const done = new Promise<number[]>((resolve, reject) =>
          child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.split('\n')[1] ?? '') as number[]) : reject(new Error(`writer ${name} exited ${code}: ${err}`)))),
        );
        return { child, ready, done };
      });
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.child.stdin.end('go\n');
      const seqs = await Promise.all(children.map((c) => c.done));
      expect(seqs.map((s) => s.length)).toEqual([perWriter, perWriter, perWriter]);
      // Each replica's events interleave with the others' (one chain), never the same seq twice.
      expect(seqs.flat().sort((x, y) => x - y)).toEqual(Array.from({ length: 3 * perWriter }, (_, i) => i + 1));
      const reader = await openPostgresAuditReader(db.url, { keyDir: join(keyDir, 'key') });
      if (!reader.ok) throw new Error(reader.errors[0]?.message);
      try {
        expect(reader.value.keySource).toBe('key-file');
        const report = await reader.value.verify();
        expect(report).toMatchObject({ ok: true, events: 3 * perWriter, firstSeq: 1, lastSeq: 3 * perWriter });
        // Every replica signs on its own schedule and at close: all of them verify.
        expect(report.checkpointsVerified).toBeGreaterThanOrEqual(3);
        expect(report.latestCheckpoint?.size).toBe(3 * perWriter);
      } finally {
        await reader.value.close();
      }
      const cli = await runBastion(['audit', 'verify', '--postgres', db.url, '--key-dir', join(keyDir, 'key'), '--json'], { cwd: keyDir });
      expect(cli.code, cli.stderr).toBe(0);
      expect(JSON.parse(cli.stdout)).toMatchObject({ ok: true, events: 3 * perWriter });
      const fromEnv = await runBastion(['audit', 'query', '--postgres', 'env', '--principal', 'b', '--limit', '0', '--json'], { cwd: keyDir, env: { BASTION_POSTGRES_URL: db.url } });
      expect(fromEnv.code, fromEnv.stderr).toBe(0);
      expect((JSON.parse(fromEnv.stdout) as Array<{ seq: number }>).map((e) => e.seq)).toEqual([...(seqs[1] as number[])].sort((x, y) => x - y));
    } finally {
      rmSync(keyDir, { recursive: true, force: true });
      await db.drop();
    }
  }, 60_000);

  it('reports a tampered row through `bastion audit verify --postgres`, naming its seq, and never prints the password', async () => {
    const db = await createTestDatabase('tamper');
    const keyDir = mkdtempSync(join(tmpdir(), 'bastion-pg-key-'));
    try {
      const opened = await openPostgresAuditLog(db.url, { key: keyDirectory(keyDir), checkpoint: { everyEvents: 5, everySeconds: 0 } });
      if (!opened.ok) throw new Error(opened.errors[0]?.message);
      for (let i = 0; i < 12; i++) await opened.value.append({ type: 'decision', action: 'jira_read', decision: 'allow', reason: 'allowed' });
      await opened.value.close();
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      await client.query(`UPDATE audit_events SET body = replace(body, '"allow"', '"deny"') WHERE seq = 7`);
      await client.end();
      const bad = await runBastion(['audit', 'verify', '--postgres', db.url], { cwd: keyDir });
      expect(bad.code).toBe(1);
      expect(bad.stdout + bad.stderr).toMatch(/\b7\b/);
      const url = new URL(db.url);
      url.password = 's3cret-pw';
      url.port = '1';
      const unreachable = await runBastion(['audit', 'verify', '--postgres', url.toString()], { cwd: keyDir });
      expect(unreachable.code).not.toBe(0);
      expect(unreachable.stdout + unreachable.stderr).not.toContain('s3cret-pw');
    } finally {
      rmSync(keyDir, { recursive: true, force: true });
      await db.drop();
    }
  });
});
