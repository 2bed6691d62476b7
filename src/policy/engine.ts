/**
 * The engine: one pure function that decides everything. It takes the policy set, an action
 * request, the facts derived from it (analysis merged with the content scan, and the trace's
 * taint) and snapshots of state (kill switch, approval lookup, limit verdicts), all plain
 * values, and returns a fresh, fully explained decision. Nothing edits a decision afterwards.
 *
 * It reads no clock, no network, no file and no global state and draws no random number, so
 * the same input always gives the same decision (the architecture test checks its imports).
 *
 * Built-in policies are policies inside it, each named in `matched` when it decides:
 *
 *   bastion/kill-switch        operator state: a disabled user, connector, workflow, writes
 *   (the set's rules)          deny > require_approval > allow; nothing allows = default deny
 *   bastion/baseline           deny-critical-risk; approve-high-risk (an allow at high risk)
 *   bastion/output-validation  block-secrets-in-arguments (or a `redact_arguments` obligation)
 *   bastion/limits             an exceeded limit verdict denies (rule: the limit's name)
 *   bastion/approvals          approved: an approval approved and bound to this exact call
 *                              turns `require_approval` into allow; nothing else does
 *
 * Errors are structured (`DecisionError`): an invalid request is `bastion/request` /
 * `validate`, an invalid analysis `bastion/analysis` / `validate`, an analyzer failure
 * `bastion/analysis` / `analyze`, a condition that errored its own policy and rule.
 */

import type { Category } from '../core/categories.js';
import { declaredRisk, declaredValues, isRisk, maxRisk, riskRank } from '../core/risk.js';
import type {
  ActionRequest,
  Analysis,
  ApprovalRequirement,
  Decision,
  DecisionError,
  Effect,
  Facts,
  LimitRefusal,
  MatchedRule,
  Obligation,
  TaintRecord,
  TaintSource,
  WouldBlock,
} from '../core/types.js';
import { ConditionError, type EvalContext } from './conditions.js';
import { combineKillSwitch } from './kill-switch.js';
import type { CompiledFlowRule, CompiledRule, ContentMode, KillSwitchState, PolicySet } from './model.js';
import { parseDuration } from './native.js';

export const KILL_SWITCH_POLICY = 'bastion/kill-switch';
export const BASELINE_POLICY = 'bastion/baseline';
export const SECRETS_POLICY = 'bastion/output-validation';
export const LIMITS_POLICY = 'bastion/limits';
export const APPROVALS_POLICY = 'bastion/approvals';
export const REQUEST_POLICY = 'bastion/request';
export const ANALYSIS_POLICY = 'bastion/analysis';

/** Stable reasons (the kill-switch ones are the ZYX seed's, verbatim). */
export const REASONS = {
  userDisabled: 'user disabled by kill switch',
  connectorDisabled: 'connector disabled by kill switch',
  workflowDisabled: 'workflow disabled by kill switch',
  allWritesDisabled: 'all write tools disabled by kill switch',
  readOnly: 'agent is in read-only mode',
  baselineCritical: 'critical risk: denied by the baseline policy',
  baselineHigh: 'high risk: approval required by the baseline policy',
  requestInvalid: 'request is invalid',
  analysisInvalid: 'analysis is invalid',
  /** Followed by the secret rules found, e.g. `arguments contain a secret: aws-access-key-id`. */
  secretInArguments: 'arguments contain a secret',
  /** Followed by the limit's name, when its verdict gives no reason of its own. */
  limitExceeded: 'limit exceeded',
  approved: 'allowed by an approval bound to this call',
  approvalDenied: 'the approval for this call was denied',
  approvalUsed: 'the approval for this call was already used: an approval allows one call',
} as const;

/** What the approval lookup found for the request's `approvalId`. */
export interface ApprovalSnapshot {
  id: string;
  /** `pending`, `approved`, `denied`, `expired`, `consumed` or `cancelled`. */
  status: string;
  /** True when the approval was granted for exactly this call (its binding hash matches). */
  bound: boolean;
  /**
   * Why the approval does not apply to this call, when it does not (the approval service
   * says it from the record: which of principal, action, arguments … differ, who denied it,
   * when it expired). It becomes the decision's reason.
   */
  note?: string;
}

/** One limit's verdict for this request (rate limit, budget), computed before the engine runs. */
export interface LimitVerdict {
  name: string;
  allowed: boolean;
  reason?: string;
  /** What kind of limit it is; a refusal carries it in the decision's `limit`. */
  kind?: 'rate' | 'concurrency' | 'budget';
  /** When refused: ms until the same call may pass (rounded up to whole seconds in the decision). */
  retryAfterMs?: number;
}

