/**
 * Runs the audit store contract against every adapter: in memory, SQLite and PostgreSQL (the
 * last skipped, with a warning, when no server answers; see test/helpers/services.ts). SQLite's own details (layout version, read-only files, paging
 * inside a snapshot) are in sqlite-audit-store.test.ts.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, describe } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryAuditStore, SqliteAuditStore } from '../../src/storage/index.js';
import { Database } from '../../src/storage/sqlite/driver.js';
import { auditStoreContract } from './contracts/audit-store.js';
import { postgresAvailable } from '../helpers/services.js';
import { dropTestDatabase, postgresAuditHarness } from './postgres-harness.js';

auditStoreContract('memory', async () => {
  const store = createMemoryAuditStore();
  const { tables } = store;
  return {
    store,
    damage: {
      head: async (state) => void (tables.head = state),
      anchor: async (state) => void (tables.anchor = state),
      checkpointRow: async (size, body) => void tables.checkpoints.push({ id: tables.nextCheckpointId++, size, body }),
      deleteEvent: async (seq) => void (tables.events = tables.events.filter((e) => e.seq !== seq)),
    },
    cleanup: async () => undefined,
  };
});

auditStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-store-contract-'));
  const path = join(dir, 'bastion.db');
  const store = new SqliteAuditStore(path, { synchronous: 'NORMAL' });
  const write = (sql: string, ...params: unknown[]): void => {
    const db = new Database(path);
    try {
      db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
  };
  return {
    store,
    reopen: async () => new SqliteAuditStore(path, { synchronous: 'NORMAL' }),
    damage: {
      head: async (state) => {
        if (state === undefined) write('DELETE FROM audit_head');
        else write('INSERT OR REPLACE INTO audit_head (id, size, chain_hash, range) VALUES (1, ?, ?, ?)', state.size, state.chain_hash, state.range);
      },
      anchor: async (state) => write('INSERT OR REPLACE INTO audit_anchor (id, size, chain_hash, range) VALUES (1, ?, ?, ?)', state.size, state.chain_hash, state.range),
      checkpointRow: async (size, body) => write('INSERT INTO audit_checkpoints (size, body) VALUES (?, ?)', size, body),
      deleteEvent: async (seq) => write('DELETE FROM audit_events WHERE seq = ?', seq),
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

// PostgreSQL: a database of this run's own, a fresh schema per case (see postgres-harness.ts).
if (await postgresAvailable()) {
  afterAll(dropTestDatabase);
  auditStoreContract('postgres', postgresAuditHarness);
} else {
  describe.skip('audit store contract: postgres (PostgreSQL is not reachable)', () => undefined);
}
