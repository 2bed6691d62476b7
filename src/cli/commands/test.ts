/**
 * `bastion test`: runs policy test files (`*.test.yaml`) like a test runner, printing a
 * text summary or (`--format json`) one machine-readable report.
 */

import { relative } from 'node:path';
import { createGateway } from '../../gateway/index.js';
import { BastionException, quote } from '../../core/errors.js';
import type { Decision } from '../../core/types.js';
import { type CaseOutcome, findTestFiles, readTestFile, runTestFile } from '../../policy/index.js';
import { badInput, parseOptions, type CliIo, type Command, EXIT } from '../command.js';

/** What `bastion test --format json` prints: one object, paths relative to the working directory. */
export interface TestReport {
  /** The test files run (or tried: a file that does not load is listed too), in the order they ran. */
  files: string[];
  passed: number;
  failed: number;
  cases: Array<{ file: string; description: string; passed: boolean; failures: string[]; decision: Decision }>;
  /** Files that could not be loaded or run, with every error: each counts as a failure of the run. */
  errors: Array<{ file: string; messages: string[] }>;
}

const FORMATS = ['text', 'json', 'junit'] as const;

const HELP = `Usage: bastion test <file|dir>… [--verbose] [--format text|json|junit]

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
  wouldBlock                 exactly these shadow flow rules (policy/rule) would block ([]: none)
  taintedBy                  exactly these actions' results tainted the decision ([]: none)
A case may script its trace first: results: [{ action, text, source? }] are tool results
inspected before the request (taint, flow rules; see docs/flow-rules.md).
A case whose request is invalid (a misspelt field) is a load error unless it expects
\`reason: request is invalid\`; an unknown expectation is a load error. A case may set
killSwitch; a file may set baseline: false.

Every file is run: one that does not load (or whose policies do not load) is reported as an
error of that file, and the others still run.

Options:
  --verbose, -v     list passing cases too (text format)
  --format FORMAT   text (default); json: one JSON report on stdout,
                    {files[], passed, failed, cases[{file, description, passed,
                    failures[], decision}], errors[{file, messages[]}]}; junit: JUnit XML
                    (testsuites > testsuite per file > testcase per case, <failure> for a
                    failed case, <error> for a file that does not load), which CI systems
                    read. Paths are relative to the working directory

Exit 0 when all pass, 1 when a case fails or a file does not load (the summary is printed
either way; with json or junit the load errors go to stderr too), 2 on bad usage (an unknown
option or format, a path that does not exist, no test files found: nothing on stdout).

Examples:
  bastion test examples/
  bastion test examples/ --format json | jq '.cases[] | select(.passed | not)'
  bastion test policies/ --format junit > bastion-tests.xml
`;

interface FileRun {
  file: string;
  outcomes: CaseOutcome[];
  errors: string[];
  seconds: number;
}