/** Snapshots of state, as plain values. Everything left out is "nothing there". */
export interface DecisionState {
  /**
   * The runtime kill switch (what operators set through the API or the CLI). Combined with
   * the state the policy files declare (`combineKillSwitch`: either can disable); left out,
   * the files' state alone counts.
   */
  killSwitch?: KillSwitchState | undefined;
  /** The approval the request's `approvalId` names, if the caller looked it up. */
  approval?: ApprovalSnapshot | undefined;
  limits?: readonly LimitVerdict[] | undefined;
}

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

/** Facts that say nothing: no analyzer ran, nothing was found. */
export const NO_FACTS: Facts = Object.freeze({
  analysis: Object.freeze({ parsed: true, risk: 'low', categories: Object.freeze([]) as unknown as Category[], findings: Object.freeze([]) as unknown as [] }) as Analysis,
});

/**
 * The decision for a request that failed validation (`validateRequest`), with its errors.
 * The gateway and `evaluate()` both answer it, so every surface denies an invalid request
 * the same way.
 */
export function invalidRequestDecision(set: PolicySet, errors: readonly { message: string; field?: string | undefined }[], traceId: string): Decision {
  return {
    decision: 'deny',
    reason: REASONS.requestInvalid,
    matched: [],
    risk: 'high',
    categories: [],
    obligations: [],
    errors: errors.map((e) => requestError(e.message, e.field)),
    policyVersion: set.version,
    traceId,
  };
}

function requestError(message: string, field: string | undefined): DecisionError {
  const e: DecisionError = { policy: REQUEST_POLICY, rule: 'validate', code: 'REQUEST_INVALID', message };
  if (field !== undefined) e.field = field;
  return e;
}

/**
 * What makes a request or an analysis undecidable: a declared risk that is not a risk level
 * (`CRITICAL`, `critical `, a number), or an analysis without a valid risk. The gateway's
 * request check rejects the former first; this guards callers who skip it.
 */
