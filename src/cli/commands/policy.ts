/**
 * `bastion policy validate|import`: check policy files, or print any supported format in
 * the native form.
 */

import { relative } from 'node:path';
import { stringify } from 'yaml';
import { quote } from '../../core/errors.js';
import { findTestFiles, loadPolicySet, readTestFile, type PolicyFormat, type PolicySet, type PolicyTestFile } from '../../policy/index.js';
import { type CaseSide, diffPolicies, type PolicyDiff } from '../../replay/index.js';
import { badInput, type CliIo, type Command, commandGroup, EXIT, parseOptions, type Subcommand } from '../command.js';

const FORMATS: PolicyFormat[] = ['native', 'control-zero', 'capfence', 'zyx', 'harness'];

const VALIDATE_HELP = `Usage: bastion policy validate <file|dir>… [--no-baseline]

Loads every file (each format detected by its shape), checks fields, globs, regexes
(catastrophic backtracking is rejected) and CEL, and prints the set's version.

Options:
  --no-baseline   load without the built-in baseline policy (bastion/baseline)

Exit 0 when valid, 1 when not (every error on its own line), 2 on bad usage.

Example:
  bastion policy validate examples/
`;

const IMPORT_HELP = `Usage: bastion policy import <file> [--format native|control-zero|capfence|zyx|harness] [--json]

Prints the native (apiVersion: bastion/v1) form of a policy in any supported format, as YAML
(or JSON with --json). A kill switch the file declares is printed as a comment.

Options:
  --format F   read the file as this format instead of detecting it by shape
  --json       print JSON instead of YAML

Example:
  bastion policy import examples/zyx/tool_policies.yaml
`;

const DIFF_HELP = `Usage: bastion policy diff <old file|dir> <new file|dir> [--tests PATH …] [--format text|json] [--fail-on-change] [--no-baseline]

For a pull request that changes policy: the policies and rules added, removed and edited
(with the fields that differ), and the policy test cases whose decision or matched rules
differ between the two sets. Every case is decided by both sets (evaluate, under the
kill-switch state its file and case declare), whatever policies its file names.

Options:
  --tests PATH     test files (*.test.yaml, *.test.json) or directories holding them
                   (repeatable); default: the test files under <new>
  --format F       text (default) or json
  --fail-on-change exit 1 when a test case is decided otherwise
  --no-baseline    load both sets without the built-in baseline policy (bastion/baseline)

Exit codes: 0 compared (within --fail-on-change), 1 a case changed with --fail-on-change, 2 bad input.

Example:
  bastion policy diff main-checkout/policies policies --tests examples --fail-on-change
`;

const HELP = `Usage:
  bastion policy validate <file|dir>…  [--no-baseline]
  bastion policy import <file> [--format native|control-zero|capfence|zyx|harness] [--json]
  bastion policy diff <old> <new> [--tests PATH …] [--format text|json] [--fail-on-change]

validate  loads every file (each format detected by its shape), checks fields, globs, regexes
          (catastrophic backtracking is rejected) and CEL, and prints the set's version.
          Exit 0 when valid, 1 when not (every error on its own line), 2 on bad usage.
import    prints the native (apiVersion: bastion/v1) form of a policy in any supported format,
          as YAML (or JSON with --json). A kill switch the file declares is printed as a comment.
diff      the rules and the policy test cases that differ between two sets (a policy PR check).

Run \`bastion policy <subcommand> --help\` for the options of each.

Examples:
  bastion policy validate examples/
  bastion policy import examples/zyx/tool_policies.yaml
`;

const SUBCOMMANDS: Subcommand[] = [
  { name: 'validate', summary: 'check policy files and print the set version', help: VALIDATE_HELP, run: async (args, io) => validate(args, io) },
  { name: 'import', summary: 'print a policy of any format in the native form', help: IMPORT_HELP, run: async (args, io) => importPolicy(args, io) },
  { name: 'diff', summary: 'the rules and test cases that differ between two policy sets', help: DIFF_HELP, run: async (args, io) => diffCommand(args, io) },
];

