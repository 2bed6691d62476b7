/**
 * The vocabulary of Bastion (see DESIGN.md): principal, action request, analysis,
 * decision. Every stage of the pipeline speaks in these types.
 */

import type { Category } from './categories.js';
import type { ErrorCode } from './errors.js';
import type { Risk } from './risk.js';

// The request's types come from its schema (request.ts), the one definition `validateRequest` checks.
export type { ActionRequest, Principal } from './request.js';

/** One fact an analyzer established, with the text that shows it. */
export interface AnalysisFinding {
  category: Category;
  risk: Risk;
  evidence: string;
  /** Which analyzer found it and on which argument, e.g. `shell:args.command`. */
  source?: string;
}

/** What analyzers derived from a request; the policy engine reads it as `analysis.*`. */
export interface Analysis {
  /** False when some analyzer could not parse its input (risk is then at least `high`). */
  parsed: boolean;
  risk: Risk;
  categories: Category[];
  findings: AnalysisFinding[];
  /** Analyzer-specific details (shell commands, SQL statements, paths, hosts, secrets …). */
  [detail: string]: unknown;
}

export const EFFECTS = ['allow', 'deny', 'require_approval'] as const;
export type Effect = (typeof EFFECTS)[number];

export interface MatchedRule {
  policy: string;
  rule: string;
  effect: Effect;
}

/** What an allow carries: redact output, sandbox, timeout, rate limit, output validation. */
export interface Obligation {
  type: string;
  [param: string]: unknown;
}

/** What a human approval must satisfy before a `require_approval` decision turns into allow. */
export interface ApprovalRequirement {
  policy: string;
  rule: string;
  approverGroups: string[];
  quorum: number;
  expiresInSeconds?: number;
  changeTicketRequired: boolean;
  rollbackPlanRequired: boolean;
}

/**
 * Why part of a decision could not be made as written: which policy and rule, a stable code
 * from `ERROR_CODES`, the message and, where known, the field. Invalid requests are
 * `{policy: 'bastion/request', rule: 'validate', code: 'REQUEST_INVALID'}`; a condition that
 * errored names its own policy and rule with code `CONDITION_ERROR`.
 */
export interface DecisionError {
  policy: string;
  rule: string;
  code: ErrorCode;
  message: string;
  /** Dotted path of the offending field, e.g. `args.command`. */
  field?: string;
}

/**
 * What the trace has read that it cannot trust: results of actions declared `untrusted`
 * (web fetches, email, tickets, MCP servers) and any result that scored as prompt injection.
 * `score`, `techniques` and `source` describe the latest attack (score 0, no techniques when
 * only untrusted content was read); `sources` are the results themselves, oldest first.
 */
export interface TaintRecord {
  score: number;
  techniques: string[];
  /** Where the content came from: the `source` given to `inspectResult`, else the action. */
  source: string;
  /**
   * Whether a result in the trace scored as an attack. Absent means true (records written
   * before flow rules were attacks only).
   */
  attack?: boolean;
  /** The results that tainted the trace, oldest first, at most `TAINT_SOURCES_LIMIT`. */
  sources?: TaintSource[];
  /** How many older sources were dropped to keep the bound. */
  dropped?: number;
  /**
   * Files allowed calls of the trace downloaded, oldest first, at most
   * `TAINT_DOWNLOADS_LIMIT`: a later call that runs one is `exec.remote_code` critical. They
   * do not taint the trace by themselves (a record with downloads only is not tainted).
   */
  downloads?: TraceDownload[];
}

/** A file an allowed call of the trace downloaded. */
export interface TraceDownload {
  /** Resolved as the shell analysis reports it (`Analysis.downloads`). */
  path: string;
  /** The action of the call that downloaded it. */
  action: string;
  /** When that call was decided, ISO 8601 UTC. */
  at: string;
}

/** One tool result that tainted a trace (a `taintedBy` entry of a decision). */
export interface TaintSource {
  /** Its place among the trace's tainting results, from 1 (dropped ones keep their number). */
  seq: number;
  /** The action whose result it was. */
  action: string;
  /** The `source` given to `inspectResult`, else the action. */
  source: string;
  /** When it was inspected, ISO 8601 UTC (absent on records written before flow rules). */
  at?: string;
  /** Whether it scored as prompt injection, and its score. */
  attack: boolean;
  score: number;
}

/**
 * The facts the engine decides on, derived from the request: the analysis (analyzers merged
 * with the content scan: secrets, pii, destinations, injection) and the trace's taint.
 */
export interface Facts {
  analysis: Analysis;
  taint?: TaintRecord | undefined;
}

export interface Decision {
  decision: Effect;
  reason: string;
  matched: MatchedRule[];
  risk: Risk;
  categories: Category[];
  obligations: Obligation[];
  errors: DecisionError[];
  policyVersion: string;
  traceId: string;
  /** Present on `require_approval`: what the approval must satisfy. */
  approvalRequirements?: ApprovalRequirement[];
  analysis?: Analysis;
  /**
   * The approval this decision is about: on `require_approval` the one created (or the
   * pending one the request named) for the call; on a retry with `approvalId` the one named.
   */
  approval?: DecisionApproval;
  /** Present when a limit declared in policy refused the call: which one and when to retry. */
  limit?: LimitRefusal;
  /** Present when a flow rule matched: the earlier results of the trace it relied on. */
  taintedBy?: TaintSource[];
  /** Present when a shadow flow rule matched: what it would have done (the decision is unchanged). */
  wouldBlock?: WouldBlock[];
}

/** A shadow flow rule that matched: it would have denied or held the call. */
export interface WouldBlock {
  policy: string;
  rule: string;
  effect: 'deny' | 'require_approval';
  reason: string;
}

/** The limit that refused a call (`bastion/limits` in `matched`). */
export interface LimitRefusal {
  name: string;
  kind: 'rate' | 'concurrency' | 'budget';
  /** Seconds until the same call may pass (what `Retry-After` carries), rounded up; at least 1. */
  retryAfterSeconds: number;
}

/** An approval as a decision shows it (`GET /v1/approvals/<id>` shows the whole record). */
export interface DecisionApproval {
  id: string;
  /** `pending`, `approved`, `denied`, `expired`, `consumed` or `cancelled`. */
  status: string;
  /** Whether the approval is bound to this exact call (its binding hash matches). */
  bound?: boolean;
  /** Who may decide: a principal in any of these groups, not the requester. */
  approverGroups?: string[];
  /** How many distinct approvers must approve. */
  quorum?: number;
  /** How many distinct approvers have approved so far. */
  approvals?: number;
  /** When it expires, ISO 8601 UTC. */
  expiresAt?: string;
  /** Prerequisites an approver must supply (`change_ticket`, `rollback_plan`) unless the request's context carries them. */
  needs?: string[];
}