export const testCommand: Command = {
  name: 'test',
  summary: 'run policy test files (request + expected decision and reason)',
  help: HELP,
  async run(args: string[], io: CliIo): Promise<number> {
    const parsed = parseOptions(io, 'test', args, {
      help: HELP,
      positionals: true,
      options: { verbose: { type: 'boolean', short: 'v', default: false }, format: { type: 'string', default: 'text' } },
    });
    if (!parsed.ok) return parsed.exit;
    const format = parsed.values.format;
    if (!(FORMATS as readonly string[]).includes(format)) return badInput(io, 'test', `unknown format ${quote(format)} (expected text, json or junit)`);
    const found = findTestFiles(parsed.positionals.length > 0 ? parsed.positionals : ['.'], io.cwd);
    if (found.errors.length > 0) return badInput(io, 'test', found.errors.map((e) => e.message).join('; '));
    if (found.files.length === 0) return badInput(io, 'test', 'no policy test files (*.test.yaml) found');
    const runs: FileRun[] = [];
    for (const path of found.files) runs.push(await runOne(path, io.cwd));
    const outcomes = runs.flatMap((r) => r.outcomes);
    const passed = outcomes.filter((o) => o.passed).length;
    const failed = outcomes.length - passed;
    const broken = runs.filter((r) => r.errors.length > 0);
    if (format === 'json') {
      const report: TestReport = {
        files: runs.map((r) => r.file),
        passed,
        failed,
        cases: outcomes.map((o) => ({ file: relative(io.cwd, o.file), description: o.description, passed: o.passed, failures: o.failures, decision: o.decision })),
        errors: broken.map((r) => ({ file: r.file, messages: r.errors })),
      };
      io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else if (format === 'junit') {
      io.stdout.write(junitReport(runs, io.cwd));
    } else {
      const text: string[] = [];
      for (const run of runs) {
        text.push(`${run.file}\n`);
        for (const message of run.errors) text.push(`  ! ${message}\n`);
        for (const o of run.outcomes) {
          if (o.passed) {
            if (parsed.values.verbose) text.push(`  ✓ ${o.description}\n`);
          } else text.push(`  ✗ ${o.description}\n${o.failures.map((f) => `      ${f}\n`).join('')}`);
        }
      }
      const errorCount = broken.length > 0 ? `, ${broken.length} file${broken.length === 1 ? '' : 's'} not loaded` : '';
      io.stdout.write(`${text.join('')}\n${passed} passed, ${failed} failed${errorCount}\n`);
    }
    if (format !== 'text') for (const run of broken) for (const message of run.errors) io.stderr.write(`bastion test: ${message}\n`);
    return failed > 0 || broken.length > 0 ? EXIT.FAILED : EXIT.OK;
  },
};

/** Loads and runs one file; a file that does not load (or whose policies do not) is an error of that file. */
async function runOne(path: string, cwd: string): Promise<FileRun> {
  const started = performance.now();
  const file = relative(cwd, path);
  const done = (outcomes: CaseOutcome[], errors: string[]): FileRun => ({ file, outcomes, errors, seconds: (performance.now() - started) / 1000 });
  const loaded = readTestFile(path);
  if (!loaded.ok)
    return done(
      [],
      loaded.errors.map((e) => e.message),
    );
  try {
    const outcomes = await runTestFile(loaded.value, (policies, baseline, killSwitch) =>
      createGateway({ policies, baseline: { enabled: baseline }, surface: 'test', approvals: { enabled: false }, ...(killSwitch ? { killSwitch } : {}) }),
    );
    return done(outcomes, []);
  } catch (err) {
    if (!(err instanceof BastionException)) throw err;
    return done([], err.details.length > 0 ? err.details.map((d) => d.message) : [err.message]);
  }
}

/**
 * The run as JUnit XML, the shape Jenkins, GitLab, GitHub Actions reporters and Azure read:
 * one `<testsuite>` per file, one `<testcase>` per case (`classname` the file), a
 * `<failure>` per failed case with every failed expectation, and a file that does not load
 * as one `<testcase name="(load)">` with an `<error>`.
 */
export function junitReport(runs: readonly { file: string; outcomes: readonly CaseOutcome[]; errors: readonly string[]; seconds: number }[], cwd: string): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const total = (pick: (r: (typeof runs)[number]) => number): number => runs.reduce((n, r) => n + pick(r), 0);
  const tests = total((r) => r.outcomes.length + (r.errors.length > 0 ? 1 : 0));
  const failures = total((r) => r.outcomes.filter((o) => !o.passed).length);
  const errors = total((r) => (r.errors.length > 0 ? 1 : 0));
  const seconds = total((r) => r.seconds);
  out.push(`<testsuites name="bastion test" tests="${tests}" failures="${failures}" errors="${errors}" time="${seconds.toFixed(3)}">`);
  for (const run of runs) {
    const file = xml(run.file);
    const failed = run.outcomes.filter((o) => !o.passed).length;
    const errored = run.errors.length > 0 ? 1 : 0;
    out.push(`  <testsuite name="${file}" tests="${run.outcomes.length + errored}" failures="${failed}" errors="${errored}" skipped="0" time="${run.seconds.toFixed(3)}" file="${file}">`);
    if (errored) {
      out.push(`    <testcase name="(load)" classname="${file}" file="${file}">`);
      out.push(`      <error message="${xml(run.errors[0] ?? '')}" type="load">${xml(run.errors.join('\n'))}</error>`);
      out.push('    </testcase>');
    }
    for (const o of run.outcomes) {
      const open = `    <testcase name="${xml(o.description)}" classname="${xml(relative(cwd, o.file))}" file="${xml(relative(cwd, o.file))}"`;
      if (o.passed) {
        out.push(`${open}/>`);
        continue;
      }
      out.push(`${open}>`);
      out.push(`      <failure message="${xml(o.failures[0] ?? 'failed')}" type="expectation">${xml(o.failures.join('\n'))}</failure>`);
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

/**
 * Text for XML 1.0 content and (double-quoted) attributes: the five markup characters as
 * entities, line breaks and tabs as character references (attributes keep them that way),
 * and the characters XML 1.0 cannot carry at all (other control characters, lone
 * surrogates, U+FFFE/U+FFFF) replaced by U+FFFD.
 */
export function xml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/[&<>"'\n\r\t]/g, (c) => ENTITIES[c] ?? c);
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\n': '&#10;', '\r': '&#13;', '\t': '&#9;' };
