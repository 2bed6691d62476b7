/**
 * API keys in process memory: lost when the process ends, so for tests and throwaway
 * gateways. Records are copied in and out; each operation runs in one turn of the event loop.
 */

import type { ApiKeyBackend, ApiKeyStore, StoredApiKey } from '../../identity/index.js';
import { apiKeyStoreOver } from '../../identity/index.js';

/**
 * @example
 * const keys = createMemoryApiKeyStore();
 * const made = await keys.create({ principal: { id: 'ci-bot', groups: ['ci'] } }, Date.now());
 */
export function createMemoryApiKeyStore(): ApiKeyStore {
  const keys = new Map<string, StoredApiKey>();
  const backend: ApiKeyBackend = {
    async insert(key) {
      if (keys.has(key.id)) return false;
      keys.set(key.id, structuredClone(key));
      return true;
    },
    read: async (id) => {
      const key = keys.get(id);
      return key === undefined ? undefined : structuredClone(key);
    },
    list: async () => [...keys.values()].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)).map((k) => structuredClone(k)),
    async revoke(id, now) {
      const key = keys.get(id);
      if (key === undefined) return undefined;
      key.revokedAt ??= now;
      return structuredClone(key);
    },
    close: async () => keys.clear(),
  };
  return apiKeyStoreOver(backend);
}
