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
import { isTainted, traceDownloads, type TaintStore } from '../../src/analysis/index.js';
import { createMemoryTaintStore, openPostgresTaintStore, openSqliteTaintStore } from '../../src/storage/index.js';
import { postgresAvailable } from '../helpers/services.js';
import { dropTestDatabase, freshSchema, schemaPool } from './postgres-harness.js';

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

const up = await postgresAvailable();
afterAll(dropTestDatabase);
// A store in a fresh schema of this run's database, on a pool it ends when closed.
const postgres = async (options: Parameters<typeof openPostgresTaintStore>[1] = {}, schema?: string): Promise<TaintStore> =>
  openPostgresTaintStore(await schemaPool(schema ?? (await freshSchema())), { ownsPool: true, ...options });

const adapters: Array<[string, () => TaintStore | Promise<TaintStore>]> = [
  ['memory', () => createMemoryTaintStore()],
  ['sqlite', () => sqlite()],
  ...(up ? [['postgres', () => postgres()] as [string, () => Promise<TaintStore>]] : []),
];

describe.each(adapters)('%s taint store', (_name, make) => {
  it('answers undefined for an untainted trace and the latest record for a marked one', async () => {
    const store = await make();
    expect(await store.get('t')).toBeUndefined();
    await store.mark('t', record);
    await store.mark('t', { ...record, score: 0.99 });
    expect(await store.get('t')).toEqual({ ...record, score: 0.99 });
    await store.close();
  });
  it('appends sources atomically, keeping at most the bound (oldest dropped, counted) and whether an attack was read', async () => {
    const store = await make();
    const entry = (i: number, attack = false) => ({
      action: 'web.fetch',
      source: `page ${i}`,
      attack,
      score: attack ? 0.9 : 0.1,
      techniques: attack ? ['override'] : [],
      at: '2026-01-01T00:00:00.000Z',
    });
    await Promise.all([store.append?.('t', entry(1, true)), ...Array.from({ length: 19 }, (_, i) => store.append?.('t', entry(i + 2)))]);
    const got = await store.get('t');
    expect(got).toMatchObject({ attack: true, score: 0.9, source: 'page 1', techniques: ['override'], dropped: 4 });
    expect(got?.sources?.map((s) => s.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 5));
    await store.close();
  });
  it('appends after a record written before flow rules (no sources) as its second source', async () => {
    const store = await make();
    await store.mark('t', record);
    const next = await store.append?.('t', { action: 'email.read', source: 'email.read', attack: false, score: 0, techniques: [], at: '2026-01-01T00:00:00.000Z' });
    expect(next).toMatchObject({ ...record, attack: true, dropped: 0 });
    expect(next?.sources?.map((s) => [s.seq, s.source, s.attack])).toEqual([
      [1, 'WebFetch', true],
      [2, 'email.read', false],
    ]);
    await store.close();
  });
  it('keeps the files allowed calls downloaded beside the taint: bounded, a path downloaded again moved last, and a record of downloads alone is not tainted', async () => {
    const store = await make();
    const at = '2026-01-01T00:00:00.000Z';
    for (let i = 1; i <= 34; i++) await store.append?.('t', { kind: 'download', action: 'shell.execute', paths: [`/tmp/f${i}`], at });
    await store.append?.('t', { kind: 'download', action: 'bash', paths: ['/tmp/f10'], at });
    const got = await store.get('t');
    expect(got?.downloads?.map((d) => d.path)).toEqual([...Array.from({ length: 31 }, (_, i) => `/tmp/f${i + 3}`).filter((p) => p !== '/tmp/f10'), '/tmp/f34', '/tmp/f10'].slice(-32));
    expect(got?.downloads).toHaveLength(32);
    expect(got?.downloads?.at(-1)).toEqual({ path: '/tmp/f10', action: 'bash', at });
    expect(isTainted(got)).toBe(false);
    expect(traceDownloads(got).at(0)).toBe('/tmp/f3');
    // A result that taints the trace later starts its taint and keeps the downloads.
    const next = await store.append?.('t', { action: 'web.fetch', source: 'web.fetch', attack: false, score: 0.1, techniques: [], at });
    expect(next).toMatchObject({ attack: false, source: 'web.fetch', dropped: 0, sources: [{ seq: 1, action: 'web.fetch', source: 'web.fetch', attack: false, score: 0.1, at }] });
    expect(isTainted(next)).toBe(true);
    expect(next?.downloads).toHaveLength(32);
    // And a download after the taint keeps the sources.
    const after = await store.append?.('t', { kind: 'download', action: 'shell.execute', paths: ['/tmp/late'], at });
    expect(after?.sources).toHaveLength(1);
    expect(traceDownloads(after).at(-1)).toBe('/tmp/late');
    expect(await store.get('t')).toEqual(after);
    await store.close();
  });
  it('hands out copies', async () => {
    const store = await make();
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
  it.each([
    ['not a list', '"downloads":"/tmp/x"'],
    ['a path that is not a string', '"downloads":[{"path":1,"action":"a","at":"2026-01-01T00:00:00.000Z"}]'],
    ['no time', '"downloads":[{"path":"/tmp/x","action":"a"}]'],
  ])('reports damaged downloads (%s) instead of reading the trace as having none', async (_name, downloads) => {
    const path = file();
    const store = sqlite(path);
    await store.mark('t', record);
    const raw = new Database(path);
    raw.prepare('UPDATE taint_traces SET record = ? WHERE trace_id = ?').run(`{"score":0,"techniques":[],"source":"","attack":false,"sources":[],${downloads}}`, 't');
    raw.close();
    await expect(store.get('t')).rejects.toThrow(/the taint store's row \(table taint_traces\) is malformed/);
    await store.close();
  });
});

describe.skipIf(!up)('the PostgreSQL taint store', () => {
  it('is shared between replicas (two pools), and keeps every append made through both at once', async () => {
    const schema = await freshSchema();
    const a = await postgres({}, schema);
    const b = await postgres({}, schema);
    await a.mark('session-1', record);
    expect(await b.get('session-1')).toEqual(record);
    const entry = (i: number) => ({ action: 'web.fetch', source: `page ${i}`, attack: false, score: 0.1, techniques: [], at: '2026-01-01T00:00:00.000Z' });
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).append?.('t2', entry(i))));
    expect((await a.get('t2'))?.sources?.map((s) => s.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await a.close();
    await b.close();
  });
  it('forgets a mark after its time to live, and keeps at most `limit` traces', async () => {
    let now = 1_000_000;
    const store = await postgres({ ttlMs: 1000, limit: 2, now: () => now });
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
  it('reports a damaged row instead of reading it as untainted, and rejects once closed', async () => {
    const schema = await freshSchema();
    const store = await postgres({}, schema);
    await store.mark('t', record);
    const raw = await schemaPool(schema, 1);
    await raw.query("UPDATE taint_traces SET record = '{not json' WHERE trace_id = 't'");
    await raw.end();
    await expect(store.get('t')).rejects.toMatchObject({ code: 'STATE_STORAGE', message: "the taint store's row (table taint_traces) is malformed" });
    await store.close();
    await expect(store.get('t')).rejects.toMatchObject({ code: 'STATE_STORAGE', message: 'the taint store is closed' });
  });
});
