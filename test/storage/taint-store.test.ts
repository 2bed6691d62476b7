/**
 * The taint store, in memory and in SQLite, against one suite; and the SQLite store's own
 * promises: a mark is seen by another connection (another hook process), old marks expire,
 * the oldest are dropped past the limit, and a damaged row is an error, never "untainted".
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../../src/storage/sqlite/driver.js';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryTaintStore, openSqliteTaintStore } from '../../src/storage/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bastion-taint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = () => join(dir, `taint-${++n}.db`);
const record = { score: 0.92, techniques: ['override'], source: 'WebFetch' };

function sqlite(path = file(), options: Parameters<typeof openSqliteTaintStore>[1] = {}) {
  const opened = openSqliteTaintStore(path, options);
  if (!opened.ok) throw new Error(opened.errors[0]?.message);
  return opened.value;
}

describe.each([
  ['memory', () => createMemoryTaintStore()],
  ['sqlite', () => sqlite()],
] as const)('%s taint store', (_name, make) => {
  it('answers undefined for an untainted trace and the latest record for a marked one', async () => {
    const store = make();
    expect(await store.get('t')).toBeUndefined();
    await store.mark('t', record);
    await store.mark('t', { ...record, score: 0.99 });
    expect(await store.get('t')).toEqual({ ...record, score: 0.99 });
    await store.close();
  });
  it('hands out copies', async () => {
    const store = make();
    await store.mark('t', record);
    const got = await store.get('t');
    got?.techniques.push('mutated');
    expect((await store.get('t'))?.techniques).toEqual(['override']);
    await store.close();
  });
});

describe('the SQLite taint store', () => {
  it('is shared between connections (hook processes)', async () => {
    const path = file();
    const a = sqlite(path);
    const b = sqlite(path);
    await a.mark('session-1', record);
    expect(await b.get('session-1')).toEqual(record);
    await a.close();
    await b.close();
  });
  it('forgets a mark after its time to live, and keeps at most `limit` traces', async () => {
    let now = 1_000_000;
    const store = sqlite(file(), { ttlMs: 1000, limit: 2, now: () => now });
    await store.mark('old', record);
    now += 1001;
    expect(await store.get('old')).toBeUndefined();
    await store.mark('a', record);
    now += 1;
    await store.mark('b', record);
    now += 1;
    await store.mark('c', record);
    expect(await store.get('a')).toBeUndefined();
    expect(await store.get('b')).toEqual(record);
    expect(await store.get('c')).toEqual(record);
    await store.close();
  });
  it('reports a damaged row instead of reading it as untainted', async () => {
    const path = file();
    const store = sqlite(path);
    await store.mark('t', record);
    const raw = new Database(path);
    raw.prepare("UPDATE taint_traces SET record = '{not json' WHERE trace_id = 't'").run();
    raw.close();
    await expect(store.get('t')).rejects.toThrow(/the taint store's row \(table taint_traces\) is malformed/);
    await store.close();
  });
});
