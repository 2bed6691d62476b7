/**
 * The public API of `agent-bastion`. Any export added here becomes public API: named exports
 * only, no wildcards; `test/exports.test.ts` pins the list.
 */

export type { Result } from './core/result.js';
export { RISKS, isRisk, maxRisk, compareRisk } from './core/risk.js';
export type { Risk } from './core/risk.js';
export { CATEGORIES, isCategory } from './core/categories.js';
export type { Category } from './core/categories.js';
export type {
  ActionRequest,
  Analysis,
  AnalysisFinding,
  ApprovalRequirement,
  Decision,
  DecisionError,
  Effect,
  Facts,
  MatchedRule,
  Obligation,
  Principal,
  TaintRecord,
} from './core/types.js';
export { ERROR_CODES, BastionException } from './core/errors.js';
export type { BastionError, ErrorCode } from './core/errors.js';
export { classifyHost, hostMatches, hostInList, normalizeHost, parseUrl } from './core/net.js';
export type { HostClass, ParsedUrl } from './core/net.js';
export {
  scanText,
  redact,
  redactValue,
  createStreamRedactor,
  detectInjection,
  spotlight,
  validateOutput,
  extractDestinations,
  checkEgress,
  scanRequest,
} from './scan/index.js';
export type {
  ScanFinding,
  ScanKind,
  ScanOptions,
  PiiOptions,
  StreamRedactor,
  InjectionResult,
  OutputMode,
  OutputValidation,
  Destination,
  EgressPolicy,
  RequestScan,
} from './scan/index.js';
export { createAnalyzer, parseAnalyzerConfig } from './analysis/index.js';
export type {
  Analyzer,
  AnalyzerConfig,
  TaintStore,
  ShellAnalysis,
  ShellOptions,
  SqlAnalysis,
  PathAnalysis,
  PathOptions,
  UrlAnalysis,
  UrlOptions,
} from './analysis/index.js';
export {
  openAuditLog,
  openAuditReader,
  keyDirectory,
  ephemeralKey,
  decisionEvent,
  verifyInclusionProof,
  createSiemSink,
  canonicalJson,
  verifyRows,
  verifyInclusion,
  verifyConsistency,
  checkCheckpointSignature,
  toOcsf,
  toZyx,
  AUDIT_EVENT_TYPES,
  AUDIT_SCHEMA_VERSION,
} from './audit/index.js';
export type {
  AuditEvent,
  AuditEventInput,
  AuditEventType,
  AuditFilter,
  AuditLog,
  AuditLogOptions,
  AuditKeyProvider,
  AuditReader,
  AuditReceipt,
  AuditStore,
  Checkpoint,
  InclusionProof,
  PruneReport,
  SiemSink,
  SiemSinkOptions,
  VerifyReport,
} from './audit/index.js';
export { createMemoryAuditStore, openSqliteAuditLog, openSqliteAuditReader } from './storage/index.js';
export type { SqliteAuditLogOptions, SqliteAuditReaderOptions } from './storage/index.js';
export { validateRequest } from './core/request.js';
export { loadPolicySet, detectFormat } from './policy/load.js';
export type { PolicyInput, LoadOptions } from './policy/load.js';
export { evaluate, factsFor, REASONS, BASELINE_POLICY, KILL_SWITCH_POLICY } from './policy/evaluate.js';
export type { EvaluateOptions } from './policy/evaluate.js';
export { NO_FACTS } from './policy/engine.js';
export type { ApprovalSnapshot, DecisionState, LimitVerdict } from './policy/engine.js';
export { watchPolicies } from './policy/watch.js';
export type { PolicyWatcher, PolicyWatchStatus, WatchHandlers, WatchOptions } from './policy/watch.js';
export type {
  BaselineOptions,
  ContentMode,
  KillSwitchState,
  NativeActionMeta,
  NativeApproval,
  NativePolicy,
  NativeRule,
  PolicyFormat,
  PolicySet,
} from './policy/model.js';
export { createGateway, ActionDeniedError } from './gateway/index.js';
export type { Gateway, GatewayOptions, GatewayStores, ResultInspection } from './gateway/index.js';
export { ActionRuntime, ActionEvent } from './gateway/action-runtime.js';
export type { ActionEventFields, Verdict } from './gateway/action-runtime.js';
