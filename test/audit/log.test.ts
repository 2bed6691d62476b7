import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database, type SqliteDatabase } from '../../src/storage/sqlite/driver.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainHash, GENESIS_CHAIN_HASH, leafHash } from '../../src/audit/hash.js';
import { CompactRange } from '../../src/audit/merkle.js';
import type { AuditEventInput, AuditLog, Checkpoint } from '../../src/audit/index.js';
import { decisionEvent, logIdOf, signCheckpoint, verifyInclusionProof } from '../../src/audit/index.js';
import { openSqliteAuditLog, openSqliteAuditReader, type SqliteAuditLogOptions } from '../../src/storage/index.js';
import type { ActionRequest, Decision } from '../../src/core/types.js';
import { verifyInBothModes } from '../helpers/verify-modes.js';

let dir: string;
let clock: number;
const now = (): Date => new Date(clock);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bastion-audit-'));
  clock = Date.parse('2026-05-22T10:00:00.000Z');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function open(extra: SqliteAuditLogOptions = {}): Promise<AuditLog> {
  const opened = await openSqliteAuditLog(join(dir, 'bastion.db'), { now, checkpoint: { everyEvents: 10, everySeconds: 0 }, ...extra });
  if (!opened.ok) throw new Error(opened.errors.map((e) => e.message).join('; '));
  return opened.value;
}

function event(i: number): AuditEventInput {
  return {
    type: 'decision',
    traceId: `trace-${Math.floor(i / 3)}`,
    principal: { id: i % 2 ? 'alice@zyx.example' : 'bob@zyx.example', groups: i % 2 ? ['grp-ai-devops-readonly'] : ['grp-ai-security-readonly'], deviceCompliant: true },
    action: i % 4 === 0 ? 'jira_add_comment' : 'jira_read',
    decision: i % 5 === 0 ? 'deny' : 'allow',
    reason: i % 5 === 0 ? 'no rule allows this action' : 'allowed by rule `read`',
    risk: i % 7 === 0 ? 'high' : 'low',
    categories: [],
    policyVersion: '2026-05-22',
    args: { ticket: `SEC-${i}` },
  };
}

async function fill(log: AuditLog, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    clock += 1000;
    await log.append(event(i));
  }
}

