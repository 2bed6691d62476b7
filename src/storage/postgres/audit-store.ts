/**
 * The audit store on PostgreSQL (node-postgres), for several gateway replicas appending to
 * one chain. The tables are created by the `audit` component's migrations (`migrate.ts`).
 *
 * One chain across replicas, in the pattern of Tessera's PostgreSQL backend: an append takes
 * the head row with `SELECT … FOR UPDATE` once per batch, hands that head to the log's
 * `build` (which numbers and hashes the whole batch on it), inserts every row with one
 * `unnest` insert, moves the head and commits. A second replica's batch waits on the row
 * lock and then sees the head the first one left, so seqs stay gap-free and the chain never
 * forks; the seq primary key refuses a fork even if the lock were bypassed.
 *
 * Rows keep the body as text (the exact canonical bytes that were hashed); queries read it
 * as `jsonb`. Trace id and time have indexed copies that verification checks.
 */

import pg from 'pg';
import type { Anchor, AuditBatch, AuditFilter, AuditStore, AuditStoreView, ChainHead, Checkpoint, StoredCheckpoint, StoredChainState, StoredRow } from '../../audit/index.js';
import { AuditStoreUnavailable, checkHead, CompactRange, GENESIS_CHAIN_HASH, parseChainState, parseStoredCheckpoint } from '../../audit/index.js';
import { RISKS, riskRank } from '../../core/risk.js';
import { type Migration, migrate } from './migrate.js';
import { guardPool, unreachable } from './state.js';

/** The audit component's schema steps (see `migrate`). */
export const AUDIT_MIGRATIONS: readonly Migration[] = [
  {
    component: 'audit',
    version: 1,
    description: 'events, head, anchor, checkpoints, meta and cursors',
    sql: `
CREATE TABLE audit_events (
  seq bigint PRIMARY KEY,
  body text NOT NULL,
  chain_hash bytea NOT NULL,
  trace_id text,
  time text NOT NULL
);
CREATE INDEX audit_events_trace ON audit_events (trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX audit_events_time ON audit_events (time);
-- One row, always there, so that it can be locked before the first append too; its
-- columns are NULL while no head was written.
CREATE TABLE audit_head (
  id integer PRIMARY KEY CHECK (id = 1),
  size bigint,
  chain_hash bytea,
  range text
);
INSERT INTO audit_head (id) VALUES (1);
CREATE TABLE audit_anchor (
  id integer PRIMARY KEY CHECK (id = 1),
  size bigint NOT NULL,
  chain_hash bytea NOT NULL,
  range text NOT NULL
);
CREATE TABLE audit_checkpoints (
  id bigserial PRIMARY KEY,
  size bigint NOT NULL,
  body text NOT NULL
);
CREATE INDEX audit_checkpoints_size ON audit_checkpoints (size);
-- Replicas may sign the same head at the same millisecond: identical signed bytes are
-- stored once (verification reports a checkpoint stored twice).
CREATE UNIQUE INDEX audit_checkpoints_body ON audit_checkpoints (md5(body));
CREATE TABLE audit_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE audit_cursors (name text PRIMARY KEY, seq bigint NOT NULL);
`,
  },
];

// Rows per page of a scan: one round trip per page, not per row.
const ROWS_PER_PAGE = 1024;

/** A client or the pool: what a view sends its statements to. */
type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

interface RawRow {
  seq: string;
  body: string;
  chain_hash: string;
  trace_id: string | null;
  time: string;
}

// Sizes as float8: exact for every whole number a number holds, and a larger (or fractional)
// one is reported by parseChainState rather than silently rounded into a valid-looking size.
const CHAIN_STATE = 'size::float8 AS size, chain_hash, range';

function isoTime(value: string | Date): string {
  return value instanceof Date ? value.toISOString() : value;
}

function likePattern(glob: string): string {
  return glob.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');
}

function hexOf(hash: Buffer | string): string {
  return typeof hash === 'string' ? hash : hash.toString('hex');
}

