/**
 * Export mappings for SIEMs: OCSF API Activity (class 6003) with the security_control
 * profile, the events as stored (JSON lines), and a mirror of the ZYX seed's
 * `audit_events.jsonl` shape. Pure: one event in, one JSON object out.
 */

import { canonicalJson } from '../core/canonical-json.js';
import type { AuditEvent } from './schema.js';

export const EXPORT_FORMATS = ['ocsf', 'jsonl', 'zyx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const OCSF_VERSION = '1.3.0';
const OCSF_CLASS_UID = 6003;
const OCSF_CATEGORY_UID = 6;

const ACTIVITY: Array<[RegExp, number, string]> = [
  [/(^|[_.:-])(create|add|post|new|insert|open|write|put|upload|send)/i, 1, 'Create'],
  [/(^|[_.:-])(read|get|list|search|query|describe|view|fetch|inspect|scan)/i, 2, 'Read'],
  [/(^|[_.:-])(update|modify|edit|patch|set|change|merge|deploy|execute|exec|run)/i, 3, 'Update'],
  [/(^|[_.:-])(delete|remove|drop|destroy|purge|revoke)/i, 4, 'Delete'],
];

const SEVERITY: Record<string, [number, string]> = {
  low: [2, 'Low'],
  medium: [3, 'Medium'],
  high: [4, 'High'],
  critical: [5, 'Critical'],
};

/** security_control profile: (action_id, action, disposition_id, disposition) per decision. */
const CONTROL: Record<string, [number, string, number, string]> = {
  allow: [1, 'Allowed', 1, 'Allowed'],
  deny: [2, 'Denied', 2, 'Blocked'],
  // The call did not proceed yet: denied for now, delayed until a human approves it.
  require_approval: [2, 'Denied', 14, 'Delayed'],
};

function activityOf(action: string | undefined): [number, string] {
  if (action !== undefined) {
    for (const [pattern, id, name] of ACTIVITY) if (pattern.test(action)) return [id, name];
  }
  return [99, 'Other'];
}

/**
 * Maps an event to OCSF API Activity (6003) with the security_control profile.
 *
 * @example
 * toOcsf(event, { logId }).class_uid // 6003
 */
export function toOcsf(event: AuditEvent, meta: { logId?: string; productVersion?: string } = {}): Record<string, unknown> {
  const [activityId, activityName] = activityOf(event.action);
  const [severityId, severity] = event.risk ? (SEVERITY[event.risk] ?? [0, 'Unknown']) : [1, 'Informational'];
  const out: Record<string, unknown> = {
    class_uid: OCSF_CLASS_UID,
    class_name: 'API Activity',
    category_uid: OCSF_CATEGORY_UID,
    category_name: 'Application Activity',
    activity_id: activityId,
    activity_name: activityName,
    type_uid: OCSF_CLASS_UID * 100 + activityId,
    type_name: `API Activity: ${activityName}`,
    time: Date.parse(event.time),
    severity_id: severityId,
    severity,
    metadata: {
      version: OCSF_VERSION,
      profiles: ['security_control'],
      product: { name: 'Bastion', vendor_name: 'Bastion', ...(meta.productVersion ? { version: meta.productVersion } : {}) },
      log_name: 'bastion-audit',
      sequence: event.seq,
      uid: meta.logId ? `${meta.logId}:${event.seq}` : String(event.seq),
      ...(event.traceId ? { correlation_uid: event.traceId } : {}),
    },
    api: { operation: event.action ?? event.type, service: { name: event.surface ?? 'bastion' } },
    unmapped: { bastion_type: event.type, schema_version: event.v },
  };
  if (event.principal) {
    out['actor'] = { user: { uid: event.principal.id, name: event.principal.id, groups: event.principal.groups.map((name) => ({ name })) } };
    if (event.principal.deviceCompliant !== undefined) out['device'] = { is_compliant: event.principal.deviceCompliant, type_id: 0 };
  }
  // The caller's address, where the surface or the agent runtime records it in the context.
  const sourceIp = event.context?.['source_ip'];
  if (typeof sourceIp === 'string' && sourceIp !== '') out['src_endpoint'] = { ip: sourceIp };
  if (event.resource !== undefined) out['resources'] = [{ uid: event.resource, ...(event.environment ? { labels: [`environment:${event.environment}`] } : {}) }];
  if (event.decision !== undefined) {
    const [actionId, action, dispositionId, disposition] = CONTROL[event.decision] ?? [0, 'Unknown', 0, 'Unknown'];
    Object.assign(out, { action_id: actionId, action, disposition_id: dispositionId, disposition });
    out['status_id'] = event.decision === 'allow' ? 1 : 2;
    out['status'] = event.decision === 'allow' ? 'Success' : 'Failure';
  }
  if (event.reason !== undefined) out['message'] = event.reason;
  if (event.policyVersion !== undefined || event.matched?.length) {
    const first = event.matched?.[0];
    out['policy'] = {
      name: first?.policy ?? 'bastion',
      ...(first ? { uid: `${first.policy}/${first.rule}` } : {}),
      ...(event.policyVersion !== undefined ? { version: event.policyVersion } : {}),
      ...(event.reason !== undefined ? { desc: event.reason } : {}),
    };
  }
  const unmapped = out['unmapped'] as Record<string, unknown>;
  for (const key of ['args', 'context', 'categories', 'matched', 'risk', 'approvalId', 'model', 'environment', 'data', 'shadow'] as const) {
    if (event[key] !== undefined) unmapped[key] = event[key];
  }
  return out;
}

const ZYX_EVENT_TYPE: Record<string, string> = {
  decision: 'policy_decision',
  'review.prompt_injection_detected': 'prompt_injection_detected',
  'review.completed': 'ai_agent_review_completed',
  'review.failed': 'ai_agent_review_failed',
};

/**
 * Maps an event to the ZYX seed's `audit_events.jsonl` shape (snake_case, `timestamp_utc`,
 * `tool_decisions`), keeping Bastion's extra fields alongside.
 *
 * @example
 * toZyx(event).event_type // 'policy_decision'
 */
export function toZyx(event: AuditEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {
    event_type: ZYX_EVENT_TYPE[event.type] ?? event.type.replace(/\./g, '_'),
    timestamp_utc: event.time,
    seq: event.seq,
  };
  if (event.traceId !== undefined) out['trace_id'] = event.traceId;
  if (event.principal) {
    out['user'] = event.principal.id;
    out['groups'] = event.principal.groups;
    if (event.principal.deviceCompliant !== undefined) out['device_compliant'] = event.principal.deviceCompliant;
  }
  if (event.action !== undefined && event.decision !== undefined) {
    out['tool_decisions'] = [
      {
        tool_name: event.action,
        allowed: event.decision === 'allow',
        reason: event.reason ?? '',
        approval_required: event.decision === 'require_approval',
      },
    ];
  }
  const pairs: Array<[string, unknown]> = [
    ['tool_name', event.action],
    ['resource', event.resource],
    ['environment', event.environment],
    ['arguments', event.args],
    ['context', event.context],
    ['risk_rating', event.risk],
    ['categories', event.categories],
    ['matched_rules', event.matched],
    ['policy_version', event.policyVersion],
    ['approval_id', event.approvalId],
    ['model_provider', event.model?.provider],
    ['model', event.model?.model],
    ['surface', event.surface],
    ['data', event.data],
  ];
  for (const [key, value] of pairs) if (value !== undefined) out[key] = value;
  // The change review's events carry the seed's fields (ticket, tools_used, risk_rating …)
  // at the top level, as the seed writes them.
  if (event.type.startsWith('review.') && event.data) {
    delete out['data'];
    for (const [key, value] of Object.entries(event.data)) if (!(key in out) || key === 'risk_rating') out[key] = value;
  }
  return out;
}

/**
 * One export line (no newline) for an event in the given format; sorted keys throughout, as
 * the ZYX seed's `json.dumps(sort_keys=True)` writes them.
 *
 * @example
 * exportLine(event, 'ocsf', { logId })
 */
export function exportLine(event: AuditEvent, format: ExportFormat, meta: { logId?: string } = {}): string {
  const value = format === 'ocsf' ? toOcsf(event, meta) : format === 'zyx' ? toZyx(event) : event;
  const json = canonicalJson(value);
  // Stored events were canonical when written; a mapping of them is plain data too.
  return json.ok ? json.value : JSON.stringify(value);
}
