/**
 * Storage adapters behind the stages' ports. The embedded default is SQLite in one file;
 * the in-memory adapters serve tests and gateways without a data directory. The helpers
 * here open the audit log or a reader on a SQLite file, with the signing key beside it:
 * what the CLI, `bastion serve` and `createGateway({ dataDir })` use. The audit log can also
 * live in PostgreSQL (`openPostgresAuditLog`), one chain for several replicas, and so can every
 * other store but the limits (`openPostgresStores`).
 */

import { guardPool } from './postgres/state.js';
import { openPostgresApprovalStore } from './postgres/approval-store.js';
import { openPostgresApiKeyStore } from './postgres/api-key-store.js';
import { openPostgresKillSwitchStore, type PostgresKillSwitchStoreOptions } from './postgres/kill-switch-store.js';
import type { Migration, MigrationReport } from './postgres/migrate.js';
import { openPostgresNotificationOutbox } from './postgres/notification-outbox.js';
import { openPostgresTaintStore, type PostgresTaintStoreOptions } from './postgres/taint-store.js';
import { openPostgresToolPinStore } from './postgres/tool-pin-store.js';
import { createMemoryKillSwitchStore } from './memory/kill-switch.js';
import { createMemoryApprovalStore } from './memory/approvals.js';
import { createMemoryLimitStore } from './memory/limits.js';
import { createMemoryTaintStore } from './memory/taint-store.js';
import { createMemoryApiKeyStore } from './memory/api-keys.js';
import { createMemoryToolPinStore } from './memory/tool-pins.js';
import { openSqliteToolPinStore } from './sqlite/tool-pin-store.js';
import { openSqliteApiKeyStore } from './sqlite/api-key-store.js';
import { createMemoryNotificationOutbox } from './memory/notification-outbox.js';
import { openSqliteNotificationOutbox } from './sqlite/notification-outbox.js';
import { openSqliteKillSwitchStore } from './sqlite/kill-switch-store.js';
import { openSqliteApprovalStore } from './sqlite/approval-store.js';
import { openSqliteLimitStore } from './sqlite/limit-store.js';
import { DEFAULT_REDIS_LIMIT_PREFIX, openRedisLimitStore, redisTarget } from './redis/limit-store.js';
import { openSqliteTaintStore } from './sqlite/taint-store.js';

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
export { createMemoryStores, openSqliteAuditLog, openSqliteAuditReader, openSqliteStores } from './local.js';
export type { SqliteAuditLogOptions, SqliteAuditReaderOptions, SqliteStoresOptions, StateStores } from './local.js';
export { migratePostgres, openPostgresAuditLog, openPostgresAuditReader, openPostgresStores, POSTGRES_MIGRATIONS } from './shared.js';
export type { PostgresAuditLogOptions, PostgresAuditReaderOptions, PostgresStoresOptions } from './shared.js';

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
