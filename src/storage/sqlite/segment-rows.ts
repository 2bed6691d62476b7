/**
 * The audit rows of a SQLite file in pages, as verification reads them: shared by the store
 * and by verification's worker threads, which load this module alone (with the driver) and
 * not the whole audit stage, since a thread's start-up is paid on every verification.
 */

import type { SegmentRows, StoredRow } from '../../audit/index.js';
import type BetterSqlite3 from 'better-sqlite3';
import { Database, type SqliteDatabase } from './driver.js';

/** A row read with its seq column: seq, body, chain hash (hex), trace id, time. */
export type RawRow = [number, string, Buffer | string, string | null, string];
/** A row read without its seq column (the seq follows from its position in the page). */
type DenseRow = [string, string, string | null, string];

// Rows per read of a scan: one all() per chunk instead of one native call per row.
const ROWS_PER_READ = 1024;

export function toRow(raw: RawRow): StoredRow {
  return { seq: raw[0], body: raw[1], chainHash: raw[2], traceId: raw[3], time: raw[4] };
}

/** The two statements a paged scan needs, prepared once per connection. */
export interface PageStatements {
  keyset: BetterSqlite3.Statement<unknown[]>;
  dense: BetterSqlite3.Statement<unknown[]>;
}

export function prepareRowPages(db: SqliteDatabase): PageStatements {
  return {
    // Hex text rather than a BLOB: a Buffer per row costs more than the hashing of it.
    keyset: db.prepare('SELECT seq, body, lower(hex(chain_hash)), trace_id, time FROM audit_events WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?').raw(true),
    dense: db.prepare('SELECT body, lower(hex(chain_hash)), trace_id, time FROM audit_events WHERE seq >= ? AND seq <= ? ORDER BY seq').raw(true),
  };
}

/**
 * Pages of ROWS_PER_READ rows, one all() each, no transaction held between them. A page asks
 * for the seq range [n, n + ROWS_PER_READ) without the seq column (one value less per row):
 * when every seq of the range is there, the primary key leaves only one order for them. A
 * short page (a gap, or the end of the log) is read again with its seq column, by keyset
 * from n. Gaps are kept as gaps: verification must see them.
 */
export async function* rowPages({ keyset, dense }: PageStatements, from: number, to: number): AsyncGenerator<readonly StoredRow[]> {
  let next = from;
  while (next <= to) {
    const end = Math.min(to, next + ROWS_PER_READ - 1);
    const denseChunk = dense.all(next, end) as DenseRow[];
    if (denseChunk.length === end - next + 1) {
      const page = new Array<StoredRow>(denseChunk.length);
      for (let i = 0; i < denseChunk.length; i++) {
        const raw = denseChunk[i] as DenseRow;
        page[i] = { seq: next + i, body: raw[0], chainHash: raw[1], traceId: raw[2], time: raw[3] };
      }
      yield page;
      next = end + 1;
      continue;
    }
    const chunk = keyset.all(next, to, ROWS_PER_READ) as RawRow[];
    const last = chunk[chunk.length - 1];
    if (!last) return;
    yield chunk.map(toRow);
    if (chunk.length < ROWS_PER_READ) return;
    next = last[0] + 1;
  }
}

/**
 * Opens the file at `path` read-only for one verification thread (the module verification's
 * worker threads are given by `SqliteAuditStore.verifySegments`).
 *
 * @example
 * const rows = openSegmentRows('.bastion/bastion.db');
 * for await (const page of rows.rows(1, 1024)) console.log(page.length);
 */
export function openSegmentRows(path: string): SegmentRows {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const pages = prepareRowPages(db);
  const chainHash = db.prepare('SELECT lower(hex(chain_hash)) FROM audit_events WHERE seq = ?').pluck(true);
  return {
    rows: (from, to) => rowPages(pages, from, to),
    chainHash: async (seq) => (chainHash.get(seq) as string | undefined) ?? undefined,
    close: async () => {
      if (db.open) db.close();
    },
  };
}
