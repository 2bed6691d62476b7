import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { chainHash, leafHash } from '../../src/audit/hash.js';
import { verifyRows, type StoredRow } from '../../src/audit/verify.js';
import { Database } from '../../src/storage/sqlite/driver.js';
import { AUDIT_STORE_VERSION, SqliteAuditStore } from '../../src/storage/index.js';

/** Every row of a paged scan. */
async function all(pages: AsyncIterable<readonly StoredRow[]>): Promise<StoredRow[]> {
  const rows: StoredRow[] = [];
  for await (const page of pages) rows.push(...page);
  return rows;
}

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'bastion-store-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function appendOne(store: SqliteAuditStore, body: (seq: number) => string): Promise<number> {
  return store.appendBatch((head) => {
    const seq = head.size + 1;
    const text = body(seq);
    const leaf = leafHash(text);
    const chained = chainHash(head.chainHash, leaf);
    const range = head.range.clone();
    range.append(leaf);
    return { rows: [{ seq, body: text, chainHash: chained, time: '2026-01-01T00:00:00.000Z', traceId: null }], head: { size: seq, chainHash: chained, range }, result: seq };
  });
}

describe('SQLite audit store', async () => {
  it('hands each batch the head the previous batch left, across connections to one file', async () => {
    const path = join(dir, 'bastion.db');
    const a = new SqliteAuditStore(path);
    const b = new SqliteAuditStore(path);
    const body = (seq: number): string => `{"seq":${seq},"time":"2026-01-01T00:00:00.000Z","type":"service.start","v":1}`;
    expect([await appendOne(a, body), await appendOne(b, body), await appendOne(a, body)]).toEqual([1, 2, 3]);
    expect((await b.head()).size).toBe(3);
    expect((await all(a.rows())).map((r) => r.seq)).toEqual([1, 2, 3]);
    await a.close();
    await b.close();
  });

  it('rolls a failed batch back entirely', async () => {
    const store = new SqliteAuditStore(join(dir, 'bastion.db'));
    await expect(
      store.appendBatch(() => {
        throw new Error('hashing failed');
      }),
    ).rejects.toThrow('hashing failed');
    expect(await store.eventCount()).toBe(0);
    expect((await store.head()).size).toBe(0);
    await store.close();
  });

  it('opens read-only only files that hold an audit log, and never writes through them', async () => {
    expect(() => new SqliteAuditStore(join(dir, 'missing.db'), { readOnly: true })).toThrow();
    const path = join(dir, 'bastion.db');
    await new SqliteAuditStore(path).close();
    const ro = new SqliteAuditStore(path, { readOnly: true });
    const head = await ro.head();
    await expect(ro.appendBatch(() => ({ rows: [], head, result: 0 }))).rejects.toThrow(/read-only/);
    await ro.close();
  });

  it('keeps cursors and metadata in the same file', async () => {
    const path = join(dir, 'bastion.db');
    const store = new SqliteAuditStore(path);
    await store.setCursor('siem:x', 42);
    await store.setMeta('k', 'v');
    await store.close();
    const again = new SqliteAuditStore(path);
    expect(await again.getCursor('siem:x')).toBe(42);
    expect(await again.getCursor('other')).toBe(0);
    expect(await again.getMeta('k')).toBe('v');
    await again.close();
  });

  it('records its layout version and refuses files of another layout', async () => {
    const path = join(dir, 'bastion.db');
    await new SqliteAuditStore(path).close();
    const db = new Database(path);
    expect(db.prepare("SELECT value FROM audit_meta WHERE key = 'store_version'").pluck().get()).toBe(String(AUDIT_STORE_VERSION));
    db.close();
    const old = join(dir, 'v1.db');
    const v1 = new Database(old);
    v1.exec(
      'CREATE TABLE audit_events (seq INTEGER PRIMARY KEY, body TEXT NOT NULL, leaf_hash BLOB NOT NULL, chain_hash BLOB NOT NULL, trace_id TEXT, time TEXT NOT NULL); CREATE TABLE audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);',
    );
    v1.close();
    expect(() => new SqliteAuditStore(old)).toThrow(/layout version 1/);
    expect(() => new SqliteAuditStore(old, { readOnly: true })).toThrow(/layout version 1/);
  });

  it('scans read-only in chunks: every row in order, bounds and gaps kept, one snapshot, the transaction ended', async () => {
    const path = join(dir, 'bastion.db');
    const writer = new SqliteAuditStore(path, { synchronous: 'NORMAL' });
    const total = 2_500;
    await writer.appendBatch((head) => {
      const range = head.range.clone();
      let previous = head.chainHash;
      const rows = [];
      for (let seq = 1; seq <= total; seq++) {
        const text = `{"seq":${seq},"time":"2026-01-01T00:00:00.000Z","type":"service.start","v":1}`;
        const leaf = leafHash(text);
        previous = chainHash(previous, leaf);
        range.append(leaf);
        rows.push({ seq, body: text, chainHash: previous, time: '2026-01-01T00:00:00.000Z', traceId: null });
      }
      return { rows, head: { size: total, chainHash: previous, range }, result: 0 };
    });
    writer.db.prepare('DELETE FROM audit_events WHERE seq IN (1024, 1025, 2049)').run();
    const reader = new SqliteAuditStore(path, { readOnly: true });
    const seqs = (await all(reader.rows())).map((r) => r.seq);
    expect(seqs.length).toBe(total - 3);
    expect(seqs.every((seq, i) => i === 0 || seq > (seqs[i - 1] as number))).toBe(true);
    expect(seqs.includes(1025) || seqs.includes(2049)).toBe(false);
    const range = async (from: number, to: number): Promise<number[]> => (await all(reader.rows(from, to))).map((r) => r.seq);
    expect(await range(1020, 1030)).toEqual([1020, 1021, 1022, 1023, 1026, 1027, 1028, 1029, 1030]);
    expect(await range(3, 6)).toEqual([3, 4, 5, 6]);
    expect(await range(0, 2)).toEqual([1, 2]);
    expect(await range(7, 6)).toEqual([]);
    expect(await range(1026, 2048)).toEqual(Array.from({ length: 1023 }, (_, i) => 1026 + i));
    // Outside a snapshot no read transaction is held between pages.
    expect(reader.db.inTransaction).toBe(false);

    // Rows appended after a snapshot started are not seen by it: the snapshot holds, and ends.
    const last = await reader.snapshot(async (view) => {
      const pages = view.rows()[Symbol.asyncIterator]();
      expect((await pages.next()).value?.[0]?.seq).toBe(1);
      expect(reader.db.inTransaction).toBe(true);
      await appendOne(writer, (seq) => `{"seq":${seq},"time":"2026-01-01T00:00:00.000Z","type":"service.start","v":1}`);
      let seen = 0;
      for (let step = await pages.next(); !step.done; step = await pages.next()) seen = step.value[step.value.length - 1]?.seq ?? seen;
      return seen;
    });
    expect(last).toBe(total);
    expect(reader.db.inTransaction).toBe(false);
    expect((await all(reader.rows())).length).toBe(total - 2);

    // A writer's snapshot reads through a second, read-only connection: the writer never holds a read transaction.
    await writer.snapshot(async (view) => {
      expect((await view.head()).size).toBe(total + 1);
      expect(writer.db.inTransaction).toBe(false);
      await appendOne(writer, (seq) => `{"seq":${seq},"time":"2026-01-01T00:00:00.000Z","type":"service.start","v":1}`);
      expect((await all(view.rows(total, total + 5))).map((r) => r.seq)).toEqual([total, total + 1]);
    });
    expect((await writer.head()).size).toBe(total + 2);
    await reader.close();
    await writer.close();
  });

  it('feeds verification across read chunks: a modification just before a chunk boundary is named, long tails are read', async () => {
    const path = join(dir, 'bastion.db');
    const writer = new SqliteAuditStore(path, { synchronous: 'NORMAL' });
    const total = 1_030;
    const trace = (seq: number): string => (seq === 7 ? 't'.repeat(400) : `t-${seq}`);
    const text = (seq: number): string => `{"reason":"r","seq":${seq},"time":"2026-01-01T00:00:00.000Z","traceId":"${trace(seq)}","type":"service.start","v":1}`;
    await writer.appendBatch((head) => {
      const range = head.range.clone();
      let previous = head.chainHash;
      const rows = [];
      for (let seq = 1; seq <= total; seq++) {
        const leaf = leafHash(text(seq));
        previous = chainHash(previous, leaf);
        range.append(leaf);
        rows.push({ seq, body: text(seq), chainHash: previous, time: '2026-01-01T00:00:00.000Z', traceId: trace(seq) });
      }
      return { rows, head: { size: total, chainHash: previous, range }, result: 0 };
    });
    const { publicKey } = generateKeyPairSync('ed25519');
    const verify = async () => {
      const reader = new SqliteAuditStore(path, { readOnly: true });
      try {
        return await verifyRows({ rows: reader.rows(), checkpoints: [], publicKey });
      } finally {
        await reader.close();
      }
    };
    expect(await verify()).toMatchObject({ ok: true, events: total });
    writer.db.prepare('UPDATE audit_events SET trace_id = ? WHERE seq = 7').run('t'.repeat(399));
    expect((await verify()).failure).toMatchObject({ seq: 7, reason: expect.stringMatching(/index columns/) });
    writer.db.prepare('UPDATE audit_events SET trace_id = ? WHERE seq = 7').run(trace(7));
    writer.db.prepare('UPDATE audit_events SET body = ? WHERE seq = 1024').run(text(1024).replace('"r"', '"x"'));
    expect((await verify()).failure).toMatchObject({ seq: 1024, reason: expect.stringMatching(/was modified/) });
    writer.db.prepare('UPDATE audit_events SET body = ? WHERE seq = 1024').run(text(1024));
    expect((await verify()).ok).toBe(true);
    // A gap inside a page: the page is read again with its seq column.
    writer.db.prepare('DELETE FROM audit_events WHERE seq = 500').run();
    expect((await verify()).failure).toMatchObject({ seq: 500, reason: expect.stringMatching(/missing/) });
    await writer.close();
  });
});
