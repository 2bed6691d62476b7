/**
 * Taint in SQLite: which traces read untrusted content (declared untrusted sources, results
 * that scored as an attack), with their bounded list of sources. Needed where
 * one trace spans processes: each Claude Code `command` hook is its own process, and a
 * session's PostToolUse must taint its next PreToolUse. Rows older than `ttlMs` (default
 * 7 days) count as absent and are deleted on write; at most `limit` traces are kept (oldest
 * first out), as in memory.
 */

import { appendTaint, copyTaint, TAINT_SOURCES_LIMIT, type TaintStore } from '../../analysis/index.js';
import type { BastionError } from '../../core/errors.js';
import { BastionException, bastionError } from '../../core/errors.js';
import type { Result } from '../../core/result.js';
import type { TaintRecord } from '../../core/types.js';
import { TAINT_LIMIT } from '../memory/taint-store.js';
import { openStateDatabase, StateConnection, type SqliteStateOptions } from './state-db.js';

const STORE = 'taint store';

const MIGRATIONS = [
  `CREATE TABLE taint_traces (
    trace_id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    marked_at INTEGER NOT NULL
  )`,
  'CREATE INDEX taint_traces_marked_at ON taint_traces (marked_at)',
];

export interface SqliteTaintStoreOptions extends SqliteStateOptions {
  /** How long a trace stays tainted, in ms; default 7 days. */
  ttlMs?: number;
  limit?: number;
  /** How many tainting results one trace keeps; default `TAINT_SOURCES_LIMIT` (16). */
  sourcesLimit?: number;
  now?: () => number;
}

/** Reads a stored record strictly (also the PostgreSQL adapter's rows). */
export function parseTaintRecord(text: unknown): TaintRecord {
  const bad = () => new BastionException(bastionError('STATE_STORAGE', `the ${STORE}'s row (table taint_traces) is malformed`));
  let v: unknown;
  try {
    v = JSON.parse(String(text));
  } catch {
    throw bad();
  }
  const r = v as Partial<TaintRecord>;
  if (typeof r !== 'object' || r === null || typeof r.score !== 'number' || typeof r.source !== 'string' || !Array.isArray(r.techniques) || !r.techniques.every((t) => typeof t === 'string'))
    throw bad();
  // Rows written before flow rules have no `attack`, `sources` or `dropped`: they read as one attack.
  if (r.attack !== undefined && typeof r.attack !== 'boolean') throw bad();
  if (r.dropped !== undefined && !(typeof r.dropped === 'number' && Number.isSafeInteger(r.dropped) && r.dropped >= 0)) throw bad();
  if (r.sources !== undefined) {
    const okSource = (s: unknown) => {
      const x = s as Record<string, unknown>;
      return (
        typeof x === 'object' &&
        x !== null &&
        typeof x['seq'] === 'number' &&
        typeof x['action'] === 'string' &&
        typeof x['source'] === 'string' &&
        typeof x['attack'] === 'boolean' &&
        typeof x['score'] === 'number' &&
        (x['at'] === undefined || typeof x['at'] === 'string')
      );
    };
    if (!Array.isArray(r.sources) || !r.sources.every(okSource)) throw bad();
  }
  if (r.downloads !== undefined) {
    const okDownload = (d: unknown) => {
      const x = d as Record<string, unknown>;
      return typeof x === 'object' && x !== null && typeof x['path'] === 'string' && typeof x['action'] === 'string' && typeof x['at'] === 'string';
    };
    if (!Array.isArray(r.downloads) || !r.downloads.every(okDownload)) throw bad();
  }
  return copyTaint(r as TaintRecord);
}

/**
 * @example const taint = openSqliteTaintStore('.bastion/bastion.db'); if (taint.ok) await taint.value.mark('session-1', { score: 0.9, techniques: ['override'], source: 'WebFetch' });
 */
export function openSqliteTaintStore(path: string, options: SqliteTaintStoreOptions = {}): Result<TaintStore, BastionError> {
  const opened = openStateDatabase(path, STORE, 'taint', MIGRATIONS, options);
  if (!opened.ok) return opened;
  const db = opened.value;
  const conn = new StateConnection(db, STORE, options.database !== undefined);
  const ttl = options.ttlMs ?? 7 * 86_400_000;
  const limit = options.limit ?? TAINT_LIMIT;
  const sourcesLimit = options.sourcesLimit ?? TAINT_SOURCES_LIMIT;
  const now = options.now ?? Date.now;
  const stmts = {
    get: db.prepare('SELECT record, marked_at FROM taint_traces WHERE trace_id = ?'),
    put: db.prepare('INSERT INTO taint_traces (trace_id, record, marked_at) VALUES (?, ?, ?) ON CONFLICT (trace_id) DO UPDATE SET record = excluded.record, marked_at = excluded.marked_at'),
    expire: db.prepare('DELETE FROM taint_traces WHERE marked_at < ?'),
    trim: db.prepare('DELETE FROM taint_traces WHERE trace_id IN (SELECT trace_id FROM taint_traces ORDER BY marked_at DESC LIMIT -1 OFFSET ?)'),
  };
  return {
    ok: true,
    value: {
      get: async (traceId) =>
        conn.run('read a trace', () => {
          const row = stmts.get.get(traceId) as { record: unknown; marked_at: number } | undefined;
          if (row === undefined || row.marked_at < now() - ttl) return undefined;
          return parseTaintRecord(row.record);
        }),
      mark: async (traceId, record) =>
        conn.write('mark a trace', () => {
          const at = now();
          stmts.put.run(traceId, JSON.stringify(copyTaint(record)), at);
          stmts.expire.run(at - ttl);
          stmts.trim.run(limit);
        }),
      // INVARIANT: one `BEGIN IMMEDIATE` transaction reads, appends and writes, so appends from
      // several processes (hook invocations) to one trace never lose one.
      append: async (traceId, entry) =>
        conn.write('add to a trace', () => {
          const at = now();
          const row = stmts.get.get(traceId) as { record: unknown; marked_at: number } | undefined;
          const previous = row === undefined || row.marked_at < at - ttl ? undefined : parseTaintRecord(row.record);
          const next = appendTaint(previous, entry, sourcesLimit);
          stmts.put.run(traceId, JSON.stringify(next), at);
          stmts.expire.run(at - ttl);
          stmts.trim.run(limit);
          return copyTaint(next);
        }),
      close: async () => conn.close(),
    },
  };
}
