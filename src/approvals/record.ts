/**
 * An approval's record and the pure rules of its life: creating it, expiry, an approver's
 * decision (quorum of distinct people, one deny ends it), cancellation and single-use
 * consumption. Every adapter of the approval store applies exactly these functions inside
 * its own atomic section (a JS turn in memory, `BEGIN IMMEDIATE` in SQLite, `SELECT … FOR
 * UPDATE` in PostgreSQL), so the rules cannot differ between adapters.
 *
 * Times are milliseconds since the epoch, passed in by the caller: nothing here reads a clock.
 */

import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../core/canonical-json.js';
import { bastionError, quote, type BastionError, type ErrorCode } from '../core/errors.js';
import { fieldPath, pathSegment } from '../core/request.js';
import type { Result } from '../core/result.js';

export const APPROVAL_STATUSES = ['pending', 'approved', 'denied', 'expired', 'consumed', 'cancelled'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];
/** Statuses no operation leaves. */
export const FINAL_APPROVAL_STATUSES: readonly ApprovalStatus[] = ['denied', 'expired', 'consumed', 'cancelled'];

const MAX_ID = 128;
const MAX_NAME = 1024;
const MAX_TEXT = 4096;
const MAX_LIST = 1000;
const HASH = /^[0-9a-f]{64}$/;

const name = z.string().min(1).max(MAX_NAME);
const names = z.array(name).max(MAX_LIST);
const time = z.number().finite().nonnegative();
// Safe in a URL path and ordered the same by every store (ASCII: UTF-16 and byte order agree).
const ID = /^[A-Za-z0-9._:-]{1,128}$/;
const id = z.string().regex(ID, `must be 1 to ${MAX_ID} letters, digits or . _ : -`);
const jsonObject = z.record(z.string(), z.unknown());

const decisionSchema = z.strictObject({
  approver: name,
  groups: names,
  verdict: z.enum(['approve', 'deny']),
  comment: z.string().max(MAX_TEXT).optional(),
  /** Prerequisites this approver supplied (`change_ticket`, `rollback_plan` …), by need. */
  evidence: z.record(z.string().min(1).max(MAX_NAME), z.string().min(1).max(MAX_TEXT)).optional(),
  at: time,
});

const newApprovalSchema = z.strictObject({
  id: id.optional(),
  bindingHash: z.string().regex(HASH, 'must be 64 lowercase hex digits (a SHA-256)'),
  policyVersion: z.string().max(MAX_NAME),
  requester: z.strictObject({ id: name, groups: names }),
  request: z.strictObject({
    action: name,
    resource: z.string().max(MAX_TEXT).optional(),
    environment: z.string().max(MAX_NAME).optional(),
    args: jsonObject,
    context: jsonObject,
  }),
  approverGroups: z.array(name).min(1).max(MAX_LIST),
  quorum: z.number().int().min(1).max(MAX_LIST),
  needs: z.array(z.string().min(1).max(MAX_TEXT)).max(MAX_LIST),
  rule: z.strictObject({ policy: name, rule: name }).optional(),
  reason: z.string().max(MAX_TEXT).optional(),
  traceId: z.string().max(MAX_NAME).optional(),
  createdAt: time,
  expiresAt: time,
});

const recordSchema = newApprovalSchema.extend({
  id,
  status: z.enum(APPROVAL_STATUSES),
  updatedAt: time,
  decisions: z.array(decisionSchema),
  consumedAt: time.optional(),
  cancelled: z.strictObject({ by: name, at: time, reason: z.string().max(MAX_TEXT).optional() }).optional(),
  version: z.number().int().min(1),
});

/** One approver's verdict, kept so quorum and the audit trail can be computed from the record. */
export type ApproverDecision = z.infer<typeof decisionSchema>;
/** What the service hands the store when a decision is `require_approval`. */
export type NewApproval = z.infer<typeof newApprovalSchema>;
/**
 * A stored approval. `status` as read is the effective one: a pending or approved approval
 * whose `expiresAt` has passed reads as `expired` (see `effectiveApproval`).
 */
export type ApprovalRecord = z.infer<typeof recordSchema>;

/** Why an approval operation failed, as a code a caller can branch on. */
export type ApprovalFailureReason =
  | 'invalid'
  | 'not_found'
  | 'exists'
  | 'pending'
  | 'denied'
  | 'expired'
  | 'consumed'
  | 'cancelled'
  | 'approved'
  | 'binding_mismatch'
  | 'already_decided'
  | 'not_an_approver'
  | 'self_approval'
  | 'version_mismatch';

/** A `BastionError` that also says why, for callers that answer differently per reason. */
export interface ApprovalFailure extends BastionError {
  reason: ApprovalFailureReason;
}

export type ApprovalResult = Result<ApprovalRecord, ApprovalFailure>;

