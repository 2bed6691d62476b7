/**
 * The contract every MCP tool pin store adapter must pass (memory, SQLite, PostgreSQL):
 * first sight pins once, later pins of the same tool never replace it, the oldest pin of a
 * name owns it, changes are recorded once per definition, and an acceptance makes the newest
 * change (or a held pin) the trusted pin and clears the changes.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ToolPin, ToolPinStore } from '../../../src/storage/index.js';

export interface ToolPinStoreHandle {
  store: ToolPinStore;
  cleanup: () => Promise<void>;
}

const T0 = 1_750_000_000_000;
const h = (c: string) => `sha256:${c.repeat(64)}`;
const pin = (server: string, tool: string, over: Partial<ToolPin> = {}): ToolPin => ({
  server,
  tool,
  hash: h('a'),
  definition: { name: tool, description: 'v1' },
  status: 'trusted',
  pinnedAt: T0,
  ...over,
});

export function toolPinStoreContract(name: string, makeStore: () => Promise<ToolPinStoreHandle>): void {
  describe(`tool pin store contract: ${name}`, () => {
    let handle: ToolPinStoreHandle;
    let store: ToolPinStore;
    beforeEach(async () => {
      handle = await makeStore();
      store = handle.store;
    });
    afterEach(async () => handle.cleanup());

    it('pins on first sight only; a second pin of the same tool keeps the first', async () => {
      expect(await store.pinIfAbsent(pin('files', 'read_file'))).toEqual({ pin: pin('files', 'read_file'), created: true });
      const again = await store.pinIfAbsent(pin('files', 'read_file', { hash: h('b'), definition: { name: 'read_file', description: 'v2' }, pinnedAt: T0 + 5 }));
      expect(again).toEqual({ pin: pin('files', 'read_file'), created: false });
      expect(await store.get('files', 'read_file')).toEqual(pin('files', 'read_file'));
      expect(await store.get('files', 'nope')).toBeUndefined();
    });

    it('lists a name across servers, oldest first, and one server by tool', async () => {
      await store.pinIfAbsent(pin('b-server', 'read_file', { pinnedAt: T0 + 10 }));
      await store.pinIfAbsent(pin('a-server', 'read_file', { pinnedAt: T0 + 20 }));
      await store.pinIfAbsent(pin('b-server', 'calc', { pinnedAt: T0 + 30, status: 'held', reason: 'injection' }));
      expect((await store.byTool('read_file')).map((p) => p.server)).toEqual(['b-server', 'a-server']);
      expect((await store.list('b-server')).map((p) => p.tool)).toEqual(['calc', 'read_file']);
      expect((await store.list()).map((p) => `${p.server}/${p.tool}`)).toEqual(['a-server/read_file', 'b-server/calc', 'b-server/read_file']);
      expect((await store.get('b-server', 'calc'))?.reason).toBe('injection');
    });

    it('records each changed definition once, and accepting makes the newest one the trusted pin', async () => {
      await store.pinIfAbsent(pin('files', 'read_file'));
      const c1 = { server: 'files', tool: 'read_file', hash: h('b'), definition: { name: 'read_file', description: 'v2' }, seenAt: T0 + 1 };
      const c2 = { ...c1, hash: h('c'), definition: { name: 'read_file', description: 'v3' }, seenAt: T0 + 2 };
      expect(await store.recordChange(c1)).toBe(true);
      expect(await store.recordChange(c1)).toBe(false);
      expect(await store.recordChange(c2)).toBe(true);
      expect(await store.changes('files')).toEqual([c1, c2]);
      expect(await store.changes(undefined, 'read_file')).toEqual([c1, c2]);
      expect(await store.changes('other')).toEqual([]);
      const accepted = await store.accept('files', 'read_file', 'admin', T0 + 100);
      expect(accepted).toEqual({ ...pin('files', 'read_file'), hash: h('c'), definition: { name: 'read_file', description: 'v3' }, acceptedBy: 'admin', acceptedAt: T0 + 100 });
      expect(await store.get('files', 'read_file')).toEqual(accepted);
      expect(await store.changes('files')).toEqual([]);
      // Nothing left to accept.
      expect(await store.accept('files', 'read_file', 'admin', T0 + 200)).toBeUndefined();
      expect(await store.accept('files', 'missing', 'admin', T0 + 200)).toBeUndefined();
    });

    it('accepting a held pin trusts it as it is', async () => {
      await store.pinIfAbsent(pin('files', 'notes', { status: 'held', reason: 'injection' }));
      const accepted = await store.accept('files', 'notes', 'admin', T0 + 1);
      expect(accepted).toEqual({ ...pin('files', 'notes'), acceptedBy: 'admin', acceptedAt: T0 + 1 });
    });

    it('copies records in and out', async () => {
      const p = pin('files', 'read_file');
      await store.pinIfAbsent(p);
      (p.definition as Record<string, unknown>)['description'] = 'mutated';
      const got = await store.get('files', 'read_file');
      expect(got?.definition).toEqual({ name: 'read_file', description: 'v1' });
    });
  });
}