function entryProblems(request: ActionRequest, analysis: Analysis): { reason: string; errors: DecisionError[] } | undefined {
  const bad = declaredValues(request).filter(({ value }) => !isRisk(value));
  if (bad.length > 0) {
    return {
      reason: REASONS.requestInvalid,
      errors: bad.map(({ field, value }) =>
        requestError(`request: field \`${field}\`: unknown risk \`${typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))}\` (expected low, medium, high or critical)`, field),
      ),
    };
  }
  const invalid = (field: string, message: string) => ({ reason: REASONS.analysisInvalid, errors: [{ policy: ANALYSIS_POLICY, rule: 'validate', code: 'ANALYSIS_INVALID' as const, message, field }] });
  if (typeof analysis !== 'object' || analysis === null || !isRisk(analysis.risk)) {
    const got = typeof analysis === 'object' && analysis !== null ? `\`${String(analysis.risk)}\`` : String(analysis);
    return invalid('risk', `analysis: field \`risk\`: expected low, medium, high or critical, got ${got}`);
  }
  if (!Array.isArray(analysis.categories)) return invalid('categories', 'analysis: field `categories`: expected a list of categories');
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

/** What to do with secrets found in a call's arguments: declared per action, else block for writes. */
function argumentMode(set: PolicySet, action: string, analysis: Analysis): ContentMode {
  for (const m of set.actionMeta) {
    const mode = m.meta.secrets;
    if (mode !== undefined && m.test(action)) return mode;
  }
  const write = set.actionMeta.some((m) => m.meta.write === true && m.test(action)) || analysis.categories.includes('net.egress');
  return write ? 'block' : 'allow';
}

/**
 * The trace's taint folded into the analysis, where policies read it (`analysis.untrustedContent`).
 * Only an attack is folded in: untrusted content that did not score as one is for flow rules.
 */
function withTaint(facts: Facts): Analysis {
  if (facts.taint === undefined || facts.taint.attack === false) return facts.analysis;
  return { ...facts.analysis, untrustedContent: { attack: true, score: facts.taint.score, techniques: [...facts.taint.techniques], source: facts.taint.source } };
}

/** The flow rules that hold this call, the shadow ones that would, and the results they rely on. */
interface FlowMatch {
  enforce: CompiledFlowRule[];
  shadow: CompiledFlowRule[];
  taintedBy: TaintSource[];
}

/** The trace's tainting results; a record written before flow rules stands for one attack. */
function taintSources(taint: TaintRecord): TaintSource[] {
  if (taint.sources !== undefined && taint.sources.length > 0) return taint.sources;
  return [{ seq: 1, action: taint.source, source: taint.source, attack: taint.attack !== false, score: taint.score }];
}

function matchFlow(set: PolicySet, request: ActionRequest, analysis: Analysis, taint: TaintRecord | undefined): FlowMatch | undefined {
  if (taint === undefined || set.flow.length === 0) return undefined;
  // INVARIANT: a record holding only the trace's downloads did not taint it (the one place this
  // is decided for every caller; `isTainted` in analysis/taint.ts says the same).
  if (taint.attack === false && (taint.sources?.length ?? 0) === 0) return undefined;
  const attack = taint.attack !== false;
  const groups = request.principal.groups ?? [];
  let write: boolean | undefined;
  const enforce: CompiledFlowRule[] = [];
  const shadow: CompiledFlowRule[] = [];
  let needsAttackOnly = true;
  for (const f of set.flow) {
    if (f.after === 'attack' && !attack) continue;
    if (!f.anyPrincipal && !f.users.has(request.principal.id) && !groups.some((g) => f.groups.has(g))) continue;
    if (f.actionTest && !f.actionTest(request.action)) continue;
    if (f.categories && !analysis.categories.some((c) => f.categories?.has(c))) continue;
    if (f.writes) {
      write ??= set.actionMeta.some((m) => m.meta.write === true && m.test(request.action));
      if (!write) continue;
    }
    if (f.after === 'untrusted') needsAttackOnly = false;
    (f.mode === 'shadow' ? shadow : enforce).push(f);
  }
  if (enforce.length === 0 && shadow.length === 0) return undefined;
  const sources = taintSources(taint);
  // A rule waiting for an attack relies on the attacks only; one waiting for untrusted content on every source.
  const taintedBy = (needsAttackOnly ? sources.filter((s) => s.attack) : sources).map((s) => ({ ...s }));
  return { enforce, shadow, taintedBy };
}

/** An enforcing flow rule as the rules' combining sees it: a rule that matched. */
function flowAsRule(f: CompiledFlowRule): CompiledRule {
  return {
    policy: f.policy,
    id: f.id,
    effect: f.effect,
    reason: f.reason,
    rank: f.rank,
    anyPrincipal: f.anyPrincipal,
    users: f.users,
    groups: f.groups,
    actionTests: [],
    actionLiterals: [],
    actionPrefixes: [],
    resourceTest: undefined,
    environmentTest: undefined,
    condition: undefined,
    approval: f.approval,
    obligations: [],
  };
}

/** The rules' verdict before the built-ins that follow them. */
interface RulesOutcome {
  effect: Effect;
  reason: string;
  matched: MatchedRule[];
  obligations: Obligation[];
  approvalRequirements?: ApprovalRequirement[];
  limit?: LimitRefusal;
}

function rulesOutcome(
  set: PolicySet,
  request: ActionRequest,
  analysis: Analysis,
  risk: Decision['risk'],
  declared: Decision['risk'] | undefined,
  errors: DecisionError[],
  flow: readonly CompiledFlowRule[],
): RulesOutcome {
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
        errors.push({ policy: rule.policy, rule: rule.id, code: 'CONDITION_ERROR', message });
        if (rule.effect === 'require_approval') erroredApproval ??= rule;
        if (rule.effect !== 'deny') continue;
      }
    }
    matched.push(rule);
  }

  // Enforcing flow rules take part as rules that matched, after the set's own rules. A flow
  // deny denies; a flow `require_approval` holds only what some rule lets through (it never
  // makes approvable what no rule allows).
  const permits = matched.some((r) => r.effect !== 'deny');
  for (const f of flow) if (f.effect === 'deny' || permits) matched.push(flowAsRule(f));

  const explain: MatchedRule[] = matched.map((r) => ({ policy: r.policy, rule: r.id, effect: r.effect }));
  const firstDeny = matched.find((r) => r.effect === 'deny');
  if (firstDeny) return { effect: 'deny', reason: firstDeny.reason, matched: explain, obligations: [] };

  const approvals = matched.filter((r) => r.effect === 'require_approval');
  const allows = matched.filter((r) => r.effect === 'allow');
  if (approvals.length === 0 && allows.length === 0) return { effect: 'deny', reason: set.defaultReason, matched: explain, obligations: [] };

  if (set.baseline.enabled && risk === 'critical') {
    explain.push({ policy: BASELINE_POLICY, rule: 'deny-critical-risk', effect: 'deny' });
    return { effect: 'deny', reason: REASONS.baselineCritical, matched: explain, obligations: [] };
  }

  const obligations: Obligation[] = [];
  for (const r of [...approvals, ...allows]) obligations.push(...r.obligations);

  if (approvals.length === 0 && erroredApproval) {
    // It holds the call, so the explanation names it, as it names an errored deny rule.
    approvals.push(erroredApproval);
    explain.push({ policy: erroredApproval.policy, rule: erroredApproval.id, effect: erroredApproval.effect });
  }
  if (approvals.length > 0) {
    return { effect: 'require_approval', reason: (approvals[0] as CompiledRule).reason, matched: explain, obligations, approvalRequirements: approvals.map(requirementOf) };
  }
  if (set.baseline.enabled && riskRank(risk) >= riskRank('high')) {
    explain.push({ policy: BASELINE_POLICY, rule: 'approve-high-risk', effect: 'require_approval' });
    return {
      effect: 'require_approval',
      reason: REASONS.baselineHigh,
      matched: explain,
      obligations,
      approvalRequirements: [{ policy: BASELINE_POLICY, rule: 'approve-high-risk', approverGroups: [], quorum: 1, changeTicketRequired: false, rollbackPlanRequired: false }],
    };
  }
  return { effect: 'allow', reason: (allows[0] as CompiledRule).reason, matched: explain, obligations };
}

