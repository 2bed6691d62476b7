/**
 * API keys in SQLite (`apikey_keys` in the data directory's `bastion.db`): the key's id, the
 * SHA-256 of its secret, the principal it names, when it was made and revoked. Lookups read
 * the row every time, so a key revoked by `bastion keys revoke` (another process) is refused
 * at the very next request.
 */

import type { BastionError } from '../../core/errors.js';
import { BastionException, bastionError } from '../../core/errors.js';
import type { Result } from '../../core/result.js';
import type { ApiKeyStore, StoredApiKey } from '../../identity/index.js';
import { apiKeyStoreOver } from '../../identity/index.js';
import { openStateDatabase, StateConnection, type SqliteStateOptions } from './state-db.js';

const STORE = 'api key store';

/** `MIGRATIONS[i]` takes the API key tables from version i to i + 1. */
const MIGRATIONS = [
  `CREATE TABLE apikey_keys (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    groups TEXT NOT NULL,
    description TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  )`,
];

export interface ApiKeyRow {
  id: unknown;
  secret_hash: unknown;
  principal_id: unknown;
  groups: unknown;
  description: unknown;
  created_at: unknown;
  revoked_at: unknown;
}

/** Reads a row strictly: a damaged row is an error, never a key that works. */
export function apiKeyFromRow(row: ApiKeyRow): StoredApiKey {
  const bad = (what: string) => new BastionException(bastionError('STATE_STORAGE', `the ${STORE}'s row for \`${String(row.id)}\` (table apikey_keys) is malformed: ${what}`));
  if (typeof row.id !== 'string' || !/^[0-9a-f]{16}$/.test(row.id)) throw bad('id is not a key id');
  if (typeof row.secret_hash !== 'string' || !/^[0-9a-f]{64}$/.test(row.secret_hash)) throw bad('secret_hash is not a SHA-256 in hex');
  if (typeof row.principal_id !== 'string' || row.principal_id === '') throw bad('principal_id is empty');
  let groups: unknown;
  try {
    groups = JSON.parse(String(row.groups));
  } catch {
    throw bad('groups is not JSON');
  }
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) throw bad('groups is not a list of strings');
  if (typeof row.created_at !== 'number' || !Number.isSafeInteger(row.created_at)) throw bad('created_at is not a time in ms');
  if (row.revoked_at !== null && (typeof row.revoked_at !== 'number' || !Number.isSafeInteger(row.revoked_at))) throw bad('revoked_at is not a time in ms');
  if (row.description !== null && typeof row.description !== 'string') throw bad('description is not text');
  const key: StoredApiKey = { id: row.id, secretHash: row.secret_hash, principal: { id: row.principal_id, groups: groups as string[] }, createdAt: row.created_at };
  if (row.revoked_at !== null) key.revokedAt = row.revoked_at as number;
  if (row.description !== null) key.description = row.description as string;
  return key;
}

/**
 * Opens (creating when needed) the API key table in a SQLite file, typically the data
 * directory's `bastion.db` (on the audit log's connection: `{ database }`).
 *
 * @example
 * const opened = openSqliteApiKeyStore('.bastion/bastion.db');
 * if (opened.ok) await opened.value.create({ principal: { id: 'ci-bot' } }, Date.now());
 */
export function openSqliteApiKeyStore(path: string, options: SqliteStateOptions = {}): Result<ApiKeyStore, BastionError> {
  const opened = openStateDatabase(path, STORE, 'apikeys', MIGRATIONS, options);
  if (!opened.ok) return opened;
  const conn = new StateConnection(opened.value, STORE, options.database !== undefined);
  const db = opened.value;
  const stmts = {
    insert: db.prepare('INSERT INTO apikey_keys (id, secret_hash, principal_id, groups, description, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (id) DO NOTHING'),
    read: db.prepare('SELECT * FROM apikey_keys WHERE id = ?'),
    list: db.prepare('SELECT * FROM apikey_keys ORDER BY created_at, id'),
    revoke: db.prepare('UPDATE apikey_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
  };
  return {
    ok: true,
    value: apiKeyStoreOver({
      insert: async (key) =>
        conn.write('store a key', () => stmts.insert.run(key.id, key.secretHash, key.principal.id, JSON.stringify(key.principal.groups), key.description ?? null, key.createdAt).changes === 1),
      read: async (id) =>
        conn.run('read a key', () => {
          const row = stmts.read.get(id) as ApiKeyRow | undefined;
          return row === undefined ? undefined : apiKeyFromRow(row);
        }),
      list: async () => conn.run('list keys', () => (stmts.list.all() as ApiKeyRow[]).map(apiKeyFromRow)),
      revoke: async (id, now) =>
        conn.write('revoke a key', () => {
          stmts.revoke.run(now, id);
          const row = stmts.read.get(id) as ApiKeyRow | undefined;
          return row === undefined ? undefined : apiKeyFromRow(row);
        }),
      close: async () => conn.close(),
    }),
  };
}