function toRow(raw: RawRow): StoredRow {
  return { seq: Number(raw.seq), body: raw.body, chainHash: raw.chain_hash, traceId: raw.trace_id, time: raw.time };
}

/** Parses a head row; a row whose columns are all NULL is no stored head. */
function parseHeadRow(row: (StoredChainState & { size: unknown }) | undefined): ChainHead | undefined {
  if (!row || (row.size === null && row.chain_hash === null && row.range === null)) return undefined;
  return parseChainState('head', row);
}

/** The reads, on the pool or on one snapshot's client. */
class PostgresAuditView implements AuditStoreView {
  constructor(protected readonly db: Queryable) {}

  protected async one<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R | undefined> {
    return (await this.db.query<R>(sql, params)).rows[0];
  }

  async head(): Promise<ChainHead> {
    return headOn(this.db);
  }

  async storedHead(): Promise<ChainHead | undefined> {
    return parseHeadRow(await this.one(`SELECT ${CHAIN_STATE} FROM audit_head WHERE id = 1`));
  }

  async anchor(): Promise<Anchor> {
    return anchorOn(this.db);
  }

  async extent(): Promise<{ lowest: string; highest: string } | undefined> {
    const row = await this.one<{ lowest: string | null; highest: string | null }>('SELECT min(seq)::text AS lowest, max(seq)::text AS highest FROM audit_events');
    return row?.lowest == null || row.highest == null ? undefined : { lowest: row.lowest, highest: row.highest };
  }

  async *rows(from = 1, to = Number.MAX_SAFE_INTEGER): AsyncGenerator<readonly StoredRow[]> {
    let next = from;
    while (next <= to) {
      const { rows } = await this.db.query<RawRow>(
        `SELECT seq, body, encode(chain_hash, 'hex') AS chain_hash, trace_id, time FROM audit_events WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT ${ROWS_PER_PAGE}`,
        [next, to],
      );
      const last = rows[rows.length - 1];
      if (!last) return;
      yield rows.map(toRow);
      if (rows.length < ROWS_PER_PAGE) return;
      next = Number(last.seq) + 1;
    }
  }

  async row(seq: number): Promise<StoredRow | undefined> {
    const raw = await this.one<RawRow>(`SELECT seq, body, encode(chain_hash, 'hex') AS chain_hash, trace_id, time FROM audit_events WHERE seq = $1`, [seq]);
    return raw && toRow(raw);
  }

