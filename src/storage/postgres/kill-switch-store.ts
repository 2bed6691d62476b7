/**
 * The kill switch on PostgreSQL, for several replicas: one row (`killswitch_state`) holds the
 * state, its version and the time of its last change. `update` takes the row with
 * `SELECT … FOR UPDATE`, applies the change, writes it and sends `pg_notify(channel, version)`
 * in the same transaction, so two operators on two replicas both take effect.
 *
 * Propagation uses PostgreSQL LISTEN/NOTIFY rather than a second system (Redis pub/sub): the
 * state lives in PostgreSQL and a notification is delivered only when its transaction
 * commits, so a replica never hears of a change that is not stored, and there is no second
 * source of truth to disagree with the row. Each replica keeps one dedicated connection that
 * LISTENs, and keeps the state in memory: `get()` costs no round trip. A notification whose
 * version is newer than the one held makes it re-read the row; a periodic re-read (every
 * `refreshMs`, default 1 s) on the same connection is the safety net for a notification
 * missed, and checks that the connection is alive.
 *
 * INVARIANT: a replica that cannot learn the current state says so. While the listening
 * connection is lost (PostgreSQL restarted, the backend terminated, the network cut), and
 * until it has reconnected, listened again and re-read the row, and whenever the last
 * successful read is older than `staleAfterMs`, `get()` and `snapshot()` reject with
 * `STATE_STORAGE`; the gateway treats that as "state unknown" and refuses writes.
 */

import { createHash } from 'node:crypto';
import pg from 'pg';
import { BastionException, bastionError } from '../../core/errors.js';
import type { KillSwitchSnapshot, KillSwitchStore } from '../../killswitch/index.js';
import { applyKillSwitchChange, checkKillSwitchChange, copySnapshot, KillSwitchListeners } from '../../killswitch/index.js';
import { killSwitchFromRow } from '../sqlite/kill-switch-store.js';
import type { Migration } from './migrate.js';
import { type PostgresStateOptions, postgresFailure, prepare, type Queryable } from './state.js';

const STORE = 'kill-switch store';

/** The `application_name` of each replica's listening connection. */
export const LISTENER_NAME = 'bastion kill-switch listener';

export const KILL_SWITCH_MIGRATIONS: readonly Migration[] = [
  {
    component: 'killswitch',
    version: 1,
    description: 'kill switch state',
    sql: `
-- One row, always there (version 0, state NULL: never changed), so that the first update
-- locks it like every other.
CREATE TABLE killswitch_state (
  id integer PRIMARY KEY CHECK (id = 1),
  state text,
  version bigint NOT NULL,
  updated_at bigint
);
INSERT INTO killswitch_state (id, state, version, updated_at) VALUES (1, NULL, 0, NULL);
`,
  },
];

export interface PostgresKillSwitchStoreOptions extends PostgresStateOptions {
  /** How often the row is re-read in case a notification was missed, in ms (default 1000). */
  refreshMs?: number;
  /** How long after its last successful read the state counts as unknown, in ms (default 5 × `refreshMs`). */
  staleAfterMs?: number;
  /** How long to wait before reconnecting a lost listening connection, in ms (default 200). */
  reconnectMs?: number;
  /** The clock of `updatedAt` (default `Date.now`). */
  now?: () => number;
}

interface Row {
  state: unknown;
  version: unknown;
  updated_at: unknown;
}

const READ = 'SELECT state, version::float8 AS version, updated_at::float8 AS updated_at FROM killswitch_state WHERE id = 1';

function parse(row: Row | undefined): KillSwitchSnapshot {
  if (row === undefined) throw new BastionException(bastionError('STATE_STORAGE', `the ${STORE}'s row (table killswitch_state) is missing`));
  if (row.version === 0) {
    if (row.state !== null || row.updated_at !== null) throw new BastionException(bastionError('STATE_STORAGE', `the ${STORE}'s row (table killswitch_state) is malformed: version 0 holds a state`));
    return killSwitchFromRow(undefined);
  }
  return killSwitchFromRow(row);
}

/** The channel of one schema's kill switch: replicas on another schema (another deployment) do not hear it. */
function channelOf(schema: string): string {
  return `bastion_kill_switch_${createHash('sha256').update(schema).digest('hex').slice(0, 16)}`;
}

async function readOn(q: Queryable): Promise<KillSwitchSnapshot> {
  return parse((await q.query<Row>(READ)).rows[0]);
}

/**
 * Opens the kill switch on a pool: its table made or brought up to date (unless
 * `migrate: false`), a listening connection opened with the pool's settings and the state
 * read. Rejects with `STATE_STORAGE` when any of that fails.
 *
 * @example
 * const ks = await openPostgresKillSwitchStore(pool, { refreshMs: 1000 });
 * await ks.update({ read_only_mode: true, reason: 'incident 42' }); // every replica's get() sees it
 */
