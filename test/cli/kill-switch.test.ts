/**
 * `bastion kill-switch show|set` (issue 10): `--help` on each subcommand; on a data directory
 * directly (audited as the local operator, checkpointed, seen by a service on the same
 * directory at its next decision); on a running service through `--server` with
 * `BASTION_TOKEN` (an admin changes it, anyone else is refused); and bad input exits 2.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBastionApp, type BastionApp } from '../../src/app/index.js';
import { DEFAULT_CONFIG } from '../../src/config/index.js';
import { openSqliteAuditReader } from '../../src/storage/index.js';
import { runBastion } from '../helpers/cli.js';
import { tokenIdentity } from '../helpers/identity.js';

const root = new URL('../..', import.meta.url).pathname;
const ZYX = join(root, 'examples/zyx/tool_policies.yaml');
const engineer = { id: 'engineer@zyxbank.example', groups: ['grp-ai-devops-readonly'], deviceCompliant: true };
const slackPost = { principal: engineer, action: 'slack_post_message', args: { channel: 'devsecops-change-review', message: 'hello' } };
const identity = tokenIdentity({ 'admin-token': { id: 'oncall@zyxbank.example', groups: ['bastion-admins'] }, 'engineer-token': engineer });
const quiet = { stderr: { write: () => true }, env: {} };

const apps: BastionApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop();
});

async function serve(dataDir: string): Promise<{ url: string; decide: () => Promise<{ decision: string; reason: string }> }> {
  const built = await createBastionApp({ config: { ...DEFAULT_CONFIG, port: 0, dataDir, policies: [ZYX] }, io: quiet, watch: false, identity });
  if (!built.ok) throw new Error(built.errors.map((e) => e.message).join('; '));
  apps.push(built.value);
  const started = await built.value.start();
  if (!started.ok) throw new Error(started.errors.map((e) => e.message).join('; '));
  const url = started.value.url as string;
  return {
    url,
    decide: async () =>
      (await (
        await fetch(`${url}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer engineer-token' }, body: JSON.stringify(slackPost) })
      ).json()) as { decision: string; reason: string },
  };
}

const cli = (argv: string[], env: Record<string, string> = {}) => runBastion(['kill-switch', ...argv], { cwd: root, env });

describe('bastion kill-switch --help', () => {
  it.each([
    [['--help'], 'bastion kill-switch show [--server URL | --data-dir DIR]'],
    [['show', '--help'], 'Prints the kill switch as JSON'],
    [['set', '--help'], '--reason TEXT           why: required'],
  ])('%j', async (argv, text) => {
    const r = await cli(argv);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain(text);
  });

  it('is listed in bastion --help', async () => {
    expect((await runBastion(['--help'], { cwd: root })).stdout).toContain('kill-switch');
  });
});

describe('bastion kill-switch on a data directory', () => {
  it('set changes the store, audited as the local operator with the reason and checkpointed; show reads it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-ks-cli-'));
    const set = await cli(['set', '--read-only', 'true', '--disable-user', 'intern@zyxbank.example', '--disable-user', 'mallory@zyxbank.example', '--reason', 'incident 42', '--data-dir', dataDir]);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ read_only_mode: true, disabled_users: ['intern@zyxbank.example', 'mallory@zyxbank.example'], reason: 'incident 42', version: 1 });
    const enable = await cli(['set', '--enable-user', 'intern@zyxbank.example', '--reason', 'back', '--data-dir', dataDir]);
    expect(JSON.parse(enable.stdout)).toMatchObject({ read_only_mode: true, disabled_users: ['mallory@zyxbank.example'], version: 2 });
    const show = await cli(['show', '--data-dir', dataDir]);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ read_only_mode: true, disabled_users: ['mallory@zyxbank.example'], reason: 'back', version: 2 });

    const reader = await openSqliteAuditReader(join(dataDir, 'bastion.db'));
    if (!reader.ok) throw new Error(reader.errors[0]?.message);
    try {
      expect((await reader.value.verify()).ok).toBe(true);
      const changes = (await reader.value.query({})).filter((e) => e.type === 'kill_switch.changed');
      expect(changes.map((e) => [(e.data as { by: string }).by.startsWith('local operator'), (e.data as { via: string }).via, (e.data as { reason: string }).reason])).toEqual([
        [true, 'cli', 'incident 42'],
        [true, 'cli', 'back'],
      ]);
      const sizes = (await reader.value.checkpoints()).map((c) => c.size);
      for (const e of changes) expect(sizes).toContain(e.seq);
    } finally {
      await reader.value.close();
    }
  });

  it("a running service on the same directory applies the CLI's change at its next decision", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-ks-cli-live-'));
    const s = await serve(dataDir);
    expect(await s.decide()).toMatchObject({ decision: 'allow' });
    expect((await cli(['set', '--disable-connector', 'slack', '--reason', 'slack outage', '--data-dir', dataDir])).code).toBe(0);
    expect(await s.decide()).toMatchObject({ decision: 'deny', reason: 'connector disabled by kill switch' });
  });

  it.each([
    [['set', '--read-only', 'true', '--data-dir', 'x'], '--reason is required'],
    [['set', '--read-only', 'yes', '--reason', 'r'], '--read-only must be true or false, got `yes`'],
    [['set', '--reason', 'r'], 'changes nothing'],
    [['set', '--read-only', 'true', '--reason', 'r', '--server', 'http://127.0.0.1:1', '--data-dir', 'x'], 'give --server or --data-dir, not both'],
    [['set', '--readonly', 'true'], "Unknown option '--readonly'"],
    [['toggle'], 'unknown subcommand `toggle` (expected show or set)'],
    [[], 'missing subcommand'],
  ])('%j exits 2: %s', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
  });
});

describe('bastion kill-switch --server', () => {
  it('an admin token changes it and the next decision follows; show prints the effective state and both sources', async () => {
    const s = await serve(mkdtempSync(join(tmpdir(), 'bastion-ks-cli-srv-')));
    const admin = { BASTION_TOKEN: 'admin-token' };
    const set = await cli(['set', '--read-only', 'true', '--reason', 'incident 9', '--server', s.url], admin);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ read_only_mode: true, reason: 'incident 9', sources: { runtime: { read_only_mode: true, version: 1 }, policy: { read_only_mode: false } } });
    expect(await s.decide()).toMatchObject({ decision: 'deny', reason: 'agent is in read-only mode' });
    expect((await cli(['set', '--disable-workflow', 'release', '--disable-workflow', 'hotfix', '--reason', 'freeze', '--server', s.url], admin)).code).toBe(0);
    expect((await cli(['set', '--enable-workflow', 'release', '--read-only', 'false', '--reason', 'thaw', '--server', s.url], admin)).code).toBe(0);
    const show = await cli(['show', '--server', s.url], { BASTION_TOKEN: 'engineer-token' });
    expect(JSON.parse(show.stdout)).toMatchObject({ read_only_mode: false, disabled_workflows: ['hotfix'], reason: 'thaw', sources: { runtime: { version: 3 } } });
    expect(await s.decide()).toMatchObject({ decision: 'allow' });
  });

  it('a non-admin token or none is refused with what the service said, exit 2', async () => {
    const s = await serve(mkdtempSync(join(tmpdir(), 'bastion-ks-cli-deny-')));
    const refused = await cli(['set', '--read-only', 'true', '--reason', 'x', '--server', s.url], { BASTION_TOKEN: 'engineer-token' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('the service answered 403 FORBIDDEN: principal `engineer@zyxbank.example` may not change the kill switch');
    const anonymous = await cli(['show', '--server', s.url]);
    expect(anonymous.code).toBe(2);
    expect(anonymous.stderr).toContain('401');
    expect(await s.decide()).toMatchObject({ decision: 'allow' });
  });
});
