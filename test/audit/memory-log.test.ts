/**
 * The log takes a store, not a path: the same log over the in-memory store, with a key made
 * for the process, appends, verifies while appends go on, proves and prunes.
 */

import { describe, expect, it } from 'vitest';
import { AuditStoreUnavailable, ephemeralKey, openAuditLog, verifyInclusionProof, type AuditEventInput } from '../../src/audit/index.js';
import { createMemoryAuditStore } from '../../src/storage/index.js';

const event = (i: number): AuditEventInput => ({
  type: 'decision',
  traceId: `t-${i}`,
  principal: { id: 'a', groups: [] },
  action: 'x',
  decision: 'allow',
  reason: 'allowed',
  risk: 'low',
  categories: [],
  policyVersion: 'v1',
});

describe('audit log over the in-memory store', () => {
  it('appends, verifies a snapshot while appends go on, proves and prunes', async () => {
    let clock = Date.parse('2026-05-22T10:00:00.000Z');
    const store = createMemoryAuditStore();
    const opened = await openAuditLog({ store, key: ephemeralKey(), now: () => new Date(clock), retentionDays: 1, checkpoint: { everyEvents: 10, everySeconds: 0 } });
    if (!opened.ok) throw new Error(opened.errors[0]?.message);
    const log = opened.value;
    await Promise.all(Array.from({ length: 25 }, (_, i) => log.append(event(i))));
    const [report] = await Promise.all([log.verify(), ...Array.from({ length: 5 }, (_, i) => log.append(event(100 + i)))]);
    // One batch of 25: one checkpoint (every 10 events, taken after the batch that passes them).
    expect(report).toMatchObject({ ok: true, lastSeq: 25, checkpointsVerified: 1 });
    expect(await log.verify()).toMatchObject({ ok: true, lastSeq: 30, checkpointsVerified: 1 });
    const proof = await log.inclusionProof(17);
    expect(proof.ok && verifyInclusionProof(proof.value, log.publicKeyPem())).toBeUndefined();
    clock += 2 * 86_400_000;
    expect(await log.prune()).toMatchObject({ pruned: 25, throughSeq: 25, eventSeq: 31 });
    expect(await log.verify()).toMatchObject({ ok: true, firstSeq: 26, lastSeq: 31, prunedBy: 31 });
    await log.close();
    await expect(log.append(event(1))).rejects.toThrow(/closed/);
  });

  it('refuses to open a store signed by another key', async () => {
    const store = createMemoryAuditStore();
    await store.setMeta('public_key', '-----BEGIN PUBLIC KEY-----\nother\n-----END PUBLIC KEY-----\n');
    const opened = await openAuditLog({ store, key: ephemeralKey() });
    expect(opened.ok).toBe(false);
    if (!opened.ok) expect(opened.errors[0]).toMatchObject({ code: 'AUDIT_KEY', message: expect.stringContaining('ephemeral') });
  });
});

describe('a write the store did not take', () => {
  // A store that fails its next `appendBatch` with `failure`, then works again.
  async function failingOnce(failure: Error) {
    const store = createMemoryAuditStore();
    const append = store.appendBatch.bind(store);
    let fail = true;
    store.appendBatch = (build) => {
      if (!fail) return append(build);
      fail = false;
      return Promise.reject(failure);
    };
    const opened = await openAuditLog({ store, key: ephemeralKey() });
    if (!opened.ok) throw new Error(opened.errors[0]?.message);
    return opened.value;
  }

  it('is AUDIT_UNAVAILABLE (retry) when the store says its server or disk did not take it, and nothing is recorded', async () => {
    const log = await failingOnce(new AuditStoreUnavailable('PostgreSQL is unreachable: connect ECONNREFUSED 127.0.0.1:5432'));
    await expect(log.append(event(1))).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE', message: 'cannot write the audit log: PostgreSQL is unreachable: connect ECONNREFUSED 127.0.0.1:5432' });
    // The next append succeeds and takes seq 1: the failed batch left no gap and no row.
    expect(await log.append(event(2))).toMatchObject({ seq: 1 });
    expect(await log.verify()).toMatchObject({ ok: true, lastSeq: 1 });
    await log.close();
  });

  it('stays AUDIT_STORAGE (a broken store, 500) for any other failure', async () => {
    const log = await failingOnce(new TypeError("Cannot read properties of undefined (reading 'rows')"));
    await expect(log.append(event(1))).rejects.toMatchObject({ code: 'AUDIT_STORAGE', message: "cannot write the audit log: Cannot read properties of undefined (reading 'rows')" });
    await log.close();
  });
});
