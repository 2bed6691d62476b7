/**
 * The root of `agent-bastion`: the gateway façade, the vocabulary's types and the errors.
 * Each stage has its own entry point, mirroring `src/` (see docs/architecture.md):
 *
 *   agent-bastion            createGateway, guard, ActionRuntime, createBastionApp, tool guards, types, errors
 *   agent-bastion/policy     loadPolicySet, evaluate, the pure engine `decide`, the watcher, policy tests
 *   agent-bastion/analysis   createAnalyzer (shell, SQL, path, URL), facts, host helpers
 *   agent-bastion/scan       secrets, personal data, prompt injection, egress, redaction
 *   agent-bastion/audit      the tamper-evident log over any store, verification, export, SIEM
 *   agent-bastion/storage    the in-memory and SQLite adapters of every port
 *   agent-bastion/identity, /killswitch, /approvals, /limits   those stages' ports and rules
 *
 * Named exports only, no wildcards: `test/exports.test.ts` pins the names of every entry
 * point, and `api/*.api.md` (API Extractor) their declarations.
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
  LimitRefusal,
  MatchedRule,
  Obligation,
  Principal,
  TaintRecord,
  TraceDownload,
} from './core/types.js';
export { ERROR_CODES, BastionException } from './core/errors.js';
export type { BastionError, ErrorCode } from './core/errors.js';
export { validateRequest, ActionRequestSchema } from './core/request.js';
export type { KillSwitchState } from './killswitch/index.js';
export { createGateway, openGateway, ActionDeniedError, ActionTimeoutError, ActionRuntime, ActionEvent } from './gateway/index.js';
export type {
  ActionEventFields,
  Gateway,
  GuardedCall,
  GatewayLimitOptions,
  GatewayOptions,
  GatewayStores,
  KillSwitchStatus,
  ResultInspection,
  ShadowDecision,
  UsageReport,
  Verdict,
} from './gateway/index.js';
export { createBastionApp } from './app/index.js';
export type { AppIo, BastionApp, BastionAppOptions } from './app/index.js';
export type { Metrics } from './metrics/index.js';
export { loadConfig, DEFAULT_CONFIG } from './config/index.js';
export type { BastionConfig, LimitsConfig } from './config/index.js';
export { runCommand } from './exec/index.js';
export type { CommandOutcome, RunCommandOptions, SandboxReport } from './exec/index.js';
export { guardAgentTool, guardLangChainTool, guardLangChainTools, guardVercelTools, guardedAction, refusalMessage, runGuardedTool } from './guards/index.js';
export type { AgentToolApproval, AgentToolDefinition, GuardedToolResult, LangChainToolLike, ToolGuardOptions, VercelToolLike } from './guards/index.js';
export { claudeCodeHook, geminiCliHook } from './hooks/index.js';
export type { ApprovalMode, ClaudeCodeHookInput, ClaudeCodeHookOptions, GeminiCliHookInput, GeminiCliHookOptions, HookAnswer } from './hooks/index.js';
