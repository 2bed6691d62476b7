/**
 * The decision core: pure and synchronous. Given a policy set, an action request, the
 * analysis of that request and the kill-switch state, it returns an explained decision.
 * It reads no clock, no network and no global state, so the same input always gives the
 * same decision.
 *
 * Order: kill switch → rules (deny > require_approval > allow, default deny) → baseline.
 */

import type { Category } from '../core/categories.js';
import { declaredRisk, declaredValues, isRisk, maxRisk, riskRank } from '../core/risk.js';
import type { ActionRequest, Analysis, ApprovalRequirement, Decision, MatchedRule, Obligation } from '../core/types.js';
import { ConditionError, type EvalContext } from './conditions.js';
import type { CompiledRule, KillSwitchState, PolicySet } from './model.js';
import { parseDuration } from './native.js';

export const KILL_SWITCH_POLICY = 'bastion/kill-switch';
export const BASELINE_POLICY = 'bastion/baseline';

/** Stable reasons (the kill-switch ones are the ZYX seed's, verbatim). */
export const REASONS = {
  userDisabled: 'user disabled by kill switch',
  connectorDisabled: 'connector disabled by kill switch',
  workflowDisabled: 'workflow disabled by kill switch',
  allWritesDisabled: 'all write tools disabled by kill switch',
  readOnly: 'agent is in read-only mode',
  baselineCritical: 'critical risk: denied by the baseline policy',
  baselineHigh: 'high risk: approval required by the baseline policy',
} as const;

/**
 * Categories that change something. In read-only mode, or with all write tools off, an
 * action showing any of them is a write whatever its declared metadata says.
 */
const WRITE_CATEGORIES: ReadonlySet<Category> = new Set<Category>([
  'fs.write',
  'fs.delete',
  'fs.write_sensitive',
  'disk.wipe',
  'vcs.destructive',
  'net.egress',
  'net.listen',
  'exec.remote_code',
  'exec.obfuscated',
  'exec.interpreter',
  'priv.escalate',
  'proc.kill',
  'pkg.install',
  'service.control',
  'db.destructive',
  'db.write',
  'cloud.mutate',
]);

const EMPTY_ANALYSIS: Analysis = { parsed: true, risk: 'low', categories: [], findings: [] };

export interface EvaluateOptions {
  /** Operator state; defaults to the state a policy file declared, else all off. */
  killSwitch?: KillSwitchState;
  /** Used when the request carries no trace id. */
  traceId?: string;
}

/**
 * What makes a request or an analysis undecidable: a declared risk that is not a risk level
 * (`CRITICAL`, `critical `, a number), or an analysis without a valid risk. The gateway's
 * request check rejects the former first; this guards callers of `evaluate()` who skip it.
 */
function entryProblems(request: ActionRequest, analysis: Analysis): { reason: string; errors: string[] } | undefined {
  const bad = declaredValues(request).filter(({ value }) => !isRisk(value));
  if (bad.length > 0) {
    return { reason: 'request is invalid', errors: bad.map(({ field, value }) => `request: field \`${field}\`: unknown risk \`${typeof value === 'string' ? value : JSON.stringify(value) ?? String(value)}\` (expected low, medium, high or critical)`) };
  }
  if (typeof analysis !== 'object' || analysis === null || !isRisk(analysis.risk)) {
    const got = typeof analysis === 'object' && analysis !== null ? `\`${String(analysis.risk)}\`` : String(analysis);
    return { reason: 'analysis is invalid', errors: [`analysis: field \`risk\`: expected low, medium, high or critical, got ${got}`] };
  }
  if (!Array.isArray(analysis.categories)) return { reason: 'analysis is invalid', errors: ['analysis: field `categories`: expected a list of categories'] };
  return undefined;
}

