/**
 * The expectation of one analysis corpus case (`test/fixtures/analysis/*.json`) and the check
 * every corpus runner applies: the categories exactly (an extra is tolerated only when the
 * case lists it in `allowExtra`), the risk exactly (`risk`) or within `minRisk`/`maxRisk`.
 */

import { expect } from 'vitest';
import { riskRank, type Risk } from '../../src/core/risk.js';

export interface CorpusExpect {
  /** Every category the analysis reports, exactly (any order). */
  categories: string[];
  /** Categories the analysis may also report (extras judged doubtful, tolerated until fixed). */
  allowExtra?: string[];
  /** The analysis risk, exactly. */
  risk?: Risk;
  minRisk?: Risk;
  maxRisk?: Risk;
  parsed?: boolean;
}

/** Asserts an analysis against a case's expectation; `detail` names the case in the failure. */
export function expectAnalysis(actual: { categories: readonly string[]; risk: Risk; parsed: boolean }, want: CorpusExpect, detail: string): void {
  // INVARIANT: a case says what it expects; a tolerated extra may not also be expected.
  expect(want.risk !== undefined || want.minRisk !== undefined, `${detail}: names \`risk\` or \`minRisk\``).toBe(true);
  expect(want.risk !== undefined && (want.minRisk !== undefined || want.maxRisk !== undefined), `${detail}: \`risk\` with \`minRisk\`/\`maxRisk\``).toBe(false);
  const tolerated = want.allowExtra ?? [];
  expect(
    tolerated.filter((c) => want.categories.includes(c)),
    `${detail}: \`allowExtra\` repeats an expected category`,
  ).toEqual([]);
  const got = [...new Set(actual.categories)].filter((c) => want.categories.includes(c) || !tolerated.includes(c)).sort();
  expect(got, detail).toEqual([...new Set(want.categories)].sort());
  if (want.risk !== undefined) expect(actual.risk, detail).toBe(want.risk);
  if (want.minRisk !== undefined) expect(riskRank(actual.risk), detail).toBeGreaterThanOrEqual(riskRank(want.minRisk));
  if (want.maxRisk !== undefined) expect(riskRank(actual.risk), detail).toBeLessThanOrEqual(riskRank(want.maxRisk));
  if (want.parsed !== undefined) expect(actual.parsed, detail).toBe(want.parsed);
}

/** True when a case bounds the risk at `medium` or below: a harmless command. */
export function isHarmless(want: CorpusExpect): boolean {
  const bound = want.risk ?? want.maxRisk;
  return bound !== undefined && riskRank(bound) <= riskRank('medium');
}
