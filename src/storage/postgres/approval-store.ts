/**
 * The approval store on PostgreSQL: `approval_records`, the same columns as in SQLite (the
 * whole record as JSON beside indexed copies that lists filter on, checked against it on
 * read). An approval created on one replica is listed, decided and consumed on any other.
 *
 * Every change is one transaction that takes the row with `SELECT … FOR UPDATE`, applies the
 * stage's rules and writes the row back under the version read; a second replica consuming
 * the same approval waits on the row lock and then reads it consumed, so exactly one wins.
 * `expire` locks the due rows the same way: each approval expires (and is audited) once.
 */

import type pg from 'pg';
import type { ApprovalBackend, ApprovalRecord, ApprovalStore, ListQuery } from '../../approvals/index.js';
import { approvalStoreOver, expireApproval } from '../../approvals/index.js';
import { type ApprovalRow, approvalFromRow } from '../sqlite/approval-store.js';
import type { Migration } from './migrate.js';
import { ms, type PostgresStateOptions, prepare } from './state.js';

const STORE = 'approval store';

export const APPROVAL_MIGRATIONS: readonly Migration[] = [
  {
    component: 'approvals',
    version: 1,
    description: 'approval records',
    sql: `
CREATE TABLE approval_records (
  id text PRIMARY KEY,
  status text NOT NULL,
  requester text NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  version integer NOT NULL,
  body text NOT NULL
);
CREATE INDEX approval_records_order ON approval_records (created_at, id);
CREATE INDEX approval_records_due ON approval_records (status, expires_at);
`,
  },
];

const COLUMNS = `id, status, requester, ${ms('created_at')}, ${ms('expires_at')}, version, body`;

function values(r: ApprovalRecord): [string, string, string, number, number, number, string] {
  return [r.id, r.status, r.requester.id, r.createdAt, r.expiresAt, r.version, JSON.stringify(r)];
}

async function write(client: pg.PoolClient, before: ApprovalRecord, after: ApprovalRecord): Promise<void> {
  const [id, ...rest] = values(after);
  const done = await client.query('UPDATE approval_records SET status = $1, requester = $2, created_at = $3, expires_at = $4, version = $5, body = $6 WHERE id = $7 AND version = $8', [
    ...rest,
    id,
    before.version,
  ]);
  // INVARIANT: the row is locked FOR UPDATE by this transaction; a miss is a bug, never a lost race.
  if (done.rowCount !== 1) throw new Error(`approval \`${id}\` changed under its row lock`);
}

function pageQuery(query: ListQuery, now: number): { text: string; values: unknown[] } {
  const params: unknown[] = [];
  const where: string[] = [];
  const p = (v: unknown): string => `$${params.push(v)}`;
  if (query.after !== undefined) {
    const created = p(query.after.createdAt);
    where.push(`(created_at > ${created} OR (created_at = ${created} AND id > ${p(query.after.id)}))`);
  }
  if (query.requester !== undefined) where.push(`requester = ${p(query.requester)}`);
  if (query.status !== undefined) where.push(`(CASE WHEN status IN ('pending', 'approved') AND expires_at <= ${p(now)} THEN 'expired' ELSE status END) = ${p(query.status)}`);
  const limit = p(query.limit + 1);
  return { text: `SELECT ${COLUMNS} FROM approval_records ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT ${limit}`, values: params };
}

/**
 * Opens the approval store on a pool (its table made or brought up to date first, unless
 * `migrate: false`).
 *
 * @example
 * const approvals = await openPostgresApprovalStore(new pg.Pool({ connectionString: url }));
 * await approvals.consume(id, bindingHash, Date.now());
 */
export async function openPostgresApprovalStore(pool: pg.Pool, options: PostgresStateOptions = {}): Promise<ApprovalStore> {
  const db = await prepare(pool, STORE, APPROVAL_MIGRATIONS, options);
  const backend: ApprovalBackend = {
    insert: (record) =>
      db.run(
        'store an approval',
        async (q) =>
          (await q.query(`INSERT INTO approval_records (id, status, requester, created_at, expires_at, version, body) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`, values(record)))
            .rowCount === 1,
      ),
    read: (id) =>
      db.run('read an approval', async (q) => {
        const row = (await q.query<ApprovalRow>(`SELECT ${COLUMNS} FROM approval_records WHERE id = $1`, [id])).rows[0];
        return row === undefined ? undefined : approvalFromRow(row);
      }),
    update: (id, change) =>
      db.tx('change an approval', async (client) => {
        const row = (await client.query<ApprovalRow>(`SELECT ${COLUMNS} FROM approval_records WHERE id = $1 FOR UPDATE`, [id])).rows[0];
        const before = row === undefined ? undefined : approvalFromRow(row);
        const result = change(before);
        if (result.ok && before !== undefined) await write(client, before, result.value);
        return result;
      }),
    page: (query, now) =>
      db.run('list approvals', async (q) => {
        const { text, values: params } = pageQuery(query, now);
        return (await q.query<ApprovalRow>(text, params)).rows.map(approvalFromRow);
      }),
    expire: (now) =>
      db.tx('expire approvals', async (client) => {
        const due = await client.query<ApprovalRow>(`SELECT ${COLUMNS} FROM approval_records WHERE status IN ('pending', 'approved') AND expires_at <= $1 ORDER BY created_at, id FOR UPDATE`, [now]);
        const expired: ApprovalRecord[] = [];
        for (const row of due.rows) {
          const before = approvalFromRow(row);
          const after = expireApproval(before, now);
          if (after === undefined) continue;
          await write(client, before, after);
          expired.push(after);
        }
        return expired;
      }),
    close: () => db.close(),
  };
  return approvalStoreOver(backend, STORE);
}
