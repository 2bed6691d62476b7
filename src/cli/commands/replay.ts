/**
 * `bastion replay`: the recorded decisions of an audit log decided again against a candidate
 * policy set, printing what would change (`replay/`). A CI gate too: exit 1 when the candidate
 * lets through what was refused (`--fail-on-new-allow`) or changes more than `--max-changes`.
 */

import { BastionException, quote } from '../../core/errors.js';
import type { AuditFilter } from '../../audit/index.js';
import { loadPolicySet, type PolicySet } from '../../policy/index.js';
import { replay, type ReplayChange, type ReplayReport } from '../../replay/index.js';
import { badInput, type CliIo, type Command, EXIT, parseOptions } from '../command.js';
import { LOCATION, openReader, parseTime } from './audit.js';

const HELP = `Usage: bastion replay --policy PATH [--policy …] [--old-policy PATH …] [--data-dir DIR | --db PATH]
                      [--since TIME] [--until TIME] [--format text|json] [--fail-on-new-allow] [--max-changes N] [--no-baseline]

Decides the recorded requests of an audit log again against a candidate policy set and prints
what would change: counts by old → new decision, the rules responsible, and each request
whose decision changes with both explanations (requests decided the same by other rules are
counted; --format json lists them too).

The requests are replayed as recorded: secrets in them were redacted before they were written,
so an entry that held one is marked (the candidate decided on the redacted text). Replay is
stateless (no kill-switch state, approvals, limits or taint): a recorded decision that state
made is counted, not compared, unless --old-policy gives the set in force when the log was
made; then both sides are decided again and every request is compared.

Options:
  --policy PATH       the candidate set: a policy file or directory (repeatable)
  --old-policy PATH   the set in force when the log was made (repeatable); default: the
                      decisions as recorded
  --data-dir DIR      the audit log in DIR/bastion.db (default .bastion)
  --db PATH           the audit log's SQLite file
  --since TIME        only decisions at or after TIME (ISO 8601, or any date Date.parse reads)
  --until TIME        only decisions before TIME
  --format F          text (default) or json
  --fail-on-new-allow exit 1 when a request that was denied or held for approval would be allowed
  --max-changes N     exit 1 when the decision of more than N requests changes
  --no-baseline       load the sets without the built-in baseline policy (bastion/baseline)

Exit codes: 0 replayed (within the thresholds), 1 a threshold was crossed, 2 bad input.

Examples:
  bastion replay --data-dir /var/lib/bastion --policy policies-next/ --since 2026-11-01
  bastion replay --db audit.db --old-policy main/policies --policy pr/policies --fail-on-new-allow --format json
`;

/** Changes printed in text form; the JSON report lists them all. */
const SHOWN = 50;

function loadSet(io: CliIo, paths: string[], baseline: boolean, flag: string): PolicySet | string {
  const loaded = loadPolicySet(paths, { cwd: io.cwd, ...(baseline ? {} : { baseline: { enabled: false } }) });
  if (loaded.ok) return loaded.value;
  const [first] = loaded.errors;
  return `${flag}: ${first?.message ?? 'cannot load the policies'}${loaded.errors.length > 1 ? ` (and ${loaded.errors.length - 1} more)` : ''}`;
}

function rules(change: ReplayChange['old']): string {
  return change.matched.length === 0 ? 'no rule' : change.matched.map((m) => `${m.policy}/${m.rule}`).join(', ');
}

function textReport(report: ReplayReport, candidate: PolicySet, withOld: boolean): string {
  const lines: string[] = [];
  const span = report.from !== undefined ? ` from ${report.from} to ${report.to}` : '';
  lines.push(`replayed ${report.compared} of ${report.events} recorded decisions${span} against policy ${candidate.version}`);
  lines.push(
    `  unchanged ${report.unchanged}, decision changed ${report.changes.length}, same decision by other rules ${report.ruleChanges.length}` +
      (withOld ? '' : `, decided by state (kill switch, approvals, limits; not compared) ${report.decidedByState}`) +
      `, malformed requests ${report.invalid}`,
  );
  const transitions = Object.entries(report.transitions).sort((a, b) => b[1] - a[1]);
  if (transitions.length > 0) lines.push(`  changes: ${transitions.map(([t, n]) => `${t.replace('→', ' → ')} ${n}`).join(', ')}`);
  if (report.newAllows > 0) lines.push(`  newly allowed: ${report.newAllows}`);
  if (report.topRules.length > 0)
    lines.push(
      `  rules responsible: ${report.topRules
        .slice(0, 10)
        .map((r) => `${r.rule} (${r.changes})`)
        .join(', ')}`,
    );
  for (const c of report.changes.slice(0, SHOWN)) {
    lines.push('');
    lines.push(`#${c.seq} ${c.time} ${c.principal} ${c.action}: ${c.old.decision} → ${c.new.decision}`);
    lines.push(`  was: ${c.old.decision} (${rules(c.old)}): ${c.old.reason}`);
    lines.push(`  now: ${c.new.decision} (${rules(c.new)}): ${c.new.reason}`);
    if (c.redacted) lines.push('  note: secrets in this request were redacted when it was recorded; the candidate decided on the redacted text');
  }
  if (report.changes.length > SHOWN) lines.push('', `… and ${report.changes.length - SHOWN} more changes (--format json lists them all)`);
  if (report.ruleChanges.length > 0) lines.push('', `${report.ruleChanges.length} requests keep their decision but are decided by other rules (--format json lists them under ruleChanges)`);
  return lines.join('\n') + '\n';
}

