/**
 * The stores of one process's own: the data directory's SQLite file (the audit log with its
 * signing key beside it, and every state store) and the in-memory stores. Kept apart from the
 * PostgreSQL and Redis compositions (`./shared.ts`) so that what runs without them (the
 * library's gateway, a `bastion hook` process per tool call) never loads `pg` or `ioredis`.
 */

import type { AuditLog, AuditLogOptions, OpenedReader } from '../audit/index.js';
import { keyDirectory, loadSigningKey, openAuditLog, openAuditReader } from '../audit/index.js';
import type { BastionError } from '../core/errors.js';
import { bastionError, quote } from '../core/errors.js';
import type { Result } from '../core/result.js';
import { fail, ok } from '../core/result.js';
import type { TaintStore } from '../analysis/index.js';
import type { ApprovalStore, NotificationOutbox } from '../approvals/index.js';
import type { ApiKeyStore } from '../identity/index.js';
import type { KillSwitchStore } from '../killswitch/index.js';
import type { LimitStore } from '../limits/index.js';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { createMemoryKillSwitchStore } from './memory/kill-switch.js';
import { createMemoryApprovalStore } from './memory/approvals.js';
import { createMemoryLimitStore } from './memory/limits.js';
import { createMemoryTaintStore } from './memory/taint-store.js';
import { createMemoryApiKeyStore } from './memory/api-keys.js';
import { createMemoryToolPinStore } from './memory/tool-pins.js';
import { openSqliteToolPinStore } from './sqlite/tool-pin-store.js';
import type { ToolPinStore } from './tool-pins.js';
import { openSqliteApiKeyStore } from './sqlite/api-key-store.js';
import { createMemoryNotificationOutbox } from './memory/notification-outbox.js';
import { openSqliteNotificationOutbox } from './sqlite/notification-outbox.js';
import { openSqliteKillSwitchStore } from './sqlite/kill-switch-store.js';
import { openSqliteApprovalStore } from './sqlite/approval-store.js';
import { openSqliteLimitStore } from './sqlite/limit-store.js';
import { openSqliteTaintStore } from './sqlite/taint-store.js';
import { ensureDirectory } from './directory.js';
import { SqliteAuditStore } from './sqlite/audit-store.js';
import { Database, type SqliteDatabase } from './sqlite/driver.js';

export interface SqliteAuditLogOptions extends Omit<AuditLogOptions, 'store' | 'key' | 'name'> {
  /** Where the Ed25519 signing key files live; default the directory of the SQLite file. */
  keyDir?: string;
  /** Default true: `append()` resolves only once the event is on disk (`synchronous=FULL`). */
  durable?: boolean;
}

export function storageError(path: string, err: unknown): BastionError {
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
  const opened = await openSqliteAudit(path, options);
  return opened.ok ? ok(opened.value.log) : opened;
}

