/**
 * The change-review workflow (the ZYX seed's `SecureAgentHarness.review_change`), on the
 * gateway:
 *
 *   validate the request → trace id → authorize all six tools (plan) → 403 if any is denied
 *   → read ticket, pull request, standards, account → inspect every retrieved text
 *   (injection → audited, 400) → analyze the Terraform → review → validate the comment and
 *   the summary → decide and post each write → audit `review.completed` → 200
 *
 * Every tool call is an action request decided by the gateway with the user's principal, so
 * the tool policy, kill switch, device posture and output validation apply as for any
 * agent. Retrieved content is evidence: it is scanned and analyzed, never obeyed; nothing
 * it says reaches a decision. The answers are the seed's bodies and statuses.
 */

import { randomBytes } from 'node:crypto';
import type { BastionError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { Gateway } from '../gateway/index.js';
import { validateOutput } from '../scan/index.js';
import { FINDING_SPECS } from './catalogue.js';
import { buildReview, findingRecord, jiraComment, slackSummary, ticketFindings, type Review } from './review.js';
import { summarizeReview, type ModelSummary, type ReviewModelOptions } from './model.js';
import { analyzeTerraform } from './terraform.js';
import { decideTool, REVIEW_TOOLS, toolDecision, type ReviewTool, type ToolArgs, type ToolCallContext } from './tools.js';
import type { ChangeReviewRequest, Finding, PullRequest, ReviewBackend, ReviewResponse, ToolDecision } from './types.js';

export const DEFAULT_SLACK_CHANNEL = 'devsecops-change-review';
export const DEFAULT_AWS_ACCOUNT = 'development';
export const DEFAULT_STANDARDS_SPACE = 'SECSTD';

/** The seed's messages, verbatim. */
export const REVIEW_MESSAGES = {
  missingIdentity: 'missing user identity',
  denied: 'one or more tools were denied',
  injection: 'retrieved context contains prompt injection indicators',
  outputSecret: 'output validation failed: possible secret detected',
} as const;

export interface DeniedDetail {
  message: string;
  denied: ToolDecision[];
  trace_id: string;
}

/** A pydantic-style validation error item (what FastAPI answers with 422). */
export interface ValidationItem {
  type: string;
  loc: (string | number)[];
  msg: string;
}

/** The answer of one run: the HTTP status and the seed's body. */
export type ReviewOutcome =
  | { status: 200; body: ReviewResponse; review: Review; traceId: string }
  | { status: 403; body: { detail: DeniedDetail }; traceId: string }
  | { status: 400 | 404 | 502; body: { detail: string }; traceId: string }
  | { status: 422; body: { detail: ValidationItem[] } };

export interface ChangeReviewOptions {
  gateway: Gateway;
  backend: ReviewBackend;
  /** The one channel the summary goes to (default `devsecops-change-review`). */
  slackChannel?: string;
  /** The AWS account the review reads (default `development`). */
  awsAccount?: string;
  /** The Confluence space of the standards (default `SECSTD`). */
  standardsSpace?: string;
  /** The optional model step: an OpenAI-compatible endpoint that adds a narrative summary (never findings, approvals or authorization). */
  model?: ReviewModelOptions;
  /** For tests: the clock of trace ids. */
  now?: () => Date;
}

export interface ChangeReview {
  /** Runs one review for `principal` (already authenticated); `input` is the request body as received. */
  run(principal: Principal, input: unknown): Promise<ReviewOutcome>;
}

/**
 * A trace id in the seed's format, `ai-YYYYMMDD-<12 hex>` (UTC date).
 *
 * @example newTraceId(new Date('2026-05-22T03:00:00Z')) // 'ai-20260522-3f9a…'
 */
export function newTraceId(now: Date = new Date()): string {
  return `ai-${now.toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(6).toString('hex')}`;
}

const FIELD_PATTERNS: Readonly<Record<keyof ChangeReviewRequest, { re: RegExp; what: string }>> = {
  ticket: { re: /^[A-Z][A-Z0-9_]{0,31}-[1-9][0-9]{0,9}$/, what: 'a Jira issue key such as CHG-18422' },
  repository: { re: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/, what: 'a repository name such as platform-infra' },
  pull_request: { re: /^[1-9][0-9]{0,9}$/, what: 'a pull request number such as 991' },
};

/**
 * The request body checked as the seed's `ChangeReviewRequest` (three strings), with the
 * shapes the connectors accept; unknown fields are refused.
 */
export function parseReviewRequest(input: unknown): { ok: true; value: ChangeReviewRequest } | { ok: false; errors: ValidationItem[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { ok: false, errors: [{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object' }] };
  const body = input as Record<string, unknown>;
  const errors: ValidationItem[] = [];
  for (const key of Object.keys(body)) if (!(key in FIELD_PATTERNS)) errors.push({ type: 'extra_forbidden', loc: ['body', key], msg: 'Extra inputs are not permitted' });
  for (const [field, { re, what }] of Object.entries(FIELD_PATTERNS)) {
    const v = body[field];
    if (v === undefined) errors.push({ type: 'missing', loc: ['body', field], msg: 'Field required' });
    else if (typeof v !== 'string') errors.push({ type: 'string_type', loc: ['body', field], msg: 'Input should be a valid string' });
    else if (!re.test(v)) errors.push({ type: 'string_pattern_mismatch', loc: ['body', field], msg: `Input should be ${what}` });
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { ticket: body['ticket'] as string, repository: body['repository'] as string, pull_request: body['pull_request'] as string } };
}

/** The 1-based line of an offset in a text. */
const lineAt = (text: string, offset: number): number => text.slice(0, offset).split('\n').length;

/**
 * @example
 * const review = createChangeReview({ gateway, backend: fixtureBackend() });
 * const outcome = await review.run(principal, { ticket: 'CHG-18422', repository: 'platform-infra', pull_request: '991' });
 */
export function createChangeReview(options: ChangeReviewOptions): ChangeReview {
  const { gateway, backend } = options;
  const channel = options.slackChannel ?? DEFAULT_SLACK_CHANNEL;
  const account = options.awsAccount ?? DEFAULT_AWS_ACCOUNT;
  const space = options.standardsSpace ?? DEFAULT_STANDARDS_SPACE;

  const audit = async (event: { type: 'review.prompt_injection_detected' | 'review.completed' | 'review.failed'; traceId: string; principal: Principal; data: Record<string, unknown> }) => {
    const { id, groups, deviceCompliant } = event.principal;
    await gateway.auditLog?.append({ ...event, principal: { id, groups, ...(deviceCompliant !== undefined ? { deviceCompliant } : {}) }, surface: 'change-review' });
  };
  /** A connector's failure as the seed would answer it: 404 for what does not exist, else 502. */
  const connectorFailure = async (traceId: string, principal: Principal, tool: ReviewTool, errors: BastionError[]): Promise<ReviewOutcome> => {
    const first = errors[0];
    const status = first?.code === 'NOT_FOUND' ? 404 : 502;
    await audit({ type: 'review.failed', traceId, principal, data: { tool_name: tool, error: first?.code ?? 'CONNECTOR_FAILED', message: first?.message ?? 'connector failed' } });
    return { status, body: { detail: `${tool}: ${first?.message ?? 'connector failed'}` }, traceId };
  };

  return {
    async run(principal, input) {
      const parsed = parseReviewRequest(input);
      if (!parsed.ok) return { status: 422, body: { detail: parsed.errors } };
      const request = parsed.value;
      const traceId = newTraceId(options.now?.() ?? new Date());
      const ctx: ToolCallContext = { principal, traceId, change: { ...request } };
      const prNumber = Number(request.pull_request);

      // Plan: every tool the run needs is authorized before anything is read (the seed's
      // authorize_tools); the writes are decided again with their text when they are called.
      const planArgs: { [T in ReviewTool]: ToolArgs[T] } = {
        jira_read: { ticket: request.ticket },
        github_read_pr: { repository: request.repository, pull_request: request.pull_request },
        confluence_read: { space },
        aws_dev_read: { account },
        jira_add_comment: { ticket: request.ticket },
        slack_post_message: { channel },
      };
      const decisions: ToolDecision[] = [];
      for (const tool of REVIEW_TOOLS) decisions.push(toolDecision(tool, await decideTool(gateway, tool, planArgs[tool] as never, ctx, 'plan')));
      const denied = decisions.filter((d) => !d.allowed);
      if (denied.length > 0) return { status: 403, body: { detail: { message: REVIEW_MESSAGES.denied, denied, trace_id: traceId } }, traceId };

      const ticket = await backend.readTicket(request.ticket);
      if (!ticket.ok) return await connectorFailure(traceId, principal, 'jira_read', ticket.errors);
      const pull = await backend.readPullRequest(request.repository, prNumber);
      if (!pull.ok) return await connectorFailure(traceId, principal, 'github_read_pr', pull.errors);
      const standards = await backend.readStandards();
      if (!standards.ok) return await connectorFailure(traceId, principal, 'confluence_read', standards.errors);
      const aws = await backend.describeAccount(account);
      if (!aws.ok) return await connectorFailure(traceId, principal, 'aws_dev_read', aws.errors);

      // Evidence only: every retrieved text is inspected (secrets, injection) before use.
      const texts = retrievedTexts(ticket.value, pull.value, standards.value.standards.map((s) => `${s.id}: ${s.text}`).join('\n'));
      const indicators: { source: string; score: number; techniques: string[] }[] = [];
      const secretFindings: Finding[] = [];
      for (const t of texts) {
        const inspected = await gateway.inspectResult({ traceId, action: t.tool, text: t.text, source: t.source });
        if (inspected.injection.attack) indicators.push({ source: t.source, score: inspected.injection.score, techniques: inspected.injection.techniques });
        if (t.file?.endsWith('.tf')) {
          const spec = FINDING_SPECS.hardcoded_secret;
          for (const f of inspected.findings.filter((x) => x.type === 'secret')) {
            secretFindings.push({
              kind: 'hardcoded_secret',
              message: spec.message,
              severity: spec.severity,
              remediation: spec.remediation,
              file: t.file,
              line: lineAt(t.text, f.start),
              evidence: `${f.rule} (redacted)`,
            });
          }
        }
      }
      if (indicators.length > 0) {
        await audit({ type: 'review.prompt_injection_detected', traceId, principal, data: { indicators, ticket: request.ticket, repository: request.repository, pull_request: request.pull_request } });
        return { status: 400, body: { detail: REVIEW_MESSAGES.injection }, traceId };
      }

      const found = [...secretFindings, ...(await analyzeTerraform(pull.value.files)), ...ticketFindings(ticket.value)];
      const review = buildReview(found, standards.value.standards);
      // The model, when there is one, sees the computed review and the ticket's summary line
      // (spotlighted) and adds prose; nothing it says is read back into the review.
      const modelStep: ModelSummary | undefined = options.model ? await summarizeReview(options.model, review, ticket.value) : undefined;
      const narrative = modelStep?.status === 'added' ? modelStep.summary : undefined;
      const deterministic = jiraComment(review, { ticket: request.ticket, repository: request.repository, pullRequest: request.pull_request, traceId });
      const comment = narrative === undefined ? deterministic : `${deterministic}\n### Model summary (advisory; the findings above are authoritative)\n${narrative}\n`;
      const summary = slackSummary(review, request.ticket);
      // The seed's output validation, before anything is posted (the gateway checks the
      // arguments again when each write is decided).
      for (const text of [comment, summary]) {
        if (validateOutput(text, 'block').action !== 'allow') return { status: 400, body: { detail: REVIEW_MESSAGES.outputSecret }, traceId };
      }

      const comment_ = await decideTool(gateway, 'jira_add_comment', { ticket: request.ticket, comment }, ctx, 'call');
      if (comment_.decision !== 'allow')
        return { status: 403, body: { detail: { message: REVIEW_MESSAGES.denied, denied: [toolDecision('jira_add_comment', comment_)], trace_id: traceId } }, traceId };
      const posted = await backend.addComment(request.ticket, comment);
      if (!posted.ok) return await connectorFailure(traceId, principal, 'jira_add_comment', posted.errors);
      const slack = await decideTool(gateway, 'slack_post_message', { channel, message: summary }, ctx, 'call');
      if (slack.decision !== 'allow') return { status: 403, body: { detail: { message: REVIEW_MESSAGES.denied, denied: [toolDecision('slack_post_message', slack)], trace_id: traceId } }, traceId };
      const sent = await backend.postMessage(channel, summary);
      if (!sent.ok) return await connectorFailure(traceId, principal, 'slack_post_message', sent.errors);

      const response: ReviewResponse = {
        ticket: request.ticket,
        repository: request.repository,
        pull_request: request.pull_request,
        risk_rating: review.riskRating,
        findings: review.messages,
        required_approvals: review.requiredApprovals,
        recommended_remediation: review.remediation,
        tools_used: [...REVIEW_TOOLS],
        audit_trace_id: traceId,
        ...(narrative !== undefined ? { summary: narrative } : {}),
      };
      await audit({
        type: 'review.completed',
        traceId,
        principal,
        data: {
          user: principal.id,
          ticket: request.ticket,
          repository: request.repository,
          pull_request: request.pull_request,
          tools_used: [...REVIEW_TOOLS],
          risk_rating: review.riskRating.toLowerCase(),
          approval_required: review.requiredApprovals.length > 0,
          required_approvals: review.requiredApprovals,
          findings: review.findings.map((f) => findingRecord(f, true)),
          jira_result: { ticket: request.ticket, comment_created: true, comment_id: posted.value.id },
          slack_result: { channel, message_posted: true, ts: sent.value.ts },
          aws_context: { account: aws.value.account, region: aws.value.region, affected_services: affectedServices(pull.value) },
          ...(modelStep
            ? { model_summary: modelStep.status === 'added' ? { status: 'added', model: modelStep.model } : { status: modelStep.status, model: modelStep.model, reason: modelStep.reason } }
            : {}),
        },
      });
      return { status: 200, body: response, review, traceId };
    },
  };
}

interface RetrievedText {
  tool: ReviewTool;
  source: string;
  text: string;
  file?: string;
}

function retrievedTexts(ticket: { key: string; summary: string; description: string; rollbackPlan: string | null }, pull: PullRequest, standards: string): RetrievedText[] {
  const out: RetrievedText[] = [
    { tool: 'jira_read', source: `jira:${ticket.key}`, text: [ticket.summary, ticket.description, ticket.rollbackPlan ?? ''].join('\n') },
    { tool: 'github_read_pr', source: `github:${pull.repository}#${pull.number}`, text: `${pull.title}\n${pull.body}` },
  ];
  for (const f of pull.files) if (f.content !== undefined) out.push({ tool: 'github_read_pr', source: `github:${pull.repository}#${pull.number}:${f.path}`, text: f.content, file: f.path });
  out.push({ tool: 'confluence_read', source: 'confluence:standards', text: standards });
  return out;
}

/** The AWS services a pull request's Terraform touches (the seed's `affected_services`). */
export function affectedServices(pull: PullRequest): string[] {
  const services: [RegExp, string][] = [
    [/^aws_s3_/, 's3'],
    [/^aws_iam_/, 'iam'],
    [/^aws_(security_group|vpc_security_group|vpc|subnet|instance|ebs_|launch_template)/, 'ec2'],
    [/^aws_cloudwatch_/, 'cloudwatch'],
    [/^aws_(db_|rds_)/, 'rds'],
    [/^aws_efs_/, 'efs'],
    [/^aws_elasticache_/, 'elasticache'],
  ];
  const found = new Set<string>();
  for (const f of pull.files) {
    for (const m of (f.content ?? '').matchAll(/^\s*(?:resource|data)\s+"([a-z0-9_]+)"/gm)) {
      const type = m[1] as string;
      for (const [re, name] of services) if (re.test(type)) found.add(name);
    }
  }
  const order = services.map(([, n]) => n);
  return [...found].sort((a, b) => order.indexOf(a) - order.indexOf(b));
}