  async bodiesAfter(afterSeq: number, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ body: string }>('SELECT body FROM audit_events WHERE seq > $1 AND seq <= 9007199254740991 ORDER BY seq LIMIT $2', [afterSeq, limit]);
    return rows.map((r) => r.body);
  }

  async query(filter: AuditFilter): Promise<string[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    const field = (path: string, value: unknown): void => void where.push(`(body::jsonb #>> '{${path}}') = ${param(value)}`);
    if (filter.decision !== undefined) field('decision', filter.decision);
    if (filter.principal !== undefined) field('principal,id', filter.principal);
    if (filter.traceId !== undefined) where.push(`trace_id = ${param(filter.traceId)}`);
    if (filter.type !== undefined) field('type', filter.type);
    if (filter.action !== undefined) {
      if (filter.action.includes('*')) where.push(`(body::jsonb ->> 'action') LIKE ${param(likePattern(filter.action))}`);
      else field('action', filter.action);
    }
    if (filter.group !== undefined) where.push(`(body::jsonb #> '{principal,groups}') @> jsonb_build_array(${param(filter.group)}::text)`);
    if (filter.risk !== undefined) {
      const atLeast = RISKS.filter((r) => riskRank(r) >= riskRank(filter.risk as never));
      where.push(`(body::jsonb ->> 'risk') = ANY(${param(atLeast)}::text[])`);
    }
    if (filter.since !== undefined) where.push(`time >= ${param(isoTime(filter.since))}`);
    if (filter.until !== undefined) where.push(`time <= ${param(isoTime(filter.until))}`);
    if (filter.afterSeq !== undefined) where.push(`seq > ${param(filter.afterSeq)}`);
    if (filter.throughSeq !== undefined) where.push(`seq <= ${param(filter.throughSeq)}`);
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    if (filter.limit !== undefined) {
      const { rows } = await this.db.query<{ body: string }>(`SELECT body FROM audit_events ${clause} ORDER BY seq DESC LIMIT ${param(filter.limit)}`, params);
      return rows.map((r) => r.body).reverse();
    }
    const { rows } = await this.db.query<{ body: string }>(`SELECT body FROM audit_events ${clause} ORDER BY seq`, params);
    return rows.map((r) => r.body);
  }

  async eventCount(): Promise<number> {
    return Number((await this.one<{ n: string }>('SELECT count(*) AS n FROM audit_events'))?.n ?? 0);
  }

  async checkpointRows(): Promise<StoredCheckpoint[]> {
    const { rows } = await this.db.query<StoredCheckpoint>('SELECT id::float8 AS id, size::float8 AS size, body FROM audit_checkpoints ORDER BY id');
    return rows;
  }

  async checkpoints(sinceSize = -1): Promise<Checkpoint[]> {
    const { rows } = await this.db.query<{ body: string }>('SELECT body FROM audit_checkpoints WHERE size > $1 ORDER BY size, id', [sinceSize]);
    return rows.map((r) => parseStoredCheckpoint(r.body));
  }

  async latestCheckpoint(): Promise<Checkpoint | undefined> {
    const row = await this.one<{ body: string }>('SELECT body FROM audit_checkpoints ORDER BY size DESC, id DESC LIMIT 1');
    return row && parseStoredCheckpoint(row.body);
  }

  async maxTimeThrough(size: number): Promise<string | undefined> {
    return (await this.one<{ t: string | null }>('SELECT max(time) AS t FROM audit_events WHERE seq <= $1', [size]))?.t ?? undefined;
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.one<{ value: string }>('SELECT value FROM audit_meta WHERE key = $1', [key]))?.value;
  }

  async getCursor(name: string): Promise<number> {
    const row = await this.one<{ seq: string }>('SELECT seq FROM audit_cursors WHERE name = $1', [name]);
    return row ? Number(row.seq) : 0;
  }
}

async function anchorOn(db: Queryable): Promise<Anchor> {
  const row = (await db.query<StoredChainState>(`SELECT ${CHAIN_STATE} FROM audit_anchor WHERE id = 1`)).rows[0];
  if (!row) return { size: 0, chainHash: GENESIS_CHAIN_HASH, range: new CompactRange() };
  return parseChainState('anchor', row);
}

/**
 * The transaction's start and the locked head, checked against the last event and the
 * anchor, in one round trip: `BEGIN`, the head row locked alone (a statement that waited
 * for the lock sees the batch before it only from the next statement on, READ COMMITTED),
 * then the last event and the anchor in one statement. Three statements in one simple-protocol
 * query, each with its own snapshot: an append costs three round trips (this, the insert,
 * COMMIT), not six, and the head lock is held for two fewer.
 */
async function lockedHeadOn(client: pg.PoolClient): Promise<ChainHead> {
  const results = (await client.query(
    `BEGIN;
     SELECT ${CHAIN_STATE} FROM audit_head WHERE id = 1 FOR UPDATE;
     SELECT e.seq::float8 AS last_seq, e.chain_hash AS last_hash, a.size::float8 AS a_size, a.chain_hash AS a_hash, a.range AS a_range
       FROM (SELECT 1) one
       LEFT JOIN LATERAL (SELECT seq, chain_hash FROM audit_events ORDER BY seq DESC LIMIT 1) e ON true
       LEFT JOIN audit_anchor a ON a.id = 1`,
  )) as unknown as pg.QueryResult[];
  return checkedHead(results[1]?.rows[0] as HeadColumns | undefined, results[2]?.rows[0] as TailColumns | undefined);
}

