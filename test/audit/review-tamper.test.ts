/**
 * The outside review's audit tampering (test/fixtures/audit/review-tamper.json), each case
 * applied to a real SQLite log and checked through the library and the CLI.
 *
 * `BASTION_BASELINE=/work/base npx vitest run test/audit/review-tamper.test.ts` runs the same
 * cases against another build's `dist/` (a checkout built before the fix): that is how each
 * case was shown to fail there.
 */

import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEventInput, Checkpoint } from '../../src/audit/index.js';
import type { CliIo } from '../../src/cli/command.js';
import { Database, type SqliteDatabase } from '../../src/storage/sqlite/driver.js';
import { verifyInBothModes } from '../helpers/verify-modes.js';

const baseline = process.env['BASTION_BASELINE'];
const load = async <T>(built: string, source: () => Promise<T>): Promise<T> => (baseline ? ((await import(pathToFileURL(join(baseline, 'dist', built)).href)) as T) : source());
const audit = await load('audit/index.js', () => import('../../src/audit/index.js'));
const storage = await load('storage/index.js', () => import('../../src/storage/index.js'));
const { runCli } = await load('cli/run.js', () => import('../../src/cli/run.js'));

interface Step {
  sql?: string;
  op?: 'forge-anchor' | 'set-head' | 'witness';
  size?: number;
  keepRows?: boolean;
  editFrontier?: boolean;
  shape?: 'get' | 'get-pretty' | 'jsonl' | 'hec' | 'empty' | 'junk';
  forge?: { size: number; kind: 'signature' | 'root' };
}

interface Case {
  finding: number;
  description: string;
  setup: 'plain' | 'pruned';
  steps: Step[];
  expect: { exit: number; ok?: boolean; seq?: number; checkpointSize?: number; reason?: string; stdout?: string; stderr?: string };
  queries?: Array<{ args: string[]; seqs: number[] }>;
  append?: { refused: string };
}

const corpus = JSON.parse(readFileSync(new URL('../fixtures/audit/review-tamper.json', import.meta.url), 'utf8')) as { cases: Case[] };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bastion-review-tamper-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function event(i: number): AuditEventInput {
  return {
    type: 'decision',
    traceId: `trace-${Math.floor(i / 3)}`,
    principal: { id: i % 2 ? 'alice' : 'bob', groups: ['sre'], deviceCompliant: true },
    action: 'jira_read',
    decision: i % 5 === 0 ? 'deny' : 'allow',
    reason: i % 5 === 0 ? 'no rule allows this action' : 'allowed',
    risk: 'low',
    categories: [],
    policyVersion: 'v1',
  };
}

async function build(path: string, setup: Case['setup']): Promise<void> {
  let clock = Date.parse('2026-05-22T10:00:00.000Z');
  const opened = await storage.openSqliteAuditLog(path, {
    now: () => new Date(clock),
    checkpoint: { everyEvents: 10, everySeconds: 0 },
    ...(setup === 'pruned' ? { retentionDays: 2555 } : {}),
  });
  if (!opened.ok) throw new Error(opened.errors.map((e) => e.message).join('; '));
  const log = opened.value;
  for (let i = 1; i <= (setup === 'pruned' ? 25 : 30); i++) {
    clock += 1000;
    await log.append(event(i));
  }
  if (setup === 'pruned') {
    clock += 2556 * 86_400_000;
    await log.append(event(26));
    expect(await log.prune()).toMatchObject({ pruned: 20, throughSeq: 20, eventSeq: 27 });
  }
  await log.close();
}

function popcount(n: number): number {
  return n.toString(2).replace(/0/g, '').length;
}

