/**
 * Verification on several threads (the calling one and worker threads, each worker over its
 * own read-only SQLite connection): the same report as on one thread, a fixed snapshot while
 * appends and prunes go on behind it, no thread left behind on any path, and the CLI's
 * `--threads`. Workers run the build in dist/ (`npm test` builds first). The tampering
 * corpora are held to both modes in log.test.ts and review-tamper.test.ts.
 */

import { readFile } from 'node:fs/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEventInput, AuditLog, SegmentTask, VerifyReport } from '../../src/audit/index.js';
import { PARALLEL_VERIFY_FROM, verifyOnThreads } from '../../src/audit/index.js';
import { openSqliteAuditLog, openSqliteAuditReader } from '../../src/storage/index.js';
import { osThreads, osThreadsSettled, verifyInBothModes } from '../helpers/verify-modes.js';
import { runBastion, type CliRun } from '../helpers/cli.js';

let dir: string;
let clock: number;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bastion-verify-threads-'));
  clock = Date.parse('2026-05-22T10:00:00.000Z');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const path = (): string => join(dir, 'bastion.db');

function event(i: number): AuditEventInput {
  return {
    type: 'decision',
    traceId: i % 7 ? `trace-${Math.floor(i / 3)}` : undefined,
    principal: { id: `user${i % 5}@zyx.example`, groups: ['sre'], deviceCompliant: true },
    action: i % 3 ? 'jira_read' : 'jira_add_comment',
    decision: i % 10 ? 'allow' : 'deny',
    reason: i % 10 ? 'allowed by rule `read`' : 'no rule allows this action',
    risk: 'low',
    categories: [],
    policyVersion: 'v1',
    args: { ticket: `SEC-${i}`, note: 'ünïcode ✓' },
  } as AuditEventInput;
}

async function open(extra: { retentionDays?: number } = {}): Promise<AuditLog> {
  const opened = await openSqliteAuditLog(path(), { now: () => new Date(clock), checkpoint: { everyEvents: 250, everySeconds: 0 }, durable: false, ...extra });
  if (!opened.ok) throw new Error(opened.errors.map((e) => e.message).join('; '));
  return opened.value;
}

async function fill(log: AuditLog, from: number, to: number): Promise<void> {
  // In flight 25 at a time: batches of group commit, checkpoints between them.
  for (let start = from; start <= to; start += 25) {
    const pending: Array<Promise<unknown>> = [];
    for (let i = start; i <= Math.min(to, start + 24); i++) {
      clock += 1000;
      pending.push(log.append(event(i)));
    }
    await Promise.all(pending);
  }
}

function cli(argv: string[]): Promise<CliRun> {
  return runBastion(argv, { cwd: dir });
}

