/**
 * The kill switch in SQLite: one row (`killswitch_state`) holding the state as JSON, its
 * version and the time of the last change. It survives a restart, and `update` reads,
 * applies and writes the change in one `BEGIN IMMEDIATE` transaction, so two processes
 * changing different keys at once both take effect.
 *
 * Change notification: listeners hear of this store's own updates at once, and of another
 * process's at this store's next read (`get`/`snapshot`), which the gateway does before
 * every decision. The PostgreSQL adapter pushes them with LISTEN/NOTIFY instead.
 */

import type { BastionError } from '../../core/errors.js';
import { BastionException, bastionError } from '../../core/errors.js';
import type { Result } from '../../core/result.js';
import type { KillSwitchSnapshot, KillSwitchStore } from '../../killswitch/index.js';
import { EMPTY_KILL_SWITCH, KillSwitchListeners, applyKillSwitchChange, checkKillSwitchChange, copySnapshot, parseKillSwitchChange } from '../../killswitch/index.js';
import type { SqliteDatabase } from './driver.js';
import { openStateDatabase, StateConnection, type SqliteStateOptions } from './state-db.js';

const STORE = 'kill-switch store';

/** `MIGRATIONS[i]` takes the kill-switch tables from version i to i + 1. */
const MIGRATIONS = [
  `CREATE TABLE killswitch_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at INTEGER
  )`,
];

export interface KillSwitchRow {
  state: unknown;
  version: unknown;
  updated_at: unknown;
}

/** Reads the row strictly: a hand-edited or damaged state is an error, never "all off". */
export function killSwitchFromRow(row: KillSwitchRow | undefined): KillSwitchSnapshot {
  if (row === undefined) return { state: applyKillSwitchChange(EMPTY_KILL_SWITCH, {}), version: 0, updatedAt: null };
  const bad = (what: string) => new BastionException(bastionError('STATE_STORAGE', `the ${STORE}'s row (table killswitch_state) is malformed: ${what}`));
  if (typeof row.version !== 'number' || !Number.isSafeInteger(row.version) || row.version < 1) throw bad('version is not a whole number above 0');
  if (row.updated_at !== null && (typeof row.updated_at !== 'number' || !Number.isFinite(row.updated_at))) throw bad('updated_at is not a time in ms');
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(row.state));
  } catch {
    throw bad('state is not JSON');
  }
  const change = parseKillSwitchChange(parsed, 'state');
  if (!change.ok) throw bad(change.errors.map((e) => e.message).join('; '));
  const state = change.value;
  for (const key of ['all_write_tools_disabled', 'read_only_mode', 'disabled_connectors', 'disabled_users', 'disabled_workflows'] as const) {
    if (state[key] === undefined) throw bad(`state lacks \`${key}\``);
  }
  return { state: applyKillSwitchChange(EMPTY_KILL_SWITCH, state), version: row.version, updatedAt: row.updated_at };
}

export interface SqliteKillSwitchStoreOptions extends SqliteStateOptions {
  /** The clock of `updatedAt` (default `Date.now`). */
  now?: () => number;
}

/**
 * Opens (creating when needed) the kill-switch table in a SQLite file, typically the data
 * directory's `bastion.db`.
 *
 * @example
 * const opened = openSqliteKillSwitchStore('.bastion/bastion.db');
 * if (opened.ok) await opened.value.update({ all_write_tools_disabled: true, reason: 'incident 42' });
 */
export function openSqliteKillSwitchStore(path: string, options: SqliteKillSwitchStoreOptions = {}): Result<KillSwitchStore, BastionError> {
  const opened = openStateDatabase(path, STORE, 'killswitch', MIGRATIONS, options);
  if (!opened.ok) return opened;
  const conn = new StateConnection(opened.value, STORE, options.database !== undefined);
  const now = options.now ?? Date.now;
  const db = opened.value;
  const stmts = {
    read: db.prepare('SELECT state, version, updated_at FROM killswitch_state WHERE id = 1'),
    write: db.prepare(
      'INSERT INTO killswitch_state (id, state, version, updated_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state, version = excluded.version, updated_at = excluded.updated_at',
    ),
  };
  // The row is read before every decision; it is parsed and checked again only when it
  // changed (any edit to it, by any process, changes the text or the version).
  let cached: { row: KillSwitchRow; snapshot: KillSwitchSnapshot } | undefined;
  const read = (_db: SqliteDatabase): KillSwitchSnapshot => {
    const row = stmts.read.get() as KillSwitchRow | undefined;
    if (row !== undefined && cached !== undefined && cached.row.state === row.state && cached.row.version === row.version && cached.row.updated_at === row.updated_at) return cached.snapshot;
    const snapshot = killSwitchFromRow(row);
    cached = row === undefined ? undefined : { row, snapshot };
    return snapshot;
  };
  let listeners: KillSwitchListeners;
  try {
    listeners = new KillSwitchListeners(conn.run('read its state', read).version);
  } catch (err) {
    conn.close();
    return { ok: false, errors: err instanceof BastionException ? err.details : [bastionError('STATE_STORAGE', String(err))] };
  }
  const snapshot = (): KillSwitchSnapshot => {
    const current = conn.run('read its state', read);
    listeners.publish(current);
    return current;
  };
  return {
    ok: true,
    value: {
      get: async () => applyKillSwitchChange(snapshot().state, {}),
      snapshot: async () => copySnapshot(snapshot()),
      async update(change) {
        const clean = checkKillSwitchChange(change);
        const next = conn.write('apply a change', (d) => {
          const before = read(d);
          const after: KillSwitchSnapshot = { state: applyKillSwitchChange(before.state, clean), version: before.version + 1, updatedAt: now() };
          stmts.write.run(JSON.stringify(after.state), after.version, after.updatedAt);
          return after;
        });
        listeners.publish(next);
        return applyKillSwitchChange(next.state, {});
      },
      subscribe: (listener) => listeners.add(listener),
      async close() {
        listeners.clear();
        conn.close();
      },
    } satisfies KillSwitchStore,
  };
}
