/**
 * The contract every audit store must keep (the port in src/audit/store.ts): the memory and
 * SQLite adapters run it in test/storage/audit-store.test.ts, and a PostgreSQL adapter will
 * run the same. `makeStore` gives a fresh, empty store with a way to damage its state
 * behind the port's back (as a tamperer with access to it could) and, for stores that
 * persist, a way to open the same state again.
 */

import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditBatch, AuditStore, ChainHead, Checkpoint, StoredChainState, StoredRow } from '../../../src/audit/index.js';
import { AuditStateError, chainHash, GENESIS_CHAIN_HASH, leafHash, signCheckpoint, logIdOf, storeChainState, verifyRows } from '../../../src/audit/index.js';

export interface AuditStoreHarness {
  store: AuditStore;
  /** Opens the same state again, as another process would; absent where nothing persists. */
  reopen?: () => Promise<AuditStore>;
  /** Writes stored state directly, bypassing the port. */
  damage: {
    /** Replaces the stored head (undefined deletes it). */
    head(state: StoredChainState | undefined): Promise<void>;
    anchor(state: StoredChainState): Promise<void>;
    /** Adds a checkpoint row with this body and size column. */
    checkpointRow(size: unknown, body: string): Promise<void>;
    deleteEvent(seq: number): Promise<void>;
  };
  cleanup(): Promise<void>;
}

const TIME = (seq: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString();

/** A decision event's body in canonical key order, as the log writes it. */
function body(seq: number): string {
  const i = seq;
  const event = {
    action: i % 4 === 0 ? 'jira_add_comment' : 'jira_read',
    decision: i % 5 === 0 ? 'deny' : 'allow',
    principal: { groups: i % 2 ? ['grp-a'] : ['grp-b', 'grp-[x]'], id: i % 2 ? 'alice' : 'bob' },
    reason: 'r',
    risk: i % 7 === 0 ? 'high' : 'low',
    seq,
    time: TIME(seq),
    traceId: `trace-${Math.floor(i / 3)}`,
    type: i % 11 === 0 ? 'execution' : 'decision',
    v: 1,
  };
  return JSON.stringify(event);
}

/** A batch of `n` events chained onto `head`. */
function batch(head: ChainHead, n: number, make: (seq: number) => string = body): AuditBatch<number[]> {
  let previous = head.chainHash;
  const range = head.range.clone();
  const rows: StoredRow[] = [];
  for (let seq = head.size + 1; seq <= head.size + n; seq++) {
    const text = make(seq);
    const leaf = leafHash(text);
    previous = chainHash(previous, leaf);
    range.append(leaf);
    rows.push({ seq, body: text, chainHash: previous, traceId: (JSON.parse(text) as { traceId?: string }).traceId ?? null, time: TIME(seq) });
  }
  return { rows, head: { size: head.size + n, chainHash: previous, range }, result: rows.map((r) => r.seq) };
}

async function all(pages: AsyncIterable<readonly StoredRow[]>): Promise<StoredRow[]> {
  const rows: StoredRow[] = [];
  for await (const page of pages) rows.push(...page);
  return rows;
}

const hex = (h: Buffer | string): string => (typeof h === 'string' ? h : h.toString('hex'));
const KEY = generateKeyPairSync('ed25519');

function checkpoint(head: ChainHead, reason = 'test'): Checkpoint {
  return signCheckpoint(
    {
      v: 1,
      logId: logIdOf(KEY.publicKey),
      size: head.size,
      root: head.range.root().toString('hex'),
      chainHash: head.chainHash.toString('hex'),
      time: TIME(head.size),
      reason,
    },
    KEY.privateKey,
  );
}

async function rejectsWithState(promise: Promise<unknown>, part: AuditStateError['part'], message: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'an AuditStateError').toBeInstanceOf(AuditStateError);
  expect((err as AuditStateError).part).toBe(part);
  expect((err as AuditStateError).message).toMatch(message);
}

/**
 * Declares the audit store contract for one adapter.
 *
 * @example
 * auditStoreContract('memory', async () => ({ store: createMemoryAuditStore(), damage, cleanup }));
 */