/** The head row's columns. */
type HeadColumns = StoredChainState & { size: unknown };
/** The last event's and the anchor's columns, read in one statement. */
interface TailColumns {
  last_seq: number | null;
  last_hash: Buffer | null;
  a_size: unknown;
  a_hash: Buffer | null;
  a_range: string | null;
}

/** The head as stored, checked against the last event and the anchor (none: the genesis anchor). */
function checkedHead(head: HeadColumns | undefined, tail: TailColumns | undefined): ChainHead {
  const anchor: Anchor =
    tail && tail.a_size !== null && tail.a_size !== undefined
      ? parseChainState('anchor', { size: tail.a_size, chain_hash: tail.a_hash, range: tail.a_range } as StoredChainState)
      : { size: 0, chainHash: GENESIS_CHAIN_HASH, range: new CompactRange() };
  const last = tail && tail.last_seq !== null && tail.last_hash !== null ? { seq: tail.last_seq, chainHash: tail.last_hash } : undefined;
  return checkHead(parseHeadRow(head), anchor, last);
}

/**
 * The head, checked against the last event and the anchor, unlocked (appends lock it with
 * `lockedHeadOn`).
 */
async function headOn(db: Queryable): Promise<ChainHead> {
  // INVARIANT: the head, the last event and the anchor are read in one statement (one
  // snapshot): read apart, another replica's batch committed in between shows a head behind
  // its last event, which is reported as a broken store.
  const row = (
    await db.query<HeadColumns & TailColumns>(
      `SELECT h.size::float8 AS size, h.chain_hash, h.range, e.seq::float8 AS last_seq, e.chain_hash AS last_hash, a.size::float8 AS a_size, a.chain_hash AS a_hash, a.range AS a_range
         FROM audit_head h
         LEFT JOIN LATERAL (SELECT seq, chain_hash FROM audit_events ORDER BY seq DESC LIMIT 1) e ON true
         LEFT JOIN audit_anchor a ON a.id = 1
        WHERE h.id = 1`,
    )
  ).rows[0];
  return checkedHead(row && { size: row.size, chain_hash: row.chain_hash, range: row.range }, row);
}

export interface PostgresAuditStoreOptions {
  /** Run the `audit` migrations first (default true; every replica may, at every start). */
  migrate?: boolean;
  /** Close the pool on `close()` (default: only a pool the store made itself). */
  ownsPool?: boolean;
}

/**
 * The audit store on a pg pool. Open it with {@link openPostgresAuditStore}, which applies
 * the schema first.
 */
export class PostgresAuditStore extends PostgresAuditView implements AuditStore {
  constructor(
    readonly pool: pg.Pool,
    private readonly ownsPool: boolean,
  ) {
    super(pool);
  }

