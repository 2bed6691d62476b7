/**
 * The change review's vocabulary: what the connectors return (ticket, pull request,
 * standards, account metadata), what a review finds, and what the workflow answers. The
 * shapes of the answer are the ZYX seed's (`ReviewResponse`, `ToolDecision`), in snake_case,
 * because clients of the seed read them as they are.
 */

import type { BastionError } from '../core/errors.js';
import type { Result } from '../core/result.js';

/** A Jira change ticket, as the review reads it. */
export interface ChangeTicket {
  key: string;
  summary: string;
  description: string;
  status?: string;
  environment?: string;
  reporter?: string;
  /** The ticket's rollback plan; null or blank when the ticket has none. */
  rollbackPlan: string | null;
}

export type FileStatus = 'added' | 'modified' | 'removed' | 'renamed';

/** One changed file of a pull request, with its content at the head commit (none when removed). */
export interface PullRequestFile {
  path: string;
  status: FileStatus;
  content?: string;
}

export interface PullRequest {
  repository: string;
  number: number;
  title: string;
  body: string;
  state?: string;
  author?: string;
  files: PullRequestFile[];
}

export interface SecurityStandard {
  id: string;
  text: string;
}

/** The Confluence page of security standards the review cites. */
export interface StandardsPage {
  pageId: string;
  title: string;
  standards: SecurityStandard[];
}

/** Read-only metadata of the development account (AWS). */
export interface AccountMetadata {
  account: string;
  accountId?: string;
  region: string;
  environment: string;
  approvedAdminRanges?: string[];
}

/**
 * The systems behind the six tools. Two implementations: the fixture files under
 * `examples/change-review/` (the demo) and real HTTP clients. Expected failures (not found,
 * refused, unreachable) are `CONNECTOR_FAILED` / `NOT_FOUND` values, never throws.
 */
export interface ReviewBackend {
  readTicket(key: string): Promise<Result<ChangeTicket, BastionError>>;
  readPullRequest(repository: string, number: number): Promise<Result<PullRequest, BastionError>>;
  readStandards(): Promise<Result<StandardsPage, BastionError>>;
  describeAccount(account: string): Promise<Result<AccountMetadata, BastionError>>;
  addComment(ticket: string, body: string): Promise<Result<{ id: string }, BastionError>>;
  postMessage(channel: string, text: string): Promise<Result<{ ts: string }, BastionError>>;
}

export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** One problem the review found, tied to where it is and to the standard it breaks. */
export interface Finding {
  kind: FindingKind;
  /** The sentence of the answer's `findings[]` (the seed's wording where the seed has one). */
  message: string;
  severity: Severity;
  remediation: string;
  file?: string;
  line?: number;
  /** `type.name` of the Terraform block. */
  resource?: string;
  /** What was seen, e.g. `s3:*` or `22 from 0.0.0.0/0`. */
  evidence?: string;
  standard?: SecurityStandard;
}

export type FindingKind =
  | 's3_public_access_block'
  | 'iam_wildcard_action'
  | 'iam_wildcard_resource'
  | 'iam_policy_unresolved'
  | 'sg_open_admin_port'
  | 'log_retention_missing'
  | 'storage_unencrypted'
  | 'hardcoded_secret'
  | 'terraform_unparsed'
  | 'rollback_plan_missing';

export type RiskRating = 'Low' | 'Medium' | 'High' | 'Critical';

/** The seed's `ChangeReviewRequest`. */
export interface ChangeReviewRequest {
  ticket: string;
  repository: string;
  pull_request: string;
}

/** The seed's `ToolDecision`. */
export interface ToolDecision {
  tool_name: string;
  allowed: boolean;
  reason: string;
  approval_required: boolean;
}

/** The seed's `ReviewResponse`, field for field. */
export interface ReviewResponse {
  ticket: string;
  repository: string;
  pull_request: string;
  risk_rating: RiskRating;
  findings: string[];
  required_approvals: string[];
  recommended_remediation: string[];
  tools_used: string[];
  audit_trace_id: string;
  /** Not in the seed: the model step's narrative, only when a model is configured and its answer passed validation. */
  summary?: string;
}
