/**
 * The tool pin store contract against every adapter, and what only SQLite has: pins that
 * survive a reopen, an acceptance by another connection (`bastion mcp accept` while a proxy
 * runs) seen at the next read, a damaged row refused.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMemoryToolPinStore, openSqliteStores, openSqliteToolPinStore, type ToolPinStore } from '../../src/storage/index.js';
import { Database } from '../../src/storage/sqlite/driver.js';
import { toolPinStoreContract } from './contracts/tool-pins.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'bastion-pins-'));

function opened(path: string): ToolPinStore {
  const r = openSqliteToolPinStore(path);
  if (!r.ok) throw new Error(r.errors[0]?.message);
  return r.value;
}

toolPinStoreContract('memory', async () => {
  const store = createMemoryToolPinStore();
  return { store, cleanup: () => store.close() };
});

toolPinStoreContract('sqlite', async () => {
  const store = opened(join(tempDir(), 'bastion.db'));
  return { store, cleanup: () => store.close() };
});

const PIN = { server: 'files', tool: 'read_file', hash: `sha256:${'a'.repeat(64)}`, definition: { name: 'read_file' }, status: 'trusted' as const, pinnedAt: 1 };

describe('sqlite tool pin store', () => {
  it('keeps pins across a reopen and sees another connection’s acceptance at once', async () => {
    const path = join(tempDir(), 'bastion.db');
    const a = opened(path);
    await a.pinIfAbsent(PIN);
    await a.recordChange({ server: 'files', tool: 'read_file', hash: `sha256:${'b'.repeat(64)}`, definition: { name: 'read_file', description: 'new' }, seenAt: 2 });
    const b = opened(path);
    expect((await b.accept('files', 'read_file', 'admin', 3))?.hash).toBe(`sha256:${'b'.repeat(64)}`);
    expect((await a.get('files', 'read_file'))?.definition).toEqual({ name: 'read_file', description: 'new' });
    await a.close();
    await b.close();
    const c = opened(path);
    expect((await c.list()).length).toBe(1);
    await c.close();
  });

  it('refuses a damaged row instead of trusting it', async () => {
    const path = join(tempDir(), 'bastion.db');
    const store = opened(path);
    await store.pinIfAbsent(PIN);
    const db = new Database(path);
    db.prepare("UPDATE mcp_tool_pins SET status = 'maybe'").run();
    db.close();
    await expect(store.get('files', 'read_file')).rejects.toThrow("the tool pin store's row for `files`/`read_file` (table mcp_tool_pins) is malformed: status is not `trusted` or `held`");
    await store.close();
  });

  it('is one of the stores openSqliteStores opens in the data directory', async () => {
    const dir = tempDir();
    const stores = await openSqliteStores(dir);
    if (!stores.ok) throw new Error('not opened');
    await stores.value.toolPins.pinIfAbsent(PIN);
    await stores.value.close();
    const again = opened(join(dir, 'bastion.db'));
    expect(await again.get('files', 'read_file')).toEqual(PIN);
    await again.close();
  });
});
