/**
 * `bastion policy validate|import`: check policy files, or print any supported format in
 * the native form.
 */

import { stringify } from 'yaml';
import { loadPolicySet, type PolicyFormat } from '../../policy/index.js';
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

const HELP = `Usage:
  bastion policy validate <file|dir>…  [--no-baseline]
  bastion policy import <file> [--format native|control-zero|capfence|zyx|harness] [--json]

validate  loads every file (each format detected by its shape), checks fields, globs, regexes
          (catastrophic backtracking is rejected) and CEL, and prints the set's version.
          Exit 0 when valid, 1 when not (every error on its own line), 2 on bad usage.
import    prints the native (apiVersion: bastion/v1) form of a policy in any supported format,
          as YAML (or JSON with --json). A kill switch the file declares is printed as a comment.

Run \`bastion policy <subcommand> --help\` for the options of each.

Examples:
  bastion policy validate examples/
  bastion policy import examples/zyx/tool_policies.yaml
`;

const SUBCOMMANDS: Subcommand[] = [
  { name: 'validate', summary: 'check policy files and print the set version', help: VALIDATE_HELP, run: async (args, io) => validate(args, io) },
  { name: 'import', summary: 'print a policy of any format in the native form', help: IMPORT_HELP, run: async (args, io) => importPolicy(args, io) },
];

export const policyCommand: Command = commandGroup({
  name: 'policy',
  summary: 'validate policy files, or import a seed format into the native form',
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
