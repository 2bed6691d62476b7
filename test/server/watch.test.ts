/**
 * The policy watcher with real files: atomic replaces (temporary file + rename, `sed -i`),
 * in-place writes, deletes and re-creates, for a file path and a directory path, many times
 * over; a lost watch and a failed reload are reported (status, handlers, stderr, `/health`);
 * the last good set stays in force. The second half drives a real `bastion serve` with the
 * review's reproduction (finding 2) and the truncated deny file (finding 13).
 */

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BastionError } from '../../src/core/errors.js';
import { loadPolicySet } from '../../src/policy/load.js';
import type { PolicySet } from '../../src/policy/model.js';
import { watchPolicies, type PolicyWatcher } from '../../src/policy/watch.js';
import { atomicWrite, decide, eventually, request, sedInPlace, serve, type Served } from './serve-process.js';

/** A native policy: allow everything except the actions listed in its deny rule. */
function policy(name: string, description: string, denied: string[] = ['nothing']): string {
  return `apiVersion: bastion/v1\nname: ${name}\ndescription: ${description}\nrules:\n  - id: a\n    effect: allow\n    actions: ["*"]\n  - id: d\n    effect: deny\n    actions: [${denied.join(', ')}]\n`;
}

function versionOf(paths: string[]): string {
  const r = loadPolicySet(paths);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.value.version;
}

function initial(paths: string[]): PolicySet {
  const r = loadPolicySet(paths);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.value;
}

interface Recorded {
  watcher: PolicyWatcher;
  reloads: string[];
  errors: BastionError[][];
  lost: string[];
  restored: string[];
}

const open: PolicyWatcher[] = [];
afterEach(() => {
  for (const w of open.splice(0)) w.close();
});

/** A watcher whose periodic check is far away unless asked for: events alone must do. */
function start(paths: string[], pollMs = 600_000): Recorded {
  const rec: Recorded = { watcher: undefined as unknown as PolicyWatcher, reloads: [], errors: [], lost: [], restored: [] };
  rec.watcher = watchPolicies(
    paths,
    initial(paths),
    {
      onReload: (s) => void rec.reloads.push(s.version),
      onError: (e) => void rec.errors.push(e),
      onWatchLost: (p) => void rec.lost.push(p),
      onWatchRestored: (p) => void rec.restored.push(p),
    },
    { debounceMs: 30, pollMs },
  );
  open.push(rec.watcher);
  return rec;
}

async function loads(rec: Recorded, paths: string[], what: string): Promise<void> {
  const want = versionOf(paths);
  await eventually(() => (rec.watcher.current().version === want ? true : undefined), what);
}