/** Deletes events 1..size (unless kept) and records the anchor a real pruning would have: all of it computable. */
function forgeAnchor(db: SqliteDatabase, size: number, keepRows: boolean): void {
  const stored = db.prepare('SELECT size, chain_hash, range FROM audit_anchor').get() as { size: number; chain_hash: Buffer; range: string } | undefined;
  const range = stored ? audit.CompactRange.fromJSON(JSON.parse(stored.range) as { size: number; nodes: string[] }) : new audit.CompactRange();
  let previous = stored?.chain_hash ?? audit.GENESIS_CHAIN_HASH;
  for (const body of db
    .prepare('SELECT body FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq')
    .pluck()
    .all(stored?.size ?? 0, size) as string[]) {
    const leaf = audit.leafHash(body);
    previous = audit.chainHash(previous, leaf);
    range.append(leaf);
  }
  if (!keepRows) db.prepare('DELETE FROM audit_events WHERE seq <= ?').run(size);
  db.prepare('INSERT OR REPLACE INTO audit_anchor (id, size, chain_hash, range) VALUES (1, ?, ?, ?)').run(size, previous, JSON.stringify(range.toJSON()));
}

function setHead(db: SqliteDatabase, step: Step): void {
  const head = db.prepare('SELECT size, range FROM audit_head').get() as { size: number; range: string };
  const range = JSON.parse(head.range) as { size: number; nodes: string[] };
  const size = step.size ?? head.size;
  if (step.size !== undefined) Object.assign(range, { size, nodes: Array.from({ length: popcount(size) }, () => '00'.repeat(32)) });
  if (step.editFrontier) range.nodes[0] = (range.nodes[0]?.startsWith('0') ? '1' : '0') + (range.nodes[0] ?? '').slice(1);
  db.prepare('UPDATE audit_head SET size = ?, range = ?').run(size, JSON.stringify(range));
}

function witness(db: SqliteDatabase, step: Step, file: string): void {
  let cps = (db.prepare('SELECT body FROM audit_checkpoints ORDER BY size, id').pluck().all() as string[]).map((b) => JSON.parse(b) as Checkpoint);
  const forge = step.forge;
  if (forge) {
    const key = createPrivateKey(readFileSync(join(dir, 'audit-signing-key.pem'), 'utf8'));
    cps = cps.map((cp) => {
      if (cp.size !== forge.size) return cp;
      if (forge.kind === 'signature') return { ...cp, signature: Buffer.alloc(64, 7).toString('base64') };
      const { signature: _dropped, ...body } = cp;
      return audit.signCheckpoint({ ...body, root: 'ab'.repeat(32) }, key);
    });
  }
  const logId = cps[0]?.logId;
  const text = {
    get: () => JSON.stringify({ logId, checkpoints: cps }),
    'get-pretty': () => JSON.stringify({ logId, checkpoints: cps }, null, 2),
    jsonl: () => cps.map((cp) => JSON.stringify(cp)).join('\n'),
    hec: () =>
      cps
        .flatMap((cp) => [
          JSON.stringify({ time: 1, source: 'bastion', sourcetype: 'bastion:audit:ocsf', event: { class_uid: 6003 } }),
          JSON.stringify({ time: 1, source: 'bastion', sourcetype: 'bastion:checkpoint', event: cp }),
        ])
        .join('\n'),
    empty: () => JSON.stringify({ logId, checkpoints: [] }),
    junk: () => JSON.stringify({ logId, checkpoints: [cps[0], { ...cps[1], size: 'twenty' }] }),
  }[step.shape ?? 'jsonl']();
  writeFileSync(file, text + '\n');
}

/** The checkpoints of a witness file the `witness` step wrote (only the shapes the library takes; others stay for the CLI). */
function readWitness(file: string): Checkpoint[] {
  const text = readFileSync(file, 'utf8');
  try {
    const doc = JSON.parse(text) as { checkpoints?: Checkpoint[] };
    return doc.checkpoints ?? [];
  } catch {
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { sourcetype?: string; event?: Checkpoint } & Checkpoint)
      .flatMap((d) => (d.sourcetype === undefined ? [d] : d.sourcetype === 'bastion:checkpoint' && d.event ? [d.event] : []));
  }
}

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const io: CliIo = { stdin: new PassThrough(), stdout, stderr, env: {}, cwd: dir };
  const code = await runCli(argv, io);
  return { code, stdout: out, stderr: err };
}

