/**
 * API keys on PostgreSQL (`apikey_keys`, the columns of the SQLite table): every replica
 * reads the same keys, and a lookup reads the row every time, so a key revoked through any
 * replica or `bastion keys revoke --postgres URL` is refused by all at their next request.
 */

import type pg from 'pg';
import type { ApiKeyStore } from '../../identity/index.js';
import { apiKeyStoreOver } from '../../identity/index.js';
import { type ApiKeyRow, apiKeyFromRow } from '../sqlite/api-key-store.js';
import type { Migration } from './migrate.js';
import { ms, type PostgresStateOptions, prepare } from './state.js';

const STORE = 'api key store';

export const API_KEY_MIGRATIONS: readonly Migration[] = [
  {
    component: 'apikeys',
    version: 1,
    description: 'api keys (hashed)',
    sql: `
CREATE TABLE apikey_keys (
  id text PRIMARY KEY,
  secret_hash text NOT NULL,
  principal_id text NOT NULL,
  groups text NOT NULL,
  description text,
  created_at bigint NOT NULL,
  revoked_at bigint
);
CREATE INDEX apikey_keys_order ON apikey_keys (created_at, id);
`,
  },
];

const COLUMNS = `id, secret_hash, principal_id, groups, description, ${ms('created_at')}, ${ms('revoked_at')}`;

/**
 * Opens the API key store on a pool (its table made or brought up to date first, unless
 * `migrate: false`).
 *
 * @example
 * const keys = await openPostgresApiKeyStore(pool);
 * const made = await keys.create({ principal: { id: 'ci-bot' } }, Date.now());
 */
export async function openPostgresApiKeyStore(pool: pg.Pool, options: PostgresStateOptions = {}): Promise<ApiKeyStore> {
  const db = await prepare(pool, STORE, API_KEY_MIGRATIONS, options);
  return apiKeyStoreOver({
    insert: (key) =>
      db.run(
        'store a key',
        async (q) =>
          (
            await q.query('INSERT INTO apikey_keys (id, secret_hash, principal_id, groups, description, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, NULL) ON CONFLICT (id) DO NOTHING', [
              key.id,
              key.secretHash,
              key.principal.id,
              JSON.stringify(key.principal.groups),
              key.description ?? null,
              key.createdAt,
            ])
          ).rowCount === 1,
      ),
    read: (id) =>
      db.run('read a key', async (q) => {
        const row = (await q.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM apikey_keys WHERE id = $1`, [id])).rows[0];
        return row === undefined ? undefined : apiKeyFromRow(row);
      }),
    list: () => db.run('list keys', async (q) => (await q.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM apikey_keys ORDER BY created_at, id`)).rows.map(apiKeyFromRow)),
    // The first revocation's time is kept: revoked_at is set only while NULL. The read is a
    // statement of its own, so under READ COMMITTED it sees a concurrent revocation that the
    // UPDATE waited for (one statement would read the row as of before it).
    revoke: (id, now) =>
      db.tx('revoke a key', async (client) => {
        await client.query('UPDATE apikey_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [id, now]);
        const row = (await client.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM apikey_keys WHERE id = $1`, [id])).rows[0];
        return row === undefined ? undefined : apiKeyFromRow(row);
      }),
    close: () => db.close(),
  });
}
