/**
 * What the SQLite state stores (kill switch, approvals, limits) share: opening the data
 * directory's file the way the audit store does (WAL, a busy timeout, `synchronous=FULL`
 * unless asked otherwise), a versioned, idempotent schema migration per store, and the
 * translation of driver failures into `STATE_STORAGE` errors that name the store.
 *
 * Each store keeps its own tables (prefixed `killswitch_`, `approval_`, `limit_`) and its own
 * row in `state_schema`, so they can share `bastion.db` with the audit tables or live apart.
 */

import { BastionException, bastionError, type BastionError } from '../../core/errors.js';
import type { Result } from '../../core/result.js';
import { Database, type SqliteDatabase } from './driver.js';

export interface SqliteStateOptions {
  /** `FULL` (default) makes each commit durable; `NORMAL` survives process crashes only. */
  synchronous?: 'FULL' | 'NORMAL';
  /** How long a writer waits for another process's transaction, in ms (default 5000). */
  busyTimeoutMs?: number;
  /**
   * An open connection to the same file to share, such as the audit store's: its settings are
   * left as they are and closing the store leaves it open. A store on the audit log's own
   * connection reads without first catching up with another connection's commits (a fresh
   * read after every audit commit costs about 15 µs per decision).
   */
  database?: SqliteDatabase;
}

const SCHEMA_TABLE = `CREATE TABLE IF NOT EXISTS state_schema (
  store TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  applied_at TEXT NOT NULL
)`;

function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/** A driver failure inside `store`'s operation `what`, as a `STATE_STORAGE` exception. */
export function storageFailure(store: string, what: string, err: unknown): BastionException {
  if (err instanceof BastionException) return err;
  return new BastionException(bastionError('STATE_STORAGE', `the ${store} cannot ${what}: ${reason(err)}`));
}

/**
 * Brings `store`'s tables to the newest version: `migrations[i]` takes version i to i + 1.
 * Runs under `BEGIN IMMEDIATE`, so two processes opening one file at once migrate once; a
 * file written by a newer build (a higher version) is refused, never downgraded.
 */
export function migrate(db: SqliteDatabase, store: string, migrations: readonly string[]): void {
  db.exec(SCHEMA_TABLE);
  db.transaction(() => {
    const stored = db.prepare('SELECT version FROM state_schema WHERE store = ?').pluck(true).get(store) as number | undefined;
    const version = stored ?? 0;
    if (!Number.isSafeInteger(version) || version < 0) throw new Error(`table state_schema holds version \`${String(version)}\` for \`${store}\``);
    if (version > migrations.length) {
      throw new Error(`the ${store} tables have schema version ${version}; this build knows versions up to ${migrations.length} and does not downgrade`);
    }
    for (let v = version; v < migrations.length; v++) db.exec(migrations[v] as string);
    if (version !== migrations.length) {
      db.prepare('INSERT INTO state_schema (store, version, applied_at) VALUES (?, ?, ?) ON CONFLICT (store) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at').run(
        store,
        migrations.length,
        new Date().toISOString(),
      );
    }
  }).immediate();
}

/**
 * Opens (creating when needed) `path` for `store` and migrates its tables. The file may be
 * the data directory's `bastion.db`, shared with the audit log and the other stores.
 *
 * @example
 * const db = openStateDatabase('.bastion/bastion.db', 'approval store', 'approvals', MIGRATIONS);
 */
export function openStateDatabase(path: string, store: string, schemaName: string, migrations: readonly string[], options: SqliteStateOptions = {}): Result<SqliteDatabase, BastionError> {
  if (options.database !== undefined) {
    try {
      migrate(options.database, schemaName, migrations);
      return { ok: true, value: options.database };
    } catch (err) {
      return { ok: false, errors: [bastionError('STATE_STORAGE', `the ${store} cannot open \`${path}\`: ${reason(err)}`)] };
    }
  }
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(path);
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    migrate(db, schemaName, migrations);
    return { ok: true, value: db };
  } catch (err) {
    db?.close();
    return { ok: false, errors: [bastionError('STATE_STORAGE', `the ${store} cannot open \`${path}\`: ${reason(err)}`)] };
  }
}

/** Closes `db` once; later operations fail with "the … is closed". */
export class StateConnection {
  private closed = false;

  constructor(
    readonly db: SqliteDatabase,
    private readonly store: string,
    /** A shared connection (`SqliteStateOptions.database`): its owner closes it. */
    private readonly borrowed = false,
  ) {}

  /** Runs `fn` (synchronously, so nothing interleaves with it in this process), mapping failures. */
  run<T>(what: string, fn: (db: SqliteDatabase) => T): T {
    if (this.closed) throw new BastionException(bastionError('STATE_STORAGE', `the ${this.store} is closed`));
    try {
      return fn(this.db);
    } catch (err) {
      throw storageFailure(this.store, what, err);
    }
  }

  /** Runs `fn` inside `BEGIN IMMEDIATE`: the read-modify-write of one operation, atomic across processes. */
  write<T>(what: string, fn: (db: SqliteDatabase) => T): T {
    return this.run(what, (db) => db.transaction(() => fn(db)).immediate());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.borrowed) this.db.close();
  }
}
