/**
 * Storage adapters behind the stages' ports. The embedded default is SQLite in one file;
 * the in-memory adapters serve tests and gateways without a data directory. The helpers
 * here open the audit log or a reader on a SQLite file, with the signing key beside it:
 * what the CLI, `bastion serve` and `createGateway({ dataDir })` use. The audit log can also
 * live in PostgreSQL (`openPostgresAuditLog`), one chain for several replicas, and so can every
 * other store but the limits (`openPostgresStores`).
 */

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AuditLog, AuditLogOptions, OpenedReader } from '../audit/index.js';
import { keyDirectory, loadSigningKey, openAuditLog, openAuditReader } from '../audit/index.js';
import type { BastionError } from '../core/errors.js';
import { BastionException, bastionError, quote } from '../core/errors.js';
import type { Result } from '../core/result.js';
import { fail, ok } from '../core/result.js';
import type { TaintStore } from '../analysis/index.js';
import type { ApprovalStore, NotificationOutbox } from '../approvals/index.js';
import type { ApiKeyStore } from '../identity/index.js';
import type { KillSwitchStore } from '../killswitch/index.js';
import type { LimitStore } from '../limits/index.js';
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
import { DEFAULT_REDIS_LIMIT_PREFIX, openRedisLimitStore, redisTarget } from './redis/limit-store.js';
import { openSqliteTaintStore } from './sqlite/taint-store.js';
import { ensureDirectory } from './directory.js';
import { SqliteAuditStore } from './sqlite/audit-store.js';
import { Database, type SqliteDatabase } from './sqlite/driver.js';
import pg from 'pg';
import { guardPool } from './postgres/state.js';
import { AUDIT_MIGRATIONS, openPostgresAuditStore, type PostgresAuditStore, redactPostgresUrl } from './postgres/audit-store.js';
import { APPROVAL_MIGRATIONS, openPostgresApprovalStore } from './postgres/approval-store.js';
import { API_KEY_MIGRATIONS, openPostgresApiKeyStore } from './postgres/api-key-store.js';
import { KILL_SWITCH_MIGRATIONS, openPostgresKillSwitchStore, type PostgresKillSwitchStoreOptions } from './postgres/kill-switch-store.js';
import { type Migration, type MigrationReport, migrate } from './postgres/migrate.js';
import { OUTBOX_MIGRATIONS, openPostgresNotificationOutbox } from './postgres/notification-outbox.js';
import { openPostgresTaintStore, type PostgresTaintStoreOptions, TAINT_MIGRATIONS } from './postgres/taint-store.js';
import { openPostgresToolPinStore, TOOL_PIN_MIGRATIONS } from './postgres/tool-pin-store.js';

export type { AuditFilter, AuditStore, ChainHead } from '../audit/index.js';
export type { ToolChange, ToolPin, ToolPinStatus, ToolPinStore } from './tool-pins.js';
export { ensureDirectory } from './directory.js';
export { AUDIT_STORE_VERSION, SqliteAuditStore } from './sqlite/audit-store.js';
export type { SqliteAuditStoreOptions } from './sqlite/audit-store.js';
export { createMemoryAuditStore, MemoryAuditStore } from './memory/audit-store.js';
export { openPostgresAuditStore, PostgresAuditStore, redactPostgresUrl } from './postgres/audit-store.js';
export type { PostgresAuditStoreOptions } from './postgres/audit-store.js';
export { openPostgresApprovalStore, openPostgresApiKeyStore, openPostgresKillSwitchStore, openPostgresNotificationOutbox, openPostgresTaintStore, openPostgresToolPinStore };
export type { PostgresKillSwitchStoreOptions, PostgresTaintStoreOptions, Migration, MigrationReport };
export type { PostgresStateOptions } from './postgres/state.js';
export { guardPool };
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

export interface PostgresAuditLogOptions extends Omit<AuditLogOptions, 'store' | 'name'> {}

export interface PostgresAuditReaderOptions {
  /** Where to look for the signing key files (their public half is used). */
  keyDir?: string;
  /** A public key held elsewhere: the strongest check, since the log's operator cannot swap it. */
  publicKeyPem?: string;
}

/**
 * Opens the audit log in PostgreSQL at `url` (its tables made or brought up to date first,
 * safely from every replica at once). Every replica appending to the one chain must be given
 * the same signing key (`keyDirectory(dir)` over the same key files): see docs/audit.md,
 * "Several replicas". Messages name the URL without its password.
 *
 * @example
 * const log = await openPostgresAuditLog('postgres://bastion@db/bastion', { key: keyDirectory('/etc/bastion/audit-key') });
 */
