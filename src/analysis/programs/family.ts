/**
 * A family of programs: the rules that read them, registered by name (registry.ts), and the
 * verb tables the rules decide by, as data the documented risk table is rendered from
 * (risk-doc.ts).
 */

import type { Category } from '../../core/categories.js';
import type { Risk } from '../../core/risk.js';
import type { ProgramRule } from '../shell-types.js';

/** One module's programs: space-separated names and the rule that reads them, and its verb tables. */
export interface ProgramFamily {
  /** The heading of the family in docs/analysis.md. */
  readonly title: string;
  readonly rules: readonly (readonly [names: string, rule: ProgramRule])[];
  readonly verbs?: readonly VerbTable[];
}

/** What a verb costs. */
export interface Finding {
  readonly category: Category;
  readonly risk: Risk;
}

/** Verbs (subcommands) and the finding they cost; without a finding they only read. */
export interface VerbRow {
  /** `''` is the program without a verb; `json.*` any `json.<word>`. */
  readonly verbs: readonly string[];
  readonly finding?: Finding;
  /** What the verbs do, for the documentation. */
  readonly why: string;
}

/**
 * A program's verbs as data: its rule looks the verb up here, and docs/analysis.md shows the
 * table as it is.
 */
export interface VerbTable {
  /** The program (or programs) the table is for. */
  readonly program: string;
  readonly rows: readonly VerbRow[];
  /** Any verb no row lists. */
  readonly otherwise?: Omit<VerbRow, 'verbs'>;
  /** With `prefix`, a verb also matches its hyphenated forms (`delete` matches `delete-bucket`). */
  readonly match?: 'exact' | 'prefix';
  /** What the rule decides beyond the table: arguments that raise or lower a row. */
  readonly notes?: readonly string[];
}

/** Whether `word` is one of the row's verbs. */
export function verbMatches(row: VerbRow, word: string, match: 'exact' | 'prefix' = 'exact'): boolean {
  return row.verbs.some((v) => {
    if (v.endsWith('.*')) return word.startsWith(v.slice(0, -1)) && /^\w+$/.test(word.slice(v.length - 1));
    return word === v || (match === 'prefix' && word.startsWith(`${v}-`));
  });
}

/**
 * The row for a verb: the first that lists it, else the table's `otherwise`.
 *
 * @example verbRow(SYSTEMCTL_VERBS, 'reboot')?.finding // { category: 'service.control', risk: 'critical' }
 */
export function verbRow(table: VerbTable, verb: string): Omit<VerbRow, 'verbs'> | undefined {
  return table.rows.find((r) => verbMatches(r, verb, table.match)) ?? table.otherwise;
}