export function approvalFailure(code: ErrorCode, reason: ApprovalFailureReason, message: string, field?: string): ApprovalFailure {
  return { ...bastionError(code, message, field === undefined ? {} : { field }), reason };
}

function failed(...errors: ApprovalFailure[]): { ok: false; errors: ApprovalFailure[] } {
  return { ok: false, errors };
}

function issues(where: string, error: z.ZodError): ApprovalFailure[] {
  return error.issues.map((issue) => {
    const field = fieldPath(issue.path.map((p) => pathSegment(typeof p === 'number' ? p : String(p))));
    const message = issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
    return approvalFailure('APPROVAL_INVALID', 'invalid', field === '' ? `${where}: ${message}` : `${where}: field ${quote(field)}: ${message}`, field === '' ? undefined : field);
  });
}

/** Checks an approval id given from outside (a URL, a retried request). */
export function checkApprovalId(value: unknown): ApprovalFailure | undefined {
  if (typeof value === 'string' && ID.test(value)) return undefined;
  return approvalFailure('APPROVAL_INVALID', 'invalid', `approval id ${quote(value)} must be 1 to ${MAX_ID} letters, digits or . _ : -`);
}

/** Checks a time given to a store method (ms since the epoch). */
export function checkTime(value: unknown, what: string): ApprovalFailure | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return undefined;
  return approvalFailure('APPROVAL_INVALID', 'invalid', `${what} ${quote(value)} must be a time in ms since the epoch`);
}

function notFound(approvalId: string): ApprovalFailure {
  return approvalFailure('APPROVAL_NOT_FOUND', 'not_found', `no approval has id ${quote(approvalId)}`);
}

function conflict(record: ApprovalRecord, reason: ApprovalFailureReason, message: string): ApprovalFailure {
  return approvalFailure('APPROVAL_CONFLICT', reason, `approval ${quote(record.id)}: ${message}`);
}

/**
 * Builds the record of a new approval: status `pending`, version 1, no decisions. The id is
 * a random UUID unless one is given. Fails on malformed input, or an expiry not after
 * creation.
 *
 * @example
 * createApprovalRecord({ ...input, createdAt: now, expiresAt: now + 15 * 60_000 })
 */
export function createApprovalRecord(input: unknown): ApprovalResult {
  const parsed = newApprovalSchema.safeParse(input);
  if (!parsed.success) return failed(...issues('new approval', parsed.error));
  const value = parsed.data;
  if (value.expiresAt <= value.createdAt) return failed(approvalFailure('APPROVAL_INVALID', 'invalid', 'new approval: field `expiresAt` must be after `createdAt`', 'expiresAt'));
  // INVARIANT: the bound call is plain JSON, so every adapter stores and returns the same data.
  const json = canonicalJson(value.request);
  if (!json.ok) {
    const e = json.errors[0];
    const field = `request${e?.path.slice(1) ?? ''}`;
    return failed(approvalFailure('APPROVAL_INVALID', 'invalid', `new approval: field ${quote(field)}: ${e?.message ?? 'is not JSON data'}`, field));
  }
  const { id: given, ...rest } = value;
  return { ok: true, value: { ...rest, id: given ?? randomUUID(), status: 'pending', updatedAt: value.createdAt, decisions: [], version: 1 } };
}

/**
 * Parses a record read back from storage; a malformed one (hand-edited, damaged) is
 * reported, never used.
 */
export function parseApprovalRecord(value: unknown, where: string): Result<ApprovalRecord, BastionError> {
  const parsed = recordSchema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, errors: issues(where, parsed.error).map((e) => bastionError('STATE_STORAGE', e.message)) };
}

/** The record as of `now`: pending or approved past its expiry reads as `expired`. */
export function effectiveApproval(record: ApprovalRecord, now: number): ApprovalRecord {
  if ((record.status === 'pending' || record.status === 'approved') && now >= record.expiresAt) return { ...record, status: 'expired' };
  return record;
}

/** The status the record has at `now` (see `effectiveApproval`). */
export function effectiveStatus(record: Pick<ApprovalRecord, 'status' | 'expiresAt'>, now: number): ApprovalStatus {
  return (record.status === 'pending' || record.status === 'approved') && now >= record.expiresAt ? 'expired' : record.status;
}

/** The record to write when `expire(now)` reaches it, or undefined when it is not due. */
export function expireApproval(record: ApprovalRecord, now: number): ApprovalRecord | undefined {
  if ((record.status !== 'pending' && record.status !== 'approved') || record.expiresAt > now) return undefined;
  return bump(record, now, { status: 'expired' });
}

/** Distinct approvers who approved: the count that reaches the quorum. */
export function approvalsCounted(record: ApprovalRecord): number {
  return new Set(record.decisions.filter((d) => d.verdict === 'approve').map((d) => d.approver)).size;
}