/**
 * Secrets in the arguments of a call that writes are blocked (a split secret is in no one
 * string, so redaction cannot remove it); with `secrets: redact` the call carries a
 * `redact_arguments` obligation. Runs only on what the rules did not deny.
 */
function secretsInArguments(set: PolicySet, request: ActionRequest, analysis: Analysis, outcome: RulesOutcome): RulesOutcome {
  const secrets = analysis['secrets'];
  if (!Array.isArray(secrets) || secrets.length === 0) return outcome;
  const found = secrets as { rule: string; split?: boolean }[];
  const configured = argumentMode(set, request.action, analysis);
  const rules = [...new Set(found.map((s) => s.rule))];
  const mode = configured === 'redact' && found.some((s) => s.split === true) ? 'block' : configured;
  if (mode === 'block') {
    return {
      effect: 'deny',
      reason: `${REASONS.secretInArguments}: ${rules.join(', ')}`,
      matched: [...outcome.matched, { policy: SECRETS_POLICY, rule: 'block-secrets-in-arguments', effect: 'deny' }],
      obligations: [],
    };
  }
  if (mode === 'redact') return { ...outcome, obligations: [...outcome.obligations, { type: 'redact_arguments', rules }] };
  return outcome;
}

function limitsExceeded(limits: readonly LimitVerdict[] | undefined, outcome: RulesOutcome): RulesOutcome {
  const over = limits?.find((l) => l.allowed !== true);
  if (over === undefined) return outcome;
  const reason = typeof over.reason === 'string' && over.reason !== '' ? over.reason : `${REASONS.limitExceeded}: \`${over.name}\``;
  const retryAfterSeconds = Math.max(1, Math.ceil((typeof over.retryAfterMs === 'number' && Number.isFinite(over.retryAfterMs) ? over.retryAfterMs : 1000) / 1000));
  return {
    effect: 'deny',
    reason,
    matched: [...outcome.matched, { policy: LIMITS_POLICY, rule: over.name, effect: 'deny' }],
    obligations: [],
    limit: { name: over.name, kind: over.kind ?? 'rate', retryAfterSeconds },
  };
}

/**
 * INVARIANT: only an approval that is `approved`, bound to this exact call and named by the
 * request's own `approvalId` turns `require_approval` into allow. It never turns a deny into
 * anything. An approval bound to this call that was denied, or already used (single use),
 * denies it: a human said no, or the one call it allowed was made. Any other snapshot
 * (pending, expired, cancelled, unbound) leaves `require_approval`, with the snapshot's note
 * (why it does not apply) as the reason. Quorum, expiry and single use are the store's.
 */
