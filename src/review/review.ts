/**
 * From findings to the review: the risk rating (the worst severity), the approvals and
 * remediation they call for, the standard each breaks, and the two texts the workflow posts
 * (the Jira comment in the seed's layout, with file, line and standard for each finding; the
 * Slack summary in the seed's words). Pure: no I/O, the same findings give the same review.
 */

import { FINDING_ORDER, FINDING_SPECS } from './catalogue.js';
import type { ChangeTicket, Finding, RiskRating, SecurityStandard, Severity } from './types.js';

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2, critical: 3 };
const RATING: Readonly<Record<Severity, RiskRating>> = { low: 'Low', medium: 'Medium', high: 'High', critical: 'Critical' };

export const APPROVALS = {
  cloudSecurity: 'Cloud Security approval',
  platformOwner: 'Platform owner approval',
  changeManager: 'Change manager approval before production promotion',
} as const;

export interface Review {
  riskRating: RiskRating;
  /** Every finding, ordered by kind (the catalogue's order), then as found. */
  findings: Finding[];
  /** One sentence per distinct finding message. */
  messages: string[];
  requiredApprovals: string[];
  remediation: string[];
}

/** The ticket's own finding: a change without a rollback plan. */
export function ticketFindings(ticket: ChangeTicket): Finding[] {
  if (ticket.rollbackPlan !== null && ticket.rollbackPlan.trim() !== '') return [];
  const spec = FINDING_SPECS.rollback_plan_missing;
  return [{ kind: 'rollback_plan_missing', message: spec.message, severity: spec.severity, remediation: spec.remediation, evidence: `${ticket.key} has no rollback plan` }];
}

const unique = (items: readonly string[]): string[] => [...new Set(items)];

/**
 * The review of a change: rating, approvals and remediation derived from the findings, each
 * finding tied to its standard (when the standards page has it).
 *
 * @example buildReview([], standards).riskRating // 'Low'
 */
export function buildReview(found: readonly Finding[], standards: readonly SecurityStandard[]): Review {
  const byId = new Map(standards.map((s) => [s.id, s]));
  const findings = [...found]
    .map((f, i) => ({ f, i }))
    .sort((a, b) => FINDING_ORDER.indexOf(a.f.kind) - FINDING_ORDER.indexOf(b.f.kind) || a.i - b.i)
    .map(({ f }) => {
      const standard = byId.get(FINDING_SPECS[f.kind].standardId);
      return standard ? { ...f, standard } : { ...f };
    });
  const worst = findings.reduce<Severity>((w, f) => (SEVERITY_RANK[f.severity] > SEVERITY_RANK[w] ? f.severity : w), 'low');
  const rank = SEVERITY_RANK[worst];
  // Security signs off what is high or worse; every infrastructure change has its owner's
  // approval; what is not low risk goes through the change manager before production.
  const requiredApprovals = [...(rank >= SEVERITY_RANK.high ? [APPROVALS.cloudSecurity] : []), APPROVALS.platformOwner, ...(rank >= SEVERITY_RANK.medium ? [APPROVALS.changeManager] : [])];
  return {
    riskRating: RATING[worst],
    findings,
    messages: unique(findings.map((f) => f.message)),
    requiredApprovals,
    remediation: unique(findings.map((f) => f.remediation)),
  };
}

/**
 * A finding as plain data (the audit event's shape). Without `detail`, no resource name or
 * evidence: those are quoted from the pull request, which the model step must not see.
 */
export function findingRecord(f: Finding, detail: boolean): Record<string, string | number> {
  return {
    kind: f.kind,
    severity: f.severity,
    message: f.message,
    ...(f.file !== undefined ? { file: f.file } : {}),
    ...(f.line !== undefined ? { line: f.line } : {}),
    ...(detail && f.resource !== undefined ? { resource: f.resource } : {}),
    ...(detail && f.evidence !== undefined ? { evidence: f.evidence } : {}),
    ...(f.standard ? { standard: f.standard.id } : {}),
  };
}

/** Where a finding is, for the comment: `` `terraform/s3.tf` line 2, `aws_s3_bucket.x` ``. */
function location(f: Finding): string {
  const parts = [f.file !== undefined ? `\`${f.file}\`${f.line !== undefined ? ` line ${f.line}` : ''}` : undefined, f.resource !== undefined ? `\`${f.resource}\`` : undefined, f.evidence];
  return parts.filter((p) => p !== undefined).join(', ');
}

export interface CommentInput {
  ticket: string;
  repository: string;
  pullRequest: string;
  traceId: string;
}

/**
 * The Jira comment: the seed's layout, each finding followed by its evidence and standard.
 *
 * @example jiraComment(review, { ticket: 'CHG-18422', repository: 'platform-infra', pullRequest: '991', traceId })
 */
export function jiraComment(review: Review, input: CommentInput): string {
  const bullets = (items: readonly string[]) => (items.length > 0 ? items.map((i) => `- ${i}`).join('\n') : '- None');
  const findingLines = review.messages.map((message) => {
    const evidence = review.findings.filter((f) => f.message === message).map((f) => `  - ${location(f)}${f.standard ? ` (standard ${f.standard.id}: ${f.standard.text})` : ''}`);
    return [`- ${message}`, ...evidence].join('\n');
  });
  return `## AI Security Review Summary
Change: ${input.ticket}
Linked PR: ${input.repository}/pull/${input.pullRequest}
Risk rating: ${review.riskRating}

### Findings
${findingLines.length > 0 ? findingLines.join('\n') : '- None'}

### Required approvals
${bullets(review.requiredApprovals)}

### Recommended remediation
${bullets(review.remediation)}

This review is advisory and requires human validation before deployment.
Audit trace: ${input.traceId}
`;
}

/**
 * The Slack summary: the seed's sentence when Cloud Security must review, naming the items
 * of medium severity or worse; a one-line result otherwise.
 *
 * @example slackSummary(review, 'CHG-18422') // 'CHG-18422 requires Cloud Security review before promotion. High-risk items: …'
 */
export function slackSummary(review: Review, ticket: string): string {
  const labels = unique(review.findings.filter((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK.medium).flatMap((f) => FINDING_SPECS[f.kind].label ?? []));
  if (review.requiredApprovals.includes(APPROVALS.cloudSecurity)) return `${ticket} requires Cloud Security review before promotion. High-risk items: ${labels.join(', ')}.`;
  if (review.findings.length === 0) return `${ticket} security review found no issues (risk ${review.riskRating}). ${APPROVALS.platformOwner} required before promotion.`;
  return `${ticket} security review: risk ${review.riskRating}, ${review.findings.length} finding${review.findings.length === 1 ? '' : 's'}${labels.length > 0 ? ` (${labels.join(', ')})` : ''}. See the Jira comment.`;
}
