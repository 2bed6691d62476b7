/**
 * The kill-switch store contract run against every adapter, and what only SQLite has:
 * state that survives a reopen, two connections (and real concurrent writers on worker
 * threads) sharing one file, refusal of a damaged row or a newer schema.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Database } from '../../src/storage/sqlite/driver.js';
import { openSqliteKillSwitchStore } from '../../src/storage/sqlite/kill-switch-store.js';
import { createMemoryKillSwitchStore } from '../../src/storage/memory/kill-switch.js';
import type { KillSwitchSnapshot, KillSwitchStore } from '../../src/killswitch/index.js';
import { killSwitchStoreContract } from './contracts/kill-switch.js';
import { race } from '../helpers/state-race.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'bastion-ks-'));
}

function opened(path: string, now?: () => number): KillSwitchStore {
  const result = openSqliteKillSwitchStore(path, now === undefined ? {} : { now });
  if (!result.ok) throw new Error(result.errors[0]?.message);
  return result.value;
}

killSwitchStoreContract('memory', async (now) => {
  const store = createMemoryKillSwitchStore({}, { now });
  return { store, cleanup: () => store.close() };
});

killSwitchStoreContract('sqlite', async (now) => {
  const dir = tempDir();
  const store = opened(join(dir, 'bastion.db'), now);
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('memory kill-switch store', () => {
  it('starts from the initial state it is given, at version 0', async () => {
    const store = createMemoryKillSwitchStore({ read_only_mode: true });
    expect(await store.snapshot()).toMatchObject({ state: { read_only_mode: true, all_write_tools_disabled: false }, version: 0 });
  });
});

describe('sqlite kill-switch store', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tempDir();
    file = join(dir, 'bastion.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps its state, version and time across a reopen', async () => {
    const first = opened(file, () => 1234);
    await first.update({ all_write_tools_disabled: true, disabled_workflows: ['deploy'], reason: 'incident 42' });
    await first.close();
    const second = opened(file);
    expect(await second.snapshot()).toEqual({
      state: { all_write_tools_disabled: true, read_only_mode: false, disabled_connectors: [], disabled_users: [], disabled_workflows: ['deploy'], reason: 'incident 42' },
      version: 1,
      updatedAt: 1234,
    });
    await second.close();
  });

  it('shares one state between two connections, and a reader hears of the other one’s change', async () => {
    const a = opened(file);
    const b = opened(file);
    const heard: KillSwitchSnapshot[] = [];
    b.subscribe((s) => heard.push(s));
    await a.update({ read_only_mode: true });
    await b.update({ disabled_users: ['bob'] });
    expect(await a.get()).toMatchObject({ read_only_mode: true, disabled_users: ['bob'] });
    await a.update({ disabled_connectors: ['jira'] });
    expect(
      heard.map((s) => s.version),
      'b hears its own change at once',
    ).toEqual([2]);
    await b.get();
    expect(
      heard.map((s) => s.version),
      'and a’s at its next read',
    ).toEqual([2, 3]);
    await b.snapshot();
    expect(
      heard.map((s) => s.version),
      'each version once',
    ).toEqual([2, 3]);
    await a.close();
    await b.close();
  });

  it('loses no update when four threads write the same file at once', async () => {
    await opened(file).close();
    const results = await race('kill-switch', file, 4, 25, (w) => ({ name: `w${w}` }));
    expect(results.flat()).toHaveLength(100);
    const store = opened(file);
    expect((await store.snapshot()).version, 'every read-modify-write counted once').toBe(100);
    await store.close();
  });

  it('refuses a damaged row rather than reading it as all off', async () => {
    const store = opened(file);
    await store.update({ read_only_mode: true });
    const raw = new Database(file);
    raw.prepare('UPDATE killswitch_state SET state = \'{"read_only_mode": "no"}\'').run();
    await expect(store.get()).rejects.toMatchObject({
      code: 'STATE_STORAGE',
      message: "the kill-switch store's row (table killswitch_state) is malformed: state: field `read_only_mode`: must be true or false, got `no`",
    });
    await expect(store.update({ read_only_mode: false })).rejects.toMatchObject({ code: 'STATE_STORAGE' });
    await store.close();
    raw.prepare("UPDATE killswitch_state SET state = 'nope'").run();
    raw.close();
    const reopened = openSqliteKillSwitchStore(file);
    expect(reopened.ok).toBe(false);
    if (!reopened.ok) expect(reopened.errors[0]?.message).toBe("the kill-switch store's row (table killswitch_state) is malformed: state is not JSON");
  });

  it('migrates once, idempotently, and refuses a file from a newer build', async () => {
    await opened(file).close();
    await opened(file).close();
    const raw = new Database(file);
    expect(raw.prepare("SELECT version FROM state_schema WHERE store = 'killswitch'").pluck(true).get()).toBe(1);
    raw.prepare("UPDATE state_schema SET version = 9 WHERE store = 'killswitch'").run();
    raw.close();
    const result = openSqliteKillSwitchStore(file);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors[0]).toMatchObject({
        code: 'STATE_STORAGE',
        message: `the kill-switch store cannot open \`${file}\`: the killswitch tables have schema version 9; this build knows versions up to 1 and does not downgrade`,
      });
    }
  });

  it('answers a path it cannot open with an error value naming it', () => {
    const result = openSqliteKillSwitchStore(join(dir, 'missing', 'bastion.db'));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]?.message).toMatch(/^the kill-switch store cannot open `.*missing\/bastion\.db`: /);
  });
});
