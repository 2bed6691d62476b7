/**
 * The stores shared by replicas: the audit log and every state store in PostgreSQL
 * (`openPostgresStores`, one pool per process), migrations (`migratePostgres`), readers of a
 * chain in PostgreSQL. Loaded only by what uses them (`bastion serve` with `storage.kind:
 * postgres`, the CLI's `--postgres` commands), through `agent-bastion/storage`.
 */

import pg from 'pg';
import type { AuditLog, AuditLogOptions, OpenedReader } from '../audit/index.js';
import { loadSigningKey, openAuditLog, openAuditReader } from '../audit/index.js';
import type { BastionError } from '../core/errors.js';
import { BastionException, bastionError, quote } from '../core/errors.js';
import type { Result } from '../core/result.js';
import { fail, ok } from '../core/result.js';
import type { LimitStore } from '../limits/index.js';
import { closeAll, type StateStores, storageError } from './local.js';
import { createMemoryLimitStore } from './memory/limits.js';
import { guardPool } from './postgres/state.js';
import { AUDIT_MIGRATIONS, openPostgresAuditStore, type PostgresAuditStore, redactPostgresUrl } from './postgres/audit-store.js';
import { APPROVAL_MIGRATIONS, openPostgresApprovalStore } from './postgres/approval-store.js';
import { API_KEY_MIGRATIONS, openPostgresApiKeyStore } from './postgres/api-key-store.js';
import { KILL_SWITCH_MIGRATIONS, openPostgresKillSwitchStore, type PostgresKillSwitchStoreOptions } from './postgres/kill-switch-store.js';
import { type Migration, type MigrationReport, migrate } from './postgres/migrate.js';
import { OUTBOX_MIGRATIONS, openPostgresNotificationOutbox } from './postgres/notification-outbox.js';
import { openPostgresTaintStore, type PostgresTaintStoreOptions, TAINT_MIGRATIONS } from './postgres/taint-store.js';
import { openPostgresToolPinStore, TOOL_PIN_MIGRATIONS } from './postgres/tool-pin-store.js';

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
