/**
 * The contract every kill-switch store adapter must pass (memory, SQLite, PostgreSQL): the
 * empty state first, changes that keep what they leave out, atomic
 * concurrent updates, versions, copies, notification in version order, malformed changes
 * refused without effect, a closed store rejecting.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KillSwitchSnapshot, KillSwitchState, KillSwitchStore } from '../../../src/killswitch/index.js';

export interface KillSwitchStoreHandle {
  store: KillSwitchStore;
  cleanup: () => Promise<void>;
}

const ALL_OFF: KillSwitchState = {
  all_write_tools_disabled: false,
  read_only_mode: false,
  disabled_connectors: [],
  disabled_users: [],
  disabled_workflows: [],
};

export function killSwitchStoreContract(name: string, makeStore: (clock: () => number) => Promise<KillSwitchStoreHandle>): void {
  describe(`kill-switch store contract: ${name}`, () => {
    let handle: KillSwitchStoreHandle;
    let store: KillSwitchStore;
    let time = 1_750_000_000_000;
    beforeEach(async () => {
      time = 1_750_000_000_000;
      handle = await makeStore(() => time);
      store = handle.store;
    });
    afterEach(async () => {
      await handle.cleanup();
    });

    it('starts all off, at version 0, never updated', async () => {
      expect(await store.get()).toEqual(ALL_OFF);
      expect(await store.snapshot()).toEqual({ state: ALL_OFF, version: 0, updatedAt: null });
    });

    it('applies a change, keeping the fields it leaves out, and counts versions', async () => {
      const first = await store.update({ read_only_mode: true, disabled_users: ['mallory', 'mallory', 'eve'], reason: 'incident 42' });
      expect(first).toEqual({ ...ALL_OFF, read_only_mode: true, disabled_users: ['mallory', 'eve'], reason: 'incident 42' });
      time += 5000;
      const second = await store.update({ disabled_connectors: ['jira'] });
      expect(second).toEqual({ ...first, disabled_connectors: ['jira'] });
      expect(await store.get()).toEqual(second);
      expect(await store.snapshot()).toEqual({ state: second, version: 2, updatedAt: time });
      expect(await store.update({ read_only_mode: false, reason: '' })).toEqual({ ...second, read_only_mode: false, reason: '' });
    });

    it('treats an empty change (or one of undefined fields) as no change, still counted', async () => {
      await store.update({ all_write_tools_disabled: true });
      expect(await store.update({})).toEqual({ ...ALL_OFF, all_write_tools_disabled: true });
      expect((await store.snapshot()).version).toBe(2);
    });

    it('loses no change when many writers switch different keys at once', async () => {
      const changes: Array<Partial<KillSwitchState>> = [
        { all_write_tools_disabled: true },
        { read_only_mode: true },
        { disabled_connectors: ['slack'] },
        { disabled_users: ['bob'] },
        { disabled_workflows: ['deploy'] },
        { reason: 'drill' },
      ];
      await Promise.all(changes.map((c) => store.update(c)));
      expect(await store.snapshot()).toEqual({
        state: { all_write_tools_disabled: true, read_only_mode: true, disabled_connectors: ['slack'], disabled_users: ['bob'], disabled_workflows: ['deploy'], reason: 'drill' },
        version: 6,
        updatedAt: time,
      });
    });

    it('hands out copies: changing a returned state changes nothing stored', async () => {
      const state = await store.update({ disabled_users: ['bob'] });
      state.disabled_users.push('alice');
      (await store.get()).disabled_users.push('carol');
      (await store.snapshot()).state.disabled_users.push('dave');
      expect((await store.get()).disabled_users).toEqual(['bob']);
    });

    it.each([
      ['a misspelt key', { read_only: true }, /^kill-switch store: update: field `read_only`: unknown field/],
      ['a switch that is not a boolean', { read_only_mode: 'yes' }, /^kill-switch store: update: field `read_only_mode`: must be true or false, got `yes`$/],
      ['a list that is not a list', { disabled_users: 'bob' }, /^kill-switch store: update: field `disabled_users`: must be a list of names/],
      ['a list holding a number', { disabled_users: ['bob', 7] }, /^kill-switch store: update: field `disabled_users\[1\]`: must be a non-empty string/],
      ['a change that is not an object', 'all off', /^kill-switch store: update: a kill-switch change must be a JSON object/],
    ])('refuses %s with REQUEST_INVALID and changes nothing', async (_d, change, message) => {
      await store.update({ read_only_mode: true });
      await expect(store.update(change as Partial<KillSwitchState>)).rejects.toMatchObject({ code: 'REQUEST_INVALID', message: expect.stringMatching(message) });
      expect(await store.snapshot()).toMatchObject({ state: { ...ALL_OFF, read_only_mode: true }, version: 1 });
    });

    it('notifies listeners of each change in version order, until they unsubscribe', async () => {
      const seen: KillSwitchSnapshot[] = [];
      const unsubscribe = store.subscribe((s) => seen.push(s));
      store.subscribe(() => {
        throw new Error('a broken listener');
      });
      await store.update({ read_only_mode: true });
      time += 1;
      await store.update({ disabled_users: ['bob'] });
      await store.get();
      unsubscribe();
      await store.update({ read_only_mode: false });
      expect(seen).toEqual([
        { state: { ...ALL_OFF, read_only_mode: true }, version: 1, updatedAt: time - 1 },
        { state: { ...ALL_OFF, read_only_mode: true, disabled_users: ['bob'] }, version: 2, updatedAt: time },
      ]);
    });

    it('rejects with STATE_STORAGE once closed', async () => {
      await store.close();
      await expect(store.get()).rejects.toMatchObject({ code: 'STATE_STORAGE', message: 'the kill-switch store is closed' });
      await expect(store.update({ read_only_mode: true })).rejects.toMatchObject({ code: 'STATE_STORAGE' });
      await store.close();
    });
  });
}
