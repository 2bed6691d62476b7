/**
 * `bastion policy diff OLD NEW`: the rules added, removed and edited between two sets, and the
 * policy test cases (test/fixtures/replay/tests/) decided otherwise, as a pull request's check.
 */

import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBastion } from '../helpers/cli.js';

const cwd = resolve(import.meta.dirname, '../fixtures/replay');
const diff = (...args: string[]) => runBastion(['policy', 'diff', '--no-baseline', ...args], { cwd });

describe('bastion policy diff', () => {
  it('the same set: no rule and no case changes', async () => {
    const run = await diff('old', 'old', '--tests', 'tests', '--format', 'json', '--fail-on-change');
    expect(run.code).toBe(0);
    const d = JSON.parse(run.stdout);
    expect(d).toMatchObject({ policies: [], rules: [], cases: 4, changedCases: [] });
    expect(d.oldVersion).toBe(d.newVersion);
  });

  it('a stricter set: the rule swapped, and exactly the case it changes, with both explanations', async () => {
    const run = await diff('old', 'stricter', '--tests', 'tests', '--format', 'json');
    expect(run.code).toBe(0);
    const d = JSON.parse(run.stdout);
    expect(d.rules).toEqual([
      { rule: 'shell/deny-exfiltration', change: 'removed' },
      { rule: 'shell/deny-egress', change: 'added' },
    ]);
    expect(d.changedCases).toEqual([
      {
        file: resolve(cwd, 'tests/shell.test.yaml'),
        description: 'an SRE checks a status page',
        old: { decision: 'allow', reason: 'allowed by shell/allow-sre', matched: ['shell/allow-sre'], passes: true },
        new: { decision: 'deny', reason: 'shell commands may not reach the network', matched: ['shell/deny-egress', 'shell/allow-sre'], passes: false },
      },
    ]);
  });

  it('a looser set in text: the edited rule names its changed fields; --fail-on-change fails the check', async () => {
    const run = await diff('old', 'looser', '--tests', 'tests', '--fail-on-change');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('bastion policy diff: 1 test case is decided otherwise (--fail-on-change)\n');
    expect(run.stdout).toContain('rules:\n  - shell/deny-interns\n  ~ shell/allow-sre: principals\n');
    expect(run.stdout).toContain(
      'test cases: 4 decided by both sets, 1 decided otherwise\n' +
        '  tests/shell.test.yaml: interns may not run commands: deny → allow (its expectation: passes → fails)\n' +
        '    was: deny (shell/deny-interns): interns may not run commands\n' +
        '    now: allow (shell/allow-sre): allowed by shell/allow-sre\n',
    );
  });

  it('decides each case under the kill switch its case declares, with both sets', async () => {
    const d = JSON.parse((await diff('old', 'closed', '--tests', 'tests', '--format', 'json')).stdout);
    // Closed allows no SRE call: two cases change; the kill-switch case is denied by both.
    expect(d.changedCases.map((c: { description: string }) => c.description)).toEqual(['an SRE checks the disk', 'an SRE checks a status page']);
  });

  it.each([
    [['old'], 'bastion policy diff: name two policy sets: <old file|dir> <new file|dir>'],
    [['old', 'looser', 'stricter'], 'bastion policy diff: name two policy sets'],
    [['old', 'looser', '--format', 'yaml'], 'bastion policy diff: option --format: expected text or json, got `yaml`'],
    [['old', 'nowhere'], 'bastion policy diff: new set `nowhere`: '],
    [['old', 'looser', '--tests', 'no-tests-here'], 'bastion policy diff: --tests: '],
  ])('bad input %j is exit 2 with one line on stderr', async (args, message) => {
    const run = await diff(...args);
    expect(run.code).toBe(2);
    expect(run.stderr.startsWith(message)).toBe(true);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toBe('');
  });
});
