/**
 * The change review (the ZYX Bank seed's secure engineering assistant), as a workflow on the
 * gateway: six narrow tools decided with the user's identity, connectors behind a port
 * (fixture files for the demo), a real Terraform analysis, and the seed's answers.
 * `POST /review-change` in `bastion serve` and `bastion review` run it.
 */

export type {
  AccountMetadata,
  ChangeReviewRequest,
  ChangeTicket,
  FileStatus,
  Finding,
  FindingKind,
  PullRequest,
  PullRequestFile,
  ReviewBackend,
  ReviewResponse,
  RiskRating,
  SecurityStandard,
  Severity,
  StandardsPage,
  ToolDecision,
} from './types.js';
export { FINDING_SPECS, FINDING_ORDER } from './catalogue.js';
export type { FindingSpec } from './catalogue.js';
export { ADMIN_PORTS, analyzeTerraform, MAX_TERRAFORM_FILE, parseTerraform } from './terraform.js';
export { datamark, MAX_MODEL_SUMMARY, modelContext, summarizeReview, SUMMARY_SCHEMA } from './model.js';
export type { ModelSummary, ReviewModelOptions } from './model.js';
export { APPROVALS, buildReview, findingRecord, jiraComment, slackSummary, ticketFindings } from './review.js';
export type { Review, CommentInput } from './review.js';
export { DEFAULT_FIXTURES_DIR, fixtureBackend } from './fixtures.js';
export type { FixtureBackend, Outbox } from './fixtures.js';
export { adfText, httpBackend, standardsFromStorage, toAdf } from './http-backend.js';
export type { HttpBackendOptions } from './http-backend.js';
export { httpRequest, nextLink } from './http.js';
export type { HttpAnswer, HttpOptions } from './http.js';
export { amzDate, signV4 } from './sigv4.js';
export type { AwsCredentials, SignInput } from './sigv4.js';
export { REVIEW_TOOLS, WORKFLOW, decideTool, toolDecision } from './tools.js';
export type { ReviewTool, ToolArgs, ToolCallContext } from './tools.js';
export {
  affectedServices,
  createChangeReview,
  DEFAULT_AWS_ACCOUNT,
  DEFAULT_SLACK_CHANNEL,
  DEFAULT_STANDARDS_SPACE,
  newTraceId,
  parseReviewRequest,
  REVIEW_MESSAGES,
} from './workflow.js';
export type { ChangeReview, ChangeReviewOptions, DeniedDetail, ReviewOutcome, ValidationItem } from './workflow.js';
