import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteAuditReader } from '../../src/storage/index.js';
import { runBastion } from '../helpers/cli.js';

const root = new URL('../..', import.meta.url).pathname;
const capfence = 'examples/capfence';
const request = (command: string) => JSON.stringify({ principal: { id: 'ops-agent', groups: [] }, action: 'shell.execute', args: { command } });

describe('bastion check (interface contract)', () => {
  it('prints the decision object as JSON and exits 0, whatever the decision', async () => {
    const r = await runBastion(['check', '--policy', capfence, '--input', '-', '--json'], { cwd: root, stdin: request('rm -r -f /var/log') });
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(d).toMatchObject({ decision: 'deny', reason: 'critical risk: denied by the baseline policy', risk: 'critical' });
    for (const key of ['decision', 'reason', 'matched', 'risk', 'categories', 'obligations', 'errors', 'policyVersion', 'traceId']) expect(d, key).toHaveProperty(key);
    expect(d['categories']).toContain('fs.delete');
  });

  it('allows and exits 0 for a safe command read from a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-check-'));
    writeFileSync(join(dir, 'req.json'), request('df -h'));
    const r = await runBastion(['check', '--policy', join(root, capfence), '--input', join(dir, 'req.json'), '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ decision: 'allow', reason: 'allowed: shell.execute' });
  });

  it('accepts several --policy options and prints a readable summary without --json', async () => {
    const r = await runBastion(['check', '--policy', capfence, '--policy', 'examples/zyx', '--input', '-'], {
      cwd: root,
      stdin: JSON.stringify({ principal: { id: 'e', groups: ['grp-ai-devops-readonly'], deviceCompliant: true }, action: 'jira_read' }),
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^decision: {2}allow$/m);
    expect(r.stdout).toMatch(/^reason: {4}authorized$/m);
  });

  it.each([
    ['invalid JSON input', ['--policy', capfence, '--input', '-'], '{not json', /input is not valid JSON/],
    ['a malformed request', ['--policy', capfence, '--input', '-'], '{"action": "x"}', /field `principal`: is required/],
    ['an unknown request field', ['--policy', capfence, '--input', '-'], '{"principal":{"id":"a","groups":[]},"action":"x","enviroment":"prod"}', /field `enviroment`: unknown field/],
    ['a byte order mark before the JSON', ['--policy', capfence, '--input', '-'], '\ufeff' + request('ls'), /input is not valid JSON/],
    [
      'a duplicate key (review 25: decided as the last one)',
      ['--policy', capfence, '--input', '-'],
      '{"principal":{"id":"ops-agent","groups":[]},"action":"shell.execute","args":{"command":"rm -rf /","command":"ls"}}',
      /input: field `args.command`: duplicate key `command`/,
    ],
    [
      'nesting beyond the limit (review 19: internal error, exit 1)',
      ['--policy', capfence, '--input', '-'],
      request('ls').replace('"args":', '"context":' + '{"a":'.repeat(5000) + '1' + '}'.repeat(5000) + ',"args":'),
      /input: field `context\.a\.a.*`: nests objects or arrays more than 64 levels deep/,
    ],
    ['a missing policy', ['--policy', 'nope/', '--input', '-'], request('ls'), /while loading `nope\/`: no such file or directory/],
    ['an invalid policy', ['--policy', 'test/fixtures/cli/invalid-policy.yaml', '--input', '-'], request('ls'), /unknown effect `denny`/],
    ['no --policy', ['--input', '-'], request('ls'), /missing --policy/],
    ['no --input', ['--policy', capfence], '', /missing --input/],
    ['a missing input file', ['--policy', capfence, '--input', 'nope.json'], '', /cannot read `nope.json`: no such file/],
    ['an unknown option', ['--policy', capfence, '--input', '-', '--jsn'], '', /^bastion check: unknown option `--jsn`; run `bastion check --help` for the options\n$/],
    [
      'an option without its value',
      ['--policy', '--input', '-'],
      '',
      /^bastion check: option `--policy` needs a value \(give one that starts with `-` as `--policy=--input`\); run `bastion check --help` for the options\n$/,
    ],
    ['an unknown --fail-on', ['--policy', capfence, '--input', '-', '--fail-on', 'allow'], request('ls'), /^bastion check: option `--fail-on`: expected deny or require_approval, got `allow`\n$/],
  ])('exits 2 with a one-line error on %s', async (_what, args, stdin, message) => {
    const r = await runBastion(['check', ...args], { cwd: root, stdin });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('records the decision in DIR/bastion.db with --data-dir, secrets redacted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-check-audit-'));
    const secret = 'AKIAZ7VQ3XKQ2M5PLR4T';
    const r = await runBastion(['check', '--policy', capfence, '--input', '-', '--json', '--data-dir', dir], { cwd: root, stdin: request(`aws configure set aws_access_key_id ${secret}`) });
    expect(r.code).toBe(0);
    const traceId = (JSON.parse(r.stdout) as { traceId: string }).traceId;
    const reader = await openSqliteAuditReader(join(dir, 'bastion.db'));
    expect(reader.ok).toBe(true);
    if (!reader.ok) return;
    try {
      const events = await reader.value.getTrace(traceId);
      expect(events.map((e) => e.type)).toEqual(['decision']);
      expect(events[0]).toMatchObject({ action: 'shell.execute', surface: 'cli', principal: { id: 'ops-agent' } });
      expect(JSON.stringify(events)).not.toContain(secret);
      expect((await reader.value.verify()).ok).toBe(true);
    } finally {
      await reader.value.close();
    }
    const verify = await runBastion(['audit', 'verify', '--data-dir', dir], { cwd: root });
    expect(verify.code).toBe(0);
  });
});

