/**
 * Group commit batches only under load: a lone caller's append commits on the next turn of
 * the event loop, never after a timer, and appends made together still share one commit.
 * Timers are faked (setTimeout only), so an append that waited on one would never settle.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import type { AuditEventInput, AuditLog } from '../../src/audit/index.js';
import { openSqliteAuditLog } from '../../src/storage/index.js';

const event = (i: number): AuditEventInput => ({
  type: 'decision',
  traceId: `t-${i}`,
  principal: { id: 'a', groups: [] },
  action: 'x',
  decision: 'allow',
  reason: 'allowed',
  matched: [],
  risk: 'low',
  categories: [],
  policyVersion: 'v1',
});

let log: AuditLog | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await log?.close();
  log = undefined;
});

async function open(extra: Record<string, unknown> = {}): Promise<AuditLog> {
  const opened = await openSqliteAuditLog(join(mkdtempSync(join(tmpdir(), 'bastion-gc-')), 'bastion.db'), { checkpoint: { everySeconds: 0 }, ...extra });
  if (!opened.ok) throw new Error(opened.errors[0]?.message);
  return opened.value;
}

it('a lone caller never waits on a timer, durable or not', async () => {
  for (const durable of [true, false]) {
    log = await open({ durable });
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval'] });
    for (let i = 1; i <= 5; i++) await expect(log.append(event(i))).resolves.toMatchObject({ seq: i });
    vi.useRealTimers();
    await log.close();
    log = undefined;
  }
});

it('appends made in the same turn all settle without a timer, in order', async () => {
  log = await open();
  vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval'] });
  const receipts = await Promise.all(Array.from({ length: 50 }, (_, i) => log!.append(event(i))));
  expect(receipts.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
});

it('a configured delay still waits for company', async () => {
  log = await open({ groupCommit: { maxDelayMs: 5 } });
  vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval'] });
  let settled = false;
  const p = log.append(event(1)).then((r) => {
    settled = true;
    return r;
  });
  await new Promise((r) => setImmediate(r));
  expect(settled).toBe(false);
  await vi.advanceTimersByTimeAsync(5);
  await expect(p).resolves.toMatchObject({ seq: 1 });
});
