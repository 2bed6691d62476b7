/**
 * The audit event schema (version 1): what every record holds, how an input is checked
 * before it is appended, and how a decision becomes an event. docs/audit.md documents the
 * fields; a change to their meaning bumps `AUDIT_SCHEMA_VERSION`.
 */

import * as z from 'zod';
import { declaredRisk, RISKS } from '../core/risk.js';
import { isPlainObject, jsonObject } from '../core/schema.js';
import type { ActionRequest, Decision } from '../core/types.js';
import { EFFECTS } from '../core/types.js';

/** Version of the event schema, stored in every event as `v`. */
export const AUDIT_SCHEMA_VERSION = 1;

export const AUDIT_EVENT_TYPES = [
  'decision',
  'approval.requested',
  'approval.approved',
  'approval.denied',
  'approval.expired',
  'approval.consumed',
  'approval.cancelled',
  'notification.failed',
  'kill_switch.changed',
  'api_key.created',
  'api_key.revoked',
  'identity.refused',
  'limits.fail_open',
  'execution',
  'validation',
  'policy.loaded',
  'service.start',
  'service.stop',
  'audit.pruned',
  'review.prompt_injection_detected',
  'review.completed',
  'review.failed',
  'mcp.tool.pinned',
  'mcp.tool.changed',
  'mcp.tool.refused',
  'mcp.tool.accepted',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

const MATCHED = 'field `matched`: expected a list of {policy, rule, effect}';
const str = (field: string) => z.string({ error: `field \`${field}\`: expected a string` });
const record = (field: string) => jsonObject(`field \`${field}\`: expected an object`);

/** The principal as recorded: identity, groups and device posture at decision time. */
export const AuditPrincipalSchema = z.object(
  {
    id: z.string({ error: 'field `principal`: expected {id, groups[]}' }),
    groups: z.array(z.string({ error: 'field `principal`: expected {id, groups[]}' }), { error: 'field `principal`: expected {id, groups[]}' }),
    deviceCompliant: z.boolean({ error: 'field `principal.deviceCompliant`: expected a boolean' }).optional(),
  },
  { error: 'field `principal`: expected {id, groups[]}' },
);
export type AuditPrincipal = z.output<typeof AuditPrincipalSchema>;

/** What a caller hands to `append()`; the log adds `v`, `seq` and `time`. */
export const AuditEventInputSchema = z.object(
  {
    type: z.enum(AUDIT_EVENT_TYPES, { error: 'field `type`: unknown event type' }),
    traceId: str('traceId').optional(),
    principal: AuditPrincipalSchema.optional(),
    action: str('action').optional(),
    resource: str('resource').optional(),
    environment: str('environment').optional(),
    /** Arguments after redaction: secrets never reach the log in clear. */
    args: record('args').optional(),
    /** Request context after redaction (ticket, repository, pull request …). */
    context: record('context').optional(),
    decision: z.enum(EFFECTS, { error: 'field `decision`: expected allow, deny or require_approval' }).optional(),
    reason: str('reason').optional(),
    matched: z
      .array(z.object({ policy: z.string({ error: MATCHED }), rule: z.string({ error: MATCHED }), effect: z.enum(EFFECTS, { error: MATCHED }) }, { error: MATCHED }), { error: MATCHED })
      .optional(),
    risk: z.enum(RISKS, { error: 'field `risk`: expected low, medium, high or critical' }).optional(),
    categories: z.array(z.string({ error: 'field `categories`: expected a list of strings' }), { error: 'field `categories`: expected a list of strings' }).optional(),
    policyVersion: str('policyVersion').optional(),
    model: z
      .object(
        { provider: z.string({ error: 'field `model.provider`: expected a string' }).optional(), model: z.string({ error: 'field `model.model`: expected a string' }).optional() },
        { error: 'field `model`: expected an object' },
      )
      .optional(),
    /** The surface that decided: `library`, `cli`, `http`, `openai-proxy`, `mcp`, `exec`. */
    surface: str('surface').optional(),
    approvalId: str('approvalId').optional(),
    /** Type-specific facts: exit code and output digest of an execution, a validation's findings … */
    data: record('data').optional(),
    /** What a shadow policy set decided for the same request (shadow mode); only `decision` counted. */
    shadow: z
      .object(
        {
          decision: z.enum(EFFECTS, { error: 'field `shadow.decision`: expected allow, deny or require_approval' }),
          reason: z.string({ error: 'field `shadow.reason`: expected a string' }),
          matched: z.array(z.object({ policy: z.string({ error: MATCHED }), rule: z.string({ error: MATCHED }), effect: z.enum(EFFECTS, { error: MATCHED }) }, { error: MATCHED }), { error: MATCHED }),
          policyVersion: z.string({ error: 'field `shadow.policyVersion`: expected a string' }),
          agrees: z.boolean({ error: 'field `shadow.agrees`: expected true or false' }),
        },
        { error: 'field `shadow`: expected an object' },
      )
      .optional(),
  },
  { error: 'event is not an object' },
);
export type AuditEventInput = z.output<typeof AuditEventInputSchema>;

/** One stored, hash-chained record. */
export interface AuditEvent extends AuditEventInput {
  /** Schema version. */
  v: number;
  /** Position in the log, from 1, without gaps. */
  seq: number;
  /** When the log accepted the event, ISO 8601 UTC with milliseconds. */
  time: string;
}

const KNOWN_FIELDS = new Set<string>(Object.keys(AuditEventInputSchema.shape));

/**
 * Checks an event input's shape; returns the problems found (empty when valid). Unknown
 * fields are problems, except members whose value is `undefined` (absent in JSON). The
 * JSON-ability of the free-form parts is checked later, by canonicalization.
 *
 * @example
 * validateEventInput({ type: 'decision', decision: 'maybe' }) // ['field `decision`: …']
 */
export function validateEventInput(input: unknown): string[] {
  if (!isPlainObject(input)) return ['event is not an object'];
  const problems: string[] = [];
  for (const key of Object.keys(input)) {
    if (!KNOWN_FIELDS.has(key) && input[key] !== undefined) problems.push(`unknown field \`${key}\``);
  }
  const parsed = AuditEventInputSchema.safeParse(input);
  if (!parsed.success) {
    // One problem per field, in the schema's words (a bad `principal` is one problem, not one per member).
    const seen = new Set<string>();
    for (const issue of parsed.error.issues) {
      if (seen.has(issue.message)) continue;
      seen.add(issue.message);
      problems.push(issue.message);
    }
  }
  return problems;
}

function redactRecord(value: Record<string, unknown> | undefined, redact: (value: unknown) => unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  const out = redact(value);
  // A redactor that returns something other than an object would lose the shape; keep it
  // under one key instead of dropping it.
  return isPlainObject(out) ? out : { redacted: out };
}

/**
 * Builds a decision event from a request and its decision. `redact` is injected (the
 * scanners' `redactValue`) so secrets in arguments and context never reach the log in clear.
 *
 * @example
 * await log.append(decisionEvent(request, decision, { redact: redactValue, surface: 'cli' }));
 */
export function decisionEvent(
  request: ActionRequest,
  decision: Decision,
  extras: { redact: (value: unknown) => unknown; model?: { provider?: string; model?: string }; surface?: string; shadow?: AuditEventInput['shadow'] },
): AuditEventInput {
  const principal: AuditPrincipal = { id: request.principal.id, groups: [...request.principal.groups] };
  if (request.principal.deviceCompliant !== undefined) principal.deviceCompliant = request.principal.deviceCompliant;
  const event: AuditEventInput = {
    type: 'decision',
    traceId: decision.traceId,
    principal,
    action: request.action,
    decision: decision.decision,
    reason: decision.reason,
    matched: decision.matched.map((m) => ({ policy: m.policy, rule: m.rule, effect: m.effect })),
    risk: decision.risk,
    categories: [...decision.categories],
    policyVersion: decision.policyVersion,
  };
  if (request.resource !== undefined) event.resource = request.resource;
  if (request.environment !== undefined) event.environment = request.environment;
  const args = redactRecord(request.args, extras.redact);
  if (args !== undefined) event.args = args;
  const context = redactRecord(request.context, extras.redact);
  if (context !== undefined) event.context = context;
  if (extras.model !== undefined) event.model = { ...extras.model };
  if (extras.surface !== undefined) event.surface = extras.surface;
  if (extras.shadow !== undefined) event.shadow = { ...extras.shadow, matched: extras.shadow.matched.map((m) => ({ ...m })) };
  const approvalId = decision.approval?.id ?? request.approvalId;
  if (approvalId !== undefined) event.approvalId = approvalId;
  const data: Record<string, unknown> = {};
  if (decision.errors.length > 0) data['errors'] = [...decision.errors];
  if (decision.obligations.length > 0) data['obligations'] = decision.obligations;
  if (decision.approval !== undefined) data['approvalStatus'] = decision.approval.status;
  if (decision.limit !== undefined) data['limit'] = { ...decision.limit };
  if (decision.taintedBy !== undefined) data['taintedBy'] = decision.taintedBy.map((t) => ({ ...t }));
  // The files an allowed call downloads are kept for its trace: a later call that runs one is critical.
  const downloads = decision.analysis?.['downloads'];
  if (decision.decision === 'allow' && Array.isArray(downloads) && downloads.length > 0) data['downloads'] = [...(downloads as string[])];
  if (decision.wouldBlock !== undefined) data['would_block'] = decision.wouldBlock.map((w) => ({ ...w }));
  const declared = declaredRisk(request);
  if (declared !== undefined) data['declaredRisk'] = declared;
  if (Object.keys(data).length > 0) event.data = data;
  return event;
}