export function auditStoreContract(name: string, makeStore: () => Promise<AuditStoreHarness>): void {
  describe(`audit store contract: ${name}`, () => {
    let open: AuditStoreHarness | undefined;
    const others: AuditStore[] = [];
    const make = async (): Promise<AuditStoreHarness> => (open = await makeStore());
    afterEach(async () => {
      for (const other of others.splice(0)) await other.close();
      await open?.store.close();
      await open?.cleanup();
      open = undefined;
    });

    it('starts empty at genesis', async () => {
      const { store } = await make();
      const head = await store.head();
      expect([head.size, hex(head.chainHash), head.range.size]).toEqual([0, hex(GENESIS_CHAIN_HASH), 0]);
      expect(await store.storedHead()).toBeUndefined();
      expect((await store.anchor()).size).toBe(0);
      expect(await store.extent()).toBeUndefined();
      expect(await store.eventCount()).toBe(0);
      expect(await all(store.rows())).toEqual([]);
      expect(await store.latestCheckpoint()).toBeUndefined();
      expect(await store.checkpoints()).toEqual([]);
      expect(await store.getMeta('public_key')).toBeUndefined();
      expect(await store.getCursor('siem:x')).toBe(0);
    });

    it('appends batches in order, each on the head the last one left, and reads them back', async () => {
      const { store } = await make();
      const results: number[][] = [];
      for (const n of [1, 5, 70, 1100]) results.push(await store.appendBatch((head) => batch(head, n)));
      expect(results.map((r) => [r[0], r[r.length - 1]])).toEqual([
        [1, 1],
        [2, 6],
        [7, 76],
        [77, 1176],
      ]);
      const head = await store.head();
      expect(head.size).toBe(1176);
      expect((await store.storedHead())?.size).toBe(1176);
      const rows = await all(store.rows());
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 1176 }, (_, i) => i + 1));
      expect(rows.every((r) => r.body === body(r.seq))).toBe(true);
      expect(hex((rows[rows.length - 1] as StoredRow).chainHash)).toBe(head.chainHash.toString('hex'));
      expect((await all(store.rows(1020, 1030))).map((r) => r.seq)).toEqual(Array.from({ length: 11 }, (_, i) => 1020 + i));
      expect(await all(store.rows(7, 6))).toEqual([]);
      expect((await store.row(5))?.body).toBe(body(5));
      expect(await store.row(5000)).toBeUndefined();
      expect(await store.bodiesAfter(3, 2)).toEqual([body(4), body(5)]);
      expect(await store.extent()).toEqual({ lowest: '1', highest: '1176' });
      expect(await store.eventCount()).toBe(1176);
      expect(await store.maxTimeThrough(10)).toBe(TIME(10));
      const report = await verifyRows({ rows: store.rows(), checkpoints: [checkpoint(head)], publicKey: KEY.publicKey, head: (await store.storedHead()) ?? null, extent: await store.extent() });
      expect(report).toMatchObject({ ok: true, events: 1176, checkpointsVerified: 1 });
    });

    it('writes a batch entirely or not at all', async () => {
      const { store } = await make();
      await store.appendBatch((head) => batch(head, 3));
      await expect(
        store.appendBatch(() => {
          throw new Error('hashing failed');
        }),
      ).rejects.toThrow('hashing failed');
      // The second row repeats a stored seq: the first must not stay behind either.
      await expect(
        store.appendBatch((head) => {
          const b = batch(head, 2);
          return { ...b, rows: [b.rows[0] as StoredRow, { ...(b.rows[1] as StoredRow), seq: 2 }] };
        }),
      ).rejects.toThrow();
      expect(await store.eventCount()).toBe(3);
      expect((await store.head()).size).toBe(3);
      expect((await all(store.rows())).map((r) => r.seq)).toEqual([1, 2, 3]);
    });

    it('serialises concurrent batches under the head lock: one gap-free chain', async () => {
      const harness = await make();
      const { store } = harness;
      const second = harness.reopen ? await harness.reopen() : store;
      if (second !== store) others.push(second);
      const seen: number[] = [];
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? second : store).appendBatch((head) => {
            seen.push(head.size);
            return batch(head, 3);
          }),
        ),
      );
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i * 3));
      expect(results.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      const head = await second.head();
      expect(head.size).toBe(60);
      expect((await verifyRows({ rows: store.rows(), checkpoints: [checkpoint(head)], publicKey: KEY.publicKey })).ok).toBe(true);
    });

    it('refuses a head that disagrees with the events, for reads and appends alike', async () => {
      const { store, damage } = await make();
      await store.appendBatch((head) => batch(head, 5));
      const good = storeChainState(await store.head());
      await damage.deleteEvent(5);
      await rejectsWithState(store.head(), 'head', /says 5 events, but the last stored event is 4/);
      await rejectsWithState(
        store.appendBatch((head) => batch(head, 1)),
        'head',
        /audit_head/,
      );
      expect(await store.eventCount()).toBe(4);
      await damage.head(undefined);
      await rejectsWithState(store.head(), 'head', /is missing, but events up to 4 are stored/);
      await damage.head({ ...good, size: 4 });
      await rejectsWithState(store.head(), 'head', /malformed: size 4, but its Merkle frontier \(range\) covers `5` events/);
      await damage.head({ ...good, chain_hash: Buffer.alloc(3) });
      await rejectsWithState(store.storedHead(), 'head', /chain_hash is not 32 bytes/);
      await damage.head({ ...good, range: 'not json' });
      await rejectsWithState(store.head(), 'head', /range `not json` is not JSON/);
    });

    it('prunes a prefix and records its anchor in one step; the head goes on from there', async () => {
      const { store, damage } = await make();
      let anchor: ChainHead | undefined;
      await store.appendBatch((head) => {
        const first = batch(head, 10);
        anchor = first.head;
        return first;
      });
      await store.appendBatch((head) => batch(head, 5));
      expect(await store.prune(anchor as ChainHead)).toBe(10);
      const stored = await store.anchor();
      expect([stored.size, hex(stored.chainHash), stored.range.root().toString('hex')]).toEqual([10, hex((anchor as ChainHead).chainHash), (anchor as ChainHead).range.root().toString('hex')]);
      expect((await all(store.rows())).map((r) => r.seq)).toEqual([11, 12, 13, 14, 15]);
      expect(await store.extent()).toEqual({ lowest: '11', highest: '15' });
      expect(await store.bodiesAfter(0, 2)).toEqual([body(11), body(12)]);
      expect((await store.head()).size).toBe(15);
      expect(await store.appendBatch((head) => batch(head, 1))).toEqual([16]);
      await damage.anchor({ ...storeChainState(anchor as ChainHead), size: -1 });
      await rejectsWithState(store.anchor(), 'anchor', /the stored anchor \(table audit_anchor\) is malformed: size `-1`/);
    });

    it('keeps checkpoints in size order and reports a malformed one', async () => {
      const { store, damage } = await make();
      const heads: ChainHead[] = [];
      for (const n of [10, 20, 10])
        heads.push(
          await store.appendBatch((head) => {
            const b = batch(head, n);
            return { ...b, result: b.head };
          }),
        );
      const [a, b, c] = heads.map((h) => checkpoint(h)) as [Checkpoint, Checkpoint, Checkpoint];
      // Stored out of order: size order is the store's job.
      for (const cp of [b, a, c]) await store.addCheckpoint(cp);
      expect((await store.checkpoints()).map((cp) => cp.size)).toEqual([10, 30, 40]);
      expect((await store.checkpoints(10)).map((cp) => cp.size)).toEqual([30, 40]);
      expect(await store.latestCheckpoint()).toEqual(c);
      expect((await store.checkpointRows()).map((r) => [r.size, JSON.parse(r.body).signature])).toEqual([
        [30, b.signature],
        [10, a.signature],
        [40, c.signature],
      ]);
      await damage.checkpointRow(50, '{not json');
      await rejectsWithState(store.latestCheckpoint(), 'checkpoint', /a stored checkpoint \(table audit_checkpoints\) is not JSON/);
    });

    it('keeps metadata and named cursors', async () => {
      const { store } = await make();
      await store.setMeta('public_key', 'pem-1');
      await store.setMeta('public_key', 'pem-2');
      await store.setCursor('siem:a', 42);
      await store.setCursor('siem:a', 43);
      expect(await store.getMeta('public_key')).toBe('pem-2');
      expect(await store.getCursor('siem:a')).toBe(43);
      expect(await store.getCursor('siem:b')).toBe(0);
    });

    it('filters queries by decision, principal, group, action, risk, trace, type, time and seq', async () => {
      const { store } = await make();
      await store.appendBatch((head) => batch(head, 30));
      const seqs = async (filter: Parameters<AuditStore['query']>[0]): Promise<number[]> => (await store.query(filter)).map((b) => (JSON.parse(b) as { seq: number }).seq);
      expect(await seqs({ decision: 'deny' })).toEqual([5, 10, 15, 20, 25, 30]);
      expect(await seqs({ principal: 'bob', decision: 'deny' })).toEqual([10, 20, 30]);
      expect(await seqs({ group: 'grp-a', risk: 'high' })).toEqual([7, 21]);
      expect(await seqs({ group: 'grp-[x]', decision: 'deny' })).toEqual([10, 20, 30]);
      expect(await seqs({ action: 'jira_add*' })).toEqual([4, 8, 12, 16, 20, 24, 28]);
      expect(await seqs({ action: 'jira_?ead' })).toEqual([]);
      expect(await seqs({ action: '*' })).toHaveLength(30);
      expect(await seqs({ traceId: 'trace-3' })).toEqual([9, 10, 11]);
      expect(await seqs({ type: 'execution' })).toEqual([11, 22]);
      expect(await seqs({ since: TIME(5), until: new Date(TIME(7)) })).toEqual([5, 6, 7]);
      expect(await seqs({ afterSeq: 27 })).toEqual([28, 29, 30]);
      expect(await seqs({ afterSeq: 3, throughSeq: 5 })).toEqual([4, 5]);
      expect(await seqs({ decision: 'allow', limit: 2 })).toEqual([28, 29]);
      expect(await seqs({ risk: 'critical' })).toEqual([]);
    });

    it('reads one snapshot while appends and prunes go on', async () => {
      const { store } = await make();
      await store.appendBatch((head) => batch(head, 1500));
      const seen = await store.snapshot(async (view) => {
        const before = (await view.head()).size;
        const pages = view.rows()[Symbol.asyncIterator]();
        const first = await pages.next();
        const anchor = await store.appendBatch((head) => {
          const b = batch(head, 10);
          return { ...b, result: b.head };
        });
        await store.prune(anchor);
        let last = 0;
        let count = first.done ? 0 : first.value.length;
        for (let step = await pages.next(); !step.done; step = await pages.next()) {
          count += step.value.length;
          last = step.value[step.value.length - 1]?.seq ?? last;
        }
        return { before, after: (await view.head()).size, count, last, extent: await view.extent() };
      });
      expect(seen).toEqual({ before: 1500, after: 1500, count: 1500, last: 1500, extent: { lowest: '1', highest: '1500' } });
      expect(await store.extent()).toBeUndefined();
      expect((await store.head()).size).toBe(1510);
    });

    it('keeps gaps as gaps when paging', async () => {
      const { store, damage } = await make();
      await store.appendBatch((head) => batch(head, 2100));
      for (const seq of [1024, 1025, 2049]) await damage.deleteEvent(seq);
      const seqs = (await all(store.rows())).map((r) => r.seq);
      expect(seqs).toHaveLength(2097);
      expect(seqs.includes(1024) || seqs.includes(1025) || seqs.includes(2049)).toBe(false);
      expect(seqs.every((seq, i) => i === 0 || seq > (seqs[i - 1] as number))).toBe(true);
      expect((await all(store.rows(1020, 1030))).map((r) => r.seq)).toEqual([1020, 1021, 1022, 1023, 1026, 1027, 1028, 1029, 1030]);
    });

    it('persists across reopening, where it persists', async (ctx) => {
      const harness = await make();
      if (!harness.reopen) return ctx.skip();
      await harness.store.appendBatch((head) => batch(head, 12));
      const head = await harness.store.head();
      await harness.store.addCheckpoint(checkpoint(head));
      await harness.store.setMeta('public_key', 'pem');
      await harness.store.setCursor('siem:a', 7);
      await harness.store.close();
      const again = await harness.reopen();
      others.push(again);
      expect((await again.head()).size).toBe(12);
      expect((await again.head()).chainHash.equals(head.chainHash)).toBe(true);
      expect((await all(again.rows())).map((r) => r.body)).toEqual(Array.from({ length: 12 }, (_, i) => body(i + 1)));
      expect((await again.latestCheckpoint())?.size).toBe(12);
      expect(await again.getMeta('public_key')).toBe('pem');
      expect(await again.getCursor('siem:a')).toBe(7);
    });
  });
}
