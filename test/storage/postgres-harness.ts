/**
 * PostgreSQL audit stores for tests: one database per test run (`createTestDatabase`), and a
 * fresh schema per store inside it (a pool whose `search_path` is that schema), so every
 * contract case starts empty without paying for a database each.
 */

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgresAuditStore, type PostgresAuditStore } from '../../src/storage/postgres/audit-store.js';
import type { AuditStoreHarness } from './contracts/audit-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';

let database: Promise<TestDatabase> | undefined;

/** This run's database, created on first use; drop it with {@link dropTestDatabase}. */
export function testDatabase(): Promise<TestDatabase> {
  database ??= createTestDatabase('audit');
  return database;
}

export async function dropTestDatabase(): Promise<void> {
  const db = await database;
  database = undefined;
  await db?.drop();
}

/** A pool on this run's database whose tables live in `schema`. */
export async function schemaPool(schema: string, max = 4): Promise<pg.Pool> {
  const { url } = await testDatabase();
  const pool = new pg.Pool({ connectionString: url, max, options: `-c search_path=${schema}` });
  pool.on('error', () => undefined);
  return pool;
}

/** A new, empty schema; its name. */
export async function freshSchema(): Promise<string> {
  const name = `s_${randomBytes(6).toString('hex')}`;
  const { url } = await testDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${name}`);
  } finally {
    await client.end();
  }
  return name;
}

/** An audit store in a fresh schema, with `damage` writing its tables behind the port's back. */
export async function postgresAuditHarness(): Promise<AuditStoreHarness & { store: PostgresAuditStore; schema: string }> {
  const schema = await freshSchema();
  const open = async (): Promise<PostgresAuditStore> => openPostgresAuditStore(await schemaPool(schema), { ownsPool: true });
  const store = await open();
  const write = async (sql: string, params: unknown[] = []): Promise<void> => {
    await store.pool.query(sql, params);
  };
  const upsert = (table: string) =>
    `INSERT INTO ${table} (id, size, chain_hash, range) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET size = EXCLUDED.size, chain_hash = EXCLUDED.chain_hash, range = EXCLUDED.range`;
  return {
    store,
    schema,
    reopen: open,
    damage: {
      head: (state) => (state === undefined ? write('UPDATE audit_head SET size = NULL, chain_hash = NULL, range = NULL') : write(upsert('audit_head'), [state.size, state.chain_hash, state.range])),
      anchor: (state) => write(upsert('audit_anchor'), [state.size, state.chain_hash, state.range]),
      checkpointRow: (size, body) => write('INSERT INTO audit_checkpoints (size, body) VALUES ($1, $2)', [size, body]),
      deleteEvent: (seq) => write('DELETE FROM audit_events WHERE seq = $1', [seq]),
    },
    cleanup: async () => undefined,
  };
}
