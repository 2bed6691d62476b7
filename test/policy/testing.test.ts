/**
 * The policy test runner must not pass vacuous cases (review finding 24): a case whose
 * request is invalid is a load error unless it says it tests one
 * (`expect: { reason: request is invalid }`), and an empty or ill-typed `expect` is rejected.
 * Runs `bastion test` in-process on the files in test/fixtures/policy/review/runner/.
 * Also: the exact expectations (`matched`, `categories`, `errors` lists, `obligations`,
 * `approval`) and their subset forms, and the `--format json` report (issue 9).
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TestReport } from '../../src/cli/commands/test.js';
import type { Decision } from '../../src/core/types.js';
import { checkExpectations, readTestFile } from '../../src/policy/testing.js';
import { runBastion } from '../helpers/cli.js';

const root = new URL('../..', import.meta.url).pathname;
const dir = 'test/fixtures/policy/review/runner';

const cases = [
  {
    file: 'misspelt-field.cases.yaml',
    code: 2,
    message: ['test 1 (`x`): the request is invalid (request: field `actoin`: unknown field', 'a case that tests an invalid request says `expect: { reason: request is invalid }`'],
  },
  {
    file: 'empty-expect.cases.yaml',
    code: 2,
    message: ['test 1 (`y`): `expect` is empty: name at least one of decision, reason, reasonContains, risk, categories, categoriesInclude, matched, matchedIncludes, errors, obligations, approval'],
  },
  { file: 'bad-expectation.cases.yaml', code: 2, message: ['test 1 (`z`): `expect.decision` must be allow, deny or require_approval, got `denyy`'] },
  { file: 'explicit-invalid.cases.yaml', code: 0, message: ['2 passed, 0 failed'] },
];

describe('bastion test rejects vacuous cases', () => {
  it.each(cases.map((c) => [c.file, c] as const))('%s', async (_file, c) => {
    const r = await runBastion(['test', `${dir}/${c.file}`], { cwd: root });
    expect(r.code).toBe(c.code);
    for (const m of c.message) expect(c.code === 0 ? r.stdout : r.stderr).toContain(m);
    if (c.code === 2) expect(r.stderr).toContain(`while loading \`${root}${dir}/${c.file}\``);
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

describe('readTestFile: expectation fields are checked at load', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'bastion-testing-'));
  const load = (expectYaml: string) => {
    const file = join(tmp, `case-${Math.abs(hash(expectYaml))}.test.yaml`);
    writeFileSync(file, `policies: []\ntests:\n  - description: d\n    request: { principal: { id: a }, action: x }\n    expect: ${expectYaml}\n`);
    const r = readTestFile(file);
    return r.ok ? [] : r.errors.map((e) => e.message.slice(`while loading \`${file}\`: `.length));
  };
  const hash = (s: string) => [...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7);

  it.each([
    [
      '{ matched: [a/b], matchedIncludes: [a/b], categories: [], categoriesInclude: [fs.read], errors: [{ code: X, policy: p, rule: r, messageContains: m }], obligations: [{ type: sandbox }], approval: [] }',
      [],
    ],
    [
      '{ matchd: [a/b] }',
      ['test 1 (`d`): unknown expectation `matchd` (expected one of decision, reason, reasonContains, risk, categories, categoriesInclude, matched, matchedIncludes, errors, obligations, approval)'],
    ],
    ['{ matched: a/b }', ['test 1 (`d`): `expect.matched` must be a list of non-empty strings']],
    ['{ matchedIncludes: [] }', ['test 1 (`d`): `expect.matchedIncludes` must name at least one entry (an empty list checks nothing)']],
    ['{ errors: yes }', ['test 1 (`d`): `expect.errors` must be true, false or a list of expected errors']],
    ['{ errors: [{ cod: X }] }', ['test 1 (`d`): `expect.errors[0]`: unknown field `cod` (expected one of code, policy, rule, messageContains)']],
    ['{ errors: [{}] }', ['test 1 (`d`): `expect.errors[0]` is empty: name at least one of code, policy, rule, messageContains']],
    ['{ errors: [{ code: 3 }] }', ['test 1 (`d`): `expect.errors[0].code` must be a non-empty string']],
    ['{ errors: [oops] }', ['test 1 (`d`): `expect.errors[0]` must be a mapping with any of code, policy, rule, messageContains']],
    ['{ obligations: [{ seconds: 3 }] }', ['test 1 (`d`): `expect.obligations` must be a list of obligations, each a mapping with a `type`']],
    ['{ approval: { quorum: 1 } }', ['test 1 (`d`): `expect.approval` must be a list of approval requirements (mappings)']],
  ])('%s', (yaml, messages) => {
    expect(load(yaml)).toEqual(messages);
  });
});

describe('bastion test --format json', () => {
  it('prints one report of every case and exits 1 when one fails', async () => {
    const r = await runBastion(['test', 'test/fixtures/cli/failing', '--format', 'json'], { cwd: root });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as TestReport;
    expect(Object.keys(report)).toEqual(['files', 'passed', 'failed', 'cases']);
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
    expect(report.files).toHaveLength(5);
  });

  it('exits 2 on bad input with nothing on stdout, and rejects an unknown format', async () => {
    const bad = await runBastion(['test', `${dir}/empty-expect.cases.yaml`, '--format', 'json'], { cwd: root });
    expect([bad.code, bad.stdout]).toEqual([2, '']);
    expect(bad.stderr).toContain('`expect` is empty');
    const format = await runBastion(['test', 'examples', '--format', 'xml'], { cwd: root });
    expect([format.code, format.stdout, format.stderr]).toEqual([2, '', 'bastion test: unknown format `xml` (expected text or json)\n']);
  });
});