export const policyCommand: Command = commandGroup({
  name: 'policy',
  summary: 'validate policy files, import a seed format into the native form, diff two sets',
  help: HELP,
  subcommands: SUBCOMMANDS,
});

function validate(args: string[], io: CliIo): number {
  const parsed = parseOptions(io, 'policy validate', args, { help: VALIDATE_HELP, positionals: true, options: { 'no-baseline': { type: 'boolean', default: false } } });
  if (!parsed.ok) return parsed.exit;
  if (parsed.positionals.length === 0) return badInput(io, 'policy validate', 'name at least one policy file or directory');
  const r = loadPolicySet(parsed.positionals, { cwd: io.cwd, ...(parsed.values['no-baseline'] ? { baseline: { enabled: false } } : {}) });
  if (!r.ok) {
    for (const e of r.errors) io.stderr.write(`${e.message}\n`);
    io.stderr.write(`invalid: ${r.errors.length} error${r.errors.length === 1 ? '' : 's'}\n`);
    return EXIT.FAILED;
  }
  const set = r.value;
  for (const p of set.policies) io.stdout.write(`  ${p.name} (${p.format}, priority ${p.priority}): ${p.native.rules.length} rules from ${p.source}\n`);
  io.stdout.write(`ok: ${set.policies.length} polic${set.policies.length === 1 ? 'y' : 'ies'}, ${set.rules.length} rules, baseline ${set.baseline.enabled ? 'on' : 'off'}, version ${set.version}\n`);
  return EXIT.OK;
}

