/**
 * The approval store contract run against every adapter, and what only SQLite has:
 * approvals that survive a reopen, two connections and real concurrent consumers on worker
 * threads sharing one file (exactly one wins), refusal of an edited row, and coexistence
 * with the audit log and the other stores in one `bastion.db`.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalStore } from '../../src/approvals/index.js';
import { createMemoryApprovalStore } from '../../src/storage/memory/approvals.js';
import { openSqliteApprovalStore } from '../../src/storage/sqlite/approval-store.js';
import { SqliteAuditStore } from '../../src/storage/sqlite/audit-store.js';
import { Database } from '../../src/storage/sqlite/driver.js';
import { openSqliteKillSwitchStore } from '../../src/storage/sqlite/kill-switch-store.js';
import { openSqliteLimitStore } from '../../src/storage/sqlite/limit-store.js';
import { race } from '../helpers/state-race.js';
import { approvalStoreContract, HASH, newApproval, T0 } from './contracts/approvals.js';

function opened(path: string): ApprovalStore {
  const result = openSqliteApprovalStore(path);
  if (!result.ok) throw new Error(result.errors[0]?.message);
  return result.value;
}

approvalStoreContract('memory', async () => {
  const store = createMemoryApprovalStore();
  return { store, cleanup: () => store.close() };
});

approvalStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-appr-'));
  const store = opened(join(dir, 'bastion.db'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const approve = { approver: 'carol', groups: ['sre-approvers'], verdict: 'approve' as const, at: T0 + 1000 };

describe('sqlite approval store', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bastion-appr-'));
    file = join(dir, 'bastion.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps approvals and their decisions across a reopen', async () => {
    const first = opened(file);
    const created = await first.create(newApproval({ id: 'appr-1', quorum: 2 }));
    expect(created.ok).toBe(true);
    const decided = await first.decide('appr-1', approve, T0 + 1000);
    await first.close();
    const second = opened(file);
    expect(await second.get('appr-1', T0 + 2000)).toEqual(decided);
    await second.close();
  });

  it('lets one connection consume what another approved, once', async () => {
    const a = opened(file);
    const b = opened(file);
    await a.create(newApproval({ id: 'appr-1' }));
    expect((await b.decide('appr-1', approve, T0 + 1000)).ok).toBe(true);
    expect((await a.consume('appr-1', HASH, T0 + 2000)).ok).toBe(true);
    const again = await b.consume('appr-1', HASH, T0 + 2000);
    expect(again.ok === false && again.errors[0]?.reason).toBe('consumed');
    await a.close();
    await b.close();
  });

  it('has exactly one winner among four threads racing to consume one approval', async () => {
    const setup = opened(file);
    await setup.create(newApproval({ id: 'raced' }));
    await setup.decide('raced', approve, T0 + 1000);
    await setup.close();
    const results = (await race('approvals', file, 4, 10, () => ({ id: 'raced', hash: HASH, now: T0 + 2000 }))).flat();
    expect(results.filter((r) => r === 'won')).toHaveLength(1);
    expect(results.filter((r) => r === 'consumed')).toHaveLength(39);
  });

  it('refuses a row whose status column was edited to look approved', async () => {
    const store = opened(file);
    await store.create(newApproval({ id: 'appr-1' }));
    const raw = new Database(file);
    raw.prepare("UPDATE approval_records SET status = 'approved' WHERE id = 'appr-1'").run();
    raw.close();
    await expect(store.consume('appr-1', HASH, T0 + 1000)).rejects.toMatchObject({
      code: 'STATE_STORAGE',
      message: "the approval store's row for `appr-1` (table approval_records) is malformed: its columns disagree with its body",
    });
    await store.close();
  });

  it('shares bastion.db with the audit log and the other stores, each on its own tables', async () => {
    const audit = new SqliteAuditStore(file);
    const approvals = opened(file);
    const killSwitch = openSqliteKillSwitchStore(file);
    const limits = openSqliteLimitStore(file);
    if (!killSwitch.ok || !limits.ok) throw new Error('cannot open the stores');
    await approvals.create(newApproval({ id: 'appr-1' }));
    await killSwitch.value.update({ read_only_mode: true });
    await limits.value.take('k', { perPeriod: 1, periodMs: 1000, burst: 1 }, 0);
    const raw = new Database(file, { readonly: true });
    expect(raw.prepare('SELECT store, version FROM state_schema ORDER BY store').all()).toEqual([
      { store: 'approvals', version: 1 },
      { store: 'killswitch', version: 1 },
      { store: 'limits', version: 1 },
    ]);
    const tables = (raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck(true).all() as string[]).filter((t) => !t.startsWith('audit_'));
    expect(tables).toEqual(['approval_records', 'killswitch_state', 'limit_budgets', 'limit_rates', 'state_schema']);
    raw.close();
    audit.close();
    await approvals.close();
    await killSwitch.value.close();
    await limits.value.close();
  });
});
