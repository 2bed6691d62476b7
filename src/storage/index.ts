/**
 * Storage adapters behind small interfaces. The embedded default is SQLite in one file.
 */

export type { AuditFilter, AuditStore, ChainHead } from '../audit/store.js';
export { AUDIT_STORE_VERSION, SqliteAuditStore } from './sqlite/audit-store.js';
export type { SqliteAuditStoreOptions } from './sqlite/audit-store.js';