function importPolicy(args: string[], io: CliIo): number {
  const parsed = parseOptions(io, 'policy import', args, { help: IMPORT_HELP, positionals: true, options: { format: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (!parsed.ok) return parsed.exit;
  const [file, ...extra] = parsed.positionals;
  if (file === undefined || extra.length > 0) return badInput(io, 'policy import', 'name exactly one policy file');
  const format = parsed.values.format;
  if (format !== undefined && !FORMATS.includes(format as PolicyFormat)) return badInput(io, 'policy import', `unknown format \`${format}\` (expected ${FORMATS.join(', ')})`);
  const r = loadPolicySet([file], { cwd: io.cwd, ...(format ? { format: format as PolicyFormat } : {}) });
  if (!r.ok) return badInput(io, 'policy import', r.errors.map((e) => e.message).join('; '));
  const natives = r.value.policies.map((p) => p.native);
  if (parsed.values.json) {
    io.stdout.write(JSON.stringify(natives.length === 1 ? natives[0] : natives, null, 2) + '\n');
    return EXIT.OK;
  }
  const header = [`# Imported from ${file} (${r.value.policies.map((p) => p.format).join(', ')}) by bastion policy import`];
  if (r.value.killSwitch) header.push(`# The file declares a kill switch; set it on the service: ${JSON.stringify(r.value.killSwitch)}`);
  io.stdout.write(header.join('\n') + '\n' + natives.map((n) => stringify(n, { lineWidth: 0 })).join('---\n'));
  return EXIT.OK;
}

function loadSide(io: CliIo, path: string, baseline: boolean, which: string): PolicySet | string {
  const r = loadPolicySet([path], { cwd: io.cwd, ...(baseline ? {} : { baseline: { enabled: false } }) });
  if (r.ok) return r.value;
  return `${which} set ${quote(path)}: ${r.errors[0]?.message ?? 'cannot load'}${r.errors.length > 1 ? ` (and ${r.errors.length - 1} more)` : ''}`;
}

function sideText(s: CaseSide): string {
  return `${s.decision} (${s.matched.length > 0 ? s.matched.join(', ') : 'no rule'}): ${s.reason}`;
}

function diffText(d: PolicyDiff, cwd: string): string {
  const lines = [`policy diff: ${d.oldVersion} → ${d.newVersion}`];
  const mark = { added: '+', removed: '-', changed: '~', priority: '~' } as const;
  if (d.policies.length > 0) {
    lines.push('policies:');
    for (const p of d.policies) lines.push(`  ${mark[p.change]} ${p.policy}${p.change === 'priority' ? ` (priority ${p.from} → ${p.to})` : ` (${p.change})`}`);
  }
  lines.push(d.rules.length === 0 ? 'rules: no change' : 'rules:');
  for (const r of d.rules) lines.push(`  ${mark[r.change]} ${r.rule}${r.fields ? `: ${r.fields.join(', ')}` : ''}`);
  lines.push(d.cases === 0 ? 'test cases: none (no policy test files found: name them with --tests)' : `test cases: ${d.cases} decided by both sets, ${d.changedCases.length} decided otherwise`);
  for (const c of d.changedCases) {
    const verdict = c.old.passes === c.new.passes ? (c.new.passes ? 'passes' : 'fails') : `${c.old.passes ? 'passes' : 'fails'} → ${c.new.passes ? 'passes' : 'fails'}`;
    lines.push(`  ${relative(cwd, c.file) || c.file}: ${c.description}: ${c.old.decision} → ${c.new.decision} (its expectation: ${verdict})`);
    lines.push(`    was: ${sideText(c.old)}`);
    lines.push(`    now: ${sideText(c.new)}`);
  }
  return lines.join('\n') + '\n';
}

function diffCommand(args: string[], io: CliIo): number {
  const parsed = parseOptions(io, 'policy diff', args, {
    help: DIFF_HELP,
    positionals: true,
    options: {
      tests: { type: 'string', multiple: true },
      format: { type: 'string', default: 'text' },
      'fail-on-change': { type: 'boolean', default: false },
      'no-baseline': { type: 'boolean', default: false },
    },
  });
  if (!parsed.ok) return parsed.exit;
  const [oldPath, newPath, ...extra] = parsed.positionals;
  if (oldPath === undefined || newPath === undefined || extra.length > 0) return badInput(io, 'policy diff', 'name two policy sets: <old file|dir> <new file|dir>');
  const format = parsed.values.format;
  if (format !== 'text' && format !== 'json') return badInput(io, 'policy diff', `option --format: expected text or json, got ${quote(format)}`);
  const baseline = !parsed.values['no-baseline'];
  const oldSet = loadSide(io, oldPath, baseline, 'old');
  if (typeof oldSet === 'string') return badInput(io, 'policy diff', oldSet);
  const newSet = loadSide(io, newPath, baseline, 'new');
  if (typeof newSet === 'string') return badInput(io, 'policy diff', newSet);
  const found = findTestFiles(parsed.values.tests ?? [newPath], io.cwd);
  if (found.errors.length > 0) return badInput(io, 'policy diff', `--tests: ${found.errors[0]?.message}`);
  const tests: PolicyTestFile[] = [];
  for (const file of found.files) {
    const read = readTestFile(file);
    // A test file that does not load is bad input: a diff that skipped it would read as "no change".
    if (!read.ok) return badInput(io, 'policy diff', read.errors[0]?.message ?? `test file ${quote(file)} does not load`);
    tests.push(read.value);
  }
  const diff = diffPolicies(oldSet, newSet, tests);
  io.stdout.write(format === 'json' ? `${JSON.stringify(diff, null, 2)}\n` : diffText(diff, io.cwd));
  if (parsed.values['fail-on-change'] && diff.changedCases.length > 0) {
    io.stderr.write(`bastion policy diff: ${diff.changedCases.length} test case${diff.changedCases.length === 1 ? ' is' : 's are'} decided otherwise (--fail-on-change)\n`);
    return EXIT.FAILED;
  }
  return EXIT.OK;
}
