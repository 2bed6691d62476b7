/**
 * The limit store contract run against every adapter, and what only SQLite has: counts
 * that survive a reopen, and one count per key shared by real concurrent writers (worker
 * threads, each with its own connection to one file).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LimitStore } from '../../src/limits/index.js';
import { createMemoryLimitStore } from '../../src/storage/memory/limits.js';
import { Database } from '../../src/storage/sqlite/driver.js';
import { openSqliteLimitStore } from '../../src/storage/sqlite/limit-store.js';
import { race } from '../helpers/state-race.js';
import { limitStoreContract } from './contracts/limits.js';

function opened(path: string): LimitStore {
  const result = openSqliteLimitStore(path);
  if (!result.ok) throw new Error(result.errors[0]?.message);
  return result.value;
}

limitStoreContract('memory', async () => {
  const store = createMemoryLimitStore();
  return { store, cleanup: () => store.close() };
});

limitStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-limit-'));
  const store = opened(join(dir, 'bastion.db'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('sqlite limit store', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bastion-limit-'));
    file = join(dir, 'bastion.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const limit = { perPeriod: 1, periodMs: 60_000, burst: 3 };

  it('keeps rate and budget counts across a reopen', async () => {
    const first = opened(file);
    await first.take('k', limit, 0);
    await first.take('k', limit, 0);
    await first.spend('b', 7, 10, 60_000, 0);
    await first.close();
    const second = opened(file);
    expect(await second.take('k', limit, 0)).toEqual({ ok: true, value: { allowed: true, remaining: 0, retryAfterMs: 0, resetAfterMs: 180_000 } });
    expect(await second.spend('b', 4, 10, 60_000, 0)).toEqual({ ok: true, value: { allowed: false, spent: 7, remaining: 3, resetAfterMs: 60_000 } });
    await second.close();
  });

  it('lets exactly the burst through when four threads take from one key at once', async () => {
    await opened(file).close();
    const results = (await race('limits', file, 4, 25, () => ({ key: 'crowd', limit: { perPeriod: 1, periodMs: 3_600_000, burst: 30 }, now: 1000 }))).flat();
    expect(results).toHaveLength(100);
    expect(results.filter((r) => r === 'allowed')).toHaveLength(30);
  });

  it('refuses a damaged row with STATE_STORAGE', async () => {
    const store = opened(file);
    await store.spend('b', 1, 10, 60_000, 0);
    const raw = new Database(file);
    raw.prepare("UPDATE limit_budgets SET spent = 'lots'").run();
    raw.close();
    await expect(store.spend('b', 1, 10, 60_000, 0)).rejects.toMatchObject({
      code: 'STATE_STORAGE',
      message: "the limit store's row for `b` (table limit_budgets) is malformed: window_start, window_ms or spent is not a number in range",
    });
    await store.close();
  });
});
