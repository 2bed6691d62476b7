/**
 * A family of programs: the rules that read them, registered by name (registry.ts), as data
 * the documented risk table is rendered from (risk-doc.ts).
 */

import type { ProgramRule } from '../shell-types.js';

/** One module's programs: space-separated names and the rule that reads them. */
export interface ProgramFamily {
  /** The heading of the family in docs/analysis.md. */
  readonly title: string;
  readonly rules: readonly (readonly [names: string, rule: ProgramRule])[];
}