describe('bastion policy', () => {
  it('validates a directory of every format and prints the version', async () => {
    const r = await runBastion(['policy', 'validate', 'examples'], { cwd: root });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: 7 policies, \d+ rules, baseline on, version sha256:[0-9a-f]{64}$/m);
  });

  it('exits 1 and prints every error on its own line for an invalid policy', async () => {
    const r = await runBastion(['policy', 'validate', 'test/fixtures/cli/invalid-policy.yaml'], { cwd: root });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('line 6, column 13: rule `block-rm`: field `rules[0].effect`: unknown effect `denny`');
    expect(r.stderr).toMatch(/^invalid: 2 errors$/m);
  });

  it('imports a ZYX policy into the native form, which loads and decides the same', async () => {
    const r = await runBastion(['policy', 'import', 'examples/zyx/tool_policies.yaml'], { cwd: root });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('apiVersion: bastion/v1');
    expect(r.stdout).toContain('# The file declares a kill switch');
    const dir = mkdtempSync(join(tmpdir(), 'bastion-import-'));
    writeFileSync(join(dir, 'native.yaml'), r.stdout);
    const check = await runBastion(['check', '--policy', join(dir, 'native.yaml'), '--input', '-', '--json'], {
      cwd: root,
      stdin: JSON.stringify({ principal: { id: 'i', groups: ['grp-ai-users'], deviceCompliant: true }, action: 'jira_read' }),
    });
    expect(JSON.parse(check.stdout)).toMatchObject({ decision: 'deny', reason: 'user does not belong to an allowed group' });
  });

  it('imports as JSON with --json and rejects an unknown format', async () => {
    const r = await runBastion(['policy', 'import', 'examples/capfence/devops_policy.yaml', '--json'], { cwd: root });
    expect(JSON.parse(r.stdout)).toMatchObject({ apiVersion: 'bastion/v1', name: 'DevOps CLI Execution Guard' });
    const bad = await runBastion(['policy', 'import', 'examples/capfence/devops_policy.yaml', '--format', 'opa'], { cwd: root });
    expect(bad.code).toBe(2);
  });
});

describe('bastion test', () => {
  it('runs every example test file and reports the count', async () => {
    const r = await runBastion(['test', 'examples'], { cwd: root });
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
    expect(r.code).toBe(0);
  });

  it('exits 1 and explains a failing case', async () => {
    const r = await runBastion(['test', 'test/fixtures/cli/failing'], { cwd: root });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('✗ a case that expects the wrong decision');
    expect(r.stdout).toContain('expected decision allow, got deny');
    expect(r.stdout).toMatch(/^1 passed, 1 failed$/m);
  });

  it('exits 2 when no test file is found', async () => {
    const r = await runBastion(['test', 'src/core'], { cwd: root });
    expect(r.code).toBe(2);
  });
});

describe('bastion (dispatcher)', () => {
  it('prints help listing every command, and help for each', async () => {
    const r = await runBastion(['--help'], { cwd: root });
    for (const c of ['serve', 'check', 'analyze', 'scan', 'test', 'policy', 'audit']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    for (const c of ['serve', 'check', 'analyze', 'scan', 'test', 'policy', 'audit']) {
      const h = await runBastion([c, '--help'], { cwd: root });
      expect(h.code, c).toBe(0);
      expect(h.stdout, c).toMatch(/usage/i);
    }
  });

  it('rejects an unknown command', async () => {
    const r = await runBastion(['frobnicate'], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command `frobnicate`');
  });
});
