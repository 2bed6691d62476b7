/**
 * Compiles validated native policies into an indexed, immutable `PolicySet`: rules ordered by
 * policy priority, principals split into sets, globs and conditions compiled, and an action
 * index so the cost of a decision does not grow with rules that cannot apply.
 */

import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';
import type { Effect } from '../core/types.js';
import { compileCondition, type ConditionProblem, type Predicate } from './conditions.js';
import { compileGlob } from '../core/glob.js';
import { combineKillSwitch } from './kill-switch.js';
import type { BaselineOptions, CompiledFlowRule, CompiledLimit, CompiledPolicy, CompiledRule, KillSwitchState, NativePolicy, NativeRule, PolicySet } from './model.js';
import { parseDuration, type Problem } from './native.js';

export const DEFAULT_REASON = 'no rule allows this action';

/** Bounded cache of candidate lists per action name: agents use few distinct actions. */
const CANDIDATE_CACHE_LIMIT = 10_000;

function defaultReason(policy: string, rule: NativeRule): string {
  const verb: Record<Effect, string> = { allow: 'allowed by', deny: 'denied by', require_approval: 'approval required by' };
  return `${verb[rule.effect]} ${policy}/${rule.id}`;
}

function compileTargets(
  patterns: string[] | undefined,
  path: (string | number)[],
  problems: Problem[],
  label: string,
  normalise: (v: string) => string = (v) => v,
): ((v: string | undefined) => boolean) | undefined {
  if (patterns === undefined || patterns.includes('*')) return undefined;
  const tests: ((v: string) => boolean)[] = [];
  patterns.forEach((p, i) => {
    const g = compileGlob(normalise(p));
    if (g.ok) tests.push(g.test);
    else problems.push({ path: [...path, i], message: `${label}invalid glob \`${p}\`: ${g.message}`, code: 'POLICY_BAD_GLOB' });
  });
  // An absent resource or environment matches only a rule that does not constrain it.
  return (v) => {
    if (v === undefined) return false;
    const n = normalise(v);
    return tests.some((t) => t(n));
  };
}

/**
 * Environment names are compared trimmed and lower-cased on both sides: `Production ` is
 * `production`, so an environment-scoped deny cannot be stepped around by spelling.
 */
function environmentName(v: string): string {
  return v.trim().toLowerCase();
}

/** Compiles one policy's rules; `rankBase` keeps ranks global across the set. */
function compileRules(policy: NativePolicy, rankBase: number, problems: Problem[]): CompiledRule[] {
  return policy.rules.map((rule, i) => {
    const at: (string | number)[] = ['rules', i];
    const label = `rule \`${rule.id}\`: `;
    const principals = rule.principals ?? ['*'];
    const users = new Set<string>();
    const groups = new Set<string>();
    let anyPrincipal = false;
    for (const p of principals) {
      if (p === '*') anyPrincipal = true;
      else if (p.startsWith('group:')) groups.add(p.slice(6));
      else if (p.startsWith('user:')) users.add(p.slice(5));
      else users.add(p);
    }
    const actionTests: ((a: string) => boolean)[] = [];
    const actionLiterals: string[] = [];
    const actionPrefixes: string[] = [];
    rule.actions.forEach((pattern, k) => {
      const g = compileGlob(pattern);
      if (!g.ok) {
        problems.push({ path: [...at, 'actions', k], message: `${label}invalid glob \`${pattern}\`: ${g.message}`, code: 'POLICY_BAD_GLOB' });
        return;
      }
      actionTests.push(g.test);
      if (g.literal !== undefined) actionLiterals.push(g.literal);
      else actionPrefixes.push(g.prefix);
    });
    let condition: Predicate | undefined;
    if (rule.when !== undefined) {
      const list = Array.isArray(rule.when) ? rule.when : [rule.when];
      const condProblems: ConditionProblem[] = [];
      const parts = list.map((c, k) => compileCondition(c, [...at, 'when', ...(Array.isArray(rule.when) ? [k] : [])], condProblems));
      for (const p of condProblems) problems.push({ path: p.path, message: label + p.message, code: p.code });
      condition = parts.length === 1 ? parts[0] : (ctx) => parts.every((p) => p(ctx));
    }
    return {
      policy: policy.name,
      id: rule.id,
      effect: rule.effect,
      reason: rule.reason ?? defaultReason(policy.name, rule),
      rank: rankBase + i,
      anyPrincipal,
      users,
      groups,
      actionTests,
      actionLiterals,
      actionPrefixes,
      resourceTest: compileTargets(rule.resources, [...at, 'resources'], problems, label),
      environmentTest: compileTargets(rule.environments, [...at, 'environments'], problems, label, environmentName),
      condition,
      approval: rule.approval,
      obligations: rule.obligations ?? [],
    };
  });
}