function approvalGrants(request: ActionRequest, approval: ApprovalSnapshot | undefined, outcome: RulesOutcome): RulesOutcome {
  if (outcome.effect !== 'require_approval' || approval === undefined) return outcome;
  if (request.approvalId === undefined || approval.id !== request.approvalId) return outcome;
  const note = typeof approval.note === 'string' && approval.note !== '' ? approval.note : undefined;
  if (approval.bound === true) {
    if (approval.status === 'approved')
      return { effect: 'allow', reason: REASONS.approved, matched: [...outcome.matched, { policy: APPROVALS_POLICY, rule: 'approved', effect: 'allow' }], obligations: outcome.obligations };
    if (approval.status === 'denied' || approval.status === 'consumed') {
      const reason = note ?? (approval.status === 'denied' ? REASONS.approvalDenied : REASONS.approvalUsed);
      return { effect: 'deny', reason, matched: [...outcome.matched, { policy: APPROVALS_POLICY, rule: approval.status, effect: 'deny' }], obligations: [] };
    }
  }
  return note === undefined ? outcome : { ...outcome, reason: note };
}

/**
 * Decides one request. Order: entry checks → kill switch → rules (deny > require_approval >
 * allow, default deny) → baseline → secrets in arguments → limits → approval.
 *
 * @example
 * const facts = buildFacts(createAnalyzer(), request);
 * const d = decide(set, request, facts, { killSwitch: EMPTY_KILL_SWITCH });
 * d.decision // 'allow' | 'deny' | 'require_approval'
 */
export function decide(set: PolicySet, request: ActionRequest, facts: Facts, state: DecisionState = {}): Decision {
  const traceId = request.traceId ?? '';
  const given = (typeof facts === 'object' && facts !== null ? facts.analysis : facts) as Analysis;
  const invalid = entryProblems(request, given);
  if (invalid) {
    // Fail closed: a risk that cannot be read must not skip the baseline or a risk rule.
    const categories = typeof given === 'object' && given !== null && Array.isArray(given.categories) ? [...given.categories] : [];
    return { decision: 'deny', reason: invalid.reason, matched: [], risk: 'high', categories, obligations: [], errors: invalid.errors, policyVersion: set.version, traceId };
  }
  const analysis = withTaint(facts);
  const flow = matchFlow(set, request, analysis, facts.taint);
  const declared = declaredRisk(request);
  let risk = maxRisk(analysis.risk, declared);
  for (const m of set.actionMeta) if (m.meta.risk !== undefined && m.test(request.action)) risk = maxRisk(risk, m.meta.risk);
  const errors: DecisionError[] = [];
  if (typeof analysis['error'] === 'string') errors.push({ policy: ANALYSIS_POLICY, rule: 'analyze', code: 'ANALYSIS_FAILED', message: analysis['error'] });

  let outcome: RulesOutcome;
  // INVARIANT: the runtime state and the files' blocks combine (either can disable); a
  // runtime state never switches back on what a policy file switches off.
  const killSwitch = state.killSwitch === undefined ? set.killSwitch : combineKillSwitch(set.killSwitch, state.killSwitch);
  const blocked = killSwitch ? killSwitchBlocks(set, killSwitch, request, analysis) : undefined;
  if (blocked) outcome = { effect: 'deny', reason: blocked.reason, matched: [{ policy: KILL_SWITCH_POLICY, rule: blocked.rule, effect: 'deny' }], obligations: [] };
  else {
    outcome = rulesOutcome(set, request, analysis, risk, declared, errors, flow?.enforce ?? []);
    if (outcome.effect !== 'deny') outcome = secretsInArguments(set, request, analysis, outcome);
    if (outcome.effect !== 'deny') outcome = limitsExceeded(state.limits, outcome);
    outcome = approvalGrants(request, state.approval, outcome);
  }

  const decision: Decision = {
    decision: outcome.effect,
    reason: outcome.reason,
    matched: outcome.matched,
    risk,
    categories: [...analysis.categories],
    obligations: outcome.obligations,
    errors,
    policyVersion: set.version,
    traceId,
  };
  if (outcome.effect === 'require_approval' && outcome.approvalRequirements) decision.approvalRequirements = outcome.approvalRequirements;
  if (outcome.limit) decision.limit = outcome.limit;
  decision.analysis = analysis;
  if (flow !== undefined) {
    decision.taintedBy = flow.taintedBy;
    // INVARIANT: a shadow flow rule only reports; nothing above read it.
    if (flow.shadow.length > 0) decision.wouldBlock = flow.shadow.map((f): WouldBlock => ({ policy: f.policy, rule: f.id, effect: f.effect, reason: f.reason }));
  }
  if (state.approval !== undefined && state.approval.id === request.approvalId) decision.approval = { id: state.approval.id, status: state.approval.status, bound: state.approval.bound === true };
  return decision;
}
