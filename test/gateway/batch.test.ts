/**
 * `gateway.decideBatch`: decisions made together, audited in request order (all of one
 * request's events before the next one's) in one group commit, on a real SQLite audit log;
 * an entry that fails does not take the others' events with it.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { createMemoryKillSwitchStore } from '../../src/killswitch/index.js';
import { openSqliteStores, type StateStores } from '../../src/storage/index.js';

const root = new URL('../..', import.meta.url).pathname;
const NATIVE = join(root, 'examples/native');
const agent = { id: 'sre-agent', groups: ['sre'] };

describe('gateway.decideBatch', () => {
  let stores: StateStores | undefined;
  let gateway: Gateway | undefined;
  afterEach(async () => {
    await gateway?.close();
    await stores?.close();
  });

  async function open(killSwitch = createMemoryKillSwitchStore()): Promise<{ gateway: Gateway; commits: () => number }> {
    const opened = await openSqliteStores(mkdtempSync(join(tmpdir(), 'bastion-batch-')));
    if (!opened.ok) throw new Error(opened.errors[0]?.message);
    stores = opened.value;
    const audit = stores.audit;
    if (!audit) throw new Error('no audit log');
    // Counts the store's commits, to show the batch's events share one.
    let commits = 0;
    const store = audit.store as { appendBatch: (...args: unknown[]) => Promise<unknown> };
    const appendBatch = store.appendBatch.bind(store);
    store.appendBatch = (...args: unknown[]) => {
      commits++;
      return appendBatch(...args);
    };
    gateway = await createGateway({ policies: [NATIVE], auditLog: audit, stores: { killSwitch, approvals: stores.approvals, limits: stores.limits, taint: stores.taint } });
    return { gateway, commits: () => commits };
  }

  const eventsSince = async (seq: number) => ((await stores?.audit?.eventsAfter(seq, 1000)) ?? []).map((e) => [e.type, e.traceId]);

  it('audits in request order, an approval request with its decision, in one commit', async () => {
    const { gateway: g, commits } = await open();
    const head = (await stores?.audit?.store.head())?.size ?? 0;
    const before = commits();
    const decisions = await g.decideBatch([
      { principal: agent, action: 'shell.execute', args: { command: 'systemctl restart web-1' }, traceId: 't-0' },
      { principal: agent, action: 7 },
      { principal: agent, action: 'shell.execute', args: { command: 'df -h' }, traceId: 't-2' },
    ]);
    expect(decisions.map((d) => d.decision)).toEqual(['require_approval', 'deny', 'allow']);
    expect(await eventsSince(head)).toEqual([
      ['approval.requested', 't-0'],
      ['decision', 't-0'],
      ['decision', decisions[1]?.traceId],
      ['decision', 't-2'],
    ]);
    expect(commits() - before).toBe(1);
  });

  it('an entry whose decision fails rejects the batch, and the other entries are still audited, in order', async () => {
    const inner = createMemoryKillSwitchStore();
    let reads = 0;
    const flaky = Object.assign(Object.create(Object.getPrototypeOf(inner) as object) as object, inner, {
      get: async () => {
        reads++;
        if (reads === 3) throw new Error('kill-switch store down');
        return inner.get();
      },
    }) as typeof inner;
    const { gateway: g } = await open(flaky);
    reads = 0;
    const head = (await stores?.audit?.store.head())?.size ?? 0;
    await expect(
      g.decideBatch([
        { principal: agent, action: 'shell.execute', args: { command: 'df -h' }, traceId: 'f-0' },
        { principal: agent, action: 'shell.execute', args: { command: 'uptime' }, traceId: 'f-1' },
        { principal: agent, action: 'shell.execute', args: { command: 'ls' }, traceId: 'f-2' },
      ]),
    ).rejects.toThrow('kill-switch store down');
    expect(await eventsSince(head)).toEqual([
      ['decision', 'f-0'],
      ['decision', 'f-1'],
    ]);
  });
});