export async function openPostgresKillSwitchStore(pool: pg.Pool, options: PostgresKillSwitchStoreOptions = {}): Promise<KillSwitchStore> {
  const db = await prepare(pool, STORE, KILL_SWITCH_MIGRATIONS, options);
  const now = options.now ?? Date.now;
  const refreshMs = Math.max(10, options.refreshMs ?? 1000);
  const staleAfterMs = Math.max(refreshMs, options.staleAfterMs ?? 5 * refreshMs);
  const reconnectMs = Math.max(10, options.reconnectMs ?? 200);
  let channel: string;
  try {
    channel = channelOf((await pool.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]?.schema ?? 'public');
  } catch (err) {
    await db.close();
    throw postgresFailure(STORE, 'read its schema', err);
  }

  let current: KillSwitchSnapshot | undefined;
  let confirmedAt = 0;
  let listener: pg.Client | undefined;
  let lastError = 'not connected yet';
  // A row that could not be read (malformed), as opposed to a server that could not be reached.
  let lastDamage = false;
  let closed = false;
  let reconnect: NodeJS.Timeout | undefined;
  let reading: Promise<void> | undefined;
  let again = false;
  const listeners = new KillSwitchListeners(0);

  const adopt = (snapshot: KillSwitchSnapshot): void => {
    // Versions only move forward: a read that started before this replica's own commit
    // cannot take the state back (after a reconnect `current` starts empty again).
    if (current === undefined || snapshot.version >= current.version) current = snapshot;
    listeners.publish(current);
  };

  const lost = (client: pg.Client, err?: unknown): void => {
    if (listener !== client) return;
    listener = undefined;
    current = undefined;
    lastError = err instanceof Error ? (err.message.split('\n')[0] ?? '') : 'the connection ended';
    lastDamage = err instanceof BastionException;
    client.removeAllListeners('notification');
    client.on('error', () => undefined);
    client.end().catch(() => undefined);
    schedule();
  };

  const schedule = (): void => {
    if (closed || reconnect !== undefined) return;
    reconnect = setTimeout(() => {
      reconnect = undefined;
      void connect().catch(() => undefined);
    }, reconnectMs);
    reconnect.unref();
  };

  /** Re-reads the row on the listening connection; reads asked for meanwhile run once after it. */
  const refresh = (): Promise<void> => {
    if (reading !== undefined) {
      again = true;
      return reading;
    }
    const client = listener;
    if (client === undefined) return Promise.resolve();
    reading = (async () => {
      try {
        do {
          again = false;
          const snapshot = await readOn(client);
          if (listener !== client) return;
          adopt(snapshot);
          confirmedAt = Date.now();
        } while (again && listener === client);
      } catch (err) {
        // A failed read on the listening connection is a lost connection: reconnect, re-read.
        lost(client, err);
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  };

  const connect = async (): Promise<void> => {
    if (closed || listener !== undefined) return;
    // Named, so an operator sees it in pg_stat_activity (and a test can terminate it).
    const client = new pg.Client({ ...pool.options, application_name: LISTENER_NAME, keepAlive: true, query_timeout: Math.max(2000, 2 * refreshMs) });
    client.on('error', (err) => lost(client, err));
    client.on('end', () => lost(client));
    let heardWhileConnecting = false;
    client.on('notification', (message) => {
      if (message.channel !== channel) return;
      // A notification parsed with the first read's answer arrives before this connection is
      // the listener: it is re-read once the connection is.
      if (listener !== client) {
        heardWhileConnecting = true;
        return;
      }
      const version = Number(message.payload);
      if (!Number.isSafeInteger(version) || current === undefined || version > current.version) void refresh();
    });
    try {
      await client.connect();
      // LISTEN before the read: a change committed after the read is notified, none falls between.
      await client.query(`LISTEN "${channel}"`);
      const snapshot = await readOn(client);
      if (closed) {
        await client.end().catch(() => undefined);
        return;
      }
      listener = client;
      lastDamage = false;
      adopt(snapshot);
      confirmedAt = Date.now();
      if (heardWhileConnecting) void refresh();
    } catch (err) {
      lastError = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
      lastDamage = err instanceof BastionException;
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      schedule();
      throw err;
    }
  };

  try {
    await connect();
  } catch (err) {
    closed = true;
    if (reconnect !== undefined) clearTimeout(reconnect);
    await db.close();
    throw postgresFailure(STORE, 'listen for changes', err);
  }
  const timer = setInterval(() => void refresh(), refreshMs);
  timer.unref();

  const known = (): KillSwitchSnapshot => {
    if (closed) throw new BastionException(bastionError('STATE_STORAGE', `the ${STORE} is closed`));
    if (listener === undefined || current === undefined) {
      if (lastDamage) throw new BastionException(bastionError('STATE_STORAGE', `the ${STORE} cannot learn the current state: ${lastError}`));
      throw new BastionException(bastionError('STATE_UNAVAILABLE', `the ${STORE} cannot learn the current state: its connection to PostgreSQL is lost (${lastError}); reconnecting`));
    }
    const age = Date.now() - confirmedAt;
    if (age > staleAfterMs) throw new BastionException(bastionError('STATE_UNAVAILABLE', `the ${STORE} cannot learn the current state: its last read of PostgreSQL is ${age} ms old`));
    return current;
  };

  return {
    get: async () => applyKillSwitchChange(known().state, {}),
    snapshot: async () => copySnapshot(known()),
    async update(change) {
      const clean = checkKillSwitchChange(change);
      const next = await db.tx('apply a change', async (client) => {
        const before = parse((await client.query<Row>(`${READ} FOR UPDATE`)).rows[0]);
        const after: KillSwitchSnapshot = { state: applyKillSwitchChange(before.state, clean), version: before.version + 1, updatedAt: now() };
        await client.query('UPDATE killswitch_state SET state = $1, version = $2, updated_at = $3 WHERE id = 1', [JSON.stringify(after.state), after.version, after.updatedAt]);
        // Delivered to every listening replica when (and only if) this transaction commits.
        await client.query('SELECT pg_notify($1, $2)', [channel, String(after.version)]);
        return after;
      });
      if (listener !== undefined) adopt(next);
      else listeners.publish(next);
      return applyKillSwitchChange(next.state, {});
    },
    subscribe: (listener) => listeners.add(listener),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      if (reconnect !== undefined) clearTimeout(reconnect);
      listeners.clear();
      const client = listener;
      listener = undefined;
      if (client !== undefined) {
        client.removeAllListeners();
        client.on('error', () => undefined);
        await client.end().catch(() => undefined);
      }
      await db.close();
    },
  } satisfies KillSwitchStore;
}