/** The connector an action belongs to: declared metadata, else the part before the first `_`, `.` or `:`. */
export function connectorOf(set: PolicySet, action: string): string {
  for (const m of set.actionMeta) if (m.meta.connector !== undefined && m.test(action)) return m.meta.connector;
  const cut = action.search(/[_.:]/);
  return cut > 0 ? action.slice(0, cut) : action;
}

function isWriteAction(set: PolicySet, action: string, analysis: Analysis): boolean {
  if (!analysis.parsed) return true; // what we cannot read, we treat as a write: fail closed
  if (analysis.categories.some((c) => WRITE_CATEGORIES.has(c))) return true;
  // A program the shell analyzer does not model may write anything: fail closed.
  if (Array.isArray(analysis['unknownPrograms']) && analysis['unknownPrograms'].length > 0) return true;
  return set.actionMeta.some((m) => m.meta.write === true && m.test(action));
}

function killSwitchBlocks(set: PolicySet, state: KillSwitchState, request: ActionRequest, analysis: Analysis): { reason: string; rule: string } | undefined {
  if (state.disabled_users.includes(request.principal.id)) return { reason: REASONS.userDisabled, rule: 'disabled_users' };
  if (state.disabled_connectors.length > 0) {
    const connector = connectorOf(set, request.action);
    if (state.disabled_connectors.some((c) => c === request.action || c === connector)) return { reason: REASONS.connectorDisabled, rule: 'disabled_connectors' };
  }
  const workflow = request.context?.['workflow'];
  if (typeof workflow === 'string' && state.disabled_workflows.includes(workflow)) return { reason: REASONS.workflowDisabled, rule: 'disabled_workflows' };
  if (state.all_write_tools_disabled || state.read_only_mode) {
    if (isWriteAction(set, request.action, analysis)) {
      return state.all_write_tools_disabled ? { reason: REASONS.allWritesDisabled, rule: 'all_write_tools_disabled' } : { reason: REASONS.readOnly, rule: 'read_only_mode' };
    }
  }
  return undefined;
}

function targets(rule: CompiledRule, request: ActionRequest, groups: readonly string[]): boolean {
  if (!rule.anyPrincipal && !rule.users.has(request.principal.id) && !groups.some((g) => rule.groups.has(g))) return false;
  if (rule.resourceTest && !rule.resourceTest(request.resource)) return false;
  if (rule.environmentTest && !rule.environmentTest(request.environment)) return false;
  return true;
}

function requirementOf(rule: CompiledRule): ApprovalRequirement {
  const a = rule.approval ?? {};
  const req: ApprovalRequirement = {
    policy: rule.policy,
    rule: rule.id,
    approverGroups: a.groups ?? [],
    quorum: a.quorum ?? 1,
    changeTicketRequired: a.changeTicket ?? false,
    rollbackPlanRequired: a.rollbackPlan ?? false,
  };
  const expires = a.expiresIn === undefined ? undefined : parseDuration(a.expiresIn);
  if (expires !== undefined) req.expiresInSeconds = expires;
  return req;
}

/**
 * Evaluates one request against the set.
 *
 * @example
 * const d = evaluate(set, { principal: { id: 'a', groups: ['sre'] }, action: 'sys:execute' });
 * d.decision // 'allow' | 'deny' | 'require_approval'
 */
