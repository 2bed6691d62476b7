/**
 * The audit event schema (version 1): what every record holds, how an input is checked
 * before it is appended, and how a decision becomes an event. docs/audit.md documents the
 * fields; a change to their meaning bumps `AUDIT_SCHEMA_VERSION`.
 */

import type { Risk } from '../core/risk.js';
import { declaredRisk, isRisk } from '../core/risk.js';
import type { ActionRequest, Decision, Effect, MatchedRule } from '../core/types.js';
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
  'kill_switch.changed',
  'execution',
  'validation',
  'policy.loaded',
  'service.start',
  'service.stop',
  'audit.pruned',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** The principal as recorded: identity, groups and device posture at decision time. */
export interface AuditPrincipal {
  id: string;
  groups: string[];
  deviceCompliant?: boolean;
}

/** What a caller hands to `append()`; the log adds `v`, `seq` and `time`. */
export interface AuditEventInput {
  type: AuditEventType;
  traceId?: string;
  principal?: AuditPrincipal;
  action?: string;
  resource?: string;
  environment?: string;
  /** Arguments after redaction: secrets never reach the log in clear. */
  args?: Record<string, unknown>;
  /** Request context after redaction (ticket, repository, pull request …). */
  context?: Record<string, unknown>;
  decision?: Effect;
  reason?: string;
  matched?: MatchedRule[];
  risk?: Risk;
  categories?: string[];
  policyVersion?: string;
  model?: { provider?: string; model?: string };
  /** The surface that decided: `library`, `cli`, `http`, `openai-proxy`, `mcp`, `exec`. */
  surface?: string;
  approvalId?: string;
  /** Type-specific facts: exit code and output digest of an execution, a validation's findings … */
  data?: Record<string, unknown>;
}

/** One stored, hash-chained record. */
export interface AuditEvent extends AuditEventInput {
  /** Schema version. */
  v: number;
  /** Position in the log, from 1, without gaps. */
  seq: number;
  /** When the log accepted the event, ISO 8601 UTC with milliseconds. */
  time: string;
}

const TYPES = new Set<string>(AUDIT_EVENT_TYPES);
const STRING_FIELDS = ['traceId', 'action', 'resource', 'environment', 'reason', 'policyVersion', 'surface', 'approvalId'] as const;
const OBJECT_FIELDS = ['args', 'context', 'data'] as const;
const KNOWN_FIELDS = new Set<string>([
  'type', 'principal', 'decision', 'matched', 'risk', 'categories', 'model', ...STRING_FIELDS, ...OBJECT_FIELDS,
]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks an event input's shape; returns the problems found (empty when valid). JSON-ability
 * of the free-form parts is checked later, by canonicalization.
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
  if (typeof input['type'] !== 'string' || !TYPES.has(input['type'])) problems.push('field `type`: unknown event type');
  for (const key of STRING_FIELDS) {
    if (input[key] !== undefined && typeof input[key] !== 'string') problems.push(`field \`${key}\`: expected a string`);
  }
  for (const key of OBJECT_FIELDS) {
    if (input[key] !== undefined && !isPlainObject(input[key])) problems.push(`field \`${key}\`: expected an object`);
  }
  const principal = input['principal'];
  if (principal !== undefined) {
    if (!isPlainObject(principal) || typeof principal['id'] !== 'string' || !Array.isArray(principal['groups'])
      || !principal['groups'].every((g) => typeof g === 'string')) {
      problems.push('field `principal`: expected {id, groups[]}');
    } else if (principal['deviceCompliant'] !== undefined && typeof principal['deviceCompliant'] !== 'boolean') {
      problems.push('field `principal.deviceCompliant`: expected a boolean');
    }
  }
  if (input['decision'] !== undefined && !(EFFECTS as readonly unknown[]).includes(input['decision'])) {
    problems.push('field `decision`: expected allow, deny or require_approval');
  }
  if (input['risk'] !== undefined && !isRisk(input['risk'])) problems.push('field `risk`: expected low, medium, high or critical');
  const categories = input['categories'];
  if (categories !== undefined && !(Array.isArray(categories) && categories.every((c) => typeof c === 'string'))) {
    problems.push('field `categories`: expected a list of strings');
  }
  const matched = input['matched'];
  if (matched !== undefined && !(Array.isArray(matched) && matched.every((m) => isPlainObject(m)))) {
    problems.push('field `matched`: expected a list of {policy, rule, effect}');
  }
  const model = input['model'];
  if (model !== undefined && !isPlainObject(model)) problems.push('field `model`: expected an object');
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
  extras: { redact: (value: unknown) => unknown; model?: { provider?: string; model?: string }; surface?: string },
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
  const approvalId = decision.approval?.id ?? request.approvalId;
  if (approvalId !== undefined) event.approvalId = approvalId;
  const data: Record<string, unknown> = {};
  if (decision.errors.length > 0) data['errors'] = [...decision.errors];
  if (decision.obligations.length > 0) data['obligations'] = decision.obligations;
  if (decision.approval !== undefined) data['approvalStatus'] = decision.approval.status;
  const declared = declaredRisk(request);
  if (declared !== undefined) data['declaredRisk'] = declared;
  if (Object.keys(data).length > 0) event.data = data;
  return event;
}
