/**
 * The API key store contract against every adapter, and what only SQLite has: keys that
 * survive a reopen, a revocation by another connection (`bastion keys revoke` while the
 * service runs) seen at the very next lookup, a damaged row refused, the shared connection of
 * `openSqliteStores`.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiKeyStore } from '../../src/identity/index.js';
import { createMemoryApiKeyStore, openSqliteApiKeyStore, openSqliteStores } from '../../src/storage/index.js';
import { Database } from '../../src/storage/sqlite/driver.js';
import { apiKeyStoreContract } from './contracts/api-keys.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'bastion-keys-'));

function opened(path: string): ApiKeyStore {
  const r = openSqliteApiKeyStore(path);
  if (!r.ok) throw new Error(r.errors[0]?.message);
  return r.value;
}

apiKeyStoreContract('memory', async () => {
  const store = createMemoryApiKeyStore();
  return { store, cleanup: () => store.close() };
});

apiKeyStoreContract('sqlite', async () => {
  const dir = tempDir();
  const store = opened(join(dir, 'bastion.db'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('sqlite api key store', () => {
  it('keeps keys across a reopen and sees another connection’s revocation at the next lookup', async () => {
    const file = join(tempDir(), 'bastion.db');
    const service = opened(file);
    const made = await service.create({ principal: { id: 'bot', groups: ['ci'] } }, 1000);
    if (!made.ok) throw new Error('no key');
    const cli = opened(file);
    expect(await cli.lookup(made.value.key)).toMatchObject({ status: 'valid' });
    await cli.revoke(made.value.record.id, 2000);
    expect(await service.lookup(made.value.key)).toMatchObject({ status: 'revoked', record: { revokedAt: 2000 } });
    await cli.close();
    await service.close();
    const again = opened(file);
    expect(await again.list()).toEqual([{ ...made.value.record, revokedAt: 2000 }]);
    await again.close();
  });

  it('stores only the SHA-256 of the secret, never the key', async () => {
    const file = join(tempDir(), 'bastion.db');
    const store = opened(file);
    const made = await store.create({ principal: { id: 'bot' } }, 1000);
    if (!made.ok) throw new Error('no key');
    await store.close();
    const db = new Database(file, { readonly: true });
    const rows = JSON.stringify(db.prepare('SELECT * FROM apikey_keys').all());
    db.close();
    const secret = made.value.key.split('_').slice(2).join('_');
    expect(rows).not.toContain(secret);
    const { createHash } = await import('node:crypto');
    expect(rows).toContain(createHash('sha256').update(secret).digest('hex'));
  });

  it('refuses a damaged row instead of letting a key through', async () => {
    const file = join(tempDir(), 'bastion.db');
    const store = opened(file);
    const made = await store.create({ principal: { id: 'bot' } }, 1000);
    if (!made.ok) throw new Error('no key');
    const db = new Database(file);
    db.prepare("UPDATE apikey_keys SET groups = 'not json'").run();
    db.close();
    await expect(store.lookup(made.value.key)).rejects.toMatchObject({ code: 'STATE_STORAGE', message: expect.stringContaining('groups is not JSON') });
    await store.close();
    await expect(store.list()).rejects.toMatchObject({ code: 'STATE_STORAGE', message: 'the api key store is closed' });
  });

  it('openSqliteStores opens it on the shared connection of the data directory', async () => {
    const dir = tempDir();
    const stores = await openSqliteStores(dir);
    if (!stores.ok) throw new Error(stores.errors[0]?.message);
    const made = await stores.value.apiKeys.create({ principal: { id: 'bot' } }, 1000);
    expect(made.ok).toBe(true);
    await stores.value.close();
    const reopened = opened(join(dir, 'bastion.db'));
    expect(await reopened.list()).toHaveLength(1);
    await reopened.close();
  });
});