export async function openPostgresAuditLog(url: string, options: PostgresAuditLogOptions): Promise<Result<AuditLog, BastionError>> {
  const name = redactPostgresUrl(url);
  let store: PostgresAuditStore;
  try {
    store = await openPostgresAuditStore(url);
  } catch (err) {
    return fail(storageError(name, err));
  }
  return openAuditLog({ ...options, store, name });
}

/**
 * Opens a reader over the audit log in PostgreSQL at `url` (verify, query, export). The
 * public key: `publicKeyPem`, else the key files in `keyDir`, else the copy in the database.
 *
 * @example
 * const reader = await openPostgresAuditReader(process.env.BASTION_POSTGRES_URL ?? '');
 * if (reader.ok) console.log((await reader.value.verify()).ok);
 */
export async function openPostgresAuditReader(url: string, options: PostgresAuditReaderOptions = {}): Promise<Result<OpenedReader, BastionError>> {
  const name = redactPostgresUrl(url);
  let store: PostgresAuditStore;
  try {
    // A reader never changes the schema: a database without the audit tables is reported.
    store = await openPostgresAuditStore(url, { migrate: false });
    const tables = await store.pool.query<{ present: boolean }>("SELECT to_regclass('audit_events') IS NOT NULL AS present");
    if (!tables.rows[0]?.present) {
      await store.close();
      return fail(bastionError('AUDIT_STORAGE', `while opening ${quote(name)}: the database holds no audit log`, { file: name }));
    }
  } catch (err) {
    return fail(storageError(name, err));
  }
  if (options.publicKeyPem !== undefined) return openAuditReader({ store, publicKeyPem: options.publicKeyPem, keySource: 'option', name });
  const fromFile = options.keyDir === undefined ? undefined : loadSigningKey(options.keyDir);
  if (fromFile !== undefined && typeof fromFile !== 'string') return openAuditReader({ store, publicKeyPem: fromFile.publicKeyPem, keySource: 'key-file', name });
  return openAuditReader({ store, name });
}

export {
  createMemoryKillSwitchStore,
  createMemoryApprovalStore,
  createMemoryLimitStore,
  createMemoryTaintStore,
  createMemoryApiKeyStore,
  createMemoryNotificationOutbox,
  openSqliteKillSwitchStore,
  openSqliteApprovalStore,
  openSqliteLimitStore,
  openRedisLimitStore,
  redisTarget,
  DEFAULT_REDIS_LIMIT_PREFIX,
  openSqliteApiKeyStore,
  openSqliteNotificationOutbox,
  createMemoryToolPinStore,
  openSqliteToolPinStore,
  openSqliteTaintStore,
};
export type { SqliteTaintStoreOptions } from './sqlite/taint-store.js';
export { TAINT_LIMIT } from './memory/taint-store.js';
export type { SqliteKillSwitchStoreOptions } from './sqlite/kill-switch-store.js';
export type { SqliteStateOptions } from './sqlite/state-db.js';
export type { RedisLimitStore, RedisLimitStoreOptions } from './redis/limit-store.js';

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

function closeAll(stores: Omit<StateStores, 'close'>, connection?: SqliteDatabase): () => Promise<void> {
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

/** Every schema step of the PostgreSQL stores: the audit log's, then the state stores'. */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  ...AUDIT_MIGRATIONS,
  ...APPROVAL_MIGRATIONS,
  ...KILL_SWITCH_MIGRATIONS,
  ...API_KEY_MIGRATIONS,
  ...OUTBOX_MIGRATIONS,
  ...TOOL_PIN_MIGRATIONS,
  ...TAINT_MIGRATIONS,
];

function postgresError(code: 'STATE_STORAGE' | 'AUDIT_STORAGE', name: string, err: unknown): BastionError {
  if (err instanceof BastionException) return err.details[0] ?? bastionError(code, `while opening ${quote(name)}: ${err.message}`);
  const message = err instanceof Error ? err.message || (err as NodeJS.ErrnoException).code || err.name : String(err);
  return bastionError(code, `while opening ${quote(name)}: ${message.split('\n')[0]?.toLowerCase().replace(/\.$/, '')}`, { file: name });
}

/** A pool on `url`, or the reason there cannot be one (a URL that is not a postgres:// URL). */
function poolOn(url: string, max: number): Result<pg.Pool, BastionError> {
  if (typeof url !== 'string' || !/^postgres(ql)?:\/\/\S+$/.test(url)) {
    return fail(bastionError('STATE_STORAGE', `${quote(redactPostgresUrl(String(url)))} is not a postgres:// or postgresql:// URL`));
  }
  // A client that loses its server, idle or checked out, must not crash the process: the query fails instead.
  return ok(guardPool(new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 10_000 })));
}

/**
 * Applies the schema steps of every PostgreSQL store not yet applied (what `bastion migrate`
 * and every start do; safe from several replicas at once). Answers the steps applied and the
 * version of each component now.
 *
 * @example
 * const report = await migratePostgres(process.env.BASTION_POSTGRES_URL ?? '');
 * if (report.ok) console.log(report.value.applied.length, 'steps applied');
 */
