/**
 * `evaluate()` called directly (library callers who skip the gateway's request check): a
 * declared risk is the highest of every declared field, and a risk that is not a risk level,
 * declared or analyzed, fails closed instead of skipping the baseline (review findings 3, 26).
 */

import { describe, expect, it } from 'vitest';
import type { ActionRequest, Analysis } from '../../src/core/types.js';
import { declaredRisk } from '../../src/core/risk.js';
import { evaluate } from '../../src/policy/evaluate.js';
import { loadPolicySet } from '../../src/policy/load.js';

const loaded = loadPolicySet({ source: 'allow-all.yaml', text: 'apiVersion: bastion/v1\nname: allow-all\nrules: [{ id: all, effect: allow, actions: ["*"] }]\n' });
if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
const set = loaded.value;
const principal = { id: 'a', groups: [] };

describe('declaredRisk', () => {
  it.each([
    [{ risk: 'low', context: { danger_level: 'critical' } }, 'critical'],
    [{ context: { danger_level: 'low', risk: 'high' } }, 'high'],
    [{ risk: 'medium', context: { risk: 'low' } }, 'medium'],
    [{ context: {} }, undefined],
  ] as const)('%j declares %s', (extra, expected) => {
    expect(declaredRisk({ principal, action: 'x', ...extra } as ActionRequest)).toBe(expected);
  });
});

describe('evaluate() entry checks', () => {
  const analysis = (risk: unknown): Analysis => ({ parsed: true, risk, categories: [], findings: [] }) as unknown as Analysis;

  it('denies when the analysis risk is not a risk level (`CRITICAL`), instead of allowing', () => {
    const d = evaluate(set, { principal, action: 'shell.execute' }, analysis('CRITICAL'));
    expect(d.decision).toBe('deny');
    expect(d.reason).toBe('analysis is invalid');
    expect(d.errors).toEqual([
      { policy: 'bastion/analysis', rule: 'validate', code: 'ANALYSIS_INVALID', field: 'risk', message: 'analysis: field `risk`: expected low, medium, high or critical, got `CRITICAL`' },
    ]);
    expect(d.matched).toEqual([]);
  });

  it('denies when the analysis has no categories list', () => {
    const d = evaluate(set, { principal, action: 'x' }, { parsed: true, risk: 'low', findings: [] } as unknown as Analysis);
    expect([d.decision, d.reason]).toEqual(['deny', 'analysis is invalid']);
  });

  it.each([
    [{ context: { danger_level: 'CRITICAL' } }, 'request: field `context.danger_level`: unknown risk `CRITICAL` (expected low, medium, high or critical)'],
    [{ context: { risk: 'critical ' } }, 'request: field `context.risk`: unknown risk `critical ` (expected low, medium, high or critical)'],
    [{ context: { risk: 3 } }, 'request: field `context.risk`: unknown risk `3` (expected low, medium, high or critical)'],
    [{ risk: 'High' }, 'request: field `risk`: unknown risk `High` (expected low, medium, high or critical)'],
  ] as const)('denies a request declaring %j', (extra, error) => {
    const d = evaluate(set, { principal, action: 'x', ...extra } as unknown as ActionRequest, analysis('low'));
    const field = /field `([^`]+)`/.exec(error)?.[1];
    expect([d.decision, d.reason, d.errors]).toEqual(['deny', 'request is invalid', [{ policy: 'bastion/request', rule: 'validate', code: 'REQUEST_INVALID', field, message: error }]]);
  });

  it('a declared critical risk hidden behind `risk: low` is denied by the baseline', () => {
    const d = evaluate(set, { principal, action: 'x', risk: 'low', context: { danger_level: 'critical' } }, analysis('low'));
    expect([d.decision, d.reason, d.risk]).toEqual(['deny', 'critical risk: denied by the baseline policy', 'critical']);
  });

  it('a valid request and analysis are decided as before', () => {
    const d = evaluate(set, { principal, action: 'x', context: { danger_level: 'low' } }, analysis('low'));
    expect([d.decision, d.reason, d.risk]).toEqual(['allow', 'allowed by allow-all/all', 'low']);
  });
});
