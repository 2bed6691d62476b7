/**
 * The notification outbox on PostgreSQL (`notification_outbox`, the columns of the SQLite
 * table): undelivered approval notifications outlive the replica that queued them.
 */

import type pg from 'pg';
import type { NotificationOutbox } from '../../approvals/index.js';
import { type OutboxRow, outboxFromRow } from '../sqlite/notification-outbox.js';
import type { Migration } from './migrate.js';
import { ms, type PostgresStateOptions, prepare } from './state.js';

const STORE = 'notification outbox';

export const OUTBOX_MIGRATIONS: readonly Migration[] = [
  {
    component: 'notifications',
    version: 1,
    description: 'notification outbox',
    sql: `
CREATE TABLE notification_outbox (
  delivery text PRIMARY KEY,
  created_at bigint NOT NULL,
  attempts integer NOT NULL,
  body text NOT NULL
);
CREATE INDEX notification_outbox_order ON notification_outbox (created_at, delivery);
`,
  },
];

const COLUMNS = `delivery, ${ms('created_at')}, attempts, body`;

/**
 * Opens the outbox on a pool (its table made or brought up to date first, unless `migrate: false`).
 *
 * @example const outbox = await openPostgresNotificationOutbox(pool); await outbox.pending();
 */
export async function openPostgresNotificationOutbox(pool: pg.Pool, options: PostgresStateOptions = {}): Promise<NotificationOutbox> {
  const db = await prepare(pool, STORE, OUTBOX_MIGRATIONS, options);
  return {
    add: (entry) =>
      db.run('keep a notification', async (q) => {
        await q.query('INSERT INTO notification_outbox (delivery, created_at, attempts, body) VALUES ($1, $2, $3, $4) ON CONFLICT (delivery) DO NOTHING', [
          entry.delivery,
          entry.createdAt,
          entry.attempts,
          JSON.stringify(entry),
        ]);
      }),
    attempted: (delivery, attempts, lastError) =>
      db.tx('record a notification attempt', async (client) => {
        const row = (await client.query<OutboxRow>(`SELECT ${COLUMNS} FROM notification_outbox WHERE delivery = $1 FOR UPDATE`, [delivery])).rows[0];
        if (row === undefined) return;
        await client.query('UPDATE notification_outbox SET attempts = $1, body = $2 WHERE delivery = $3', [attempts, JSON.stringify({ ...outboxFromRow(row), attempts, lastError }), delivery]);
      }),
    remove: (delivery) =>
      db.run('forget a notification', async (q) => {
        await q.query('DELETE FROM notification_outbox WHERE delivery = $1', [delivery]);
      }),
    pending: () => db.run('read the notification outbox', async (q) => (await q.query<OutboxRow>(`SELECT ${COLUMNS} FROM notification_outbox ORDER BY created_at, delivery`)).rows.map(outboxFromRow)),
    close: () => db.close(),
  };
}
