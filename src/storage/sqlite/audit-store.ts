/**
 * The embedded audit store: one SQLite file in WAL mode with `synchronous=FULL`, so a
 * committed batch survives a crash of the process or the machine. Tables are prefixed
 * `audit_` because other stores share the file. Query filters read the hashed event JSON
 * itself, except trace id and time, which have indexed columns that verification checks.
 *
 * Layout version 2 (`store_version` in `audit_meta`): a row holds the body, its chain hash
 * and the two indexed copies; the leaf hash is recomputed from the body (the stored chain
 * hash covers it). Version 1 also stored the leaf hash; it is refused, not migrated.
 */

import { Database, type SqliteDatabase } from './driver.js';
import type {
  Anchor,
  AuditBatch,
  AuditFilter,
  AuditStore,
  AuditStoreView,
  ChainHead,
  Checkpoint,
  SegmentResult,
  SegmentTask,
  StoredCheckpoint,
  StoredChainState,
  StoredRow,
} from '../../audit/index.js';
import { AuditStoreUnavailable, checkHead, CompactRange, GENESIS_CHAIN_HASH, parseChainState, parseStoredCheckpoint, verifyOnThreads } from '../../audit/index.js';
import { RISKS, riskRank } from '../../core/risk.js';
import { prepareRowPages, type RawRow, rowPages, toRow } from './segment-rows.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_events (
  seq INTEGER PRIMARY KEY,
  body TEXT NOT NULL,
  chain_hash BLOB NOT NULL,
  -- Copies of the body's traceId and time for indexed lookups; verification checks that
  -- they match the hashed body, so they cannot be edited to hide events from a query.
  trace_id TEXT,
  time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_trace ON audit_events (trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events (time);
CREATE TABLE IF NOT EXISTS audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  size INTEGER NOT NULL,
  chain_hash BLOB NOT NULL,
  range TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_anchor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  size INTEGER NOT NULL,
  chain_hash BLOB NOT NULL,
  range TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
  id INTEGER PRIMARY KEY,
  size INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_checkpoints_size ON audit_checkpoints (size);
CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_cursors (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
`;

export interface SqliteAuditStoreOptions {
  /** Open an existing file without writing to it (verify, query, export). */
  readOnly?: boolean;
  /** `FULL` (default) makes each commit durable; `NORMAL` survives process crashes only. */
  synchronous?: 'FULL' | 'NORMAL';
}

/** Layout of the audit tables; bumped when a column changes meaning or goes away. */
export const AUDIT_STORE_VERSION = 2;

const COLUMNS = 5;
// Rows per INSERT statement: one statement per row pays the call and bind overhead each
// time; 64 rows x 5 parameters stays far below SQLite's parameter limit.
const CHUNK = 64;

function insertSql(rows: number): string {
  return `INSERT INTO audit_events (seq, body, chain_hash, trace_id, time) VALUES ${Array(rows).fill('(?, ?, ?, ?, ?)').join(', ')}`;
}

/** Refuses a file whose audit tables have another layout than this build writes. */
function checkLayout(db: SqliteDatabase): void {
  const columns = (db.prepare('PRAGMA table_info(audit_events)').all() as Array<{ name: string }>).map((c) => c.name);
  const stored = db.prepare("SELECT value FROM audit_meta WHERE key = 'store_version'").pluck(true).get() as string | undefined;
  const version = stored ?? (columns.includes('leaf_hash') ? '1' : undefined);
  if (version !== undefined && version !== String(AUDIT_STORE_VERSION)) {
    throw new Error(`the audit tables have layout version ${version}; this build reads version ${AUDIT_STORE_VERSION} and does not migrate`);
  }
}

/** What verification's worker threads load to read this file: `openSegmentRows(path)`. */
const SEGMENT_ROWS = new URL('./segment-rows.js', import.meta.url);

function isoTime(value: string | Date): string {
  return value instanceof Date ? value.toISOString() : value;
}

/**
 * Opens (creating when needed) the audit tables in a SQLite file. The port's methods are
 * async; underneath, better-sqlite3 is synchronous, so a batch costs its caller one await.
 *
 * @example
 * const store = new SqliteAuditStore('.bastion/bastion.db');
 */
export class SqliteAuditStore implements AuditStore {
  readonly db: SqliteDatabase;
  private readonly stmts;
  private readonly params: unknown[] = new Array<unknown>(CHUNK * COLUMNS).fill(null);
  private readonly readOnly: boolean;
  /** Snapshots open on this (read-only) connection: the first begins the read transaction, the last ends it. */
  private snapshots = 0;
  /** A writer's read-only second connection, for snapshots: the writer never holds a read transaction. */
  private companion: SqliteAuditStore | undefined;

  constructor(
    readonly path: string,
    options: SqliteAuditStoreOptions = {},
  ) {
    this.readOnly = options.readOnly === true;
    this.db = new Database(path, options.readOnly ? { readonly: true, fileMustExist: true } : {});
    try {
      if (!options.readOnly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
        this.db.exec(SCHEMA);
        checkLayout(this.db);
        this.db.prepare("INSERT OR IGNORE INTO audit_meta (key, value) VALUES ('store_version', ?)").run(String(AUDIT_STORE_VERSION));
      } else {
        const table = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'audit_events'").get();
        if (!table) throw new Error('the file holds no audit log');
        checkLayout(this.db);
      }
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.db.pragma('busy_timeout = 5000');
    const db = this.db;
    this.stmts = {
      head: db.prepare('SELECT size, chain_hash, range FROM audit_head WHERE id = 1'),
      last: db.prepare('SELECT seq, chain_hash FROM audit_events ORDER BY seq DESC LIMIT 1'),
      // Exact text: a seq beyond 2^53 would be rounded as a number.
      lowest: db.prepare('SELECT CAST(seq AS TEXT) FROM audit_events ORDER BY seq LIMIT 1').pluck(true),
      highest: db.prepare('SELECT CAST(seq AS TEXT) FROM audit_events ORDER BY seq DESC LIMIT 1').pluck(true),
      checkpointRows: db.prepare('SELECT id, size, body FROM audit_checkpoints ORDER BY id'),
      anchor: db.prepare('SELECT size, chain_hash, range FROM audit_anchor WHERE id = 1'),
      insert: options.readOnly ? undefined : db.prepare(insertSql(1)),
      insertChunk: options.readOnly ? undefined : db.prepare(insertSql(CHUNK)),
      setHead: options.readOnly ? undefined : db.prepare('INSERT OR REPLACE INTO audit_head (id, size, chain_hash, range) VALUES (1, ?, ?, ?)'),
      pages: prepareRowPages(db),
      row: db.prepare('SELECT seq, body, chain_hash, trace_id, time FROM audit_events WHERE seq = ?').raw(true),
      // Only seqs a number holds exactly: a row beyond 2^53 cannot be verified, only reported.
      after: db.prepare('SELECT body FROM audit_events WHERE seq > ? AND seq <= 9007199254740991 ORDER BY seq LIMIT ?').pluck(true),
      count: db.prepare('SELECT count(*) FROM audit_events').pluck(true),
      checkpoints: db.prepare('SELECT body FROM audit_checkpoints WHERE size > ? ORDER BY size, id').pluck(true),
      latest: db.prepare('SELECT body FROM audit_checkpoints ORDER BY size DESC, id DESC LIMIT 1').pluck(true),
      maxTime: db.prepare('SELECT max(time) FROM audit_events WHERE seq <= ?').pluck(true),
      getMeta: db.prepare('SELECT value FROM audit_meta WHERE key = ?').pluck(true),
      getCursor: db.prepare('SELECT seq FROM audit_cursors WHERE name = ?').pluck(true),
    };
  }

  async appendBatch<T>(build: (head: ChainHead) => AuditBatch<T>): Promise<T> {
    const { insert, insertChunk, setHead } = this.stmts;
    if (!insert || !insertChunk || !setHead) throw new Error('audit store is read-only');
    const params = this.params;
    const run = this.db.transaction(() => {
      const built = build(this.headNow());
      const rows = built.rows;
      let i = 0;
      for (; i + CHUNK <= rows.length; i += CHUNK) {
        for (let j = 0; j < CHUNK; j++) {
          const r = rows[i + j] as StoredRow;
          const at = j * COLUMNS;
          params[at] = r.seq;
          params[at + 1] = r.body;
          params[at + 2] = r.chainHash;
          params[at + 3] = r.traceId ?? null;
          params[at + 4] = r.time ?? '';
        }
        insertChunk.run(params);
      }
      for (; i < rows.length; i++) {
        const r = rows[i] as StoredRow;
        insert.run(r.seq, r.body, r.chainHash, r.traceId ?? null, r.time ?? '');
      }
      setHead.run(built.head.size, built.head.chainHash, JSON.stringify(built.head.range.toJSON()));
      return built.result;
    });
    try {
      // IMMEDIATE takes the write lock before reading the head: the head cannot move under us.
      return run.immediate();
    } catch (err) {
      // The disk full or the file locked past the busy timeout: nothing was written, and a retry may succeed.
      const code = (err as { code?: unknown }).code;
      if (code === 'SQLITE_FULL' || code === 'SQLITE_BUSY') throw new AuditStoreUnavailable(err instanceof Error ? err.message : String(err));
      throw err;
    } finally {
      // The bound bodies must not outlive the batch.
      params.fill(null);
    }
  }

  async snapshot<T>(read: (view: AuditStoreView) => Promise<T>): Promise<T> {
    if (!this.readOnly) {
      this.companion ??= new SqliteAuditStore(this.path, { readOnly: true });
      return this.companion.snapshot(read);
    }
    // A deferred BEGIN: the snapshot is fixed by the first read and holds until COMMIT.
    if (this.snapshots++ === 0 && !this.db.inTransaction) this.db.exec('BEGIN');
    try {
      return await read(this);
    } finally {
      if (--this.snapshots === 0 && this.db.inTransaction && this.db.open) this.db.exec('COMMIT');
    }
  }

  private headNow(): ChainHead {
    const last = this.stmts.last.get() as { seq: number; chain_hash: unknown } | undefined;
    return checkHead(this.storedHeadNow(), this.anchorNow(), last && { seq: last.seq, chainHash: last.chain_hash });
  }

  private storedHeadNow(): ChainHead | undefined {
    const row = this.stmts.head.get() as StoredChainState | undefined;
    return row ? parseChainState('head', row) : undefined;
  }

  private anchorNow(): Anchor {
    const row = this.stmts.anchor.get() as StoredChainState | undefined;
    if (!row) return { size: 0, chainHash: GENESIS_CHAIN_HASH, range: new CompactRange() };
    return parseChainState('anchor', row);
  }

  async head(): Promise<ChainHead> {
    return this.headNow();
  }

  async storedHead(): Promise<ChainHead | undefined> {
    return this.storedHeadNow();
  }

  async anchor(): Promise<Anchor> {
    return this.anchorNow();
  }

  async extent(): Promise<{ lowest: string; highest: string } | undefined> {
    const lowest = this.stmts.lowest.get() as string | undefined;
    const highest = this.stmts.highest.get() as string | undefined;
    return lowest === undefined || highest === undefined ? undefined : { lowest, highest };
  }

  /** Pages of rows from..to, one `all()` each (see `rowPages`); no transaction held between them (that is what `snapshot` is for). */
  rows(from = 1, to = Number.MAX_SAFE_INTEGER): AsyncGenerator<readonly StoredRow[]> {
    return rowPages(this.stmts.pages, from, to);
  }

  async row(seq: number): Promise<StoredRow | undefined> {
    const raw = this.stmts.row.get(seq) as RawRow | undefined;
    return raw ? toRow(raw) : undefined;
  }

  async bodiesAfter(afterSeq: number, limit: number): Promise<string[]> {
    return this.stmts.after.all(afterSeq, limit) as string[];
  }

  async query(filter: AuditFilter): Promise<string[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const field = (path: string, value: unknown): void => {
      where.push(`json_extract(body, '${path}') = ?`);
      params.push(value);
    };
    if (filter.decision !== undefined) field('$.decision', filter.decision);
    if (filter.principal !== undefined) field('$.principal.id', filter.principal);
    if (filter.traceId !== undefined) {
      where.push('trace_id = ?');
      params.push(filter.traceId);
    }
    if (filter.type !== undefined) field('$.type', filter.type);
    if (filter.action !== undefined) {
      if (filter.action.includes('*')) {
        where.push("json_extract(body, '$.action') GLOB ?");
        params.push(filter.action.replace(/[[\]?]/g, (c) => `[${c}]`));
      } else {
        field('$.action', filter.action);
      }
    }
    if (filter.group !== undefined) {
      where.push("EXISTS (SELECT 1 FROM json_each(body, '$.principal.groups') WHERE value = ?)");
      params.push(filter.group);
    }
    if (filter.risk !== undefined) {
      const atLeast = RISKS.filter((r) => riskRank(r) >= riskRank(filter.risk as never));
      where.push(`json_extract(body, '$.risk') IN (${atLeast.map(() => '?').join(', ')})`);
      params.push(...atLeast);
    }
    if (filter.since !== undefined) {
      where.push('time >= ?');
      params.push(isoTime(filter.since));
    }
    if (filter.until !== undefined) {
      where.push('time <= ?');
      params.push(isoTime(filter.until));
    }
    if (filter.afterSeq !== undefined) {
      where.push('seq > ?');
      params.push(filter.afterSeq);
    }
    if (filter.throughSeq !== undefined) {
      where.push('seq <= ?');
      params.push(filter.throughSeq);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    if (filter.limit !== undefined) {
      const bodies = this.db
        .prepare(`SELECT body FROM audit_events ${clause} ORDER BY seq DESC LIMIT ?`)
        .pluck(true)
        .all(...params, filter.limit) as string[];
      return bodies.reverse();
    }
    return this.db
      .prepare(`SELECT body FROM audit_events ${clause} ORDER BY seq`)
      .pluck(true)
      .all(...params) as string[];
  }

  async eventCount(): Promise<number> {
    return this.stmts.count.get() as number;
  }

  async addCheckpoint(checkpoint: Checkpoint): Promise<void> {
    this.db.prepare('INSERT INTO audit_checkpoints (size, body) VALUES (?, ?)').run(checkpoint.size, JSON.stringify(checkpoint));
  }

  async checkpointRows(): Promise<StoredCheckpoint[]> {
    return this.stmts.checkpointRows.all() as StoredCheckpoint[];
  }

  async checkpoints(sinceSize = -1): Promise<Checkpoint[]> {
    return (this.stmts.checkpoints.all(sinceSize) as string[]).map(parseStoredCheckpoint);
  }

  async latestCheckpoint(): Promise<Checkpoint | undefined> {
    const body = this.stmts.latest.get() as string | undefined;
    return body === undefined ? undefined : parseStoredCheckpoint(body);
  }

  async prune(anchor: Anchor): Promise<number> {
    const run = this.db.transaction(() => {
      const { changes } = this.db.prepare('DELETE FROM audit_events WHERE seq <= ?').run(anchor.size);
      this.db.prepare('INSERT OR REPLACE INTO audit_anchor (id, size, chain_hash, range) VALUES (1, ?, ?, ?)').run(anchor.size, anchor.chainHash, JSON.stringify(anchor.range.toJSON()));
      return changes;
    });
    return run.immediate();
  }

  async maxTimeThrough(size: number): Promise<string | undefined> {
    return (this.stmts.maxTime.get(size) as string | null) ?? undefined;
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.stmts.getMeta.get(key) as string | undefined;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.db.prepare('INSERT OR REPLACE INTO audit_meta (key, value) VALUES (?, ?)').run(key, value);
  }

  async getCursor(name: string): Promise<number> {
    return (this.stmts.getCursor.get(name) as number | undefined) ?? 0;
  }

  async setCursor(name: string, seq: number): Promise<void> {
    this.db.prepare('INSERT OR REPLACE INTO audit_cursors (name, seq) VALUES (?, ?)').run(name, seq);
  }

  /**
   * The calling thread verifies stretches through this connection (inside the snapshot, when
   * called in one) and `threads - 1` worker threads through their own read-only connections
   * to this file. Those read outside this connection's snapshot: rows up to the head a snapshot saw never change in an
   * append-only log, except when pruned (then a stretch misses them and verification goes
   * back to the snapshot) or tampered with (which verification is there to find).
   */
  verifySegments(tasks: readonly SegmentTask[], threads: number, onRows: (rows: number) => void): Promise<Array<SegmentResult | undefined>> {
    const local = {
      rows: (from: number, to: number) => this.rows(from, to),
      chainHash: async (seq: number) => {
        const hash = this.stmts.row.get(seq) as RawRow | undefined;
        return hash === undefined ? undefined : Buffer.isBuffer(hash[2]) ? hash[2].toString('hex') : hash[2];
      },
      close: async () => undefined,
    };
    return verifyOnThreads({ module: SEGMENT_ROWS, source: this.path }, tasks, threads, onRows, local);
  }

  async close(): Promise<void> {
    await this.companion?.close();
    this.companion = undefined;
    if (this.db.open) this.db.close();
  }
}
