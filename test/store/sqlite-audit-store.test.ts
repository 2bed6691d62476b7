import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { chainHash, leafHash } from '../../src/audit/hash.js';
import { verifyRows } from '../../src/audit/verify.js';
import { Database } from '../../src/storage/sqlite/driver.js';
import { AUDIT_STORE_VERSION, SqliteAuditStore } from '../../src/storage/index.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'bastion-store-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function appendOne(store: SqliteAuditStore, body: (seq: number) => string): number {
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

describe('SQLite audit store', () => {
  it('hands each batch the head the previous batch left, across connections to one file', () => {
    const path = join(dir, 'bastion.db');
    const a = new SqliteAuditStore(path);
    const b = new SqliteAuditStore(path);
    const body = (seq: number): string => `{"seq":${seq},"time":"2026-01-01T00:00:00.000Z","type":"service.start","v":1}`;
    expect([appendOne(a, body), appendOne(b, body), appendOne(a, body)]).toEqual([1, 2, 3]);
    expect(b.head().size).toBe(3);
    expect([...a.rows()].map((r) => r.seq)).toEqual([1, 2, 3]);
    a.close();
    b.close();
  });

  it('rolls a failed batch back entirely', () => {
    const store = new SqliteAuditStore(join(dir, 'bastion.db'));
    expect(() => store.appendBatch(() => { throw new Error('hashing failed'); })).toThrow('hashing failed');
    expect(store.eventCount()).toBe(0);
    expect(store.head().size).toBe(0);
    store.close();
  });

  it('opens read-only only files that hold an audit log, and never writes through them', () => {
    expect(() => new SqliteAuditStore(join(dir, 'missing.db'), { readOnly: true })).toThrow();
    const path = join(dir, 'bastion.db');
    new SqliteAuditStore(path).close();
    const ro = new SqliteAuditStore(path, { readOnly: true });
    expect(() => ro.appendBatch(() => ({ rows: [], head: ro.head(), result: 0 }))).toThrow(/read-only/);
    ro.close();
  });

  it('keeps cursors and metadata in the same file', () => {
    const path = join(dir, 'bastion.db');
    const store = new SqliteAuditStore(path);
    store.setCursor('siem:x', 42);
    store.setMeta('k', 'v');
    store.close();
    const again = new SqliteAuditStore(path);
    expect(again.getCursor('siem:x')).toBe(42);
    expect(again.getCursor('other')).toBe(0);
    expect(again.getMeta('k')).toBe('v');
    again.close();
  });

  it('records its layout version and refuses files of another layout', () => {
    const path = join(dir, 'bastion.db');
    new SqliteAuditStore(path).close();
    const db = new Database(path);
    expect(db.prepare("SELECT value FROM audit_meta WHERE key = 'store_version'").pluck().get()).toBe(String(AUDIT_STORE_VERSION));
    db.close();
    const old = join(dir, 'v1.db');
    const v1 = new Database(old);
    v1.exec('CREATE TABLE audit_events (seq INTEGER PRIMARY KEY, body TEXT NOT NULL, leaf_hash BLOB NOT NULL, chain_hash BLOB NOT NULL, trace_id TEXT, time TEXT NOT NULL); CREATE TABLE audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);');
    v1.close();
    expect(() => new SqliteAuditStore(old)).toThrow(/layout version 1/);
    expect(() => new SqliteAuditStore(old, { readOnly: true })).toThrow(/layout version 1/);
  });

  it('scans read-only in chunks: every row in order, bounds and gaps kept, one snapshot, the transaction ended', () => {
    const path = join(dir, 'bastion.db');
    const writer = new SqliteAuditStore(path, { synchronous: 'NORMAL' });
    const total = 2_500;
    writer.appendBatch((head) => {
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
    const seqs = [...reader.rows()].map((r) => r.seq);
    expect(seqs.length).toBe(total - 3);
    expect(seqs.every((seq, i) => i === 0 || seq > (seqs[i - 1] as number))).toBe(true);
    expect(seqs.includes(1025) || seqs.includes(2049)).toBe(false);
    expect([...reader.rows(1020, 1030)].map((r) => r.seq)).toEqual([1020, 1021, 1022, 1023, 1026, 1027, 1028, 1029, 1030]);
    expect([...reader.rows(3, 6)].map((r) => r.seq)).toEqual([3, 4, 5, 6]);
    expect([...reader.rows(0, 2)].map((r) => r.seq)).toEqual([1, 2]);
    expect([...reader.rows(7, 6)]).toEqual([]);
    expect([...reader.rows(1026, 2048)].map((r) => r.seq)).toEqual(Array.from({ length: 1023 }, (_, i) => 1026 + i));
    expect(reader.db.inTransaction).toBe(false);

    // Rows appended after the scan started are not seen by it: the snapshot holds.
    const it = reader.rows()[Symbol.iterator]();
    expect(it.next().value?.seq).toBe(1);
    expect(reader.db.inTransaction).toBe(true);
    appendOne(writer, (seq) => `{"seq":${seq},"time":"2026-01-01T00:00:00.000Z","type":"service.start","v":1}`);
    let last = 0;
    for (let step = it.next(); !step.done; step = it.next()) last = step.value.seq;
    expect(last).toBe(total);
    expect(reader.db.inTransaction).toBe(false);

    // Stopping early ends the transaction too.
    for (const row of reader.rows()) if (row.seq > 10) break;
    expect(reader.db.inTransaction).toBe(false);
    expect([...reader.rows()].length).toBe(total - 2);
    reader.close();
    writer.close();
  });

  it('feeds verification across read chunks: a modification just before a chunk boundary is named, long tails are read', () => {
    const path = join(dir, 'bastion.db');
    const writer = new SqliteAuditStore(path, { synchronous: 'NORMAL' });
    const total = 1_030;
    const trace = (seq: number): string => (seq === 7 ? 't'.repeat(400) : `t-${seq}`);
    const text = (seq: number): string => `{"reason":"r","seq":${seq},"time":"2026-01-01T00:00:00.000Z","traceId":"${trace(seq)}","type":"service.start","v":1}`;
    writer.appendBatch((head) => {
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
    const verify = () => {
      const reader = new SqliteAuditStore(path, { readOnly: true });
      try {
        return verifyRows({ rows: reader.rows(), checkpoints: [], publicKey });
      } finally {
        reader.close();
      }
    };
    expect(verify()).toMatchObject({ ok: true, events: total });
    writer.db.prepare('UPDATE audit_events SET trace_id = ? WHERE seq = 7').run('t'.repeat(399));
    expect(verify().failure).toMatchObject({ seq: 7, reason: expect.stringMatching(/index columns/) });
    writer.db.prepare('UPDATE audit_events SET trace_id = ? WHERE seq = 7').run(trace(7));
    writer.db.prepare('UPDATE audit_events SET body = ? WHERE seq = 1024').run(text(1024).replace('"r"', '"x"'));
    expect(verify().failure).toMatchObject({ seq: 1024, reason: expect.stringMatching(/was modified/) });
    writer.db.prepare('UPDATE audit_events SET body = ? WHERE seq = 1024').run(text(1024));
    expect(verify().ok).toBe(true);
    // A gap inside a page: the page is read again with its seq column.
    writer.db.prepare('DELETE FROM audit_events WHERE seq = 500').run();
    expect(verify().failure).toMatchObject({ seq: 500, reason: expect.stringMatching(/missing/) });
    writer.close();
  });
});
