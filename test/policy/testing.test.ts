/**
 * The policy test runner must not pass vacuous cases (review finding 24): a case whose
 * request is invalid is a load error unless it says it tests one
 * (`expect: { reason: request is invalid }`), and an empty or ill-typed `expect` is rejected.
 * Runs `bastion test` in-process on the files in test/fixtures/policy/review/runner/.
 * Also: the exact expectations (`matched`, `categories`, `errors` lists, `obligations`,
 * `approval`) and their subset forms, and the `--format json` report (issue 9).
 */

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { TestReport } from '../../src/cli/commands/test.js';
import type { Decision } from '../../src/core/types.js';
import { checkExpectations, readTestFile } from '../../src/policy/testing.js';
import { runBastion } from '../helpers/cli.js';

const root = new URL('../..', import.meta.url).pathname;
const dir = 'test/fixtures/policy/review/runner';

const cases = [
  {
    file: 'misspelt-field.cases.yaml',
    code: 1,
    message: [
      'line 5, column 32: test 1 (`x`): field `tests[0].request`: the request is invalid (request: field `actoin`: unknown field',
      'a case that tests an invalid request says `expect: { reason: request is invalid }`',
    ],
  },
  {
    file: 'empty-expect.cases.yaml',
    code: 1,
    message: [
      'line 4, column 77: test 1 (`y`): field `tests[0].expect`: is empty: name at least one of decision, reason, reasonContains, risk, categories, categoriesInclude, matched, matchedIncludes, errors, obligations, approval, wouldBlock, taintedBy',
    ],
  },
  { file: 'bad-expectation.cases.yaml', code: 1, message: ['line 4, column 89: test 1 (`z`): field `tests[0].expect.decision`: must be allow, deny or require_approval, got `denyy`'] },
  { file: 'explicit-invalid.cases.yaml', code: 0, message: ['2 passed, 0 failed'] },
];

describe('bastion test rejects vacuous cases', () => {
  it.each(cases.map((c) => [c.file, c] as const))('%s', async (_file, c) => {
    const r = await runBastion(['test', `${dir}/${c.file}`], { cwd: root });
    expect(r.code).toBe(c.code);
    // A file that does not load is that file's error, reported in the summary (exit 1), not a usage error.
    for (const m of c.message) expect(r.stdout).toContain(m);
    expect(r.stderr).toBe('');
    if (c.code === 1) {
      expect(r.stdout).toContain(`  ! while loading \`${root}${dir}/${c.file}\``);
      expect(r.stdout).toMatch(/\n0 passed, 0 failed, 1 file not loaded\n$/);
    }
  });

  it('every example test file still loads', () => {
    for (const seed of ['control-zero/sre-safety-policy', 'capfence/devops_policy', 'zyx/tool_policies', 'harness/agent-harness-config', 'native/platform-agents']) {
      const r = readTestFile(`${root}examples/${seed}.test.yaml`);
      expect(r.ok ? [] : r.errors.map((e) => e.message), seed).toEqual([]);
    }
  });
});

/** A decision as the engine returns it, with only what a case under test needs changed. */
function decision(over: Partial<Decision> = {}): Decision {
  return {
    decision: 'deny',
    reason: 'denied by ops/block-rm',
    matched: [
      { policy: 'ops', rule: 'block-rm', effect: 'deny' },
      { policy: 'ops', rule: 'allow-shell', effect: 'allow' },
    ],
    risk: 'critical',
    categories: ['fs.delete', 'exec.obfuscated'],
    obligations: [],
    errors: [],
    policyVersion: 'sha256:x',
    traceId: 't',
    ...over,
  };
}