describe('audit tampering from the outside review', () => {
  it('has its corpus', () => expect(corpus.cases.length).toBeGreaterThanOrEqual(26));

  it.each(corpus.cases)('finding $finding: $description', async (c) => {
    const path = join(dir, 'bastion.db');
    await build(path, c.setup);
    const db = new Database(path);
    let witnessFile: string | undefined;
    for (const step of c.steps) {
      if (step.sql !== undefined) db.exec(step.sql);
      else if (step.op === 'forge-anchor') forgeAnchor(db, step.size ?? 0, step.keepRows === true);
      else if (step.op === 'set-head') setHead(db, step);
      else if (step.op === 'witness') witness(db, step, (witnessFile = join(dir, 'witness.json')));
    }
    const rowsBefore = db.prepare('SELECT count(*) FROM audit_events').pluck().get() as number;
    db.close();

    const want = c.expect;
    if (!witnessFile && want.exit !== 2) {
      const reader = await storage.openSqliteAuditReader(path);
      if (!reader.ok) throw new Error(reader.errors.map((e) => e.message).join('; '));
      try {
        const report = await reader.value.verify();
        expect(report.ok, c.description).toBe(want.exit === 0);
        if (want.seq !== undefined) expect(report.failure?.seq, c.description).toBe(want.seq);
        if (want.checkpointSize !== undefined) expect(report.failure?.checkpointSize, c.description).toBe(want.checkpointSize);
        if (want.reason !== undefined) expect(report.failure?.reason, c.description).toContain(want.reason);
      } finally {
        await reader.value.close();
      }
    }

    const run = await cli(['audit', 'verify', '--db', path, ...(witnessFile ? ['--checkpoint', witnessFile] : [])]);
    expect(run.code, `${c.description}: ${run.stdout}${run.stderr}`).toBe(want.exit);
    if (!baseline) {
      // The rows split among the calling thread and a worker thread: the same report, the
      // same exit code and words from the CLI.
      const trusted = witnessFile ? { trusted: readWitness(witnessFile) } : {};
      if (want.exit !== 2) {
        const modes = await verifyInBothModes(path, 2, trusted);
        expect(modes.threaded, c.description).toEqual(modes.single);
        if (want.exit === 0) expect(modes.used, c.description).toEqual({ threads: 2, segments: expect.any(Number), rechecked: false });
      }
      const threaded = await cli(['audit', 'verify', '--db', path, '--threads', '2', ...(witnessFile ? ['--checkpoint', witnessFile] : [])]);
      expect(threaded, c.description).toEqual(run);
    }
    expect(run.stderr, c.description).not.toContain('internal error');
    if (want.exit === 0) expect(run.stdout, c.description).toContain('audit log intact');
    if (want.exit === 1) {
      const where = want.seq !== undefined ? `first bad sequence number ${want.seq}: ` : want.checkpointSize !== undefined ? `checkpoint at size ${want.checkpointSize}: ` : '';
      expect(run.stdout, c.description).toContain(`audit log NOT intact: ${where}`);
      if (want.reason !== undefined) expect(run.stdout, c.description).toContain(want.reason);
    }
    if (want.stdout !== undefined) expect(run.stdout, c.description).toContain(want.stdout);
    if (want.stderr !== undefined) expect(run.stderr, c.description).toContain(want.stderr);

    for (const q of c.queries ?? []) {
      const shown = await cli(['audit', 'query', '--db', path, '--json', '--limit', '0', ...q.args]);
      expect(shown.code, c.description).toBe(0);
      expect(
        (JSON.parse(shown.stdout) as Array<{ seq: number }>).map((e) => e.seq),
        `${c.description}: query ${q.args.join(' ')}`,
      ).toEqual(q.seqs);
    }

    if (c.append) {
      const opened = await storage.openSqliteAuditLog(path, { checkpoint: { everySeconds: 0 } });
      let refusal: string | undefined;
      if (!opened.ok) refusal = opened.errors.map((e) => e.message).join('; ');
      else {
        refusal = await opened.value.append(event(99)).then(
          () => undefined,
          (err: unknown) => String((err as Error).message),
        );
        await opened.value.close().catch(() => undefined);
      }
      expect(refusal, c.description).toContain(c.append.refused);
      const after = new Database(path, { readonly: true });
      expect(after.prepare('SELECT count(*) FROM audit_events').pluck().get(), `${c.description}: nothing written, nothing lost`).toBe(rowsBefore);
      after.close();
    }
  });
});
