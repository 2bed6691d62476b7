/**
 * The policy stage: loading a set (every seed format translated into the native model), the
 * pure engine that decides, `evaluate()` (facts built with the set's analyzer, then the
 * engine) and the watcher that reloads a set when its files change.
 */

export {
  decide,
  invalidRequestDecision,
  NO_FACTS,
  REASONS,
  KILL_SWITCH_POLICY,
  BASELINE_POLICY,
  SECRETS_POLICY,
  LIMITS_POLICY,
  APPROVALS_POLICY,
  REQUEST_POLICY,
  ANALYSIS_POLICY,
  connectorOf,
} from './engine.js';
export type { ApprovalSnapshot, DecisionState, LimitVerdict } from './engine.js';
export { evaluate, analyzerOf, factsFor } from './evaluate.js';
export type { EvaluateOptions } from './evaluate.js';
export { loadPolicySet, detectFormat } from './load.js';
export type { PolicyInput, LoadOptions } from './load.js';
export { EMPTY_KILL_SWITCH } from './model.js';
export { combineKillSwitch, killSwitchHolds } from './kill-switch.js';
export type {
  BaselineOptions,
  CompiledLimit,
  CompiledPolicy,
  CompiledRule,
  ContentMode,
  KillSwitchState,
  NativeActionMeta,
  NativeApproval,
  NativeLimit,
  NativePolicy,
  NativeRule,
  PolicyFormat,
  PolicySet,
} from './model.js';
export { watchPolicies } from './watch.js';
export type { PolicyWatcher, PolicyWatchStatus, WatchHandlers, WatchOptions } from './watch.js';
export { checkExpectations, findTestFiles, readTestFile, runTestFile, EXPECT_FIELDS } from './testing.js';
export type { CaseOutcome, DecisionSurface, ExpectedError, PolicyTestCase, PolicyTestFile } from './testing.js';
export { couldAllow } from './reachable.js';
export type { Reachability, ReachQuery } from './reachable.js';
