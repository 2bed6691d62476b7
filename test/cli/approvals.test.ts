/**
 * `bastion approvals …` against the real server on a loopback port (tokens from
 * BASTION_TOKEN), and list/show straight from the data directory.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBastionApp, type BastionApp } from '../../src/app/index.js';
import { DEFAULT_CONFIG } from '../../src/config/index.js';
import { runBastion } from '../helpers/cli.js';
import { tokenIdentity } from '../helpers/identity.js';

const root = new URL('../..', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'bastion-cli-approvals-'));
let app: BastionApp;
let url: string;
const cwd = root;

beforeAll(async () => {
  const built = await createBastionApp({
    config: { ...DEFAULT_CONFIG, port: 0, dataDir, policies: [join(root, 'examples/native')] },
    io: { stderr: { write: () => true }, env: {} },
    watch: false,
    identity: tokenIdentity({ agent: { id: 'sre-agent', groups: ['sre'] }, lead: { id: 'lead-1', groups: ['sre-leads'] }, cm1: { id: 'cm-1', groups: ['change-managers'] } }),
  });
  if (!built.ok) throw new Error(built.errors[0]?.message);
  app = built.value;
  const started = await app.start();
  if (!started.ok) throw new Error(started.errors[0]?.message);
  url = started.value.url as string;
});
afterAll(async () => {
  await app.stop('test end');
});

async function hold(command: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await fetch(`${url}/v1/decide`, {
    method: 'POST',
    headers: { authorization: 'Bearer agent', 'content-type': 'application/json' },
    body: JSON.stringify({ principal: { id: 'x', groups: [] }, action: 'shell.execute', args: { command }, ...extra }),
  });
  return ((await r.json()) as { approval: { id: string } }).approval.id;
}

describe('bastion approvals', () => {
  it('lists pending approvals, shows one, approves it with a comment, as the token names', async () => {
    const id = await hold('systemctl restart web-1');
    const list = await runBastion(['approvals', 'list', '--server', url, '--status', 'pending'], { cwd, env: { BASTION_TOKEN: 'lead' } });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${id}  pending    sre-agent  shell.execute  0/1  expires `, 'm'));
    const json = await runBastion(['approvals', 'show', id, '--server', url, '--json'], { cwd, env: { BASTION_TOKEN: 'lead' } });
    expect(JSON.parse(json.stdout)).toMatchObject({ id, status: 'pending', args: { command: 'systemctl restart web-1' } });
    const self = await runBastion(['approvals', 'approve', id, '--server', url], { cwd, env: { BASTION_TOKEN: 'agent' } });
    expect([self.code, self.stderr]).toEqual([2, `bastion approvals approve: the service answered 403 FORBIDDEN: approval \`${id}\`: \`sre-agent\` requested it and cannot decide on it\n`]);
    const ok = await runBastion(['approvals', 'approve', id, '--server', url, '--comment', 'web-1 only'], { cwd, env: { BASTION_TOKEN: 'lead' } });
    expect([ok.code, ok.stdout]).toEqual([0, `${id}: approved (1 of 1 approvals)\n`]);
    const shown = await runBastion(['approvals', 'show', id, '--data-dir', dataDir], { cwd, env: {} });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('status:     approved (1 of 1 approvals)');
    expect(shown.stdout).toMatch(/decision: {3}approve by lead-1 at .+: web-1 only/);
  });

  it('denies, cancels, waits, and takes prerequisites as --evidence', async () => {
    const a = await hold('systemctl restart web-2');
    expect((await runBastion(['approvals', 'deny', a, '--server', url, '--comment', 'no'], { cwd, env: { BASTION_TOKEN: 'lead' } })).stdout).toBe(`${a}: denied (0 of 1 approvals)\n`);
    const b = await hold('systemctl restart web-3');
    expect((await runBastion(['approvals', 'cancel', b, '--server', url], { cwd, env: { BASTION_TOKEN: 'agent' } })).stdout).toBe(`${b}: cancelled (0 of 1 approvals)\n`);
    const waited = await runBastion(['approvals', 'show', b, '--server', url, '--wait', '5', '--json'], { cwd, env: { BASTION_TOKEN: 'agent' } });
    expect(JSON.parse(waited.stdout).status).toBe('cancelled');
    const r = await fetch(`${url}/v1/decide`, {
      method: 'POST',
      headers: { authorization: 'Bearer agent', 'content-type': 'application/json' },
      body: JSON.stringify({ principal: { id: 'x', groups: [] }, action: 'deploy.service', environment: 'production', args: { service: 'web' } }),
    });
    const c = ((await r.json()) as { approval: { id: string } }).approval.id;
    const ev = await runBastion(['approvals', 'approve', c, '--server', url, '--evidence', 'change_ticket=CHG-1', '--evidence', 'rollback_plan=helm rollback web'], {
      cwd,
      env: { BASTION_TOKEN: 'cm1' },
    });
    expect([ev.code, ev.stdout]).toEqual([0, `${c}: pending (1 of 2 approvals)\n`]);
    const list = await runBastion(['approvals', 'list', '--data-dir', dataDir, '--status', 'denied', '--json'], { cwd, env: {} });
    expect(JSON.parse(list.stdout).approvals.map((x: { id: string }) => x.id)).toEqual([a]);
  });

  it('says what is wrong with its input, and has help on every subcommand', async () => {
    expect((await runBastion(['approvals', 'approve', 'x', '--data-dir', dataDir], { cwd })).stderr).toBe(
      'bastion approvals approve: option `--data-dir` does not apply to `approvals approve` (see `bastion approvals approve --help`)\n',
    );
    expect((await runBastion(['approvals', 'list'], { cwd })).stderr).toBe('bastion approvals list: give one of --server URL, --data-dir DIR and --postgres URL\n');
    expect((await runBastion(['approvals', 'show', 'x', '--server', url, '--wait', '99'], { cwd })).stderr).toBe(
      'bastion approvals show: --wait must be a whole number of seconds from 0 to 60, got `99`\n',
    );
    expect((await runBastion(['approvals', 'frob'], { cwd })).code).toBe(2);
    const noToken = await runBastion(['approvals', 'list', '--server', url], { cwd, env: {} });
    expect(noToken.stderr).toContain('(set BASTION_TOKEN to a JWT or API key)');
    for (const sub of ['list', 'show', 'approve', 'deny', 'cancel']) {
      const help = await runBastion(['approvals', sub, '--help'], { cwd });
      expect([help.code, help.stdout.startsWith(`Usage: bastion approvals ${sub}`)]).toEqual([0, true]);
    }
    expect((await runBastion(['approvals', '--help'], { cwd })).stdout).toMatch(/^Usage: bastion approvals <list\|show\|approve\|deny\|cancel>/);
  });
});
