/**
 * The contract every API key store adapter must pass (memory, SQLite, PostgreSQL): a
 * key handed out once in Bastion's format and found again only with its exact secret, lists
 * without secrets, revocation that keeps its first time, refusal of malformed input, and a
 * closed store rejecting.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseApiKey, type ApiKeyStore } from '../../../src/identity/index.js';

export interface ApiKeyStoreHandle {
  store: ApiKeyStore;
  cleanup: () => Promise<void>;
}

const T0 = 1_750_000_000_000;

export function apiKeyStoreContract(name: string, makeStore: () => Promise<ApiKeyStoreHandle>): void {
  describe(`api key store contract: ${name}`, () => {
    let handle: ApiKeyStoreHandle;
    let store: ApiKeyStore;
    beforeEach(async () => {
      handle = await makeStore();
      store = handle.store;
    });
    afterEach(async () => {
      await handle.cleanup();
    });

    const create = async (id = 'deploy-bot', groups = ['ci', 'deployers'], now = T0) => {
      const made = await store.create({ principal: { id, groups } }, now);
      if (!made.ok) throw new Error(made.errors[0]?.message);
      return made.value;
    };

    it('creates a key in the bst_<id>_<secret> format, 256 random bits, and finds it by that key', async () => {
      const { key, record } = await create();
      expect(key).toMatch(/^bst_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      expect(parseApiKey(key)?.id).toBe(record.id);
      expect(record).toEqual({ id: record.id, principal: { id: 'deploy-bot', groups: ['ci', 'deployers'] }, createdAt: T0 });
      expect(await store.lookup(key)).toEqual({ status: 'valid', record });
      const second = await create();
      expect(second.key).not.toBe(key);
      expect(second.record.id).not.toBe(record.id);
    });

    it('a key with one character of its secret changed, or another key’s secret, is unknown', async () => {
      const a = await create('a');
      const b = await create('b');
      const idA = parseApiKey(a.key)?.id as string;
      const secretB = parseApiKey(b.key)?.secret as string;
      const flipped = a.key.slice(0, -1) + (a.key.endsWith('x') ? 'y' : 'x');
      expect(await store.lookup(flipped)).toEqual({ status: 'unknown', id: idA });
      expect(await store.lookup(`bst_${idA}_${secretB}`)).toEqual({ status: 'unknown', id: idA });
      expect(await store.lookup(`bst_ffffffffffffffff_${secretB}`)).toEqual({ status: 'unknown', id: 'ffffffffffffffff' });
      for (const bad of ['', 'bst_', 'bst_xyz_abc', `bst_${idA}`, `${a.key}x`, a.key.toUpperCase()]) expect(await store.lookup(bad), bad).toEqual({ status: 'malformed' });
    });

    it('lists every key oldest first, with no secret or hash in sight', async () => {
      const a = await create('a', [], T0);
      const b = await create('b', ['g'], T0 + 1000);
      const listed = await store.list();
      expect(listed).toEqual([a.record, b.record]);
      const text = JSON.stringify(listed);
      for (const k of [a.key, b.key]) expect(text).not.toContain(parseApiKey(k)?.secret);
      expect(text).not.toMatch(/[0-9a-f]{64}/);
    });

    it('revokes: the key is then revoked (not unknown), a second revoke keeps the first time, an unknown id is NOT_FOUND', async () => {
      const { key, record } = await create();
      const revoked = await store.revoke(record.id, T0 + 5000);
      expect(revoked).toEqual({ ok: true, value: { ...record, revokedAt: T0 + 5000 } });
      expect(await store.lookup(key)).toEqual({ status: 'revoked', record: { ...record, revokedAt: T0 + 5000 } });
      expect(await store.revoke(record.id, T0 + 9000)).toEqual({ ok: true, value: { ...record, revokedAt: T0 + 5000 } });
      expect(await store.revoke('0000000000000000', T0)).toMatchObject({ ok: false, errors: [{ code: 'NOT_FOUND', message: 'no api key has id `0000000000000000`' }] });
      expect(await store.revoke('not-an-id', T0)).toMatchObject({ ok: false, errors: [{ code: 'INPUT_INVALID', field: 'id' }] });
      expect((await store.list())[0]?.revokedAt).toBe(T0 + 5000);
    });

    it('refuses a principal or groups it could not name safely, storing nothing', async () => {
      const bad: [{ id: string; groups?: string[] }, string][] = [
        [{ id: '' }, 'principal'],
        [{ id: 'a\nb' }, 'principal'],
        [{ id: 'a', groups: ['has space'] }, 'groups'],
        [{ id: 'a', groups: ['a,b'] }, 'groups'],
        [{ id: 'a', groups: [''] }, 'groups'],
      ];
      for (const [principal, field] of bad) {
        const r = await store.create({ principal }, T0);
        expect(r, JSON.stringify(principal)).toMatchObject({ ok: false, errors: [{ code: 'INPUT_INVALID', field }] });
      }
      expect(await store.list()).toEqual([]);
    });

    it('keeps a description and drops duplicate groups', async () => {
      const made = await store.create({ principal: { id: 'a', groups: ['x', 'x', 'y'] }, description: 'nightly deploys' }, T0);
      expect(made.ok && made.value.record).toMatchObject({ principal: { id: 'a', groups: ['x', 'y'] }, description: 'nightly deploys' });
    });
  });
}
