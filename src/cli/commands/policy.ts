/**
 * `bastion policy validate|import`: check policy files, or print any supported format in
 * the native form.
 */

import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { loadPolicySet, type PolicyFormat } from '../../policy/index.js';
import { badInput, type CliIo, type Command, EXIT } from '../command.js';

const FORMATS: PolicyFormat[] = ['native', 'control-zero', 'capfence', 'zyx', 'harness'];

export const policyCommand: Command = {
  name: 'policy',
  summary: 'validate policy files, or import a seed format into the native form',
  help: `Usage:
  bastion policy validate <file|dir>…  [--no-baseline]
  bastion policy import <file> [--format native|control-zero|capfence|zyx|harness] [--json]

validate  loads every file (each format detected by its shape), checks fields, globs, regexes
          (catastrophic backtracking is rejected) and CEL, and prints the set's version.
          Exit 0 when valid, 1 when not (every error on its own line), 2 on bad usage.
import    prints the native (apiVersion: bastion/v1) form of a policy in any supported format,
          as YAML (or JSON with --json). A kill switch the file declares is printed as a comment.

Examples:
  bastion policy validate examples/
  bastion policy import examples/zyx/tool_policies.yaml
`,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === 'validate') return validate(rest, io);
    if (sub === 'import') return importPolicy(rest, io);
    return badInput(io, 'policy', sub === undefined ? 'missing subcommand: validate or import' : `unknown subcommand \`${sub}\` (expected validate or import)`);
  },
};

function validate(args: string[], io: CliIo): number {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { 'no-baseline': { type: 'boolean', default: false } }, allowPositionals: true });
  } catch (err) {
    return badInput(io, 'policy validate', (err as Error).message);
  }
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
  let parsed;
  try {
    parsed = parseArgs({ args, options: { format: { type: 'string' }, json: { type: 'boolean', default: false } }, allowPositionals: true });
  } catch (err) {
    return badInput(io, 'policy import', (err as Error).message);
  }
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