describe('audit log', () => {
  it('appends durable, hash-chained events and hands back receipts', async () => {
    const log = await open();
    const receipts = await Promise.all([1, 2, 3].map((i) => log.append(event(i))));
    expect(receipts.map((r) => r.seq)).toEqual([1, 2, 3]);
    const stored = await log.query({});
    expect(stored.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(stored[0]).toMatchObject({ v: 1, seq: 1, type: 'decision', time: '2026-05-22T10:00:00.000Z', principal: { id: 'alice@zyx.example' } });
    const first = receipts[0];
    expect(first?.chainHash).toBe(chainHash(GENESIS_CHAIN_HASH, Buffer.from(first?.leafHash ?? '', 'hex')).toString('hex'));
    await log.close();
  });

  it('creates the signing key with owner-only permissions and exports the public key', async () => {
    const log = await open();
    expect(statSync(join(dir, 'audit-signing-key.pem')).mode & 0o777).toBe(0o600);
    expect(log.publicKeyPem()).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    await log.close();
  });

  it('rejects invalid events without writing them', async () => {
    const log = await open();
    await expect(log.append({ type: 'nonsense' } as unknown as AuditEventInput)).rejects.toThrow(/unknown event type/);
    await expect(log.append({ type: 'decision', decision: 'maybe' } as unknown as AuditEventInput)).rejects.toThrow(/field `decision`/);
    await expect(log.append({ type: 'execution', data: { duration: Number.NaN } })).rejects.toThrow(/\$\.data\.duration/);
    expect(await log.size()).toBe(0);
    await log.close();
  });

  it('continues the same chain after a reopen, and verifies', async () => {
    let log = await open();
    await fill(log, 15);
    await log.close();
    log = await open();
    await fill(log, 5);
    expect(await log.verify()).toMatchObject({ ok: true, events: 20, lastSeq: 20 });
    await log.close();
  });

  it("refuses to open with a signing key that is not the log's", async () => {
    const log = await open();
    await log.close();
    const other = mkdtempSync(join(tmpdir(), 'bastion-key-'));
    const opened = await openSqliteAuditLog(join(dir, 'bastion.db'), { keyDir: other });
    expect(opened.ok).toBe(false);
    if (!opened.ok) expect(opened.errors[0]?.code).toBe('AUDIT_KEY');
    rmSync(other, { recursive: true, force: true });
  });

  it('filters queries by decision, principal, group, action, risk, trace, type and time', async () => {
    const log = await open();
    await fill(log, 30);
    const seqs = async (f: Parameters<AuditLog['query']>[0]): Promise<number[]> => (await log.query(f)).map((e) => e.seq);
    expect(await seqs({ decision: 'deny' })).toEqual([5, 10, 15, 20, 25, 30]);
    expect(await seqs({ principal: 'bob@zyx.example', decision: 'deny' })).toEqual([10, 20, 30]);
    expect(await seqs({ group: 'grp-ai-devops-readonly', risk: 'high' })).toEqual([7, 21]);
    expect(await seqs({ action: 'jira_add*' })).toEqual([4, 8, 12, 16, 20, 24, 28]);
    expect(await seqs({ traceId: 'trace-3' })).toEqual([9, 10, 11]);
    expect((await log.getTrace('trace-3')).map((e) => e.seq)).toEqual([9, 10, 11]);
    expect(await seqs({ since: '2026-05-22T10:00:05.000Z', until: new Date('2026-05-22T10:00:07.000Z') })).toEqual([5, 6, 7]);
    expect(await seqs({ type: 'approval.approved' })).toEqual([]);
    expect(await seqs({ decision: 'allow', limit: 2 })).toEqual([28, 29]);
    await log.close();
  });

  it('takes checkpoints every N events, on demand and on close', async () => {
    const log = await open();
    await fill(log, 25);
    expect((await log.checkpoints()).map((c) => [c.size, c.reason])).toEqual([
      [10, 'events'],
      [20, 'events'],
    ]);
    const cp = await log.checkpoint('kill_switch.changed');
    expect(cp).toMatchObject({ size: 25, reason: 'kill_switch.changed' });
    expect(await log.latestCheckpoint()).toEqual(cp);
    expect((await log.checkpoints(20)).map((c) => c.size)).toEqual([25]);
    await fill(log, 2);
    await log.close();
    const reader = await openSqliteAuditReader(join(dir, 'bastion.db'));
    expect(reader.ok && (await reader.value.latestCheckpoint())?.reason).toBe('close');
    if (reader.ok) await reader.value.close();
  });

  it('serves inclusion proofs that verify against a signed checkpoint, and consistency proofs', async () => {
    const log = await open();
    await fill(log, 23);
    for (const seq of [1, 9, 16, 23]) {
      const proven = await log.inclusionProof(seq);
      if (!proven.ok) throw new Error(proven.errors[0]?.message);
      const proof = proven.value;
      expect(verifyInclusionProof(proof, log.publicKeyPem()), `seq ${seq}`).toBeUndefined();
      const forged = { ...proof, event: proof.event.replace('"reason":"', '"reason":"forged ') };
      expect(verifyInclusionProof(forged, log.publicKeyPem())).toBeDefined();
    }
    expect(await log.inclusionProof(99)).toEqual({ ok: false, errors: [{ code: 'AUDIT_NOT_FOUND', message: 'event `99` does not exist' }] });
    const consistency = await log.consistencyProof(10, 20);
    expect(consistency.ok && consistency.value.length).toBeGreaterThan(0);
    expect(await log.consistencyProof(20, 99)).toEqual({ ok: false, errors: [{ code: 'AUDIT_NOT_FOUND', message: 'no consistency proof from size `20` to `99`' }] });
    await log.close();
  });

  it('prunes whole ranges below a signed checkpoint, records it, and still verifies', async () => {
    const log = await open({ retentionDays: 2555 });
    await fill(log, 25);
    expect((await log.prune()).pruned).toBe(0);
    clock += 2556 * 86_400_000;
    await log.append(event(26));
    const report = await log.prune();
    expect(report).toMatchObject({ pruned: 20, throughSeq: 20, eventSeq: 27 });
    expect((await log.query({ type: 'audit.pruned' }))[0]?.data).toMatchObject({ throughSeq: 20, events: 20, retentionDays: 2555 });
    expect(await log.verify()).toMatchObject({ ok: true, firstSeq: 21, lastSeq: 27 });
    const proof = await log.inclusionProof(24);
    expect(proof.ok && verifyInclusionProof(proof.value, log.publicKeyPem())).toBeUndefined();
    expect(await log.inclusionProof(3)).toEqual({ ok: false, errors: [{ code: 'AUDIT_NOT_FOUND', message: 'event `3` was pruned' }] });
    await log.close();
  });

  it('holds the events to every checkpoint after a signed checkpoint of the empty log', async () => {
    // Before the fix a checkpoint at size 0 was never matched, and held up every later one:
    // 0 checkpoints verified, and a rewritten, rehashed event passed the checkpoints.
    const log = await open();
    expect((await log.checkpoint('manual')).size).toBe(0);
    await fill(log, 30);
    await log.close();
    const path = join(dir, 'bastion.db');
    const intact = await verifyInBothModes(path, 2);
    expect(intact.single).toMatchObject({ ok: true, events: 30, checkpointsVerified: 4 });
    expect(intact.threaded).toEqual(intact.single);
    applyTamper(path, 'modify-rehash', 17);
    const db = new Database(path);
    // A careful tamperer also rewrites the head to the rehashed chain.
    db.prepare('UPDATE audit_head SET chain_hash = (SELECT chain_hash FROM audit_events WHERE seq = 30)').run();
    db.close();
    const tampered = await verifyInBothModes(path, 2);
    expect(tampered.single.failure).toEqual({ seq: 11, checkpointSize: 20, reason: 'events 11..20 do not match the signed checkpoint at size 20 (rewritten)' });
    expect(tampered.threaded).toEqual(tampered.single);
  });

  it('detects truncation against a checkpoint held outside the log', async () => {
    const log = await open();
    await fill(log, 30);
    const witnessed = (await log.latestCheckpoint()) as Checkpoint;
    await log.close();
    const db = new Database(join(dir, 'bastion.db'));
    db.prepare('DELETE FROM audit_events WHERE seq > 22').run();
    db.prepare('DELETE FROM audit_checkpoints WHERE size > 22').run();
    // A careful tamperer rewrites the head as it stood after event 22: all of it is computable.
    const range = new CompactRange();
    for (const body of db.prepare('SELECT body FROM audit_events ORDER BY seq').pluck().all() as string[]) range.append(leafHash(body));
    const last = db.prepare('SELECT chain_hash FROM audit_events WHERE seq = 22').pluck().get() as Buffer;
    db.prepare('UPDATE audit_head SET size = 22, chain_hash = ?, range = ?').run(last, JSON.stringify(range.toJSON()));
    db.close();
    const reader = await openSqliteAuditReader(join(dir, 'bastion.db'));
    if (!reader.ok) throw new Error('reader');
    expect((await reader.value.verify()).ok).toBe(true);
    expect((await reader.value.verify({ trusted: [witnessed] })).failure).toMatchObject({ seq: 23, reason: expect.stringContaining('truncated') });
    await reader.value.close();
  });

  it("builds a decision event with redacted arguments and the seeds' fields", () => {
    const request: ActionRequest = {
      principal: { id: 'alice@zyx.example', groups: ['grp-ai-devops-readonly'], deviceCompliant: true },
      action: 'jira_add_comment',
      resource: 'SEC-1234',
      environment: 'development',
      args: { ticket: 'SEC-1234', body: 'token AKIAABCDEFGHIJKLMNOP' },
      context: { repository: 'zyx/infra' },
    };
    const decision: Decision = {
      decision: 'require_approval',
      reason: 'approval required',
      matched: [{ policy: 'zyx', rule: 'jira_add_comment', effect: 'require_approval' }],
      risk: 'medium',
      categories: [],
      obligations: [],
      errors: [],
      policyVersion: 'sha256:abc',
      traceId: 'ai-20260522-abc',
      approval: { id: 'apr-1', status: 'pending' },
    };
    const redact = (v: unknown): unknown => JSON.parse(JSON.stringify(v).replace(/AKIA[A-Z0-9]{16}/g, '[REDACTED]'));
    const ev = decisionEvent(request, decision, { redact, model: { provider: 'openai', model: 'gpt-4o' }, surface: 'http' });
    expect(ev).toMatchObject({
      type: 'decision',
      traceId: 'ai-20260522-abc',
      principal: { id: 'alice@zyx.example', groups: ['grp-ai-devops-readonly'], deviceCompliant: true },
      action: 'jira_add_comment',
      resource: 'SEC-1234',
      environment: 'development',
      decision: 'require_approval',
      approvalId: 'apr-1',
      model: { provider: 'openai', model: 'gpt-4o' },
      surface: 'http',
      args: { ticket: 'SEC-1234', body: 'token [REDACTED]' },
    });
    expect(JSON.stringify(ev)).not.toContain('AKIAABCDEFGHIJKLMNOP');
  });
});

interface TamperCase {
  description: string;
  tamper: { kind: string; seq?: number };
  expect: { ok?: boolean; seq?: number; checkpointSize?: number; reason?: string };
}
const tamper = JSON.parse(readFileSync(new URL('../fixtures/audit/tamper.json', import.meta.url), 'utf8')) as { cases: TamperCase[] };

function rechain(db: SqliteDatabase, from: number): void {
  const prev = db
    .prepare('SELECT chain_hash FROM audit_events WHERE seq = ?')
    .pluck()
    .get(from - 1) as Buffer | undefined;
  let previous = prev ?? GENESIS_CHAIN_HASH;
  const rows = db.prepare('SELECT seq, body FROM audit_events WHERE seq >= ? ORDER BY seq').all(from) as Array<{ seq: number; body: string }>;
  const update = db.prepare('UPDATE audit_events SET chain_hash = ? WHERE seq = ?');
  for (const r of rows) {
    previous = chainHash(previous, leafHash(r.body));
    update.run(previous, r.seq);
  }
}

function applyTamper(path: string, kind: string, seq: number): void {
  const db = new Database(path);
  const body = (s: number): string => db.prepare('SELECT body FROM audit_events WHERE seq = ?').pluck().get(s) as string;
  const checkpoint = (size: number): Checkpoint => JSON.parse(db.prepare('SELECT body FROM audit_checkpoints WHERE size = ?').pluck().get(size) as string) as Checkpoint;
  const setCheckpoint = (cp: Checkpoint): void => void db.prepare('UPDATE audit_checkpoints SET body = ? WHERE size = ?').run(JSON.stringify(cp), cp.size);
  switch (kind) {
    case 'none':
      break;
    case 'modify':
      db.prepare('UPDATE audit_events SET body = ? WHERE seq = ?').run(
        body(seq)
          .replace(/"decision":"\w+"/, '"decision":"allow"')
          .replace('"reason":"', '"reason":"x'),
        seq,
      );
      break;
    case 'modify-rehash':
      db.prepare('UPDATE audit_events SET body = ? WHERE seq = ?').run(body(seq).replace('"reason":"', '"reason":"x'), seq);
      rechain(db, seq);
      break;
    case 'delete':
      db.prepare('DELETE FROM audit_events WHERE seq = ?').run(seq);
      break;
    case 'delete-renumber': {
      db.prepare('DELETE FROM audit_events WHERE seq = ?').run(seq);
      const max = db.prepare('SELECT max(seq) FROM audit_events').pluck().get() as number;
      for (let s = seq + 1; s <= max; s++) db.prepare('UPDATE audit_events SET seq = ? WHERE seq = ?').run(s - 1, s);
      rechain(db, seq);
      break;
    }
    case 'insert': {
      const max = db.prepare('SELECT max(seq) FROM audit_events').pluck().get() as number;
      for (let s = max; s >= seq; s--) db.prepare('UPDATE audit_events SET seq = ? WHERE seq = ?').run(s + 1, s);
      const fake = body(seq + 1)
        .replace(/"seq":\d+/, `"seq":${seq}`)
        .replace('"reason":"', '"reason":"inserted ');
      const prev = db
        .prepare('SELECT chain_hash FROM audit_events WHERE seq = ?')
        .pluck()
        .get(seq - 1) as Buffer;
      const leaf = leafHash(fake);
      db.prepare('INSERT INTO audit_events (seq, body, chain_hash, time, trace_id) VALUES (?, ?, ?, ?, ?)').run(seq, fake, chainHash(prev, leaf), JSON.parse(fake).time, JSON.parse(fake).traceId);
      break;
    }
    case 'swap': {
      const a = db.prepare('SELECT * FROM audit_events WHERE seq = ?').get(seq) as Record<string, unknown>;
      const b = db.prepare('SELECT * FROM audit_events WHERE seq = ?').get(seq + 1) as Record<string, unknown>;
      const update = db.prepare('UPDATE audit_events SET body = ?, chain_hash = ? WHERE seq = ?');
      update.run(b['body'], b['chain_hash'], seq);
      update.run(a['body'], a['chain_hash'], seq + 1);
      break;
    }
    case 'edit-trace-column':
      db.prepare("UPDATE audit_events SET trace_id = 'elsewhere' WHERE seq = ?").run(seq);
      break;
    case 'truncate':
      db.prepare('DELETE FROM audit_events WHERE seq >= ?').run(seq);
      break;
    case 'forge-checkpoint':
      setCheckpoint({ ...checkpoint(seq), root: '00'.repeat(32), signature: Buffer.alloc(64, 7).toString('base64') });
      break;
    case 'foreign-checkpoint': {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const { signature: _ignored, ...rest } = checkpoint(seq);
      setCheckpoint(signCheckpoint({ ...rest, logId: logIdOf(publicKey) }, privateKey));
      break;
    }
    case 'edit-checkpoint':
      setCheckpoint({ ...checkpoint(seq), root: 'ff'.repeat(32) });
      break;
    default:
      throw new Error(`unknown tamper kind ${kind}`);
  }
  db.close();
}

describe('audit verification catches tampering', () => {
  it('has a tampering corpus', () => expect(tamper.cases.length).toBeGreaterThanOrEqual(10));

  it.each(tamper.cases)('$description', async ({ description, tamper: t, expect: want }) => {
    const log = await open();
    await fill(log, 30);
    await log.close();
    const path = join(dir, 'bastion.db');
    applyTamper(path, t.kind, t.seq ?? 0);
    const reader = await openSqliteAuditReader(path);
    if (!reader.ok) throw new Error('cannot open reader');
    const report = await reader.value.verify();
    await reader.value.close();
    // The same report with the rows split among threads: the calling one and worker threads.
    for (const threads of [2, 3]) {
      const modes = await verifyInBothModes(path, threads);
      expect(modes.single, description).toEqual(report);
      expect(modes.threaded, `${description} (${threads} threads)`).toEqual(report);
      if (want.ok) expect(modes.used, description).toEqual({ threads, segments: expect.any(Number), rechecked: false });
      // A fault inside the rows: a stretch does not verify, and the calling thread names it.
      // (Renumbered or inserted rows end elsewhere than the head says: not split at all.)
      if (['modify', 'modify-rehash', 'delete', 'swap', 'edit-trace-column'].includes(t.kind)) {
        expect(modes.used, description).toEqual({ threads, segments: expect.any(Number), rechecked: true });
      }
    }
    if (want.ok) {
      expect(report.ok, description).toBe(true);
      expect(report.checkpointsVerified, description).toBe(3);
      return;
    }
    expect(report.ok, description).toBe(false);
    if (want.seq !== undefined) expect(report.failure?.seq, description).toBe(want.seq);
    if (want.checkpointSize !== undefined) expect(report.failure?.checkpointSize, description).toBe(want.checkpointSize);
    expect(report.failure?.reason, description).toContain(want.reason);
  });
});
