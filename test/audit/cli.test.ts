import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Database } from '../../src/storage/sqlite/driver.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteAuditLog } from '../../src/storage/index.js';
import type { CliIo } from '../../src/cli/command.js';
import { runCli } from '../../src/cli/run.js';

let dir: string;

async function cli(argv: string[], tty = false): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (tty) stderr.isTTY = true;
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const io: CliIo = { stdin: new PassThrough(), stdout, stderr, env: {}, cwd: dir };
  const code = await runCli(argv, io);
  return { code, stdout: out, stderr: err };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bastion-audit-cli-'));
  let clock = Date.parse('2026-05-22T10:00:00.000Z');
  const opened = await openSqliteAuditLog(join(dir, '.bastion', 'bastion.db'), { now: () => new Date(clock), checkpoint: { everyEvents: 8, everySeconds: 0 } });
  if (!opened.ok) throw new Error('open');
  const log = opened.value;
  for (let i = 1; i <= 20; i++) {
    clock += 60_000;
    await log.append({
      type: 'decision',
      traceId: `t-${i % 4}`,
      principal: { id: i % 2 ? 'alice' : 'bob', groups: ['sre'], deviceCompliant: true },
      action: i % 3 ? 'jira_read' : 'shell.execute',
      decision: i % 5 ? 'allow' : 'deny',
      reason: i % 5 ? 'allowed' : 'no rule allows this action',
      risk: i % 5 ? 'low' : 'high',
      categories: [],
      policyVersion: 'v1',
      matched: [{ policy: 'zyx', rule: 'r', effect: 'allow' }],
    });
  }
  await log.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bastion audit', () => {
  it('verify: exit 0 with a summary when intact (default data dir .bastion)', async () => {
    const r = await cli(['audit', 'verify']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('audit log intact: 20 events (seq 1..20), 3 signed checkpoints verified');
  });

  it('verify: --data-dir and --db point at the same log', async () => {
    expect((await cli(['audit', 'verify', '--data-dir', '.bastion'])).code).toBe(0);
    expect((await cli(['audit', 'verify', '--db', join(dir, '.bastion', 'bastion.db'), '--json'])).stdout).toMatch(/"ok":true/);
  });

  it('verify: a progress bar on stderr only when stderr is a terminal', async () => {
    expect((await cli(['audit', 'verify'])).stderr).not.toContain('verifying [');
    expect((await cli(['audit', 'verify'], true)).stderr).toContain('verifying [');
  });

  it('verify: exit 2 with a one-line error on a missing file or bad option', async () => {
    const missing = await cli(['audit', 'verify', '--db', 'nope.db']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^bastion audit verify: audit log `.*nope\.db` does not exist/);
    expect((await cli(['audit', 'verify', '--bogus'])).code).toBe(2);
    expect((await cli(['audit', 'frobnicate'])).code).toBe(2);
  });

  it('query: filters, as a table or JSON', async () => {
    const table = await cli(['audit', 'query', '--decision', 'deny']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^SEQ\s+TIME\s+TYPE\s+PRINCIPAL/);
    expect(table.stdout.trim().split('\n')).toHaveLength(5);
    const json = await cli(['audit', 'query', '--principal', 'bob', '--risk', 'high', '--json']);
    expect((JSON.parse(json.stdout) as Array<{ seq: number }>).map((e) => e.seq)).toEqual([10, 20]);
    const trace = await cli(['audit', 'query', '--trace', 't-1', '--action', 'shell.*', '--json']);
    expect((JSON.parse(trace.stdout) as Array<{ seq: number }>).map((e) => e.seq)).toEqual([9]);
    expect((await cli(['audit', 'query', '--risk', 'extreme'])).code).toBe(2);
    expect((await cli(['audit', 'query', '--since', 'yesterday-ish'])).code).toBe(2);
  });

  it('export: OCSF 6003 with the security_control profile, stored JSON lines and the ZYX mirror', async () => {
    const ocsf = await cli(['audit', 'export', '--format', 'ocsf', '--since', '2026-05-22T10:05:00Z']);
    expect(ocsf.code).toBe(0);
    const lines = ocsf.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(16);
    expect(lines[0]).toMatchObject({ class_uid: 6003, action: 'Denied', disposition: 'Blocked', metadata: { profiles: ['security_control'], sequence: 5 }, policy: { name: 'zyx', version: 'v1' } });
    const jsonl = await cli(['audit', 'export', '--format', 'jsonl', '--after-seq', '18']);
    expect(
      jsonl.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { seq: number }).seq),
    ).toEqual([19, 20]);
    const zyx = await cli(['audit', 'export', '--format', 'zyx']);
    expect(JSON.parse(zyx.stdout.split('\n')[0] ?? '')).toMatchObject({ event_type: 'policy_decision', user: 'alice', groups: ['sre'], device_compliant: true, trace_id: 't-1' });
    expect((await cli(['audit', 'export', '--format', 'csv'])).code).toBe(2);
  });

  it('proof: an inclusion proof that verifies against a checkpoint', async () => {
    const r = await cli(['audit', 'proof', '7']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ seq: 7, treeSize: 20, verified: true });
    expect((await cli(['audit', 'proof', '99'])).code).toBe(2);
    expect((await cli(['audit', 'proof', 'x'])).code).toBe(2);
  });

  it('public-key: prints the PEM, and verify accepts it as --public-key', async () => {
    const r = await cli(['audit', 'public-key']);
    expect(r.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
    writeFileSync(join(dir, 'witness.pub.pem'), r.stdout);
    expect((await cli(['audit', 'verify', '--public-key', 'witness.pub.pem'])).code).toBe(0);
  });

  it('verify: exit 1 naming the first bad sequence number after tampering', async () => {
    const copy = join(dir, 'tampered');
    const db = new Database(join(dir, '.bastion', 'bastion.db'));
    await db.backup(join(copy, 'bastion.db')).catch(async () => {
      const { mkdirSync } = await import('node:fs');
      mkdirSync(copy, { recursive: true });
      await db.backup(join(copy, 'bastion.db'));
    });
    db.close();
    const t = new Database(join(copy, 'bastion.db'));
    t.prepare('UPDATE audit_events SET body = replace(body, \'"decision":"deny"\', \'"decision":"allow"\') WHERE seq = 15').run();
    t.close();
    const r = await cli(['audit', 'verify', '--data-dir', 'tampered', '--public-key', 'witness.pub.pem']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('first bad sequence number 15');
  });
});