describe('the policy watcher (real files, events only)', () => {
  it('a file path: 12 successive atomic replaces, sed -i, in-place writes, a delete and a re-create all load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-watch-file-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(file, policy('p', 'v0'));
    const rec = start([file]);
    for (let i = 1; i <= 12; i++) {
      atomicWrite(file, policy('p', `v${i}`, i % 2 === 0 ? ['shell.execute'] : ['nothing']));
      await loads(rec, [file], `atomic replace ${i}`);
    }
    sedInPlace(file, 's/description: v12/description: sed-1/');
    await loads(rec, [file], 'the first sed -i');
    sedInPlace(file, 's/description: sed-1/description: sed-2/');
    await loads(rec, [file], 'the second sed -i');
    writeFileSync(file, policy('p', 'in place 1'));
    await loads(rec, [file], 'an in-place write after the replaces');
    writeFileSync(file, policy('p', 'in place 2', ['shell.execute']));
    await loads(rec, [file], 'a second in-place write');
    const before = rec.watcher.current().version;
    unlinkSync(file);
    const missing = await eventually(() => rec.watcher.status().reloadError, 'the delete to be reported');
    expect(missing.errors[0]?.code).toBe('POLICY_NOT_FOUND');
    expect(rec.watcher.current().version).toBe(before);
    writeFileSync(file, policy('p', 're-created'));
    await loads(rec, [file], 'the re-created file');
    atomicWrite(file, policy('p', 'replaced after re-create', ['shell.execute']));
    await loads(rec, [file], 'a replace after the re-create');
    expect(rec.watcher.status()).toMatchObject({ watching: true, watchErrors: [] });
    expect(rec.watcher.status().reloadError).toBeUndefined();
    expect(rec.reloads.length).toBe(18); // every step above is a new version
  });

  it('a directory path: a replaced file keeps being seen, and files added, removed and renamed in load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-watch-dir-'));
    const a = join(dir, 'a.yaml');
    writeFileSync(a, policy('a', 'v0'));
    writeFileSync(join(dir, 'b.yaml'), policy('b', 'v0'));
    const rec = start([dir]);
    for (let i = 1; i <= 8; i++) {
      if (i % 3 === 0) sedInPlace(a, `s/description: .*/description: sed-${i}/`);
      else atomicWrite(a, policy('a', `v${i}`, i % 2 === 0 ? ['shell.execute'] : ['nothing']));
      await loads(rec, [dir], `edit ${i} of the replaced file`);
    }
    writeFileSync(a, policy('a', 'in place'));
    await loads(rec, [dir], 'an in-place write of the replaced file');
    mkdirSync(join(dir, 'nested'));
    writeFileSync(join(dir, 'nested', 'c.yaml'), policy('c', 'new', ['jira_read']));
    await loads(rec, [dir], 'a file in a new subdirectory');
    atomicWrite(join(dir, 'nested', 'c.yaml'), policy('c', 'replaced', ['jira_read', 'shell.execute']));
    await loads(rec, [dir], 'a replace in the subdirectory');
    unlinkSync(join(dir, 'b.yaml'));
    await loads(rec, [dir], 'a removed file');
    renameSync(join(dir, 'nested', 'c.yaml'), join(dir, 'c.yaml'));
    await loads(rec, [dir], 'a file moved up');
    expect(
      rec.watcher
        .current()
        .policies.map((p) => p.name)
        .sort(),
    ).toEqual(['a', 'c']);
    expect(rec.watcher.status().watching).toBe(true);
  });

  it('a burst of 50 atomic replaces with no pause between them ends with the last one in force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-watch-burst-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(file, policy('p', 'v0'));
    const rec = start([file]);
    for (let i = 1; i <= 50; i++) atomicWrite(file, policy('p', `burst ${i}`, i === 50 ? ['shell.execute'] : ['nothing']));
    await loads(rec, [file], 'the last replace of the burst');
    expect(rec.watcher.current().rules.some((r) => r.id === 'd' && r.actionLiterals.includes('shell.execute'))).toBe(true);
  });

  it('an invalid edit keeps the last good set and is reported until the files load again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-watch-bad-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(file, policy('p', 'good', ['shell.execute']));
    const rec = start([file]);
    const good = rec.watcher.current().version;
    atomicWrite(file, policy('p', 'bad').replace('effect: deny', 'effect: denny'));
    const failed = await eventually(() => rec.watcher.status().reloadError, 'the invalid edit to be reported');
    expect(failed.errors[0]).toMatchObject({ code: 'POLICY_INVALID' });
    expect(failed.errors[0]?.message).toContain('denny');
    expect(rec.errors.length).toBe(1);
    expect(rec.watcher.current().version).toBe(good);
    // Reverted to the set in force: nothing to reload, and nothing failed any more.
    atomicWrite(file, policy('p', 'good', ['shell.execute']) + '# a comment\n');
    await eventually(() => (rec.watcher.status().reloadError === undefined ? true : undefined), 'the revert to clear the error');
    expect(rec.watcher.current().version).toBe(good);
  });

  it('a policy file truncated to 0 bytes or left with comments only keeps the last good set (finding 13, reload half)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-watch-empty-'));
    writeFileSync(join(dir, '00-deny.yaml'), policy('deny', 'the deny', ['shell.execute']).replace(/ {2}- id: a\n {4}effect: allow\n {4}actions: \["\*"\]\n/, ''));
    writeFileSync(join(dir, '10-allow.yaml'), policy('allow', 'allow all'));
    const rec = start([dir]);
    const good = rec.watcher.current().version;
    truncateSync(join(dir, '00-deny.yaml'), 0);
    const failed = await eventually(() => rec.watcher.status().reloadError, 'the truncated file to be reported');
    expect(failed.errors.map((e) => e.code)).toContain('POLICY_EMPTY');
    expect(failed.errors.map((e) => e.message).join(' ')).toContain('00-deny.yaml');
    expect(rec.watcher.current().version).toBe(good);
    atomicWrite(join(dir, '00-deny.yaml'), '# rules moved elsewhere\n');
    await eventually(() => (rec.errors.length >= 2 ? true : undefined), 'the comment-only file to be reported');
    expect(rec.watcher.status().reloadError?.errors.map((e) => e.code)).toContain('POLICY_EMPTY');
    expect(rec.watcher.current().version).toBe(good);
    expect(rec.reloads).toEqual([]);
  });

  it('a ConfigMap-style symlink swap (..data) is loaded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-watch-link-'));
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'p.yaml'), policy('p', 'v1'));
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync(join('..data', 'p.yaml'), join(dir, 'p.yaml'));
    const rec = start([join(dir, 'p.yaml')]);
    mkdirSync(join(dir, '..v2'));
    writeFileSync(join(dir, '..v2', 'p.yaml'), policy('p', 'v2', ['shell.execute']));
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await loads(rec, [join(dir, 'p.yaml')], 'the swapped symlink target');
  });
});

