/**
 * `bastion test`: runs policy test files (`*.test.yaml`) like a test runner.
 */

import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { createGateway } from '../../gateway/index.js';
import { findTestFiles, readTestFile, runTestFile } from '../../policy/testing.js';
import { badInput, type CliIo, type Command, EXIT } from '../command.js';

export const testCommand: Command = {
  name: 'test',
  summary: 'run policy test files (request + expected decision and reason)',
  help: `Usage: bastion test <file|dir>… [--verbose]

Runs every *.test.yaml (or .yml, .json) file found, each naming its policies and listing cases:

  policies: [tool_policies.yaml]          # relative to the test file
  tests:
    - description: the engineer may read Jira
      request: { principal: { id: e, groups: [grp-ai-devops-readonly], deviceCompliant: true }, action: jira_read }
      expect: { decision: allow, reason: authorized }

Expectations: decision, reason, reasonContains, risk, categories (must include), matched
(policy/rule names), errors (true/false); \`expect\` must name at least one. A case whose
request is invalid (a misspelt field) is a load error unless it expects
\`reason: request is invalid\`. A case may set killSwitch; a file may set baseline: false.
Exit 0 when all pass, 1 when any fails, 2 on bad input.

Example:
  bastion test examples/
`,
  async run(args: string[], io: CliIo): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({ args, options: { verbose: { type: 'boolean', short: 'v', default: false } }, allowPositionals: true });
    } catch (err) {
      return badInput(io, 'test', (err as Error).message);
    }
    const found = findTestFiles(parsed.positionals.length > 0 ? parsed.positionals : ['.'], io.cwd);
    if (found.errors.length > 0) return badInput(io, 'test', found.errors.map((e) => e.message).join('; '));
    if (found.files.length === 0) return badInput(io, 'test', 'no policy test files (*.test.yaml) found');
    let passed = 0;
    let failed = 0;
    for (const path of found.files) {
      const file = readTestFile(path);
      if (!file.ok) return badInput(io, 'test', file.errors.map((e) => e.message).join('; '));
      io.stdout.write(`${relative(io.cwd, path)}\n`);
      let outcomes;
      try {
        outcomes = await runTestFile(file.value, (policies, baseline, killSwitch) =>
          createGateway({ policies, baseline: { enabled: baseline }, surface: 'test', ...(killSwitch ? { killSwitch } : {}) }),
        );
      } catch (err) {
        const details = (err as { details?: { message: string }[] }).details;
        return badInput(io, 'test', details ? details.map((d) => d.message).join('; ') : (err as Error).message);
      }
      for (const o of outcomes) {
        if (o.passed) {
          passed++;
          if (parsed.values.verbose) io.stdout.write(`  ✓ ${o.description}\n`);
        } else {
          failed++;
          io.stdout.write(`  ✗ ${o.description}\n${o.failures.map((f) => `      ${f}\n`).join('')}`);
        }
      }
    }
    io.stdout.write(`\n${passed} passed, ${failed} failed\n`);
    return failed > 0 ? EXIT.FAILED : EXIT.OK;
  },
};