function bump(record: ApprovalRecord, now: number, change: Partial<ApprovalRecord>): ApprovalRecord {
  return { ...record, ...change, updatedAt: Math.max(now, record.updatedAt), version: record.version + 1 };
}

function stateConflict(record: ApprovalRecord, wanted: string): ApprovalFailure {
  const status = record.status;
  return conflict(record, status, `is ${status}, so it cannot ${wanted}`);
}

/** One atomic change of an approval; the store applies it with `applyApprovalChange`. */
export type ApprovalChange =
  | { kind: 'decide'; decision: ApproverDecision; expectedVersion?: number }
  | { kind: 'cancel'; by: string; reason?: string; expectedVersion?: number }
  | { kind: 'consume'; bindingHash: string };

/**
 * Applies one change to a stored record (undefined when no record has the id) as of `now`,
 * returning the record to write back. Adapters call it inside their atomic section and
 * write only when it succeeds.
 *
 * - `decide`: only while pending (and unexpired); the approver must be in one of the
 *   approver groups, may not be the requester, and decides once. A deny ends it; approvals
 *   from distinct people reaching the quorum approve it.
 * - `cancel`: while pending or approved.
 * - `consume`: exactly once, only when approved, unexpired and bound to the same call.
 */
export function applyApprovalChange(approvalId: string, stored: ApprovalRecord | undefined, change: ApprovalChange, now: number): ApprovalResult {
  if (stored === undefined) return failed(notFound(approvalId));
  const record = effectiveApproval(stored, now);
  if ('expectedVersion' in change && change.expectedVersion !== undefined && change.expectedVersion !== record.version) {
    return failed(conflict(record, 'version_mismatch', `is at version ${record.version}, not ${quote(change.expectedVersion)}`));
  }
  switch (change.kind) {
    case 'decide': {
      const decision = change.decision;
      if (record.status !== 'pending') return failed(stateConflict(record, 'be decided'));
      if (decision.approver === record.requester.id) return failed(conflict(record, 'self_approval', `${quote(decision.approver)} requested it and cannot decide on it`));
      if (!decision.groups.some((g) => record.approverGroups.includes(g))) {
        return failed(conflict(record, 'not_an_approver', `${quote(decision.approver)} is in none of the approver groups (${record.approverGroups.map((g) => quote(g)).join(', ')})`));
      }
      if (record.decisions.some((d) => d.approver === decision.approver)) return failed(conflict(record, 'already_decided', `${quote(decision.approver)} has already decided on it`));
      const decisions = [...record.decisions, { ...decision, groups: [...decision.groups] }];
      const next = bump(record, now, { decisions });
      if (decision.verdict === 'deny') next.status = 'denied';
      else if (approvalsCounted(next) >= record.quorum) next.status = 'approved';
      return { ok: true, value: next };
    }
    case 'cancel':
      if (record.status !== 'pending' && record.status !== 'approved') return failed(stateConflict(record, 'be cancelled'));
      return { ok: true, value: bump(record, now, { status: 'cancelled', cancelled: { by: change.by, at: now, ...(change.reason === undefined ? {} : { reason: change.reason }) } }) };
    case 'consume':
      if (record.status !== 'approved') return failed(stateConflict(record, 'be consumed'));
      if (change.bindingHash !== record.bindingHash)
        return failed(conflict(record, 'binding_mismatch', 'was approved for another call (principal, action, resource, environment, arguments, context or policy version differ)'));
      return { ok: true, value: bump(record, now, { status: 'consumed', consumedAt: now }) };
  }
}

/** Checks the operands every store method shares, before it touches storage. */
export function checkApprovalChange(approvalId: unknown, change: ApprovalChange, now: unknown): ApprovalFailure[] {
  const errors: ApprovalFailure[] = [];
  const idError = checkApprovalId(approvalId);
  if (idError) errors.push(idError);
  const nowError = checkTime(now, 'now');
  if (nowError) errors.push(nowError);
  if ('expectedVersion' in change && change.expectedVersion !== undefined && !(Number.isSafeInteger(change.expectedVersion) && change.expectedVersion >= 1)) {
    errors.push(approvalFailure('APPROVAL_INVALID', 'invalid', `expected version ${quote(change.expectedVersion)} must be a whole number from 1`));
  }
  switch (change.kind) {
    case 'decide': {
      const parsed = decisionSchema.safeParse(change.decision);
      if (!parsed.success) errors.push(...issues('decision', parsed.error));
      break;
    }
    case 'cancel':
      if (typeof change.by !== 'string' || change.by === '' || change.by.length > MAX_NAME)
        errors.push(approvalFailure('APPROVAL_INVALID', 'invalid', `cancelled by ${quote(change.by)}: must be a principal id`));
      if (change.reason !== undefined && (typeof change.reason !== 'string' || change.reason.length > MAX_TEXT))
        errors.push(approvalFailure('APPROVAL_INVALID', 'invalid', `cancel reason must be a string of at most ${MAX_TEXT} characters`));
      break;
    case 'consume':
      if (typeof change.bindingHash !== 'string' || !HASH.test(change.bindingHash))
        errors.push(approvalFailure('APPROVAL_INVALID', 'invalid', `binding hash ${quote(change.bindingHash)} must be 64 lowercase hex digits (a SHA-256)`));
      break;
    default:
      errors.push(approvalFailure('APPROVAL_INVALID', 'invalid', `unknown approval change ${quote((change as { kind?: unknown }).kind)}`));
  }
  return errors;
}