export async function migratePostgres(url: string): Promise<Result<MigrationReport & { current: Array<{ component: string; version: number }> }, BastionError>> {
  const pool = poolOn(url, 1);
  if (!pool.ok) return pool;
  const name = redactPostgresUrl(url);
  try {
    const report = await migrate(pool.value, POSTGRES_MIGRATIONS);
    const current = await pool.value.query<{ component: string; version: number }>('SELECT component, max(version) AS version FROM bastion_schema_migrations GROUP BY component ORDER BY component');
    return ok({ applied: report.applied, current: current.rows });
  } catch (err) {
    return fail(postgresError('STATE_STORAGE', name, err));
  } finally {
    await pool.value.end().catch(() => undefined);
  }
}

export interface PostgresStoresOptions extends PostgresAuditLogOptions {
  /**
   * Where rate limits and budgets count: default in process memory (per replica). A shared
   * store (Redis) or the data directory's SQLite file can be passed; it is closed with the others.
   */
  limits?: LimitStore;
  /** The kill switch's re-read interval and staleness bound (see `openPostgresKillSwitchStore`). */
  killSwitch?: Pick<PostgresKillSwitchStoreOptions, 'refreshMs' | 'staleAfterMs' | 'reconnectMs'>;
  taint?: Pick<PostgresTaintStoreOptions, 'ttlMs' | 'limit' | 'sourcesLimit'>;
  /** Connections in the one pool every store shares (default 10; the kill switch's listening connection is apart). */
  poolSize?: number;
  /** Open the state stores only, no audit log (e.g. `bastion keys`, whose events are then not audited). */
  audit?: false;
}

/**
 * Opens every store on one PostgreSQL database, shared by every replica: the audit log (one
 * chain), approvals, the kill switch (changes pushed by LISTEN/NOTIFY), API keys, the
 * notification outbox, MCP tool pins and taint, on one pool, the schema brought up to date
 * first. Limits are not in PostgreSQL: pass `limits` (default in memory). On any failure
 * what was opened is closed again; messages name the URL without its password.
 *
 * @example
 * const opened = await openPostgresStores(url, { key: keyDirectory('/etc/bastion/audit-key') });
 * if (!opened.ok) throw new BastionException(opened.errors);
 */
export async function openPostgresStores(url: string, options: PostgresStoresOptions): Promise<Result<StateStores, BastionError>> {
  const { limits: givenLimits, killSwitch: killSwitchOptions = {}, taint: taintOptions = {}, poolSize = 10, audit: withAudit, ...auditOptions } = options;
  const closeLimits = async () => void (await givenLimits?.close().catch(() => undefined));
  const pool = poolOn(url, poolSize);
  if (!pool.ok) {
    await closeLimits();
    return pool;
  }
  const name = redactPostgresUrl(url);
  const opened: Array<{ close(): Promise<void> }> = [];
  const track = <T extends { close(): Promise<void> }>(store: T): T => {
    opened.push(store);
    return store;
  };
  try {
    await migrate(pool.value, POSTGRES_MIGRATIONS);
    const state = { migrate: false };
    const stores = {
      killSwitch: track(await openPostgresKillSwitchStore(pool.value, { ...state, ...killSwitchOptions })),
      approvals: track(await openPostgresApprovalStore(pool.value, state)),
      limits: track(givenLimits ?? createMemoryLimitStore()),
      taint: track(await openPostgresTaintStore(pool.value, { ...state, ...taintOptions })),
      apiKeys: track(await openPostgresApiKeyStore(pool.value, state)),
      notifications: track(await openPostgresNotificationOutbox(pool.value, state)),
      toolPins: track(await openPostgresToolPinStore(pool.value, state)),
    };
    let audit: AuditLog | undefined;
    if (withAudit !== false) {
      const store = await openPostgresAuditStore(pool.value, { migrate: false, ownsPool: false });
      const log = await openAuditLog({ ...auditOptions, store, name });
      if (!log.ok) {
        await Promise.allSettled(opened.map((s) => s.close()));
        await pool.value.end().catch(() => undefined);
        return log;
      }
      audit = log.value;
    }
    const all = { ...stores, ...(audit !== undefined ? { audit } : {}) };
    const closeStores = closeAll(all);
    return ok({
      ...all,
      close: async () => {
        await closeStores();
        if (!pool.value.ended) await pool.value.end().catch(() => undefined);
      },
    });
  } catch (err) {
    await Promise.allSettled(opened.map((s) => s.close()));
    if (givenLimits !== undefined && !opened.includes(givenLimits)) await closeLimits();
    await pool.value.end().catch(() => undefined);
    return fail(postgresError('STATE_STORAGE', name, err));
  }
}
