/**
 * `bastion audit query --json` streams: a log of 200,000 events is written out in bounded
 * memory (it built one string and failed with "Invalid string length" near 1M events), and
 * the streamed array is byte for byte what `JSON.stringify(events, null, 2)` printed before.
 * `audit export` can be bounded (`--from-seq`, `--to-seq`, `--limit`) and resumed
 * (`--after-seq`, the last seq written said on stderr), with a progress bar only on a terminal.
 */

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/index.js';
import { openSqliteAuditLog, openSqliteAuditReader } from '../../src/storage/index.js';
import { runBastion, type CliRun } from '../helpers/cli.js';

const root = new URL('../..', import.meta.url).pathname;
// `BASTION_CLI` runs the memory test against another build (the one before streaming, to see it fail).
const CLI = process.env['BASTION_CLI'] ?? join(root, 'dist/cli/main.js');
const BIG = 200_000;
let dir: string;
let db: string;

function cli(argv: string[], tty = false): Promise<CliRun> {
  return runBastion(argv, { cwd: dir, tty });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bastion-audit-stream-'));
  db = join(dir, 'bastion.db');
  const opened = await openSqliteAuditLog(db, { durable: false, checkpoint: { everyEvents: 50_000, everySeconds: 0 } });
  if (!opened.ok) throw new Error(opened.errors[0]?.message);
  const log = opened.value;
  // Appends in flight together share group commits: 200k events in a few seconds.
  for (let i = 0; i < BIG; i += 2000) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < i + 2000; j++) {
      batch.push(
        log.append({
          type: 'decision',
          traceId: `t-${j}`,
          principal: { id: j % 7 === 0 ? 'bob' : 'alice', groups: ['sre'] },
          action: 'shell.execute',
          args: { command: `kubectl rollout restart deployment/web-${j % 100}` },
          decision: j % 7 === 0 ? 'deny' : 'allow',
          reason: j % 7 === 0 ? 'no rule allows this action' : 'allowed',
          risk: 'medium',
          categories: ['service.control'],
          policyVersion: 'v1',
          matched: [],
        }),
      );
    }
    await Promise.all(batch);
  }
  await log.close();
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs the built CLI in a child whose heap is sampled every 20 ms (a preloaded module) and
 * capped (--max-old-space-size), reading its stdout as a pipe would: only a count of bytes
 * and of events is kept here.
 */