/** `openSqliteAuditLog`, also handing out the store (whose connection the other stores share). */
async function openSqliteAudit(path: string, options: SqliteAuditLogOptions): Promise<Result<{ log: AuditLog; store: SqliteAuditStore }, BastionError>> {
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
  const log = await openAuditLog({ ...rest, store, key: keyDirectory(keyDir), name: path });
  return log.ok ? ok({ log: log.value, store }) : log;
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

/** Every store a gateway's state lives in, opened together and closed together. */
export interface StateStores {
  /** Absent for a gateway that records nothing (no data directory). */
  audit?: AuditLog;
  killSwitch: KillSwitchStore;
  approvals: ApprovalStore;
  limits: LimitStore;
  taint: TaintStore;
  /** API keys made with `bastion keys create` (only their hashes). */
  apiKeys: ApiKeyStore;
  /** Approval notifications not yet delivered (redelivered at the next start). */
  notifications: NotificationOutbox;
  /** MCP tool definitions pinned on first sight, and the changes seen since (the MCP proxy). */
  toolPins: ToolPinStore;
  /** Closes every store (the audit log last, so what the others record is flushed first). */
  close(): Promise<void>;
}

export interface SqliteStoresOptions extends SqliteAuditLogOptions {
  /** The file name inside the data directory; default `bastion.db`. */
  file?: string;
  /**
   * An audit log kept elsewhere (PostgreSQL, shared by replicas): the file then holds the
   * other stores only, and the log is closed with them (also when opening them fails).
   */
  auditLog?: AuditLog;
}

/** A connection to the data directory's file for the stores other than the audit log. */
function openStateFile(dataDir: string, path: string, durable: boolean): Result<SqliteDatabase, BastionError> {
  const problem = ensureDirectory(dataDir);
  if (problem) return fail(bastionError('STATE_STORAGE', `while opening ${quote(path)}: ${problem}`));
  try {
    const db = new Database(path);
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${durable ? 'FULL' : 'NORMAL'}`);
    return ok(db);
  } catch (err) {
    return fail(bastionError('STATE_STORAGE', `while opening ${quote(path)}: ${err instanceof Error ? err.message : String(err)}`));
  }
}

export function closeAll(stores: Omit<StateStores, 'close'>, connection?: SqliteDatabase): () => Promise<void> {
  return async () => {
    await Promise.allSettled([
      stores.killSwitch.close(),
      stores.approvals.close(),
      stores.limits.close(),
      stores.apiKeys.close(),
      stores.notifications.close(),
      stores.toolPins.close(),
      stores.taint.close(),
    ]);
    if (connection?.open) connection.close();
    await stores.audit?.close();
  };
}

/**
 * In-memory stores: state lasts as long as the process, and nothing is recorded. What a
 * gateway without a data directory uses, and what tests use.
 */
export function createMemoryStores(): StateStores {
  const stores = {
    killSwitch: createMemoryKillSwitchStore(),
    approvals: createMemoryApprovalStore(),
    limits: createMemoryLimitStore(),
    taint: createMemoryTaintStore(),
    apiKeys: createMemoryApiKeyStore(),
    notifications: createMemoryNotificationOutbox(),
    toolPins: createMemoryToolPinStore(),
  };
  return { ...stores, close: closeAll(stores) };
}

/**
 * Opens every store in one SQLite file in the data directory (`DIR/bastion.db`, created
 * with the directory on first use): the audit log with its signing key beside it, the kill
 * switch, approvals, limits, API keys, the notification outbox, MCP tool pins and taint, each
 * with its own tables (taint in the file, since one trace, a Claude Code session, spans hook
 * processes). On any failure, what was opened is closed again.
 *
 * @example
 * const opened = await openSqliteStores('.bastion');
 * if (!opened.ok) throw new BastionException(opened.errors);
 * const gateway = await createGateway({ policies: ['policies/'], stores: opened.value });
 */
export async function openSqliteStores(dataDir: string, options: SqliteStoresOptions = {}): Promise<Result<StateStores, BastionError>> {
  if (typeof dataDir !== 'string' || dataDir === '') return fail(bastionError('STATE_STORAGE', 'the data directory path is empty'));
  const { file = 'bastion.db', auditLog, ...auditOptions } = options;
  const path = join(dataDir, file);
  let audit: Result<{ log: AuditLog; db: SqliteDatabase }, BastionError>;
  let ownConnection: SqliteDatabase | undefined;
  if (auditLog !== undefined) {
    const db = openStateFile(dataDir, path, auditOptions.durable !== false);
    if (!db.ok) {
      await auditLog.close().catch(() => undefined);
      return db;
    }
    ownConnection = db.value;
    audit = ok({ log: auditLog, db: db.value });
  } else {
    const opened = await openSqliteAudit(path, auditOptions);
    audit = opened.ok ? ok({ log: opened.value.log, db: opened.value.store.db }) : opened;
  }
  if (!audit.ok) return audit;
  // One connection for every store in the file: reads see the audit log's commits at once.
  const shared = { database: audit.value.db };
  const killSwitch = openSqliteKillSwitchStore(path, shared);
  const approvals = killSwitch.ok ? openSqliteApprovalStore(path, shared) : undefined;
  const limits = approvals?.ok ? openSqliteLimitStore(path, shared) : undefined;
  const apiKeys = limits?.ok ? openSqliteApiKeyStore(path, shared) : undefined;
  const notifications = apiKeys?.ok ? openSqliteNotificationOutbox(path, shared) : undefined;
  const toolPins = notifications?.ok ? openSqliteToolPinStore(path, shared) : undefined;
  const taint = toolPins?.ok ? openSqliteTaintStore(path, shared) : undefined;
  if (!killSwitch.ok || !approvals?.ok || !limits?.ok || !apiKeys?.ok || !notifications?.ok || !toolPins?.ok || !taint?.ok) {
    const errors = [killSwitch, approvals, limits, apiKeys, notifications, toolPins, taint].find((r) => r !== undefined && !r.ok);
    await Promise.allSettled([
      killSwitch.ok ? killSwitch.value.close() : undefined,
      approvals?.ok ? approvals.value.close() : undefined,
      limits?.ok ? limits.value.close() : undefined,
      apiKeys?.ok ? apiKeys.value.close() : undefined,
      notifications?.ok ? notifications.value.close() : undefined,
      toolPins?.ok ? toolPins.value.close() : undefined,
      audit.value.log.close(),
    ]);
    if (ownConnection?.open) ownConnection.close();
    return fail(...(errors !== undefined && !errors.ok ? errors.errors : []));
  }
  const stores = {
    audit: audit.value.log,
    killSwitch: killSwitch.value,
    approvals: approvals.value,
    limits: limits.value,
    taint: taint.value,
    apiKeys: apiKeys.value,
    notifications: notifications.value,
    toolPins: toolPins.value,
  };
  return ok({ ...stores, close: closeAll(stores, ownConnection) });
}

// The light face's other members: what the gateway and the app need without the drivers.
export { ensureDirectory } from './directory.js';
export { createMemoryApprovalStore } from './memory/approvals.js';
export { createMemoryLimitStore } from './memory/limits.js';
export { createMemoryTaintStore } from './memory/taint-store.js';
export { openSqliteLimitStore } from './sqlite/limit-store.js';
export type { RedisLimitStore } from './redis/limit-store.js';

/** The PostgreSQL compositions (`openPostgresStores` …), loading `pg` on first use. */
export const loadPostgresStores = (): Promise<typeof import('./shared.js')> => import('./shared.js');

/** The Redis limit store, loading `ioredis` on first use. */
export const loadRedisLimitStore = (): Promise<typeof import('./redis/limit-store.js')> => import('./redis/limit-store.js');
