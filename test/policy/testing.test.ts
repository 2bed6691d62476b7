/**
 * The policy test runner must not pass vacuous cases (review finding 24): a case whose
 * request is invalid is a load error unless it says it tests one
 * (`expect: { reason: request is invalid }`), and an empty or ill-typed `expect` is rejected.
 * Runs `bastion test` in-process on the files in test/fixtures/policy/review/runner/.
 */

import { describe, expect, it } from 'vitest';
import { readTestFile } from '../../src/policy/testing.js';
import { runBastion } from '../helpers/cli.js';

const root = new URL('../..', import.meta.url).pathname;
const dir = 'test/fixtures/policy/review/runner';

const cases = [
  {
    file: 'misspelt-field.cases.yaml',
    code: 2,
    message: ['test 1 (`x`): the request is invalid (request: field `actoin`: unknown field', 'a case that tests an invalid request says `expect: { reason: request is invalid }`'],
  },
  { file: 'empty-expect.cases.yaml', code: 2, message: ['test 1 (`y`): `expect` is empty: name at least one of decision, reason, reasonContains, risk, categories, matched, errors'] },
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