/** Compiles one policy's limits; names are unique in the whole set, checked by the caller. */
function compileLimits(policy: NativePolicy, problems: Problem[]): CompiledLimit[] {
  return (policy.limits ?? []).map((limit, i) => {
    const at: (string | number)[] = ['limits', i];
    const label = `limit \`${limit.name}\`: `;
    const tests: ((a: string) => boolean)[] = [];
    let anyAction = false;
    (limit.actions ?? ['*']).forEach((pattern, k) => {
      if (pattern === '*') anyAction = true;
      const g = compileGlob(pattern);
      if (g.ok) tests.push(g.test);
      else problems.push({ path: [...at, 'actions', k], message: `${label}invalid glob \`${pattern}\`: ${g.message}`, code: 'POLICY_BAD_GLOB' });
    });
    let anyPrincipal = false;
    const users = new Set<string>();
    const groups = new Set<string>();
    for (const p of limit.principals ?? ['*']) {
      if (p === '*') anyPrincipal = true;
      else if (p.startsWith('group:')) groups.add(p.slice(6));
      else if (p.startsWith('user:')) users.add(p.slice(5));
      else users.add(p);
    }
    const compiled: CompiledLimit = {
      name: limit.name,
      policy: policy.name,
      per: limit.per ?? 'principal',
      applies: (action, principal) => (anyAction || tests.some((t) => t(action))) && (anyPrincipal || users.has(principal.id) || (principal.groups ?? []).some((g) => groups.has(g))),
    };
    const ms = (d: string) => (parseDuration(d) ?? 0) * 1000;
    if (limit.rate) compiled.rate = { perPeriod: limit.rate.perPeriod, periodMs: ms(limit.rate.period), burst: limit.rate.burst ?? limit.rate.perPeriod };
    if (limit.concurrency !== undefined) compiled.concurrency = limit.concurrency;
    if (limit.budget) {
      const unit = limit.budget.calls !== undefined ? 'calls' : 'tokens';
      compiled.budget = { unit, amount: (limit.budget.calls ?? limit.budget.tokens) as number, windowMs: ms(limit.budget.window) };
    }
    return compiled;
  });
}

/** Compiles one policy's flow rules; their ids share the namespace of its rules. */
function compileFlow(policy: NativePolicy, rankBase: number, problems: Problem[]): CompiledFlowRule[] {
  const ruleIds = new Set(policy.rules.map((r) => r.id));
  return (policy.flow ?? []).map((rule, i) => {
    const at: (string | number)[] = ['flow', i];
    const label = `flow rule \`${rule.id}\`: `;
    if (ruleIds.has(rule.id)) problems.push({ path: [...at, 'id'], message: `${label}id is also a rule's id in this policy (ids name one rule or flow rule)`, code: 'POLICY_DUPLICATE_RULE' });
    const users = new Set<string>();
    const groups = new Set<string>();
    let anyPrincipal = false;
    for (const p of rule.principals ?? ['*']) {
      if (p === '*') anyPrincipal = true;
      else if (p.startsWith('group:')) groups.add(p.slice(6));
      else if (p.startsWith('user:')) users.add(p.slice(5));
      else users.add(p);
    }
    let actionTest: CompiledFlowRule['actionTest'];
    if (rule.actions !== undefined && !rule.actions.includes('*')) {
      const tests: ((a: string) => boolean)[] = [];
      rule.actions.forEach((pattern, k) => {
        const g = compileGlob(pattern);
        if (g.ok) tests.push(g.test);
        else problems.push({ path: [...at, 'actions', k], message: `${label}invalid glob \`${pattern}\`: ${g.message}`, code: 'POLICY_BAD_GLOB' });
      });
      actionTest = (a) => tests.some((t) => t(a));
    }
    const verb = rule.effect === 'deny' ? 'denied by' : 'approval required by';
    return {
      policy: policy.name,
      id: rule.id,
      after: rule.after,
      effect: rule.effect,
      reason: rule.reason ?? `${verb} ${policy.name}/${rule.id}`,
      mode: rule.mode ?? 'enforce',
      rank: rankBase + i,
      anyPrincipal,
      users,
      groups,
      actionTest,
      categories: rule.categories === undefined ? undefined : new Set(rule.categories),
      writes: rule.writes === true,
      approval: rule.approval,
    };
  });
}

export interface CompileInput {
  policy: NativePolicy;
  source: string;
  format: CompiledPolicy['format'];
  killSwitch?: KillSwitchState;
}

/**
 * Compiles policies into a set. Problems are reported per input (index into `inputs`) so
 * the loader can attach file and position.
 */