describe('verification on several threads', () => {
  it('gives the report one thread gives, with 2, 3 and 5 threads, and leaves no thread running', async () => {
    const log = await open();
    await fill(log, 1, 2_600);
    await log.close();
    for (const threads of [2, 3, 5]) {
      const { single, threaded, used } = await verifyInBothModes(path(), threads);
      expect(single).toMatchObject({ ok: true, events: 2_600, firstSeq: 1, lastSeq: 2_600, checkpointsVerified: 11 });
      expect(threaded).toEqual(single);
      expect(used).toEqual({ threads, segments: threads * 8, rechecked: false });
    }
  });

  it('reports progress up to the total, as one thread does', async () => {
    const log = await open();
    await fill(log, 1, 1_000);
    await log.close();
    const reader = await openSqliteAuditReader(path());
    if (!reader.ok) throw new Error('reader');
    const seen: Array<[number, number]> = [];
    await reader.value.verify({ threads: 2, onProgress: (done, total) => seen.push([done, total]) });
    await reader.value.close();
    expect(seen.at(-1)).toEqual([1_000, 1_000]);
  });

  it('verifies the snapshot it started from while appends go on behind it', async () => {
    const log = await open();
    await fill(log, 1, 1_200);
    const before = await log.verify({ threads: 1 });
    const reader = await openSqliteAuditReader(path());
    if (!reader.ok) throw new Error('reader');
    let used: unknown;
    let report: VerifyReport | undefined;
    await reader.value.store.snapshot(async (view) => {
      // The snapshot is fixed by its first read; the writer then goes on appending.
      expect(await view.eventCount()).toBe(1_200);
      await fill(log, 1_201, 1_700);
      report = await reader.value.verify({ threads: 3, onThreads: (u) => (used = u) });
    });
    // The worker threads saw 500 rows more than the snapshot and read only up to its head.
    expect(report).toEqual(before);
    expect(used).toEqual({ threads: 3, segments: 24, rechecked: false });
    await reader.value.close();
    await log.close();
  });

  it('is not fooled into a failure by a prune behind its snapshot: it verifies the snapshot on the calling thread', async () => {
    const log = await open({ retentionDays: 30 });
    await fill(log, 1, 1_000);
    clock += 31 * 86_400_000;
    await fill(log, 1_001, 1_010);
    const before = await log.verify({ threads: 1 });
    const reader = await openSqliteAuditReader(path());
    if (!reader.ok) throw new Error('reader');
    let used: unknown;
    let report: VerifyReport | undefined;
    await reader.value.store.snapshot(async (view) => {
      expect(await view.eventCount()).toBe(1_010);
      expect(await log.prune()).toMatchObject({ pruned: 1_000, throughSeq: 1_000 });
      report = await reader.value.verify({ threads: 2, onThreads: (u) => (used = u) });
    });
    // The workers found the first rows gone (deleted, to them); the snapshot still has them.
    expect(report).toEqual(before);
    expect(used).toEqual({ threads: 2, segments: 16, rechecked: true });
    await reader.value.close();
    // After the snapshot, the pruned log verifies on threads from its anchor.
    const { single, threaded, used: after } = await verifyInBothModes(path(), 2);
    expect(single).toMatchObject({ ok: true, firstSeq: 1_001, lastSeq: 1_011, prunedBy: 1_011 });
    expect(threaded).toEqual(single);
    expect(after).toEqual({ threads: 2, segments: 11, rechecked: false });
    await log.close();
  });

  it('verifies a live log while a writer appends, on threads, without a false failure', async () => {
    const log = await open();
    await fill(log, 1, 800);
    let writing = true;
    const writer = (async () => {
      for (let i = 801; writing; i += 20) await fill(log, i, i + 19);
    })();
    try {
      for (let round = 0; round < 3; round++) {
        let used: { rechecked: boolean } | undefined;
        const report = await log.verify({ threads: 2, onThreads: (u) => (used = u) });
        expect(report.ok, report.failure?.reason).toBe(true);
        expect(report.lastSeq).toBeGreaterThanOrEqual(800);
        expect(used?.rechecked).toBe(false);
      }
    } finally {
      writing = false;
      await writer;
    }
    await log.close();
  });

  it('uses threads by default only from PARALLEL_VERIFY_FROM events on; a number given is used at any size', async () => {
    const log = await open();
    await fill(log, 1, 300);
    let used: unknown;
    expect((await log.verify({ onThreads: (u) => (used = u) })).ok).toBe(true);
    expect(PARALLEL_VERIFY_FROM).toBe(50_000);
    expect(used).toBeUndefined();
    expect((await log.verify({ threads: 2, onThreads: (u) => (used = u) })).ok).toBe(true);
    expect(used).toEqual({ threads: 2, segments: 16, rechecked: false });
    await expect(log.verify({ threads: -1 })).rejects.toThrow('threads must be a whole number from 0 to 64, got -1');
    await expect(log.verify({ threads: 1.5 })).rejects.toThrow('got 1.5');
    await log.close();
  });

  it('falls back to the calling thread when a worker cannot open the store, and ends every worker', async () => {
    const log = await open();
    await fill(log, 1, 400);
    await log.close();
    const broken = join(dir, 'broken-rows.mjs');
    writeFileSync(broken, "export function openSegmentRows() { throw new Error('no connection for you'); }\n");
    const tasks: SegmentTask[] = [
      { from: 1, to: 200, seed: '00'.repeat(32), marks: [], anchorSize: 0, anchorRoot: '' },
      { from: 201, to: 400, seed: null, marks: [], anchorSize: 0, anchorRoot: '' },
    ];
    // libuv's thread pool starts on its first use: start it before counting, so only workers count.
    await readFile(path());
    const before = osThreads();
    await expect(verifyOnThreads({ module: pathToFileURL(broken), source: path() }, tasks, 3, () => undefined)).rejects.toThrow('no connection for you');
    expect(await osThreadsSettled(before)).toBe(before);
    // A module that is not there at all.
    await expect(verifyOnThreads({ module: pathToFileURL(join(dir, 'absent.js')), source: path() }, tasks, 2, () => undefined)).rejects.toThrow('is not built');
    // The real one, on worker threads only: both stretches hold and chain onto each other.
    const store = new URL('../../src/storage/sqlite/segment-rows.ts', import.meta.url);
    const results = await verifyOnThreads({ module: store, source: path() }, tasks, 2, () => undefined);
    expect(results.map((r) => r?.ok)).toEqual([true, true]);
    expect(results[0]?.ok && results[1]?.ok && results[1].seed).toBe(results[0]?.ok && results[0].chainHash);
    expect(await osThreadsSettled(before)).toBe(before);
  });

  it('bastion audit verify --threads: the same words and exit codes; a bad count is exit 2', async () => {
    const log = await open();
    await fill(log, 1, 600);
    await log.close();
    const one = await cli(['audit', 'verify', '--db', path(), '--threads', '1']);
    const two = await cli(['audit', 'verify', '--db', path(), '--threads', '2', '--json']);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('audit log intact: 600 events (seq 1..600), 3 signed checkpoints verified');
    expect(two.code).toBe(0);
    expect(JSON.parse(two.stdout)).toMatchObject({ ok: true, events: 600 });
    for (const bad of ['0', 'two', '65', '1e1']) {
      const r = await cli(['audit', 'verify', '--db', path(), '--threads', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr, bad).toContain(`--threads \`${bad}\` is not a whole number from 1 to 64`);
    }
  });
});