describe('checkExpectations: exact expectations', () => {
  it('`matched` is the exact list, in the decision order', () => {
    expect(checkExpectations(decision(), { matched: ['ops/block-rm', 'ops/allow-shell'] })).toEqual([]);
    expect(checkExpectations(decision(), { matched: ['ops/block-rm'] })).toEqual(['expected matched rules [ops/block-rm], got [ops/block-rm, ops/allow-shell]']);
    expect(checkExpectations(decision(), { matched: ['ops/allow-shell', 'ops/block-rm'] })).toEqual(['expected matched rules [ops/allow-shell, ops/block-rm], got [ops/block-rm, ops/allow-shell]']);
    expect(checkExpectations(decision({ matched: [] }), { matched: [] })).toEqual([]);
    expect(checkExpectations(decision(), { matched: [] })).toEqual(['expected matched rules [], got [ops/block-rm, ops/allow-shell]']);
  });

  it('`matchedIncludes` is the subset form', () => {
    expect(checkExpectations(decision(), { matchedIncludes: ['ops/block-rm'] })).toEqual([]);
    expect(checkExpectations(decision(), { matchedIncludes: ['ops/other'] })).toEqual(['expected matched rule ops/other, got [ops/block-rm, ops/allow-shell]']);
  });

  it('`categories` is the exact set, in any order; `categoriesInclude` the subset', () => {
    expect(checkExpectations(decision(), { categories: ['exec.obfuscated', 'fs.delete'] })).toEqual([]);
    expect(checkExpectations(decision(), { categories: ['fs.delete'] })).toEqual(['expected categories [fs.delete], got [exec.obfuscated, fs.delete]']);
    expect(checkExpectations(decision(), { categories: ['fs.delete', 'exec.obfuscated', 'net.egress'] })).toEqual([
      'expected categories [exec.obfuscated, fs.delete, net.egress], got [exec.obfuscated, fs.delete]',
    ]);
    expect(checkExpectations(decision(), { categoriesInclude: ['fs.delete'] })).toEqual([]);
    expect(checkExpectations(decision(), { categoriesInclude: ['net.egress'] })).toEqual(['expected category net.egress, got [fs.delete, exec.obfuscated]']);
  });

  it('`errors: true|false` checks presence, naming the errors it did not expect', () => {
    const errs = decision({ errors: [{ policy: 'ops', rule: 'block-rm', code: 'CONDITION_ERROR', message: 'field `args.x` is a number where `glob` expects a string' }] });
    expect(checkExpectations(errs, { errors: true })).toEqual([]);
    expect(checkExpectations(decision(), { errors: true })).toEqual(['expected errors, got none']);
    expect(checkExpectations(errs, { errors: false })).toEqual(['expected no errors, got CONDITION_ERROR ops/block-rm: field `args.x` is a number where `glob` expects a string']);
  });

  it('a list of `errors` matches exactly in count, the n-th error against the n-th entry', () => {
    const errs = decision({
      errors: [
        { policy: 'ops', rule: 'block-rm', code: 'CONDITION_ERROR', message: 'CEL expression failed: no such overload' },
        { policy: 'ops', rule: 'allow-shell', code: 'CONDITION_ERROR', message: 'field `args.level` is not a number' },
      ],
    });
    expect(checkExpectations(errs, { errors: [{ messageContains: 'no such overload' }, { messageContains: '`args.level`' }] })).toEqual([]);
    expect(checkExpectations(errs, { errors: [{ messageContains: 'no such overload' }] })).toEqual([
      'expected 1 error, got 2: CONDITION_ERROR ops/block-rm: CEL expression failed: no such overload; CONDITION_ERROR ops/allow-shell: field `args.level` is not a number',
    ]);
    expect(checkExpectations(decision(), { errors: [{ messageContains: 'x' }] })).toEqual(['expected 1 error, got 0']);
    expect(checkExpectations(decision(), { errors: [] })).toEqual([]);
    expect(checkExpectations(errs, { errors: [{ messageContains: '`args.level`' }, { messageContains: 'no such overload' }] })).toEqual([
      "error 1: expected a message containing `'args.level'`, got: CEL expression failed: no such overload",
      'error 2: expected a message containing `no such overload`, got: field `args.level` is not a number',
    ]);
  });

  it('compares structured errors by code, policy and rule', () => {
    const d = decision({ errors: [{ policy: 'ops', rule: 'block-rm', code: 'CONDITION_ERROR', message: 'CEL expression failed' }] });
    expect(checkExpectations(d, { errors: [{ code: 'CONDITION_ERROR', policy: 'ops', rule: 'block-rm', messageContains: 'CEL' }] })).toEqual([]);
    expect(checkExpectations(d, { errors: [{ code: 'REQUEST_INVALID', rule: 'allow-shell' }] })).toEqual([
      'error 1: expected code `REQUEST_INVALID`, got `CONDITION_ERROR` and rule `allow-shell`, got `block-rm`',
    ]);
    expect(checkExpectations(d, { errors: false })).toEqual(['expected no errors, got CONDITION_ERROR ops/block-rm: CEL expression failed']);
  });

  it('`obligations` and `approval` compare deeply, in order, whatever the key order', () => {
    const d = decision({
      decision: 'require_approval',
      obligations: [{ type: 'sandbox' }, { type: 'timeout', seconds: 60 }],
      approvalRequirements: [{ policy: 'ops', rule: 'approve', approverGroups: ['leads'], quorum: 2, changeTicketRequired: false, rollbackPlanRequired: true }],
    });
    expect(checkExpectations(d, { obligations: [{ type: 'sandbox' }, { seconds: 60, type: 'timeout' }] })).toEqual([]);
    expect(checkExpectations(d, { obligations: [{ type: 'sandbox' }] })).toEqual(['expected obligations [{"type":"sandbox"}], got [{"type":"sandbox"},{"type":"timeout","seconds":60}]']);
    expect(checkExpectations(d, { obligations: [{ type: 'timeout', seconds: 60 }, { type: 'sandbox' }] })).toHaveLength(1);
    expect(checkExpectations(d, { obligations: [{ type: 'sandbox' }, { type: 'timeout', seconds: 30 }] })).toHaveLength(1);
    const approval = [{ policy: 'ops', rule: 'approve', quorum: 2, approverGroups: ['leads'], rollbackPlanRequired: true, changeTicketRequired: false }];
    expect(checkExpectations(d, { approval })).toEqual([]);
    expect(checkExpectations(d, { approval: [{ ...approval[0]!, quorum: 1 }] })).toHaveLength(1);
    expect(checkExpectations(decision(), { approval: [] })).toEqual([]);
    expect(checkExpectations(d, { approval: [] })[0]).toMatch(/^expected approval requirements \[\], got \[\{"policy":"ops"/);
  });
});

interface InvalidTestFile {
  description: string;
  code?: string;
  text: string;
  errors: string[];
}

describe('readTestFile: every field is checked at load (test/fixtures/policy/invalid-test-files.yaml)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'bastion-testing-'));
  const table = parseYaml(readFileSync(`${root}test/fixtures/policy/invalid-test-files.yaml`, 'utf8')) as InvalidTestFile[];

  it.each(table.map((c, i) => [c.description, c, i] as const))('%s', (_description, c, i) => {
    const file = join(tmp, `case-${i}.test.yaml`);
    writeFileSync(file, c.text);
    const r = readTestFile(file);
    const prefix = `while loading \`${file}\`: `;
    if (r.ok) {
      expect(c.errors).toEqual([]);
      return;
    }
    for (const e of r.errors) {
      expect(e.message.startsWith(prefix), e.message).toBe(true);
      expect(e.file).toBe(file);
    }
    expect(r.errors.map((e) => e.message.slice(prefix.length))).toEqual(c.errors);
    expect(r.errors.map((e) => e.code)).toEqual(c.errors.map(() => c.code));
  });

  it('locates an error by line, column and field', () => {
    const c = table.find((t) => t.description === 'an unknown expectation');
    const file = join(tmp, 'located.test.yaml');
    writeFileSync(file, c?.text ?? '');
    const r = readTestFile(file);
    expect(r.ok ? [] : r.errors.map((e) => [e.line, e.column, e.field])).toEqual([[4, 15, 'tests[0].expect.matchd']]);
  });
});

describe('bastion test --format json', () => {
  it('prints one report of every case and exits 1 when one fails', async () => {
    const r = await runBastion(['test', 'test/fixtures/cli/failing', '--format', 'json'], { cwd: root });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as TestReport;
    expect(Object.keys(report)).toEqual(['files', 'passed', 'failed', 'cases', 'errors']);
    expect(report.errors).toEqual([]);
    expect(report.files).toEqual(['test/fixtures/cli/failing/policy.test.yaml']);
    expect([report.passed, report.failed]).toEqual([1, 1]);
    expect(report.cases.map((c) => [c.file, c.description, c.passed, c.failures])).toEqual([
      ['test/fixtures/cli/failing/policy.test.yaml', 'a case that passes', true, []],
      ['test/fixtures/cli/failing/policy.test.yaml', 'a case that expects the wrong decision', false, ['expected decision allow, got deny (`no rule allows this action`)']],
    ]);
    expect(report.cases[0]?.decision).toMatchObject({ decision: 'allow', reason: 'allowed by failing/allow-a', matched: [{ policy: 'failing', rule: 'allow-a', effect: 'allow' }] });
    expect(report.cases[1]?.decision).toMatchObject({ decision: 'deny', reason: 'no rule allows this action', matched: [] });
  });

  it('exits 0 with every example passing', async () => {
    const r = await runBastion(['test', 'examples', '--format', 'json'], { cwd: root });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as TestReport;
    expect(report.failed).toBe(0);
    expect(report.passed).toBe(report.cases.length);
    expect(report.files).toHaveLength(7);
  });

  it('reports a file that does not load as its error (exit 1, on stderr too), and rejects an unknown format', async () => {
    const bad = await runBastion(['test', `${dir}/empty-expect.cases.yaml`, '--format', 'json'], { cwd: root });
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout) as TestReport;
    expect([report.files, report.passed, report.failed, report.cases]).toEqual([[`${dir}/empty-expect.cases.yaml`], 0, 0, []]);
    expect(report.errors.map((e) => e.file)).toEqual([`${dir}/empty-expect.cases.yaml`]);
    expect(report.errors[0]?.messages.join('\n')).toContain('field `tests[0].expect`: is empty');
    expect(bad.stderr).toMatch(/^bastion test: while loading `.*empty-expect\.cases\.yaml`: .*field `tests\[0\]\.expect`: is empty/);
    const format = await runBastion(['test', 'examples', '--format', 'xml'], { cwd: root });
    expect([format.code, format.stdout, format.stderr]).toEqual([2, '', 'bastion test: unknown format `xml` (expected text, json or junit)\n']);
  });
});