export function evaluate(set: PolicySet, request: ActionRequest, analysis: Analysis = EMPTY_ANALYSIS, options: EvaluateOptions = {}): Decision {
  const invalid = entryProblems(request, analysis);
  if (invalid) {
    // Fail closed: a risk that cannot be read must not skip the baseline or a risk rule.
    const categories = typeof analysis === 'object' && analysis !== null && Array.isArray(analysis.categories) ? analysis.categories : [];
    return { decision: 'deny', reason: invalid.reason, matched: [], risk: 'high', categories, obligations: [], errors: invalid.errors, policyVersion: set.version, traceId: request.traceId ?? options.traceId ?? '' };
  }
  const declared = declaredRisk(request);
  let risk = maxRisk(analysis.risk, declared);
  for (const m of set.actionMeta) if (m.meta.risk !== undefined && m.test(request.action)) risk = maxRisk(risk, m.meta.risk);
  const traceId = request.traceId ?? options.traceId ?? '';
  const base = { risk, categories: analysis.categories, policyVersion: set.version, traceId };

  const state = options.killSwitch ?? set.killSwitch;
  if (state) {
    const blocked = killSwitchBlocks(set, state, request, analysis);
    if (blocked) {
      return { decision: 'deny', reason: blocked.reason, matched: [{ policy: KILL_SWITCH_POLICY, rule: blocked.rule, effect: 'deny' }], obligations: [], errors: [], ...base };
    }
  }

  const groups = request.principal.groups ?? [];
  const ctx: EvalContext = {
    principal: request.principal,
    action: request.action,
    resource: request.resource,
    environment: request.environment,
    args: request.args ?? {},
    context: request.context ?? {},
    analysis,
    risk,
    declaredRisk: declared,
  };
  const matched: CompiledRule[] = [];
  const errors: string[] = [];
  // An approval rule whose condition errored: it cannot grant anything, but neither may its
  // failure let the call through as a plain allow.
  let erroredApproval: CompiledRule | undefined;
  for (const rule of set.candidates(request.action)) {
    if (!targets(rule, request, groups)) continue;
    if (rule.condition) {
      try {
        if (!rule.condition(ctx)) continue;
      } catch (err) {
        // Fail closed: an erroring condition makes a deny rule match and any other not.
        const message = err instanceof ConditionError ? err.message : `condition failed: ${(err as Error).message}`;
        errors.push(`${rule.policy}/${rule.id}: ${message}`);
        if (rule.effect === 'require_approval') erroredApproval ??= rule;
        if (rule.effect !== 'deny') continue;
      }
    }
    matched.push(rule);
  }

  const explain: MatchedRule[] = matched.map((r) => ({ policy: r.policy, rule: r.id, effect: r.effect }));
  const firstDeny = matched.find((r) => r.effect === 'deny');
  if (firstDeny) return { decision: 'deny', reason: firstDeny.reason, matched: explain, obligations: [], errors, ...base };

  const approvals = matched.filter((r) => r.effect === 'require_approval');
  const allows = matched.filter((r) => r.effect === 'allow');
  if (approvals.length === 0 && allows.length === 0) {
    return { decision: 'deny', reason: set.defaultReason, matched: explain, obligations: [], errors, ...base };
  }

  if (set.baseline.enabled && risk === 'critical') {
    explain.push({ policy: BASELINE_POLICY, rule: 'deny-critical-risk', effect: 'deny' });
    return { decision: 'deny', reason: REASONS.baselineCritical, matched: explain, obligations: [], errors, ...base };
  }

  const obligations: Obligation[] = [];
  for (const r of [...approvals, ...allows]) obligations.push(...r.obligations);

  if (approvals.length === 0 && erroredApproval) approvals.push(erroredApproval);
  if (approvals.length > 0) {
    return {
      decision: 'require_approval',
      reason: (approvals[0] as CompiledRule).reason,
      matched: explain,
      obligations,
      errors,
      approvalRequirements: approvals.map(requirementOf),
      ...base,
    };
  }

  if (set.baseline.enabled && riskRank(risk) >= riskRank('high')) {
    explain.push({ policy: BASELINE_POLICY, rule: 'approve-high-risk', effect: 'require_approval' });
    return {
      decision: 'require_approval',
      reason: REASONS.baselineHigh,
      matched: explain,
      obligations,
      errors,
      approvalRequirements: [{ policy: BASELINE_POLICY, rule: 'approve-high-risk', approverGroups: [], quorum: 1, changeTicketRequired: false, rollbackPlanRequired: false }],
      ...base,
    };
  }
  return { decision: 'allow', reason: (allows[0] as CompiledRule).reason, matched: explain, obligations, errors, ...base };
}