export function compilePolicySet(inputs: CompileInput[], options: { baseline?: BaselineOptions } = {}): { set: PolicySet; problems: { input: number; problem: Problem }[] } {
  const problems: { input: number; problem: Problem }[] = [];
  // INVARIANT: evaluation order is priority (high first), then load order; ties never
  // depend on object iteration or hashing.
  const order = inputs.map((input, index) => ({ input, index })).sort((a, b) => (b.input.policy.priority ?? 0) - (a.input.policy.priority ?? 0) || a.index - b.index);
  const rules: CompiledRule[] = [];
  const policies: CompiledPolicy[] = [];
  const limits: CompiledLimit[] = [];
  const limitOwner = new Map<string, string>();
  const flow: CompiledFlowRule[] = [];
  const ruleCount = inputs.reduce((n, i) => n + i.policy.rules.length, 0);
  for (const { input, index } of order) {
    const local: Problem[] = [];
    rules.push(...compileRules(input.policy, rules.length, local));
    flow.push(...compileFlow(input.policy, ruleCount + flow.length, local));
    for (const [i, limit] of compileLimits(input.policy, local).entries()) {
      const first = limitOwner.get(limit.name);
      if (first !== undefined && first !== input.policy.name)
        local.push({ path: ['limits', i, 'name'], message: `limit \`${limit.name}\` is also declared by policy \`${first}\`: limit names are unique in the set`, code: 'POLICY_INVALID' });
      else {
        limitOwner.set(limit.name, input.policy.name);
        limits.push(limit);
      }
    }
    for (const problem of local) problems.push({ input: index, problem });
    policies.push({ name: input.policy.name, priority: input.policy.priority ?? 0, source: input.source, format: input.format, native: input.policy });
  }

  const actionMeta: PolicySet['actionMeta'] = [];
  for (const p of policies) {
    for (const [pattern, meta] of Object.entries(p.native.actions ?? {})) {
      const g = compileGlob(pattern);
      if (g.ok) actionMeta.push({ pattern, test: g.test, meta });
    }
  }
  // Several files may each declare a kill switch: any of them can disable (booleans ORed,
  // lists united), as the runtime state and the files combine in the engine.
  const blocks = order.map((o) => o.input.killSwitch).filter((k) => k !== undefined);
  const killSwitch = blocks.length <= 1 ? blocks[0] : blocks.reduce((a, b) => combineKillSwitch(a, b));
  const baselineEnabled = options.baseline?.enabled ?? true;
  // The version is a content hash of the canonical (RFC 8785) native set: formatting,
  // comments and key order do not change it; any change of meaning does.
  const canonical = canonicalJson({ baseline: baselineEnabled, killSwitch, policies: policies.map((p) => p.native) });
  if (!canonical.ok) {
    problems.push({
      input: 0,
      problem: { path: [], message: `the policy set holds a value JSON cannot represent: ${canonical.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, code: 'POLICY_INVALID' },
    });
  }
  const version =
    'sha256:' +
    createHash('sha256')
      .update(canonical.ok ? canonical.value : '')
      .digest('hex');

  // The index: literal action names map straight to their rules; wildcard rules are kept
  // per literal prefix and tested only against actions that start with that prefix.
  const byLiteral = new Map<string, CompiledRule[]>();
  const wildcard: CompiledRule[] = [];
  for (const rule of rules) {
    for (const literal of new Set(rule.actionLiterals)) {
      const list = byLiteral.get(literal);
      if (list) list.push(rule);
      else byLiteral.set(literal, [rule]);
    }
    if (rule.actionPrefixes.length > 0) wildcard.push(rule);
  }
  const cache = new Map<string, readonly CompiledRule[]>();
  const candidates = (action: string): readonly CompiledRule[] => {
    const hit = cache.get(action);
    if (hit) return hit;
    const found = new Set<CompiledRule>(byLiteral.get(action) ?? []);
    for (const rule of wildcard) {
      if (!found.has(rule) && rule.actionPrefixes.some((p) => action.startsWith(p)) && rule.actionTests.some((t) => t(action))) found.add(rule);
    }
    const list = [...found].sort((a, b) => a.rank - b.rank);
    if (cache.size >= CANDIDATE_CACHE_LIMIT) cache.clear();
    cache.set(action, list);
    return list;
  };

  const top = policies.find((p) => p.native.defaultReason !== undefined);
  return {
    set: {
      policies,
      rules,
      version,
      baseline: { enabled: baselineEnabled },
      defaultReason: top?.native.defaultReason ?? DEFAULT_REASON,
      actionMeta,
      killSwitch,
      limits,
      flow,
      analyzers: policies.map((p) => p.native.analyzers).filter((a) => a !== undefined),
      candidates,
    },
    problems,
  };
}
