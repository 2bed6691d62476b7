/**
 * The approval store in SQLite: one row per approval (`approval_records`), the whole record
 * as JSON beside indexed copies of the columns lists filter on (status, requester, creation
 * and expiry times). Reads check that the copies agree with the record, so an edited column
 * cannot make an approval look approved.
 *
 * Every change is one `BEGIN IMMEDIATE` transaction (read, apply the stage's rules, write
 * with the version read), so two processes consuming one approval get exactly one success.
 * Listeners hear of this store's own changes only; another process's changes show on read.
 */

import type { ApprovalBackend, ApprovalRecord, ApprovalStore, ListQuery } from '../../approvals/index.js';
import { approvalStoreOver, expireApproval, parseApprovalRecord } from '../../approvals/index.js';
import type { BastionError } from '../../core/errors.js';
import { BastionException, bastionError } from '../../core/errors.js';
import type { Result } from '../../core/result.js';
import type { SqliteDatabase } from './driver.js';
import { openStateDatabase, StateConnection, type SqliteStateOptions } from './state-db.js';

const STORE = 'approval store';

/** `MIGRATIONS[i]` takes the approval tables from version i to i + 1. */
const MIGRATIONS = [
  `CREATE TABLE approval_records (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    requester TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX approval_records_order ON approval_records (created_at, id);
  CREATE INDEX approval_records_due ON approval_records (status, expires_at);`,
];

export interface ApprovalRow {
  id: string;
  status: string;
  requester: string;
  created_at: number;
  expires_at: number;
  version: number;
  body: string;
}

function malformed(id: unknown, what: string): BastionException {
  return new BastionException(bastionError('STATE_STORAGE', `the ${STORE}'s row for \`${String(id)}\` (table approval_records) is malformed: ${what}`));
}

/** Reads a row strictly (also the PostgreSQL adapter's rows, the same columns). */
export function approvalFromRow(row: ApprovalRow): ApprovalRecord {
  let body: unknown;
  try {
    body = JSON.parse(row.body);
  } catch {
    throw malformed(row.id, 'body is not JSON');
  }
  const parsed = parseApprovalRecord(body, 'body');
  if (!parsed.ok) throw malformed(row.id, parsed.errors.map((e) => e.message).join('; '));
  const r = parsed.value;
  if (r.id !== row.id || r.status !== row.status || r.requester.id !== row.requester || r.createdAt !== row.created_at || r.expiresAt !== row.expires_at || r.version !== row.version) {
    throw malformed(row.id, 'its columns disagree with its body');
  }
  return r;
}

const COLUMNS = 'id, status, requester, created_at, expires_at, version, body';

function values(r: ApprovalRecord): [string, string, string, number, number, number, string] {
  return [r.id, r.status, r.requester.id, r.createdAt, r.expiresAt, r.version, JSON.stringify(r)];
}

// The effective status of a row at time `@now` (see `effectiveStatus`).
const EFFECTIVE_STATUS = "(CASE WHEN status IN ('pending', 'approved') AND expires_at <= @now THEN 'expired' ELSE status END)";

function pageSql(query: ListQuery): string {
  const where: string[] = [];
  if (query.after !== undefined) where.push('(created_at > @afterCreated OR (created_at = @afterCreated AND id > @afterId))');
  if (query.requester !== undefined) where.push('requester = @requester');
  if (query.status !== undefined) where.push(`${EFFECTIVE_STATUS} = @status`);
  return `SELECT ${COLUMNS} FROM approval_records ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT @limit`;
}

/**
 * Opens (creating when needed) the approval tables in a SQLite file, typically the data
 * directory's `bastion.db`.
 *
 * @example
 * const opened = openSqliteApprovalStore('.bastion/bastion.db');
 * if (opened.ok) await opened.value.consume(id, bindingHash, Date.now());
 */
export function openSqliteApprovalStore(path: string, options: SqliteStateOptions = {}): Result<ApprovalStore, BastionError> {
  const opened = openStateDatabase(path, STORE, 'approvals', MIGRATIONS, options);
  if (!opened.ok) return opened;
  const db: SqliteDatabase = opened.value;
  const conn = new StateConnection(db, STORE, options.database !== undefined);
  const stmts = {
    insert: db.prepare(`INSERT INTO approval_records (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
    read: db.prepare(`SELECT ${COLUMNS} FROM approval_records WHERE id = ?`),
    write: db.prepare('UPDATE approval_records SET status = ?, requester = ?, created_at = ?, expires_at = ?, version = ?, body = ? WHERE id = ? AND version = ?'),
    due: db.prepare(`SELECT ${COLUMNS} FROM approval_records WHERE status IN ('pending', 'approved') AND expires_at <= ? ORDER BY created_at, id`),
  };
  const pages = new Map<string, ReturnType<SqliteDatabase['prepare']>>();
  const read = (id: string): ApprovalRecord | undefined => {
    const row = stmts.read.get(id) as ApprovalRow | undefined;
    return row === undefined ? undefined : approvalFromRow(row);
  };
  const write = (before: ApprovalRecord, after: ApprovalRecord): void => {
    const [id, ...rest] = values(after);
    // INVARIANT: inside BEGIN IMMEDIATE nobody else can have moved the version; a miss is a bug.
    if (stmts.write.run(...rest, id, before.version).changes !== 1) throw new Error(`approval \`${id}\` changed under an open transaction`);
  };
  const backend: ApprovalBackend = {
    insert: async (record) => conn.write('store an approval', () => stmts.insert.run(...values(record)).changes === 1),
    read: async (id) => conn.run('read an approval', () => read(id)),
    update: async (id, change) =>
      conn.write('change an approval', () => {
        const before = read(id);
        const result = change(before);
        if (result.ok && before !== undefined) write(before, result.value);
        return result;
      }),
    page: async (query, now) =>
      conn.run('list approvals', () => {
        const sql = pageSql(query);
        let stmt = pages.get(sql);
        if (stmt === undefined) {
          stmt = db.prepare(sql);
          pages.set(sql, stmt);
        }
        const rows = stmt.all({
          now,
          limit: query.limit + 1,
          ...(query.after === undefined ? {} : { afterCreated: query.after.createdAt, afterId: query.after.id }),
          ...(query.requester === undefined ? {} : { requester: query.requester }),
          ...(query.status === undefined ? {} : { status: query.status }),
        }) as ApprovalRow[];
        return rows.map(approvalFromRow);
      }),
    expire: async (now) =>
      conn.write('expire approvals', () => {
        const expired: ApprovalRecord[] = [];
        for (const row of stmts.due.all(now) as ApprovalRow[]) {
          const before = approvalFromRow(row);
          const after = expireApproval(before, now);
          if (after === undefined) continue;
          write(before, after);
          expired.push(after);
        }
        return expired;
      }),
    close: async () => conn.close(),
  };
  return { ok: true, value: approvalStoreOver(backend, STORE) };
}
