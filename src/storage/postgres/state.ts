/**
 * What the PostgreSQL state stores (approvals, kill switch, API keys, the notification
 * outbox, tool pins, taint) share: one pg pool (usually one per process, shared by every
 * store), a store that rejects naming itself once closed or when the database fails
 * (`STATE_UNAVAILABLE` when PostgreSQL cannot be reached, else `STATE_STORAGE`), and
 * transactions that roll back on any failure. Atomic changes are done by the database
 * (`SELECT … FOR UPDATE` inside a transaction, conditional `UPDATE`, `INSERT … ON CONFLICT`), never by a lock in this process, so they hold across replicas.
 */

import type pg from 'pg';
import { BastionException, bastionError } from '../../core/errors.js';
import { storageFailure } from '../sqlite/state-db.js';
import { type Migration, migrate } from './migrate.js';

/** Node socket errors and PostgreSQL's connection (08xxx) and shutdown (57P0x) states: the server is not there. */
const GONE = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|08\d{3}|57P0[1-3])$/;

/** True when `err` says PostgreSQL could not be reached or dropped the connection (not that a statement failed). */
export function unreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return (typeof code === 'string' && GONE.test(code)) || /connection terminated|connection timeout|terminating connection|Connection refused|encountered a connection error/i.test(message);
}

/**
 * A failure of `store` to `what`: `STATE_UNAVAILABLE` (503, retry) when PostgreSQL could not
 * be reached or dropped the connection, else `STATE_STORAGE` (500).
 */
export function postgresFailure(store: string, what: string, err: unknown): BastionException {
  if (err instanceof BastionException || !unreachable(err)) return storageFailure(store, what, err);
  return new BastionException(bastionError('STATE_UNAVAILABLE', `the ${store} cannot ${what}: PostgreSQL is unreachable (${err instanceof Error ? err.message : String(err)})`));
}

const guarded = new WeakSet<pg.Pool>();

/**
 * Makes a pool's lost connections harmless to the process: the pool's own `error` event (an
 * idle client lost) and every client's, checked out or not, get a listener. pg emits
 * `error` on a checked-out client whose socket dies (PostgreSQL stopped mid-transaction)
 * and pg-pool listens only while the client is idle, so without this the process would die
 * of an unhandled `error` event; the query in flight rejects all the same, and that is what
 * fails the call, closed. Idempotent.
 *
 * @example const pool = guardPool(new pg.Pool({ connectionString: url }));
 */
export function guardPool<P extends pg.Pool>(pool: P): P {
  if (guarded.has(pool)) return pool;
  guarded.add(pool);
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

/** A client or the pool: what a read sends its statement to. */
export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export interface PostgresStateOptions {
  /** Apply the store's migrations at open (default true; `openPostgresStores` applies them all once). */
  migrate?: boolean;
  /** End the pool when the store is closed (default false: the pool's owner ends it). */
  ownsPool?: boolean;
}

/** One store's access to the pool: closed-state checks, failures mapped, transactions. */
export class PgState {
  private closed = false;

  constructor(
    readonly pool: pg.Pool,
    readonly store: string,
    private readonly ownsPool = false,
  ) {}

  private open(): void {
    if (this.closed) throw new BastionException(bastionError('STATE_STORAGE', `the ${this.store} is closed`));
  }

  /** Runs `fn` on the pool, mapping a driver failure to `STATE_UNAVAILABLE` or `STATE_STORAGE` ("the … cannot `what`: …"). */
  async run<T>(what: string, fn: (db: Queryable) => Promise<T>): Promise<T> {
    this.open();
    try {
      return await fn(this.pool);
    } catch (err) {
      throw postgresFailure(this.store, what, err);
    }
  }

  /** Runs `fn` in one transaction on one client: committed when it resolves, rolled back when it throws. */
  async tx<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.open();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw postgresFailure(this.store, what, err);
    }
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        broken = e;
      });
      throw postgresFailure(this.store, what, err);
    } finally {
      // A client whose ROLLBACK failed is discarded, never handed to the next transaction.
      client.release(broken === undefined ? undefined : true);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsPool && !this.pool.ended) await this.pool.end();
  }
}

/** Applies `migrations` unless told not to; a failure is a `STATE_STORAGE` exception naming the store. */
export async function prepare(pool: pg.Pool, store: string, migrations: readonly Migration[], options: PostgresStateOptions): Promise<PgState> {
  guardPool(pool);
  if (options.migrate !== false) {
    try {
      await migrate(pool, migrations);
    } catch (err) {
      throw postgresFailure(store, 'migrate its tables', err);
    }
  }
  return new PgState(pool, store, options.ownsPool === true);
}

/** Milliseconds in a bigint column, read as a number (float8 holds every safe integer exactly). */
export const ms = (column: string): string => `${column}::float8 AS ${column}`;
