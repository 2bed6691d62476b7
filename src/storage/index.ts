/**
 * Storage adapters behind the stages' ports. The embedded default is SQLite in one file;
 * the in-memory adapters serve tests and gateways without a data directory. The helpers
 * here open the audit log or a reader on a SQLite file, with the signing key beside it:
 * what the CLI, `bastion serve` and `createGateway({ dataDir })` use.
 */

import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AuditLog, AuditLogOptions, OpenedReader } from '../audit/index.js';
import { keyDirectory, loadSigningKey, openAuditLog, openAuditReader } from '../audit/index.js';
import type { BastionError } from '../core/errors.js';
import { bastionError, quote } from '../core/errors.js';
import type { Result } from '../core/result.js';
import { fail } from '../core/result.js';
import { ensureDirectory } from './directory.js';
import { SqliteAuditStore } from './sqlite/audit-store.js';

export type { AuditFilter, AuditStore, ChainHead } from '../audit/index.js';
export { ensureDirectory } from './directory.js';
export { AUDIT_STORE_VERSION, SqliteAuditStore } from './sqlite/audit-store.js';
export type { SqliteAuditStoreOptions } from './sqlite/audit-store.js';
export { createMemoryAuditStore, MemoryAuditStore } from './memory/audit-store.js';
export type { MemoryAuditTables, MemoryEventRow } from './memory/audit-store.js';

export interface SqliteAuditLogOptions extends Omit<AuditLogOptions, 'store' | 'key' | 'name'> {
  /** Where the Ed25519 signing key files live; default the directory of the SQLite file. */
  keyDir?: string;
  /** Default true: `append()` resolves only once the event is on disk (`synchronous=FULL`). */
  durable?: boolean;
}

function storageError(path: string, err: unknown): BastionError {
  const message = err instanceof Error ? err.message : String(err);
  return bastionError('AUDIT_STORAGE', `while opening ${quote(path)}: ${message.toLowerCase().replace(/\.$/, '')}`, { file: path });
}

/**
 * Opens (creating on first use) the audit log in a SQLite file, e.g. `DIR/bastion.db`, its
 * directory and the signing key beside it created when missing.
 *
 * @example
 * const opened = await openSqliteAuditLog('.bastion/bastion.db', { retentionDays: 2555 });
 * if (!opened.ok) throw new BastionException(opened.errors);
 */
export async function openSqliteAuditLog(path: string, options: SqliteAuditLogOptions = {}): Promise<Result<AuditLog, BastionError>> {
  if (typeof path !== 'string' || path === '') return fail(bastionError('AUDIT_STORAGE', 'audit log path is empty'));
  const { keyDir = dirname(path), durable, ...rest } = options;
  for (const dir of new Set([dirname(path), keyDir])) {
    const problem = ensureDirectory(dir);
    if (problem) return fail(bastionError('AUDIT_STORAGE', `while opening ${quote(path)}: ${problem}`, { file: path }));
  }
  let store: SqliteAuditStore;
  try {
    store = new SqliteAuditStore(path, { synchronous: durable === false ? 'NORMAL' : 'FULL' });
  } catch (err) {
    return fail(storageError(path, err));
  }
  return openAuditLog({ ...rest, store, key: keyDirectory(keyDir), name: path });
}

export interface SqliteAuditReaderOptions {
  /** Where to look for the key files; default the directory of the SQLite file. */
  keyDir?: string;
  /** A public key held elsewhere: the strongest check, since the log's operator cannot swap it. */
  publicKeyPem?: string;
}

/**
 * Opens an existing SQLite audit log read-only, for verifying, querying and exporting. The
 * public key comes from `publicKeyPem`, else the key files next to the log, else (reported
 * as `keySource: 'database'`) the copy stored in the log itself.
 *
 * @example
 * const reader = await openSqliteAuditReader('.bastion/bastion.db');
 * if (reader.ok) console.log((await reader.value.verify()).ok);
 */
export async function openSqliteAuditReader(path: string, options: SqliteAuditReaderOptions = {}): Promise<Result<OpenedReader, BastionError>> {
  if (!existsSync(path)) return fail(bastionError('AUDIT_STORAGE', `audit log ${quote(path)} does not exist`, { file: path }));
  let store: SqliteAuditStore;
  try {
    store = new SqliteAuditStore(path, { readOnly: true });
  } catch (err) {
    return fail(storageError(path, err));
  }
  if (options.publicKeyPem !== undefined) return openAuditReader({ store, publicKeyPem: options.publicKeyPem, keySource: 'option', name: path });
  const fromFile = loadSigningKey(options.keyDir ?? dirname(path));
  if (typeof fromFile !== 'string') return openAuditReader({ store, publicKeyPem: fromFile.publicKeyPem, keySource: 'key-file', name: path });
  return openAuditReader({ store, name: path });
}