export const replayCommand: Command = {
  name: 'replay',
  summary: 'decide recorded requests again against a candidate policy set and show what changes',
  help: HELP,
  async run(args: string[], io: CliIo): Promise<number> {
    const parsed = parseOptions(io, 'replay', args, {
      help: HELP,
      options: {
        db: LOCATION.db,
        'data-dir': LOCATION['data-dir'],
        policy: { type: 'string', multiple: true },
        'old-policy': { type: 'string', multiple: true },
        since: { type: 'string' },
        until: { type: 'string' },
        format: { type: 'string', default: 'text' },
        'fail-on-new-allow': { type: 'boolean', default: false },
        'max-changes': { type: 'string' },
        'no-baseline': { type: 'boolean', default: false },
      },
    });
    if (!parsed.ok) return parsed.exit;
    const v = parsed.values;
    if (!v.policy || v.policy.length === 0) return badInput(io, 'replay', 'missing --policy <file|dir> (the candidate set)');
    if (v.format !== 'text' && v.format !== 'json') return badInput(io, 'replay', `option --format: expected text or json, got ${quote(v.format)}`);
    let maxChanges: number | undefined;
    if (v['max-changes'] !== undefined) {
      maxChanges = Number(v['max-changes']);
      if (!/^\d+$/.test(v['max-changes']) || !Number.isSafeInteger(maxChanges)) return badInput(io, 'replay', `option --max-changes: ${quote(v['max-changes'])} is not a whole number`);
    }
    const filter: AuditFilter = { type: 'decision' };
    for (const flag of ['since', 'until'] as const) {
      const t = parseTime(v[flag], flag);
      if (t instanceof Error) return badInput(io, 'replay', t.message);
      if (t !== undefined) filter[flag] = t;
    }
    const baseline = !v['no-baseline'];
    const candidate = loadSet(io, v.policy, baseline, '--policy');
    if (typeof candidate === 'string') return badInput(io, 'replay', candidate);
    const old = v['old-policy'] && v['old-policy'].length > 0 ? loadSet(io, v['old-policy'], baseline, '--old-policy') : undefined;
    if (typeof old === 'string') return badInput(io, 'replay', old);

    const reader = await openReader(v, io);
    if (typeof reader === 'string') return badInput(io, 'replay', reader);
    let report: ReplayReport;
    try {
      report = await replay(reader.queryPages(filter, 1000), { candidate, ...(old !== undefined ? { old } : {}) });
    } catch (err) {
      if (err instanceof BastionException) return badInput(io, 'replay', err.message);
      throw err;
    } finally {
      await reader.close();
    }

    io.stdout.write(
      v.format === 'json'
        ? `${JSON.stringify({ candidateVersion: candidate.version, ...(old !== undefined ? { oldVersion: old.version } : {}), ...report }, null, 2)}\n`
        : textReport(report, candidate, old !== undefined),
    );
    const crossed: string[] = [];
    if (v['fail-on-new-allow'] && report.newAllows > 0)
      crossed.push(`${report.newAllows} request${report.newAllows === 1 ? '' : 's'} that were refused or held would be allowed (--fail-on-new-allow)`);
    const n = report.changes.length;
    if (maxChanges !== undefined && n > maxChanges) crossed.push(`${n} ${n === 1 ? 'request changes' : 'requests change'}, more than --max-changes ${maxChanges}`);
    if (crossed.length > 0) {
      io.stderr.write(`bastion replay: ${crossed.join('; ')}\n`);
      return EXIT.FAILED;
    }
    return EXIT.OK;
  },
};
