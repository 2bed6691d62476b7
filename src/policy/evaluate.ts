/**
 * `evaluate()`: the gateway's decision without the gateway's state and audit log. It checks
 * the request as the gateway does (`validateRequest`), builds the facts with the set's
 * analyzer and the content scanners (`buildFacts`, the analyzer cached per set) unless the
 * caller passes facts, and runs the pure engine (`engine.ts`). So `evaluate(set, request)`
 * and `gateway.decide(request)` agree for the same request and state: a write whose
 * arguments carry an AWS access key is denied by both.
 *
 * Synchronous: the bash grammar is loaded when the analysis stage is imported.
 */

import { analyzerForBlocks, buildFacts, traceDownloads, type Analyzer, type AnalyzeOptions } from '../analysis/index.js';
import { BastionException } from '../core/errors.js';
import { validateRequest } from '../core/request.js';
import type { ActionRequest, Analysis, Decision, Facts, TaintRecord } from '../core/types.js';
import { decide, invalidRequestDecision, type ApprovalSnapshot, type LimitVerdict } from './engine.js';
import type { KillSwitchState, PolicySet } from './model.js';

export { REASONS, BASELINE_POLICY, KILL_SWITCH_POLICY, connectorOf } from './engine.js';

export interface EvaluateOptions {
  /** Operator state; defaults to the state a policy file declared, else all off. */
  killSwitch?: KillSwitchState;
  /**
   * The facts to decide on (from `buildFacts`), instead of building them from the request.
   * Pass `NO_FACTS` to decide on the request alone, as if no analyzer ran.
   */
  facts?: Facts;
  /** The trace's record (what `inspectResult` recorded and what earlier calls downloaded), folded into the facts. */
  taint?: TaintRecord;
  /** The approval the request's `approvalId` names, if looked up (see `ApprovalSnapshot`). */
  approval?: ApprovalSnapshot;
  /** Limit verdicts for this request; one not allowed denies. */
  limits?: readonly LimitVerdict[];
  /** Used when the request carries no trace id. */
  traceId?: string;
}

const analyzers = new WeakMap<PolicySet, Analyzer>();

/**
 * The analyzer of a set, built once from its `analyzers:` blocks and cached for the set's
 * lifetime. Throws `BastionException` for blocks that do not parse, which only a set not
 * made by `loadPolicySet` can hold.
 *
 * @example analyzerOf(set).analyze(request).categories
 */
export function analyzerOf(set: PolicySet): Analyzer {
  let analyzer = analyzers.get(set);
  if (analyzer === undefined) {
    const r = analyzerForBlocks(set.analyzers);
    if (!r.ok) throw new BastionException(r.errors);
    analyzer = r.value;
    analyzers.set(set, analyzer);
  }
  return analyzer;
}

/**
 * The facts of a request, as every surface builds them: the set's analyzers merged with the
 * content scan. The request must be valid (`validateRequest`).
 *
 * @example const facts = factsFor(set, request); facts.analysis.secrets
 */
export function factsFor(set: PolicySet, request: ActionRequest, options: AnalyzeOptions = {}): Facts {
  return buildFacts(analyzerOf(set), request, options);
}

const OPTION_KEYS = new Set(['killSwitch', 'facts', 'taint', 'approval', 'limits', 'traceId']);
const ANALYSIS_KEYS = ['parsed', 'risk', 'categories', 'findings'];

/** The call shape before facts: `evaluate(set, request, analysis, options)`. */
function isLegacyAnalysis(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return v !== undefined;
  const keys = Object.keys(v);
  return keys.some((k) => ANALYSIS_KEYS.includes(k)) || (keys.length > 0 && !keys.some((k) => OPTION_KEYS.has(k)));
}

/**
 * Decides one request against the set, as the gateway does (minus its state and audit).
 *
 * The earlier call shape `evaluate(set, request, analysis, options?)` still works: the given
 * analysis is then the facts, taken as they are (no analyzer and no content scan run).
 *
 * @example
 * const d = evaluate(set, { principal: { id: 'a', groups: ['sre'] }, action: 'sys:execute' });
 * d.decision // 'allow' | 'deny' | 'require_approval'
 * evaluate(set, request, { killSwitch: { ...EMPTY_KILL_SWITCH, read_only_mode: true } });
 */
export function evaluate(set: PolicySet, request: ActionRequest, options?: EvaluateOptions): Decision;
/** @deprecated pass `{ facts: { analysis } }` instead. */
export function evaluate(set: PolicySet, request: ActionRequest, analysis: Analysis | undefined, options?: EvaluateOptions): Decision;
export function evaluate(set: PolicySet, request: ActionRequest, third?: Analysis | EvaluateOptions, fourth?: EvaluateOptions): Decision {
  const legacy = fourth !== undefined || isLegacyAnalysis(third);
  const options: EvaluateOptions = (legacy ? fourth : (third as EvaluateOptions | undefined)) ?? {};
  const given: Facts | undefined = legacy ? (third === undefined ? undefined : { analysis: third as Analysis }) : options.facts;

  const checked = validateRequest(request);
  const traceId = (checked.ok ? checked.value.traceId : undefined) ?? options.traceId ?? '';
  if (!checked.ok) return invalidRequestDecision(set, checked.errors, traceId);
  const valid: ActionRequest = checked.value.traceId === traceId ? checked.value : { ...checked.value, traceId };

  const downloaded = traceDownloads(options.taint);
  const facts = given ?? factsFor(set, valid, downloaded.length > 0 ? { downloaded } : {});
  const withTaint: Facts = options.taint !== undefined ? { analysis: facts.analysis, taint: options.taint } : facts;
  return decide(set, valid, withTaint, {
    ...(options.killSwitch !== undefined ? { killSwitch: options.killSwitch } : {}),
    ...(options.approval !== undefined ? { approval: options.approval } : {}),
    ...(options.limits !== undefined ? { limits: options.limits } : {}),
  });
}