describe('the policy watcher: lost watches', () => {
  it('a watched directory removed is reported, and re-created it is watched and loaded again', async () => {
    const base = mkdtempSync(join(tmpdir(), 'bastion-watch-lost-'));
    const dir = join(base, 'policies');
    mkdirSync(dir);
    writeFileSync(join(dir, 'p.yaml'), policy('p', 'v1'));
    const rec = start([dir], 200);
    const good = rec.watcher.current().version;
    rmSync(dir, { recursive: true });
    const status = await eventually(() => (rec.watcher.status().watching ? undefined : rec.watcher.status()), 'the lost watch to be reported');
    expect(status.watchErrors).toEqual([{ path: dir, message: expect.stringContaining('was removed or replaced') as string, since: expect.any(String) as string }]);
    expect(rec.lost).toEqual([dir]);
    await eventually(() => rec.watcher.status().reloadError, 'the missing directory to fail the reload');
    expect(rec.watcher.current().version).toBe(good);
    mkdirSync(dir);
    writeFileSync(join(dir, 'p.yaml'), policy('p', 'v2', ['shell.execute']));
    await loads(rec, [dir], 'the re-created directory');
    expect(rec.watcher.status()).toMatchObject({ watching: true, watchErrors: [] });
    expect(rec.restored).toEqual([dir]);
    // And the new directory's watch hears edits.
    atomicWrite(join(dir, 'p.yaml'), policy('p', 'v3'));
    await loads(rec, [dir], 'an edit in the re-created directory');
  });

  it('a directory replaced by another (mv new dir) is re-armed', async () => {
    const base = mkdtempSync(join(tmpdir(), 'bastion-watch-swap-'));
    const dir = join(base, 'policies');
    mkdirSync(dir);
    writeFileSync(join(dir, 'p.yaml'), policy('p', 'v1'));
    const rec = start([dir], 200);
    mkdirSync(join(base, 'next'));
    writeFileSync(join(base, 'next', 'p.yaml'), policy('p', 'v2', ['shell.execute']));
    rmSync(dir, { recursive: true });
    renameSync(join(base, 'next'), dir);
    await loads(rec, [dir], 'the swapped-in directory');
    await eventually(() => (rec.watcher.status().watching ? true : undefined), 'the watch to be re-armed');
    writeFileSync(join(dir, 'p.yaml'), policy('p', 'v3'));
    await loads(rec, [dir], 'an edit in the swapped-in directory');
  });
});

