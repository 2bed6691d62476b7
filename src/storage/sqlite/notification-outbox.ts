/**
 * The notification outbox in SQLite (`notification_outbox` in `bastion.db`): one row per
 * undelivered notification, the entry as JSON beside its delivery id, attempts and creation
 * time. A row that does not read back as an entry is a `STATE_STORAGE` error naming it.
 */

import type { NotificationOutbox, OutboxEntry } from '../../approvals/index.js';
import { parseOutboxEntry } from '../../approvals/index.js';
import type { BastionError } from '../../core/errors.js';
import { BastionException, bastionError } from '../../core/errors.js';
import type { Result } from '../../core/result.js';
import { openStateDatabase, StateConnection, type SqliteStateOptions } from './state-db.js';

const STORE = 'notification outbox';

/** `MIGRATIONS[i]` takes the outbox tables from version i to i + 1. */
const MIGRATIONS = [
  `CREATE TABLE notification_outbox (
    delivery TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX notification_outbox_order ON notification_outbox (created_at, delivery);`,
];

export interface OutboxRow {
  delivery: string;
  created_at: number;
  attempts: number;
  body: string;
}

/** Reads a row strictly (also the PostgreSQL adapter's rows). */
export function outboxFromRow(row: OutboxRow): OutboxEntry {
  let body: unknown;
  try {
    body = JSON.parse(row.body);
  } catch {
    body = undefined;
  }
  const parsed = parseOutboxEntry(body);
  if (!parsed.ok || parsed.value.delivery !== row.delivery) {
    throw new BastionException(
      bastionError('STATE_STORAGE', `the ${STORE}'s row for \`${row.delivery}\` (table notification_outbox) is malformed: ${parsed.ok ? 'its delivery id disagrees with its body' : parsed.error}`),
    );
  }
  return { ...parsed.value, attempts: row.attempts };
}

/**
 * Opens (creating when needed) the outbox table in a SQLite file, typically `bastion.db`.
 *
 * @example const opened = openSqliteNotificationOutbox('.bastion/bastion.db'); if (opened.ok) await opened.value.pending();
 */
export function openSqliteNotificationOutbox(path: string, options: SqliteStateOptions = {}): Result<NotificationOutbox, BastionError> {
  const opened = openStateDatabase(path, STORE, 'notifications', MIGRATIONS, options);
  if (!opened.ok) return opened;
  const db = opened.value;
  const conn = new StateConnection(db, STORE, options.database !== undefined);
  const stmts = {
    insert: db.prepare('INSERT INTO notification_outbox (delivery, created_at, attempts, body) VALUES (?, ?, ?, ?) ON CONFLICT (delivery) DO NOTHING'),
    read: db.prepare('SELECT delivery, created_at, attempts, body FROM notification_outbox WHERE delivery = ?'),
    write: db.prepare('UPDATE notification_outbox SET attempts = ?, body = ? WHERE delivery = ?'),
    remove: db.prepare('DELETE FROM notification_outbox WHERE delivery = ?'),
    all: db.prepare('SELECT delivery, created_at, attempts, body FROM notification_outbox ORDER BY created_at, delivery'),
  };
  return {
    ok: true,
    value: {
      add: async (entry) => void conn.write('keep a notification', () => stmts.insert.run(entry.delivery, entry.createdAt, entry.attempts, JSON.stringify(entry))),
      attempted: async (delivery, attempts, lastError) =>
        conn.write('record a notification attempt', () => {
          const row = stmts.read.get(delivery) as OutboxRow | undefined;
          if (row === undefined) return;
          stmts.write.run(attempts, JSON.stringify({ ...outboxFromRow(row), attempts, lastError }), delivery);
        }),
      remove: async (delivery) => void conn.write('forget a notification', () => stmts.remove.run(delivery)),
      pending: async () => conn.run('read the notification outbox', () => (stmts.all.all() as OutboxRow[]).map(outboxFromRow)),
      close: async () => conn.close(),
    },
  };
}
