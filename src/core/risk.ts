/**
 * Risk levels and their order. Computed risk is the maximum of what analyzers found and
 * what the caller declared: a caller may raise risk, never lower it.
 */

export const RISKS = ['low', 'medium', 'high', 'critical'] as const;
export type Risk = (typeof RISKS)[number];

const RANK: Readonly<Record<Risk, number>> = { low: 0, medium: 1, high: 2, critical: 3 };

export function isRisk(value: unknown): value is Risk {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

export function riskRank(risk: Risk): number {
  return RANK[risk];
}

/** The higher of two risks; `undefined` counts as absent. */
export function maxRisk(a: Risk, b: Risk | undefined): Risk {
  if (b === undefined) return a;
  return RANK[b] > RANK[a] ? b : a;
}

export function compareRisk(a: Risk, b: Risk): number {
  return RANK[a] - RANK[b];
}