  async appendBatch<T>(build: (head: ChainHead) => AuditBatch<T>): Promise<T> {
    try {
      return await this.appendOnce(build);
    } catch (err) {
      // INVARIANT: only a server that was not reached is "unavailable"; a statement that failed is a broken store.
      if (unreachable(err)) throw new AuditStoreUnavailable(`PostgreSQL is unreachable: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
  }

  private appendOnce<T>(build: (head: ChainHead) => AuditBatch<T>): Promise<T> {
    return this.transaction(async (client) => {
      const built = build(await lockedHeadOn(client));
      const seqs: number[] = [];
      const bodies: string[] = [];
      const hashes: string[] = [];
      const traces: Array<string | null> = [];
      const times: string[] = [];
      for (const r of built.rows) {
        seqs.push(r.seq);
        bodies.push(r.body);
        hashes.push(hexOf(r.chainHash));
        traces.push(r.traceId ?? null);
        times.push(r.time ?? '');
      }
      const { head } = built;
      // One statement for the whole batch: the rows and the head move together.
      await client.query(
        `WITH ins AS (
           INSERT INTO audit_events (seq, body, chain_hash, trace_id, time)
           SELECT s, b, decode(h, 'hex'), t, tm FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(s, b, h, t, tm)
         )
         INSERT INTO audit_head (id, size, chain_hash, range) VALUES (1, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET size = EXCLUDED.size, chain_hash = EXCLUDED.chain_hash, range = EXCLUDED.range`,
        [seqs, bodies, hashes, traces, times, head.size, Buffer.from(head.chainHash), JSON.stringify(head.range.toJSON())],
      );
      return built.result;
    }, true);
  }

  async snapshot<T>(read: (view: AuditStoreView) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        return await read(new SnapshotView(client));
      } finally {
        await client.query('COMMIT').catch(() => {
          broken = true;
        });
      }
    } finally {
      client.release(broken);
    }
  }

  async addCheckpoint(checkpoint: Checkpoint): Promise<void> {
    await this.pool.query('INSERT INTO audit_checkpoints (size, body) VALUES ($1, $2) ON CONFLICT DO NOTHING', [checkpoint.size, JSON.stringify(checkpoint)]);
  }

  async prune(anchor: Anchor): Promise<number> {
    return this.transaction(async (client) => {
      const deleted = await client.query('DELETE FROM audit_events WHERE seq <= $1', [anchor.size]);
      await client.query(
        `INSERT INTO audit_anchor (id, size, chain_hash, range) VALUES (1, $1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET size = EXCLUDED.size, chain_hash = EXCLUDED.chain_hash, range = EXCLUDED.range`,
        [anchor.size, Buffer.from(anchor.chainHash), JSON.stringify(anchor.range.toJSON())],
      );
      return deleted.rowCount ?? 0;
    });
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.pool.query('INSERT INTO audit_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [key, value]);
  }

  async setCursor(name: string, seq: number): Promise<void> {
    await this.pool.query('INSERT INTO audit_cursors (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = EXCLUDED.seq', [name, seq]);
  }

  async close(): Promise<void> {
    if (this.ownsPool && !this.pool.ended) await this.pool.end();
  }

  /** `run` in a transaction, committed when it resolves; `begins`: run sends the `BEGIN` itself, with its first reads. */
  private async transaction<T>(run: (client: pg.PoolClient) => Promise<T>, begins = false): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      try {
        if (!begins) await client.query('BEGIN');
        const result = await run(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw err;
      }
    } finally {
      client.release(broken);
    }
  }
}

/** A view inside one REPEATABLE READ transaction; a snapshot within it is the same snapshot. */
class SnapshotView extends PostgresAuditView {
  snapshot<T>(read: (view: AuditStoreView) => Promise<T>): Promise<T> {
    return read(this);
  }
}

/**
 * Opens the audit store on `url` (or on a pool the caller keeps), applying the `audit`
 * migrations under their advisory lock first: safe from every replica at every start.
 *
 * @example
 * const store = await openPostgresAuditStore('postgres://bastion@db/bastion');
 */
export async function openPostgresAuditStore(target: string | pg.Pool, options: PostgresAuditStoreOptions = {}): Promise<PostgresAuditStore> {
  // A client that loses its server, idle or checked out, must not crash the process: the query fails instead.
  const pool = guardPool(typeof target === 'string' ? new pg.Pool({ connectionString: target, max: 8 }) : target);
  const owns = options.ownsPool ?? typeof target === 'string';
  try {
    if (options.migrate !== false) await migrate(pool, AUDIT_MIGRATIONS);
  } catch (err) {
    if (owns) await pool.end().catch(() => undefined);
    throw err;
  }
  return new PostgresAuditStore(pool, owns);
}

/** `url` with its password (and any `password` parameter) replaced by `***`: for messages and logs. */
export function redactPostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
    return parsed.toString();
  } catch {
    return 'the PostgreSQL URL';
  }
}