describe('bastion serve: hot reload (real process, real HTTP)', () => {
  const served: Served[] = [];
  afterEach(async () => {
    for (const s of served.splice(0)) await s.stop();
  });
  const ask = { principal: { id: 'a' }, action: 'shell.execute' };

  it("the review's reproduction: two sed -i edits; the second adds a deny that must be enforced (finding 2)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-serve-w4-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(file, policy('p', 'v1'));
    const s = await serve(['--dev', '--policy', file, '--data-dir', join(dir, 'data')]);
    served.push(s);
    const v1 = await decide(s.url, ask);
    expect(v1.decision).toBe('allow');
    sedInPlace(file, 's/description: v1/description: v2/');
    const v2 = await eventually(async () => {
      const d = await decide(s.url, ask);
      return d.policyVersion !== v1.policyVersion ? d : undefined;
    }, 'the first sed -i to load');
    expect(v2.decision).toBe('allow');
    sedInPlace(file, 's/\\[nothing\\]/[shell.execute]/');
    const denied = await eventually(async () => {
      const d = await decide(s.url, ask);
      return d.decision === 'deny' ? d : undefined;
    }, 'the second sed -i (a new deny) to be enforced');
    expect(denied.policyVersion).not.toBe(v2.policyVersion);
    const health = await request(`${s.url}/health`, 'GET');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', policyVersion: denied.policyVersion, policy: { version: denied.policyVersion, watching: true, watchErrors: [] } });
    expect(s.stderr().match(/policies reloaded/g)?.length).toBe(2);
  });

  it('an invalid edit is rejected on stderr, /health answers 503 degraded with the error, and a fix makes it ok again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-serve-bad-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(file, policy('p', 'v1', ['shell.execute']));
    const s = await serve(['--dev', '--policy', file, '--data-dir', join(dir, 'data')]);
    served.push(s);
    const good = (await request(`${s.url}/health`, 'GET')).body['policyVersion'];
    atomicWrite(file, 'apiVersion: bastion/v1\nname: p\nrules: [ {id: a, effect: allow\n');
    const health = await eventually(async () => {
      const h = await request(`${s.url}/health`, 'GET');
      return h.status === 503 ? h : undefined;
    }, '/health to report the failed reload');
    expect(health.body).toMatchObject({ status: 'degraded', policyVersion: good, policy: { version: good, watching: true } });
    const failed = (health.body['policy'] as { reloadError: { errors: { code: string; message: string }[] } }).reloadError;
    expect(failed.errors.map((e) => e.code)).toContain('POLICY_PARSE');
    expect(failed.errors[0]?.message).toContain('p.yaml');
    expect(s.stderr()).toMatch(/policy change rejected, keeping version sha256:/);
    expect((await decide(s.url, ask)).decision).toBe('deny');
    atomicWrite(file, policy('p', 'v2', ['shell.execute', 'jira_read']));
    await eventually(async () => ((await request(`${s.url}/health`, 'GET')).status === 200 ? true : undefined), '/health to be ok after the fix');
    expect((await decide(s.url, { principal: { id: 'a' }, action: 'jira_read' })).decision).toBe('deny');
  });

  it('truncating the deny file to 0 bytes does not flip its deny to allow (finding 13)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-serve-multi-'));
    const policies = join(dir, 'policies');
    mkdirSync(policies);
    writeFileSync(join(policies, '00-deny.yaml'), 'apiVersion: bastion/v1\nname: deny\nrules:\n  - id: no-shell\n    effect: deny\n    actions: [shell.execute]\n');
    writeFileSync(join(policies, '10-allow.yaml'), policy('allow', 'allow all'));
    const s = await serve(['--dev', '--policy', policies, '--data-dir', join(dir, 'data')]);
    served.push(s);
    expect((await decide(s.url, ask)).decision).toBe('deny');
    truncateSync(join(policies, '00-deny.yaml'), 0);
    const health = await eventually(async () => {
      const h = await request(`${s.url}/health`, 'GET');
      return h.status === 503 ? h : undefined;
    }, '/health to report the empty file');
    expect(JSON.stringify(health.body)).toContain('POLICY_EMPTY');
    expect(s.stderr()).toMatch(/policy change rejected.*00-deny\.yaml/);
    expect((await decide(s.url, ask)).decision).toBe('deny');
  });

  it('a removed policy directory is reported on stderr and in /health, and its return is picked up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-serve-lost-'));
    const policies = join(dir, 'policies');
    mkdirSync(policies);
    writeFileSync(join(policies, 'p.yaml'), policy('p', 'v1', ['shell.execute']));
    const s = await serve(['--dev', '--policy', policies, '--data-dir', join(dir, 'data')]);
    served.push(s);
    rmSync(policies, { recursive: true });
    const health = await eventually(async () => {
      const h = await request(`${s.url}/health`, 'GET');
      return h.status === 503 && (h.body['policy'] as { watching: boolean }).watching === false ? h : undefined;
    }, '/health to report the lost watch');
    expect(health.body).toMatchObject({ status: 'degraded', policy: { watching: false, watchErrors: [{ path: policies }] } });
    expect(s.stderr()).toContain(`policy watch lost for \`${policies}\``);
    expect((await decide(s.url, ask)).decision).toBe('deny');
    mkdirSync(policies);
    writeFileSync(join(policies, 'p.yaml'), policy('p', 'v2'));
    await eventually(async () => ((await request(`${s.url}/health`, 'GET')).status === 200 ? true : undefined), '/health to be ok again', 10_000);
    expect(s.stderr()).toContain(`policy watch re-armed for \`${policies}\``);
    expect((await decide(s.url, ask)).decision).toBe('allow');
  });
});
