/**
 * Risk levels and their order. Computed risk is the maximum of what analyzers found and
 * what the caller declared: a caller may raise risk, never lower it.
 */

import type { ActionRequest } from './types.js';

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

/** Where a caller may declare a risk: the request's `risk`, Control Zero's `context.danger_level`, `context.risk`. */
const DECLARED_RISK_FIELDS = ['risk', 'context.danger_level', 'context.risk'] as const;

export function declaredValues(request: ActionRequest): { field: string; value: unknown }[] {
  const ctx: Record<string, unknown> = typeof request.context === 'object' && request.context !== null ? request.context : {};
  const values = { risk: request.risk as unknown, 'context.danger_level': ctx['danger_level'], 'context.risk': ctx['risk'] };
  return DECLARED_RISK_FIELDS.filter((f) => values[f] !== undefined).map((field) => ({ field, value: values[field] }));
}

/**
 * The declared risk: the highest of `request.risk`, `context.danger_level` and
 * `context.risk`, so one declared field can raise risk but never lower another. A value
 * that is not a risk level is not counted here; `evaluate()` denies such a request.
 *
 * @example declaredRisk({ principal, action: 'sys:execute', risk: 'low', context: { danger_level: 'critical' } }) // 'critical'
 */
export function declaredRisk(request: ActionRequest): Risk | undefined {
  let risk: Risk | undefined;
  for (const { value } of declaredValues(request)) if (isRisk(value)) risk = risk === undefined ? value : maxRisk(risk, value);
  return risk;
}