/** Filters of `list`; every given filter must hold. */
export interface ApprovalFilter {
  /** The effective status (an expired-on-read approval matches `expired`, not `pending`). */
  status?: ApprovalStatus;
  /** Requester's principal id. */
  requester?: string;
  /** At most this many records (default 100, at most 1000). */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}

export interface ApprovalPage {
  /** Oldest first (by creation time, then id). */
  records: ApprovalRecord[];
  /** Present when more records may follow: pass it as `cursor`. */
  nextCursor?: string;
}

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

/** The position after a record in the list order, as an opaque cursor. */
export function approvalCursor(record: Pick<ApprovalRecord, 'createdAt' | 'id'>): string {
  return Buffer.from(JSON.stringify([record.createdAt, record.id])).toString('base64url');
}

export interface ListQuery {
  status?: ApprovalStatus;
  requester?: string;
  limit: number;
  after?: { createdAt: number; id: string };
}

/** Checks a filter and turns it into the query adapters run. */
export function checkApprovalFilter(filter: unknown, now: unknown): Result<ListQuery, ApprovalFailure> {
  const errors: ApprovalFailure[] = [];
  const nowError = checkTime(now, 'now');
  if (nowError) errors.push(nowError);
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return failed(...errors, approvalFailure('APPROVAL_INVALID', 'invalid', 'approval filter must be an object'));
  const f = filter as Record<string, unknown>;
  const query: ListQuery = { limit: DEFAULT_PAGE };
  for (const key of Object.keys(f))
    if (!['status', 'requester', 'limit', 'cursor'].includes(key))
      errors.push(approvalFailure('APPROVAL_INVALID', 'invalid', `approval filter: unknown field ${quote(key)} (expected status, requester, limit, cursor)`, key));
  if (f['status'] !== undefined) {
    if (!APPROVAL_STATUSES.includes(f['status'] as ApprovalStatus))
      errors.push(approvalFailure('APPROVAL_INVALID', 'invalid', `approval filter: status ${quote(f['status'])} is not one of ${APPROVAL_STATUSES.join(', ')}`, 'status'));
    else query.status = f['status'] as ApprovalStatus;
  }
  if (f['requester'] !== undefined) {
    if (typeof f['requester'] !== 'string') errors.push(approvalFailure('APPROVAL_INVALID', 'invalid', `approval filter: requester ${quote(f['requester'])} must be a principal id`, 'requester'));
    else query.requester = f['requester'];
  }
  if (f['limit'] !== undefined) {
    const limit = f['limit'];
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE)
      errors.push(approvalFailure('APPROVAL_INVALID', 'invalid', `approval filter: limit ${quote(limit)} must be a whole number from 1 to ${MAX_PAGE}`, 'limit'));
    else query.limit = limit;
  }
  if (f['cursor'] !== undefined) {
    const after = decodeCursor(f['cursor']);
    if (after === undefined) errors.push(approvalFailure('APPROVAL_INVALID', 'invalid', `approval filter: cursor ${quote(f['cursor'])} is not a cursor this store returned`, 'cursor'));
    else query.after = after;
  }
  return errors.length > 0 ? failed(...errors) : { ok: true, value: query };
}

function decodeCursor(cursor: unknown): { createdAt: number; id: string } | undefined {
  if (typeof cursor !== 'string' || cursor.length > 4 * MAX_ID) return undefined;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && Number.isFinite(value[0]) && typeof value[1] === 'string' && ID.test(value[1]))
      return { createdAt: value[0], id: value[1] };
  } catch {
    // Not base64url JSON: reported by the caller.
  }
  return undefined;
}

/** Whether `record` comes after the cursor position in list order. */
export function afterCursor(record: Pick<ApprovalRecord, 'createdAt' | 'id'>, after: { createdAt: number; id: string } | undefined): boolean {
  if (after === undefined) return true;
  return record.createdAt > after.createdAt || (record.createdAt === after.createdAt && record.id > after.id);
}
