/**
 * `bastion test`: runs policy test files (`*.test.yaml`) like a test runner, printing a
 * text summary or (`--format json`) one machine-readable report.
 */

import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { createGateway } from '../../gateway/index.js';
import { quote } from '../../core/errors.js';
import type { Decision } from '../../core/types.js';
import { type CaseOutcome, findTestFiles, type PolicyTestFile, readTestFile, runTestFile } from '../../policy/index.js';
import { badInput, type CliIo, type Command, EXIT } from '../command.js';

/** What `bastion test --format json` prints: one object, paths relative to the working directory. */
export interface TestReport {
  /** The test files run, in the order they ran. */
  files: string[];
  passed: number;
  failed: number;
  cases: Array<{ file: string; description: string; passed: boolean; failures: string[]; decision: Decision }>;
}

export const testCommand: Command = {
  name: 'test',
  summary: 'run policy test files (request + expected decision and reason)',
  help: `Usage: bastion test <file|dir>… [--verbose] [--format text|json]

Runs every *.test.yaml (or .yml, .json) file found, each naming its policies and listing cases:

  policies: [tool_policies.yaml]          # relative to the test file
  tests:
    - description: the engineer may read Jira
      request: { principal: { id: e, groups: [grp-ai-devops-readonly], deviceCompliant: true }, action: jira_read }
      expect: { decision: allow, reason: authorized, matched: [tool_policies/jira_read/allow] }

Expectations (\`expect\` must name at least one):
  decision, reason, risk     exactly this
  reasonContains             the reason contains this
  categories                 exactly these categories (any order)
  categoriesInclude          these categories among others
  matched                    exactly these policy/rule names, in the decision's order
  matchedIncludes            these policy/rule names among others
  errors                     true / false, or a list of {code?, policy?, rule?,
                             messageContains?}: exactly that many errors, in order
  obligations                exactly these obligations, in order (compared deeply)
  approval                   exactly these approval requirements, in order ([]: none)
A case whose request is invalid (a misspelt field) is a load error unless it expects
\`reason: request is invalid\`; an unknown expectation is a load error. A case may set
killSwitch; a file may set baseline: false.

Options:
  --verbose, -v     list passing cases too (text format)
  --format FORMAT   text (default) or json: one JSON report on stdout,
                    {files[], passed, failed, cases[{file, description, passed,
                    failures[], decision}]}, paths relative to the working directory

Exit 0 when all pass, 1 when any fails, 2 on bad input (the error on stderr, nothing on
stdout, in either format).

Examples:
  bastion test examples/
  bastion test examples/ --format json | jq '.cases[] | select(.passed | not)'
`,
  async run(args: string[], io: CliIo): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        options: { verbose: { type: 'boolean', short: 'v', default: false }, format: { type: 'string', default: 'text' } },
        allowPositionals: true,
      });
    } catch (err) {
      return badInput(io, 'test', (err as Error).message);
    }
    const format = parsed.values.format;
    if (format !== 'text' && format !== 'json') return badInput(io, 'test', `unknown format ${quote(format)} (expected text or json)`);
    const found = findTestFiles(parsed.positionals.length > 0 ? parsed.positionals : ['.'], io.cwd);
    if (found.errors.length > 0) return badInput(io, 'test', found.errors.map((e) => e.message).join('; '));
    if (found.files.length === 0) return badInput(io, 'test', 'no policy test files (*.test.yaml) found');
    // Every file is loaded before any case runs, so bad input exits 2 with nothing on stdout.
    const files: PolicyTestFile[] = [];
    for (const path of found.files) {
      const file = readTestFile(path);
      if (!file.ok) return badInput(io, 'test', file.errors.map((e) => e.message).join('; '));
      files.push(file.value);
    }
    const outcomes: CaseOutcome[] = [];
    const text: string[] = [];
    for (const file of files) {
      let ran;
      try {
        ran = await runTestFile(file, (policies, baseline, killSwitch) =>
          createGateway({ policies, baseline: { enabled: baseline }, surface: 'test', approvals: { enabled: false }, ...(killSwitch ? { killSwitch } : {}) }),
        );
      } catch (err) {
        const details = (err as { details?: { message: string }[] }).details;
        return badInput(io, 'test', details ? details.map((d) => d.message).join('; ') : (err as Error).message);
      }
      outcomes.push(...ran);
      text.push(`${relative(io.cwd, file.file)}\n`);
      for (const o of ran) {
        if (o.passed) {
          if (parsed.values.verbose) text.push(`  ✓ ${o.description}\n`);
        } else text.push(`  ✗ ${o.description}\n${o.failures.map((f) => `      ${f}\n`).join('')}`);
      }
    }
    const passed = outcomes.filter((o) => o.passed).length;
    const failed = outcomes.length - passed;
    if (format === 'json') {
      const report: TestReport = {
        files: files.map((f) => relative(io.cwd, f.file)),
        passed,
        failed,
        cases: outcomes.map((o) => ({ file: relative(io.cwd, o.file), description: o.description, passed: o.passed, failures: o.failures, decision: o.decision })),
      };
      io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else io.stdout.write(`${text.join('')}\n${passed} passed, ${failed} failed\n`);
    return failed > 0 ? EXIT.FAILED : EXIT.OK;
  },
};