function runChild(args: string[]): Promise<{ code: number | null; bytes: number; events: number; head: string; tail: string; stderr: string; heap: { start: number; max: number } }> {
  const heapFile = join(dir, `heap-${Date.now()}.json`);
  const probe = `data:text/javascript,${encodeURIComponent(
    `import { writeFileSync } from 'node:fs';
     const start = process.memoryUsage().heapUsed; let max = start;
     setInterval(() => { max = Math.max(max, process.memoryUsage().heapUsed); }, 20).unref();
     process.on('exit', () => { max = Math.max(max, process.memoryUsage().heapUsed); writeFileSync(${JSON.stringify(heapFile)}, JSON.stringify({ start, max })); });`,
  )}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--max-old-space-size=96', '--import', probe, CLI, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let events = 0;
    let head = '';
    let carry = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      bytes += c.length;
      const text = carry + c.toString('latin1');
      if (head.length < 200) head += text.slice(0, 200 - head.length);
      events += text.match(/\n {4}"seq": /g)?.length ?? 0;
      // Keep what could be the start of a match cut by the chunk boundary: one character
      // less than a match, so no match is counted twice.
      carry = text.slice(-11);
    });
    let tail = '';
    child.stdout.on('data', (c: Buffer) => (tail = (tail + c.toString('latin1')).slice(-200)));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const heap = existsSync(heapFile) ? (JSON.parse(readFileSync(heapFile, 'utf8')) as { start: number; max: number }) : { start: 0, max: Number.POSITIVE_INFINITY };
      resolve({ code, bytes, events, head, tail, stderr, heap });
    });
  });
}

describe('bastion audit query --json streams', () => {
  it(`writes ${BIG.toLocaleString('en')} events in bounded memory (a child process, its heap sampled)`, async () => {
    expect(existsSync(CLI), 'run `npm run build` first: this test runs the built CLI').toBe(true);
    const r = await runChild(['audit', 'query', '--db', db, '--limit', '0', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.events).toBe(BIG);
    expect(r.head).toMatch(/^\[\n {2}\{\n {4}"action": "shell\.execute",\n/);
    expect(r.tail).toMatch(/\n {2}\}\n\]\n$/);
    // The output is about 100 MB; holding it (or the events) would take hundreds of MB of heap.
    expect(r.bytes).toBeGreaterThan(90 * 1024 * 1024);
    const growth = r.heap.max - r.heap.start;
    expect(growth, `heap grew by ${Math.round(growth / 1048576)} MB`).toBeLessThan(80 * 1024 * 1024);
  }, 60_000);

  it('the streamed array is byte for byte JSON.stringify(events, null, 2), for pages, limits and filters', async () => {
    const opened = await openSqliteAuditReader(db);
    if (!opened.ok) throw new Error('open');
    const reader = opened.value;
    try {
      for (const args of [
        ['--limit', '3'],
        ['--limit', '7001', '--decision', 'deny'],
        ['--decision', 'deny', '--principal', 'alice'],
        ['--trace', 't-12345'],
      ]) {
        const r = await cli(['audit', 'query', '--db', db, '--json', ...args]);
        expect(r.code, args.join(' ')).toBe(0);
        const events = JSON.parse(r.stdout) as AuditEvent[];
        expect(r.stdout, args.join(' ')).toBe(JSON.stringify(events, null, 2) + '\n');
        if (args[0] === '--limit') expect(events, args.join(' ')).toHaveLength(Number(args[1]));
      }
      const deny = JSON.parse((await cli(['audit', 'query', '--db', db, '--json', '--limit', '7001', '--decision', 'deny'])).stdout) as AuditEvent[];
      // The most recent 7001 denies, in seq order: the last one is the log's last deny.
      const lastDeny = Math.floor((BIG - 1) / 7) * 7 + 1;
      expect([deny[0]?.seq, deny.at(-1)?.seq]).toEqual([lastDeny - 7000 * 7, lastDeny]);
      expect(deny.every((e) => e.decision === 'deny')).toBe(true);
      expect((await cli(['audit', 'query', '--db', db, '--json', '--principal', 'nobody'])).stdout).toBe('[]\n');
      // queryPages itself: pages never larger than asked, the same events as one query.
      const pages: number[] = [];
      const seqs: number[] = [];
      for await (const page of reader.queryPages({ decision: 'deny', throughSeq: 10_000 }, 100)) {
        pages.push(page.length);
        seqs.push(...page.map((e) => e.seq));
      }
      expect(Math.max(...pages)).toBeLessThanOrEqual(100);
      expect(seqs).toEqual((await reader.query({ decision: 'deny', throughSeq: 10_000 })).map((e) => e.seq));
    } finally {
      await reader.close();
    }
  }, 60_000);
});

describe('bastion audit export: bounded, resumable, progress on a terminal', () => {
  const seqs = (out: string) =>
    out
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { seq: number }).seq);

  it('--limit and --after-seq cut a long export into parts that join up, each saying where to resume', async () => {
    const first = await cli(['audit', 'export', '--db', db, '--format', 'jsonl', '--limit', '5']);
    expect([first.code, seqs(first.stdout)]).toEqual([0, [1, 2, 3, 4, 5]]);
    expect(first.stderr).toBe('bastion audit export: wrote 5 events (seq 1..5), read through seq 5; more remain: resume with --after-seq 5\n');
    const second = await cli(['audit', 'export', '--db', db, '--format', 'jsonl', '--after-seq', '5', '--limit', '3']);
    expect(seqs(second.stdout)).toEqual([6, 7, 8]);
    expect(second.stderr).toBe('bastion audit export: wrote 3 events (seq 6..8), read through seq 8; more remain: resume with --after-seq 8\n');
    const end = await cli(['audit', 'export', '--db', db, '--format', 'jsonl', '--after-seq', String(BIG - 2)]);
    expect(seqs(end.stdout)).toEqual([BIG - 1, BIG]);
    expect(end.stderr).toBe(`bastion audit export: wrote 2 events (seq ${BIG - 1}..${BIG}), read through seq ${BIG}; resume later with --after-seq ${BIG}\n`);
  });

  it('--from-seq and --to-seq are inclusive bounds; nothing to write still says where it stands', async () => {
    const r = await cli(['audit', 'export', '--db', db, '--format', 'ocsf', '--from-seq', '4000', '--to-seq', '4003']);
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { metadata: { sequence: number } }).metadata.sequence),
    ).toEqual([4000, 4001, 4002, 4003]);
    expect(r.stderr).toBe('bastion audit export: wrote 4 events (seq 4000..4003), read through seq 4003; resume later with --after-seq 4003\n');
    const none = await cli(['audit', 'export', '--db', db, '--format', 'jsonl', '--after-seq', String(BIG)]);
    expect([none.code, none.stdout, none.stderr]).toEqual([0, '', `bastion audit export: wrote 0 events, read through seq ${BIG}; resume later with --after-seq ${BIG}\n`]);
  });

  it.each([
    [['--after-seq', '3', '--from-seq', '4'], 'give --after-seq or --from-seq, not both'],
    [['--from-seq', '0'], 'option --from-seq: `0` is not a whole number of at least 1'],
    [['--limit', '-1'], 'option `--limit` needs a value (give one that starts with `-` as `--limit=-1`); run `bastion audit export --help` for the options'],
    [['--limit=-1'], 'option --limit: `-1` is not a whole number of at least 1'],
    [['--to-seq', '2', '--after-seq', '5'], 'option --to-seq: 2 is not after the start (seq 5)'],
    [['--after-seq', '1e3'], 'option --after-seq: `1e3` is not a whole number'],
  ])('refuses %j', async (args, message) => {
    const r = await cli(['audit', 'export', '--db', db, '--format', 'jsonl', ...args]);
    expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `bastion audit export: ${message}\n`]);
  });

  it('a progress bar on stderr only when stderr is a terminal', async () => {
    const piped = await cli(['audit', 'export', '--db', db, '--format', 'jsonl', '--to-seq', '3000']);
    expect(piped.stderr).not.toContain('exporting [');
    const tty = await cli(['audit', 'export', '--db', db, '--format', 'jsonl', '--to-seq', '3000'], true);
    expect(tty.stdout).toBe(piped.stdout);
    expect(tty.stderr).toContain('\rexporting [##############################] 3000/3000\n');
    expect(tty.stderr).toMatch(/\rexporting \[#+\.+\] 2048\/3000/);
  });
});
