/**
 * What a policy change changes, for a pull request's review: the rules added, removed and
 * edited between two sets, and the policy test cases (the seeds' scenarios and the
 * operator's own test files) whose decision or matched rules differ between them.
 *
 * Each test case is decided by both sets with `evaluate()`, under the kill-switch state its
 * file and case declare, so the comparison is the policies' alone (no state, no audit).
 */

import { canonicalJson } from '../core/canonical-json.js';
import type { Decision, Effect } from '../core/types.js';
import { checkExpectations, combineKillSwitch, EMPTY_KILL_SWITCH, evaluate, type KillSwitchState, type PolicySet, type PolicyTestFile } from '../policy/index.js';

/** One rule, named `policy/rule`, that differs between the sets. */
export interface RuleChange {
  rule: string;
  change: 'added' | 'removed' | 'changed';
  /** For `changed`: the rule's fields whose value differs (`effect`, `when`, `principals`, …). */
  fields?: string[];
}

/** One policy (by name) that is only in one set, or whose priority differs. */
export interface PolicyChange {
  policy: string;
  change: 'added' | 'removed' | 'priority';
  from?: number;
  to?: number;
}

export interface CaseSide {
  decision: Effect;
  reason: string;
  matched: string[];
  /** Whether the case's `expect` holds under this set. */
  passes: boolean;
}

/** A test case that is decided otherwise by the new set. */
export interface CaseChange {
  file: string;
  description: string;
  old: CaseSide;
  new: CaseSide;
}

export interface PolicyDiff {
  oldVersion: string;
  newVersion: string;
  policies: PolicyChange[];
  rules: RuleChange[];
  /** Test cases decided by both sets. */
  cases: number;
  changedCases: CaseChange[];
}

function rulesOf(set: PolicySet): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const p of set.policies) for (const r of p.native.rules) out.set(`${p.name}/${r.id}`, r as unknown as Record<string, unknown>);
  return out;
}

function differingFields(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const text = (v: unknown): string => {
    const c = canonicalJson(v ?? null);
    return c.ok ? c.value : String(v);
  };
  return keys.filter((k) => text(a[k]) !== text(b[k]));
}

function side(decision: Decision, expect: Parameters<typeof checkExpectations>[1]): CaseSide {
  return { decision: decision.decision, reason: decision.reason, matched: decision.matched.map((m) => `${m.policy}/${m.rule}`), passes: checkExpectations(decision, expect).length === 0 };
}

function killSwitchFor(set: PolicySet, ...parts: Array<Partial<KillSwitchState> | undefined>): KillSwitchState | undefined {
  const declared = parts.filter((p): p is Partial<KillSwitchState> => p !== undefined);
  if (declared.length === 0) return undefined;
  return combineKillSwitch(set.killSwitch, Object.assign({ ...EMPTY_KILL_SWITCH }, ...declared) as KillSwitchState);
}

/**
 * Compares two loaded sets, and decides every case of `tests` with both.
 *
 * @example const d = diffPolicies(oldSet, newSet, [readTestFile('examples/native/platform-agents.test.yaml').value]); d.changedCases
 */
export function diffPolicies(oldSet: PolicySet, newSet: PolicySet, tests: readonly PolicyTestFile[]): PolicyDiff {
  const policies: PolicyChange[] = [];
  const oldPolicies = new Map(oldSet.policies.map((p) => [p.name, p]));
  const newPolicies = new Map(newSet.policies.map((p) => [p.name, p]));
  for (const [name, p] of oldPolicies) {
    const now = newPolicies.get(name);
    if (now === undefined) policies.push({ policy: name, change: 'removed' });
    else if (now.priority !== p.priority) policies.push({ policy: name, change: 'priority', from: p.priority, to: now.priority });
  }
  for (const name of newPolicies.keys()) if (!oldPolicies.has(name)) policies.push({ policy: name, change: 'added' });

  const rules: RuleChange[] = [];
  const before = rulesOf(oldSet);
  const after = rulesOf(newSet);
  for (const [id, rule] of before) {
    const now = after.get(id);
    if (now === undefined) rules.push({ rule: id, change: 'removed' });
    else {
      const fields = differingFields(rule, now);
      if (fields.length > 0) rules.push({ rule: id, change: 'changed', fields });
    }
  }
  for (const id of after.keys()) if (!before.has(id)) rules.push({ rule: id, change: 'added' });

  let cases = 0;
  const changedCases: CaseChange[] = [];
  for (const file of tests) {
    for (const t of file.tests) {
      cases++;
      const decideWith = (set: PolicySet) => {
        const killSwitch = killSwitchFor(set, file.killSwitch, t.killSwitch);
        return side(evaluate(set, t.request as Parameters<typeof evaluate>[1], killSwitch !== undefined ? { killSwitch } : {}), t.expect);
      };
      const o = decideWith(oldSet);
      const n = decideWith(newSet);
      if (o.decision !== n.decision || o.matched.join('\n') !== n.matched.join('\n')) changedCases.push({ file: file.file, description: t.description, old: o, new: n });
    }
  }
  return { oldVersion: oldSet.version, newVersion: newSet.version, policies, rules, cases, changedCases };
}
