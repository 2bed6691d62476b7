/**
 * Taint on PostgreSQL (`taint_traces`): one trace's taint seen by every replica, so a result
 * read through one replica taints the trace's next call through another. As in SQLite, rows
 * older than `ttlMs` count as absent and are deleted on write, and at most `limit` traces are
 * kept (oldest first out). `append` holds a transaction-scoped advisory lock on the trace
 * (a database lock, so it holds across replicas, taken even before the trace's first row
 * exists), so concurrent appends never lose one.
 */

import type pg from 'pg';
import { appendTaint, copyTaint, TAINT_SOURCES_LIMIT, type TaintStore } from '../../analysis/index.js';
import { TAINT_LIMIT } from '../memory/taint-store.js';
import { parseTaintRecord } from '../sqlite/taint-store.js';
import type { Migration } from './migrate.js';
import { ms, type PostgresStateOptions, type Queryable, prepare } from './state.js';

const STORE = 'taint store';

/** The first key of the two-key advisory locks on traces ("tnt" in ASCII); the migration lock uses the one-key space. */
const TAINT_LOCK = 0x746e74;

export const TAINT_MIGRATIONS: readonly Migration[] = [
  {
    component: 'taint',
    version: 1,
    description: 'tainted traces',
    sql: `
CREATE TABLE taint_traces (
  trace_id text PRIMARY KEY,
  record text NOT NULL,
  marked_at bigint NOT NULL
);
CREATE INDEX taint_traces_marked_at ON taint_traces (marked_at);
`,
  },
];

export interface PostgresTaintStoreOptions extends PostgresStateOptions {
  /** How long a trace stays tainted, in ms; default 7 days. */
  ttlMs?: number;
  limit?: number;
  /** How many tainting results one trace keeps; default `TAINT_SOURCES_LIMIT` (16). */
  sourcesLimit?: number;
  now?: () => number;
}

/**
 * Opens the taint store on a pool (its table made or brought up to date first, unless `migrate: false`).
 *
 * @example const taint = await openPostgresTaintStore(pool); await taint.get('session-1');
 */
export async function openPostgresTaintStore(pool: pg.Pool, options: PostgresTaintStoreOptions = {}): Promise<TaintStore> {
  const db = await prepare(pool, STORE, TAINT_MIGRATIONS, options);
  const ttl = options.ttlMs ?? 7 * 86_400_000;
  const limit = options.limit ?? TAINT_LIMIT;
  const sourcesLimit = options.sourcesLimit ?? TAINT_SOURCES_LIMIT;
  const now = options.now ?? Date.now;
  const read = async (q: Queryable, traceId: string, at: number) => {
    const row = (await q.query<{ record: string; marked_at: number }>(`SELECT record, ${ms('marked_at')} FROM taint_traces WHERE trace_id = $1`, [traceId])).rows[0];
    return row === undefined || row.marked_at < at - ttl ? undefined : parseTaintRecord(row.record);
  };
  const put = async (q: Queryable, traceId: string, text: string, at: number) => {
    await q.query('INSERT INTO taint_traces (trace_id, record, marked_at) VALUES ($1, $2, $3) ON CONFLICT (trace_id) DO UPDATE SET record = EXCLUDED.record, marked_at = EXCLUDED.marked_at', [
      traceId,
      text,
      at,
    ]);
    await q.query('DELETE FROM taint_traces WHERE marked_at < $1', [at - ttl]);
    await q.query('DELETE FROM taint_traces WHERE trace_id IN (SELECT trace_id FROM taint_traces ORDER BY marked_at DESC, trace_id OFFSET $1)', [limit]);
  };
  return {
    get: (traceId) => db.run('read a trace', (q) => read(q, traceId, now())),
    mark: (traceId, record) =>
      db.tx('mark a trace', async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [TAINT_LOCK, traceId]);
        await put(client, traceId, JSON.stringify(copyTaint(record)), now());
      }),
    append: (traceId, entry) =>
      db.tx('add to a trace', async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [TAINT_LOCK, traceId]);
        const at = now();
        const next = appendTaint(await read(client, traceId, at), entry, sourcesLimit);
        await put(client, traceId, JSON.stringify(next), at);
        return copyTaint(next);
      }),
    close: () => db.close(),
  };
}
