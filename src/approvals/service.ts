/**
 * The approvals workflow over the store: what the gateway does around the engine when a call
 * needs a human (create the approval bound to the call, look up the one a retry names, use it
 * once), and what approvers and requesters do (approve, deny, cancel, wait). Every transition
 * is audited and announced to the notifier; the rules themselves (quorum, distinct people, one
 * deny ends it, single use) are the record's and run inside the store's atomic section.
 *
 *   decide: check(request) → engine(snapshot) → settle(decision): create | reuse | consume
 *   humans: approve/deny(id, principal, {comment, evidence}) · cancel(id, requester) · wait(id)
 *   timer:  sweep() writes `expired` once per approval
 *
 * Times come from the injected clock; nothing here picks a storage adapter.
 */

import type { AuditEventInput } from '../audit/index.js';
import { canonicalJson } from '../core/canonical-json.js';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';
import type { ActionRequest, ApprovalRequirement, Decision, DecisionApproval, Principal } from '../core/types.js';
import { approvalBinding, approvalBindingHash, withoutSource } from './binding.js';
import { approvalsCounted, type ApprovalFailure, type ApprovalFilter, type ApprovalRecord, type ApprovalStatus } from './record.js';
import type { ApprovalStore } from './store.js';

/** Who may approve and for how long, when a rule does not say (`approvals:` in `bastion.yaml`). */
export interface ApprovalSettings {
  /** Approver groups of an approval whose rule names none (the baseline's). Default `[bastion-approvers]`. */
  defaultApproverGroups: string[];
  /** Seconds until an approval expires when its rule says nothing. Default 900 (15 minutes). */
  defaultExpirySeconds: number;
}

export const DEFAULT_APPROVAL_SETTINGS: ApprovalSettings = Object.freeze({ defaultApproverGroups: ['bastion-approvers'], defaultExpirySeconds: 900 }) as ApprovalSettings;

/** Prerequisites a rule can declare, by the name approvers supply them under. */
export const APPROVAL_NEEDS = { changeTicket: 'change_ticket', rollbackPlan: 'rollback_plan' } as const;

/** A transition, as the notifier and the audit log see it. */
export type ApprovalTransition = 'requested' | 'approved' | 'denied' | 'expired' | 'consumed' | 'cancelled';

export interface ApprovalEvent {
  transition: ApprovalTransition;
  /** The record after the transition, with its arguments and context redacted. */
  approval: ApprovalView;
  /** Who made it (an approver, the requester); absent for `requested`, `expired`, `consumed`. */
  by?: string;
  comment?: string;
}

/** An approval as the HTTP API, the CLI and notifications show it: the record, times as ISO strings. */
export interface ApprovalView {
  id: string;
  status: ApprovalStatus;
  requester: { id: string; groups: string[] };
  action: string;
  resource?: string;
  environment?: string;
  args: Record<string, unknown>;
  context: Record<string, unknown>;
  approverGroups: string[];
  quorum: number;
  approvals: number;
  needs: string[];
  decisions: { approver: string; verdict: 'approve' | 'deny'; comment?: string; evidence?: Record<string, string>; at: string }[];
  reason?: string;
  rule?: { policy: string; rule: string };
  policyVersion: string;
  traceId?: string;
  createdAt: string;
  expiresAt: string;
  updatedAt: string;
  consumedAt?: string;
  cancelled?: { by: string; at: string; reason?: string };
  version: number;
}

/** The body of `POST /v1/approvals/<id>/approve|deny`. */
export interface ApproverInput {
  comment?: string;
  /** Prerequisites by need, e.g. `{ change_ticket: 'CHG-1042', rollback_plan: 'helm rollback web 41' }`. */
  evidence?: Record<string, string>;
}

/** What the lookup of a retried request's `approvalId` found, for the engine and `settle`. */
export interface ApprovalCheck {
  snapshot: { id: string; status: string; bound: boolean; note?: string };
  record?: ApprovalRecord;
  bindingHash?: string;
}

export interface ApprovalServiceOptions {
  store: ApprovalStore;
  settings?: Partial<ApprovalSettings>;
  /** Appends an audit event (the gateway's log); absent: nothing is recorded. */
  record?: (event: AuditEventInput) => Promise<void>;
  /** Told of every transition after it is recorded; must not block (the notifier queues). */
  notify?: (event: ApprovalEvent) => void;
  /** Redacts arguments and context for views and notifications (secrets never leave in clear). */
  redact?: (value: unknown) => unknown;
  now?: () => number;
}

/** The longest `wait` (`GET /v1/approvals/<id>?wait=SECONDS`). */
export const MAX_WAIT_SECONDS = 60;
/** A long poll re-reads the store this often, to see changes made by another replica. */
const WAIT_POLL_MS = 2_000;
const MAX_TEXT = 4096;

export interface ApprovalService {
  readonly settings: ApprovalSettings;
  /** Looks up the approval a request names (`approvalId`) and whether it is bound to this call. */
  check(request: ActionRequest, policyVersion: string): Promise<ApprovalCheck | undefined>;
  /**
   * After the engine: on `require_approval` creates the approval (or keeps the pending one the
   * request named), on an allow by an approval uses it once. A lost race to use it is decided
   * again with the approval as it now is (`redecide`), which denies.
   */
  settle(request: ActionRequest, decision: Decision, check: ApprovalCheck | undefined, redecide: (snapshot: ApprovalCheck['snapshot']) => Decision): Promise<Decision>;
  get(id: string): Promise<Result<ApprovalView, BastionError>>;
  list(filter: ApprovalFilter): Promise<Result<{ approvals: ApprovalView[]; nextCursor?: string }, BastionError>>;
  /** The record once it changes, or as it is after `seconds` (at most 60), or at once when it is no longer pending. */
  wait(id: string, seconds: number, signal?: AbortSignal): Promise<Result<ApprovalView, BastionError>>;
  approve(id: string, approver: Principal | undefined, input: unknown): Promise<Result<ApprovalView, BastionError>>;
  deny(id: string, approver: Principal | undefined, input: unknown): Promise<Result<ApprovalView, BastionError>>;
  /** Only the requester may cancel a pending or approved approval. */
  cancel(id: string, by: Principal | undefined, input: unknown): Promise<Result<ApprovalView, BastionError>>;
  /** Writes `expired` on every approval past its expiry, audited once each; returns how many. */
  sweep(): Promise<number>;
  /** Ends every long poll in flight (answering the record as it is). */
  close(): void;
}

const iso = (ms: number): string => new Date(ms).toISOString();
// Comments reach the audit log, which cannot encode a lone surrogate.
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * The approval a decision needs, from its rules' requirements: the groups of the first rule
 * (in priority order) that names any, else the defaults; the largest quorum; the shortest
 * expiry; every prerequisite any rule declares.
 */
export function approvalTerms(
  requirements: readonly ApprovalRequirement[],
  settings: ApprovalSettings,
): { approverGroups: string[]; quorum: number; expiresInSeconds: number; needs: string[]; rule?: { policy: string; rule: string } } {
  const named = requirements.find((r) => r.approverGroups.length > 0);
  const quorum = Math.max(1, ...requirements.map((r) => r.quorum));
  const expiries = requirements.flatMap((r) => (r.expiresInSeconds === undefined ? [] : [r.expiresInSeconds]));
  const needs: string[] = [];
  if (requirements.some((r) => r.changeTicketRequired)) needs.push(APPROVAL_NEEDS.changeTicket);
  if (requirements.some((r) => r.rollbackPlanRequired)) needs.push(APPROVAL_NEEDS.rollbackPlan);
  const first = requirements[0];
  return {
    approverGroups: named ? [...named.approverGroups] : [...settings.defaultApproverGroups],
    quorum,
    expiresInSeconds: expiries.length > 0 ? Math.min(...expiries) : settings.defaultExpirySeconds,
    needs,
    ...(first ? { rule: { policy: first.policy, rule: first.rule } } : {}),
  };
}

/** Which parts of the call differ from the one an approval is bound to, e.g. `['arguments']`. */
export function bindingDifferences(record: ApprovalRecord, request: ActionRequest, policyVersion: string, redact: (value: unknown) => unknown = (v) => v): string[] {
  const same = (a: unknown, b: unknown): boolean => {
    const x = canonicalJson(a ?? null);
    const y = canonicalJson(b ?? null);
    return x.ok && y.ok && x.value === y.value;
  };
  const b = approvalBinding(request, policyVersion);
  const out: string[] = [];
  if (record.requester.id !== b.principalId) out.push('principal');
  if (record.request.action !== b.action) out.push('action');
  if ((record.request.resource ?? null) !== (b.resource ?? null)) out.push('resource');
  if ((record.request.environment ?? null) !== (b.environment ?? null)) out.push('environment');
  // The record keeps them redacted: compare like with like (the binding itself is the hash).
  if (!same(record.request.args, redact(b.args))) out.push('arguments');
  if (!same(withoutSource(record.request.context), redact(b.context))) out.push('context');
  if (record.policyVersion !== b.policyVersion) out.push('policy version');
  return out;
}

function listWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** Why an approval does not allow this call, as the decision's reason. */
function noteFor(record: ApprovalRecord, bound: boolean, request: ActionRequest, policyVersion: string, redact: (value: unknown) => unknown): string | undefined {
  const id = quote(record.id);
  if (!bound) {
    const diff = bindingDifferences(record, request, policyVersion, redact);
    const granted = record.status === 'approved' || record.status === 'consumed' ? 'granted' : 'requested';
    // A hash mismatch with no visible difference cannot happen for a stored request; say so rather than nothing.
    const what = diff.length > 0 ? `${listWords(diff)} ${diff.length === 1 && diff[0] !== 'arguments' ? 'differs' : 'differ'}` : 'the call differs';
    return `approval ${id} was ${granted} for a different call: ${what}`;
  }
  switch (record.status) {
    case 'approved':
      return undefined;
    case 'pending':
      return `approval ${id} is pending: ${approvalsCounted(record)} of ${record.quorum} approval${record.quorum === 1 ? '' : 's'}, expires ${iso(record.expiresAt)}`;
    case 'denied': {
      const d = record.decisions.find((x) => x.verdict === 'deny');
      return `approval ${id} was denied${d ? ` by ${quote(d.approver)}${d.comment ? `: ${d.comment}` : ''}` : ''}`;
    }
    case 'expired':
      return `approval ${id} expired at ${iso(record.expiresAt)}: a new approval is required`;
    case 'consumed':
      return `approval ${id} was already used${record.consumedAt !== undefined ? ` at ${iso(record.consumedAt)}` : ''}: an approval allows one call`;
    case 'cancelled':
      return `approval ${id} was cancelled by ${quote(record.cancelled?.by ?? 'its requester')}: a new approval is required`;
  }
}

function failureErrors(errors: readonly ApprovalFailure[]): BastionError[] {
  // Not being allowed to decide is a 403, not a state conflict: the caller is identified but may not.
  return errors.map(({ reason, ...e }) => (reason === 'self_approval' || reason === 'not_an_approver' ? { ...e, code: 'FORBIDDEN' as const } : e));
}

function parseApproverInput(input: unknown, what: string, allowEvidence: boolean): Result<ApproverInput, BastionError> {
  if (input === undefined || input === null) return ok({});
  if (typeof input !== 'object' || Array.isArray(input)) return fail(bastionError('APPROVAL_INVALID', `${what}: the body must be a JSON object such as {"comment": "…"}`));
  const body = input as Record<string, unknown>;
  const errors: BastionError[] = [];
  const allowed = allowEvidence ? ['comment', 'evidence'] : what.startsWith('cancel') ? ['comment', 'reason'] : ['comment'];
  for (const key of Object.keys(body))
    if (!allowed.includes(key)) errors.push(bastionError('APPROVAL_INVALID', `${what}: unknown field ${quote(key)} (expected ${allowed.join(', ')})`, { field: key }));
  const out: ApproverInput = {};
  const text = body['comment'] ?? body['reason'];
  const textField = body['comment'] !== undefined ? 'comment' : 'reason';
  if (text !== undefined) {
    if (typeof text !== 'string' || text.length > MAX_TEXT || !wellFormed(text))
      errors.push(bastionError('APPROVAL_INVALID', `${what}: field ${quote(textField)} must be a string of at most ${MAX_TEXT} characters`, { field: textField }));
    else out.comment = text;
  }
  const evidence = body['evidence'];
  if (allowEvidence && evidence !== undefined) {
    if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence))
      errors.push(bastionError('APPROVAL_INVALID', `${what}: field \`evidence\` must be an object such as {"change_ticket": "CHG-1042"}`, { field: 'evidence' }));
    else {
      const e: Record<string, string> = {};
      for (const [k, v] of Object.entries(evidence)) {
        if (typeof v !== 'string' || v.trim() === '' || v.length > MAX_TEXT || !wellFormed(v))
          errors.push(bastionError('APPROVAL_INVALID', `${what}: field ${quote(`evidence.${k}`)} must be a non-empty string of at most ${MAX_TEXT} characters`, { field: `evidence.${k}` }));
        else e[k] = v;
      }
      out.evidence = e;
    }
  }
  return errors.length > 0 ? fail(...errors) : ok(out);
}

/** Whether a prerequisite is met by the bound call's context (`context.change_ticket`) or an approver's evidence. */
function metNeeds(record: ApprovalRecord, evidence: Record<string, string> | undefined): Set<string> {
  const met = new Set<string>();
  for (const need of record.needs) {
    const inContext = record.request.context[need];
    if (typeof inContext === 'string' && inContext.trim() !== '') met.add(need);
    if (evidence?.[need] !== undefined) met.add(need);
    if (record.decisions.some((d) => d.verdict === 'approve' && d.evidence?.[need] !== undefined)) met.add(need);
  }
  return met;
}

/**
 * Creates the approvals service.
 *
 * @example
 * const approvals = createApprovalService({ store: createMemoryApprovalStore(), record: (e) => log.append(e).then(() => undefined) });
 * await approvals.approve(id, { id: 'bob', groups: ['bastion-approvers'] }, { comment: 'ok' });
 */
export function createApprovalService(options: ApprovalServiceOptions): ApprovalService {
  const { store } = options;
  const settings: ApprovalSettings = { ...DEFAULT_APPROVAL_SETTINGS, ...(options.settings ?? {}) };
  const now = options.now ?? Date.now;
  const redact = options.redact ?? ((v: unknown) => v);
  const waiters = new Set<() => void>();

  const view = (r: ApprovalRecord): ApprovalView => {
    const v: ApprovalView = {
      id: r.id,
      status: r.status,
      requester: { id: r.requester.id, groups: [...r.requester.groups] },
      action: r.request.action,
      args: redact(r.request.args) as Record<string, unknown>,
      context: redact(r.request.context) as Record<string, unknown>,
      approverGroups: [...r.approverGroups],
      quorum: r.quorum,
      approvals: approvalsCounted(r),
      needs: [...r.needs],
      decisions: r.decisions.map((d) => ({
        approver: d.approver,
        verdict: d.verdict,
        ...(d.comment !== undefined ? { comment: d.comment } : {}),
        ...(d.evidence !== undefined ? { evidence: { ...d.evidence } } : {}),
        at: iso(d.at),
      })),
      policyVersion: r.policyVersion,
      createdAt: iso(r.createdAt),
      expiresAt: iso(r.expiresAt),
      updatedAt: iso(r.updatedAt),
      version: r.version,
    };
    if (r.request.resource !== undefined) v.resource = r.request.resource;
    if (r.request.environment !== undefined) v.environment = r.request.environment;
    if (r.reason !== undefined) v.reason = r.reason;
    if (r.rule !== undefined) v.rule = { ...r.rule };
    if (r.traceId !== undefined) v.traceId = r.traceId;
    if (r.consumedAt !== undefined) v.consumedAt = iso(r.consumedAt);
    if (r.cancelled !== undefined) v.cancelled = { by: r.cancelled.by, at: iso(r.cancelled.at), ...(r.cancelled.reason !== undefined ? { reason: r.cancelled.reason } : {}) };
    return v;
  };

  const summary = (r: ApprovalRecord, bound?: boolean): DecisionApproval => ({
    id: r.id,
    status: r.status,
    ...(bound !== undefined ? { bound } : {}),
    approverGroups: [...r.approverGroups],
    quorum: r.quorum,
    approvals: approvalsCounted(r),
    expiresAt: iso(r.expiresAt),
    needs: [...r.needs],
  });

  const transition = async (t: ApprovalTransition, r: ApprovalRecord, extra: { by?: string; comment?: string; data?: Record<string, unknown>; traceId?: string } = {}): Promise<void> => {
    const event: AuditEventInput = {
      type: `approval.${t}`,
      approvalId: r.id,
      action: r.request.action,
      principal: { id: r.requester.id, groups: [...r.requester.groups] },
      policyVersion: r.policyVersion,
      data: {
        status: r.status,
        approverGroups: [...r.approverGroups],
        quorum: r.quorum,
        approvals: approvalsCounted(r),
        ...(extra.by !== undefined ? { by: extra.by } : {}),
        ...(extra.comment !== undefined ? { comment: extra.comment } : {}),
        ...extra.data,
      },
    };
    const traceId = extra.traceId ?? r.traceId;
    if (traceId !== undefined) event.traceId = traceId;
    if (r.request.resource !== undefined) event.resource = r.request.resource;
    if (r.request.environment !== undefined) event.environment = r.request.environment;
    await options.record?.(event);
    if (options.notify) {
      try {
        options.notify({ transition: t, approval: view(r), ...(extra.by !== undefined ? { by: extra.by } : {}), ...(extra.comment !== undefined ? { comment: extra.comment } : {}) });
      } catch {
        // INVARIANT: a notifier never fails a transition (it queues and reports its own failures).
      }
    }
  };

  const check: ApprovalService['check'] = async (request, policyVersion) => {
    const id = request.approvalId;
    if (id === undefined) return undefined;
    const hash = approvalBindingHash(approvalBinding(request, policyVersion));
    const found = await store.get(id, now());
    if (!found.ok) {
      const e = found.errors[0];
      const note = e?.reason === 'not_found' ? `approval ${quote(id)} does not exist` : `approval ${quote(id)} cannot be used: ${e?.message ?? 'invalid'}`;
      return { snapshot: { id, status: e?.reason === 'not_found' ? 'not_found' : 'invalid', bound: false, note } };
    }
    const record = found.value;
    const bound = hash.ok && hash.value === record.bindingHash;
    const note = noteFor(record, bound, request, policyVersion, redact);
    return { snapshot: { id, status: record.status, bound, ...(note !== undefined ? { note } : {}) }, record, ...(hash.ok ? { bindingHash: hash.value } : {}) };
  };

  const createFor = async (request: ActionRequest, decision: Decision): Promise<Decision> => {
    const hash = approvalBindingHash(approvalBinding(request, decision.policyVersion));
    if (!hash.ok) {
      // Fail closed: a call that cannot be bound cannot be approved; it stays held.
      return { ...decision, errors: [...decision.errors, ...hash.errors.map((e) => ({ policy: 'bastion/approvals', rule: 'bind', code: e.code, message: e.message }))] };
    }
    const terms = approvalTerms(decision.approvalRequirements ?? [], settings);
    const at = now();
    const created = await store.create({
      bindingHash: hash.value,
      policyVersion: decision.policyVersion,
      requester: { id: request.principal.id, groups: [...request.principal.groups] },
      request: {
        action: request.action,
        ...(request.resource !== undefined ? { resource: request.resource } : {}),
        ...(request.environment !== undefined ? { environment: request.environment } : {}),
        // Kept for approvers to read and to say what differs on a retry; the binding is the
        // hash, so secrets are stored redacted.
        args: redact(request.args ?? {}) as Record<string, unknown>,
        context: redact(request.context ?? {}) as Record<string, unknown>,
      },
      approverGroups: terms.approverGroups,
      quorum: terms.quorum,
      needs: terms.needs,
      ...(terms.rule ? { rule: terms.rule } : {}),
      reason: decision.reason,
      ...(decision.traceId !== '' ? { traceId: decision.traceId } : {}),
      createdAt: at,
      expiresAt: at + terms.expiresInSeconds * 1000,
    });
    if (!created.ok) {
      return { ...decision, errors: [...decision.errors, ...created.errors.map((e) => ({ policy: 'bastion/approvals', rule: 'create', code: e.code, message: e.message }))] };
    }
    await transition('requested', created.value, { data: { needs: terms.needs, expiresAt: iso(created.value.expiresAt), bindingHash: hash.value } });
    return { ...decision, approval: summary(created.value, true) };
  };

  const settle: ApprovalService['settle'] = async (request, decision, checked, redecide) => {
    const byApproval = decision.decision === 'allow' && decision.matched.some((m) => m.policy === 'bastion/approvals' && m.rule === 'approved');
    if (byApproval && checked?.record && checked.bindingHash) {
      const used = await store.consume(checked.record.id, checked.bindingHash, now());
      if (used.ok) {
        await transition('consumed', used.value, { traceId: decision.traceId });
        return { ...decision, approval: summary(used.value, true) };
      }
      // Lost a race (another call used it first) or it expired just now: decide again with
      // the approval as it is, which never allows.
      const again = await check(request, decision.policyVersion);
      const snapshot = again?.snapshot ?? { id: checked.record.id, status: 'consumed', bound: true };
      if (used.errors[0]?.reason === 'consumed') snapshot.note = `approval ${quote(checked.record.id)} was used by a concurrent call: an approval allows one call`;
      const redone = redecide(snapshot);
      return again?.record ? { ...redone, approval: summary(again.record, snapshot.bound) } : redone;
    }
    if (decision.decision === 'require_approval') {
      // INVARIANT: a retry of the same call while its approval is pending waits on that
      // approval; it never opens another one.
      if (checked?.record && checked.snapshot.bound && checked.record.status === 'pending') return { ...decision, approval: summary(checked.record, true) };
      return await createFor(request, decision);
    }
    if (checked?.record) return { ...decision, approval: summary(checked.record, checked.snapshot.bound) };
    return decision;
  };

  const get: ApprovalService['get'] = async (id) => {
    const r = await store.get(id, now());
    return r.ok ? ok(view(r.value)) : fail(...failureErrors(r.errors));
  };

  const decideOn = async (verdict: 'approve' | 'deny', id: string, approver: Principal | undefined, input: unknown): Promise<Result<ApprovalView, BastionError>> => {
    const what = `${verdict === 'approve' ? 'approving' : 'denying'} approval ${quote(id)}`;
    if (approver === undefined) return fail(bastionError('FORBIDDEN', `${what}: the approver must be identified (a verified token; in development mode the identity headers)`));
    const body = parseApproverInput(input, what, verdict === 'approve');
    if (!body.ok) return body;
    const found = await store.get(id, now());
    if (!found.ok) return fail(...failureErrors(found.errors));
    const record = found.value;
    // Who may decide is checked before prerequisites: a stranger learns nothing about them.
    if (record.status === 'pending') {
      if (approver.id === record.requester.id) return fail(bastionError('FORBIDDEN', `approval ${quote(id)}: ${quote(approver.id)} requested it and cannot decide on it`));
      if (!approver.groups.some((g) => record.approverGroups.includes(g)))
        return fail(bastionError('FORBIDDEN', `approval ${quote(id)}: ${quote(approver.id)} is in none of the approver groups (${record.approverGroups.map((g) => quote(g)).join(', ')})`));
      if (verdict === 'approve') {
        const met = metNeeds(record, body.value.evidence);
        const missing = record.needs.filter((n) => !met.has(n));
        if (missing.length > 0)
          return fail(
            ...missing.map((n) =>
              bastionError('APPROVAL_INVALID', `approval ${quote(id)} needs ${quote(n)} before it can be approved: send it as \`evidence.${n}\` (or the call carries it as \`context.${n}\`)`, {
                field: `evidence.${n}`,
              }),
            ),
          );
      }
    }
    const evidence = body.value.evidence !== undefined && Object.keys(body.value.evidence).length > 0 ? body.value.evidence : undefined;
    const decided = await store.decide(
      id,
      {
        approver: approver.id,
        groups: [...approver.groups],
        verdict,
        ...(body.value.comment !== undefined ? { comment: body.value.comment } : {}),
        ...(evidence !== undefined ? { evidence } : {}),
        at: now(),
      },
      now(),
    );
    if (!decided.ok) return fail(...failureErrors(decided.errors));
    const r = decided.value;
    await transition(verdict === 'approve' ? 'approved' : 'denied', r, {
      by: approver.id,
      ...(body.value.comment !== undefined ? { comment: body.value.comment } : {}),
      ...(evidence !== undefined ? { data: { evidence } } : {}),
    });
    return ok(view(r));
  };

  return {
    settings,
    check,
    settle,
    get,
    async list(filter) {
      const r = await store.list(filter, now());
      if (!r.ok) return fail(...failureErrors(r.errors));
      return ok({ approvals: r.value.records.map(view), ...(r.value.nextCursor !== undefined ? { nextCursor: r.value.nextCursor } : {}) });
    },
    async wait(id, seconds, signal) {
      const first = await store.get(id, now());
      if (!first.ok) return fail(...failureErrors(first.errors));
      if (first.value.status !== 'pending' || seconds <= 0) return ok(view(first.value));
      const version = first.value.version;
      const deadline = Math.min(now() + Math.min(seconds, MAX_WAIT_SECONDS) * 1000, first.value.expiresAt);
      await new Promise<void>((resolve) => {
        let done = false;
        const timers: NodeJS.Timeout[] = [];
        const finish = (): void => {
          if (done) return;
          done = true;
          for (const t of timers) clearTimeout(t);
          clearInterval(poll);
          unsubscribe();
          waiters.delete(finish);
          signal?.removeEventListener('abort', finish);
          resolve();
        };
        const unsubscribe = store.subscribe((r) => {
          if (r.id === id && r.version !== version) finish();
        });
        // Another replica's change is not published here: re-read now and then.
        const poll = setInterval(() => {
          void store.get(id, now()).then(
            (r) => {
              if (!r.ok || r.value.version !== version || r.value.status !== 'pending') finish();
            },
            () => finish(),
          );
        }, WAIT_POLL_MS);
        poll.unref();
        const t = setTimeout(finish, Math.max(0, deadline - now()));
        t.unref();
        timers.push(t);
        waiters.add(finish);
        signal?.addEventListener('abort', finish);
        if (signal?.aborted) finish();
      });
      return get(id);
    },
    approve: (id, approver, input) => decideOn('approve', id, approver, input),
    deny: (id, approver, input) => decideOn('deny', id, approver, input),
    async cancel(id, by, input) {
      const what = `cancelling approval ${quote(id)}`;
      if (by === undefined) return fail(bastionError('FORBIDDEN', `${what}: the requester must be identified (a verified token; in development mode the identity headers)`));
      const body = parseApproverInput(input, what, false);
      if (!body.ok) return body;
      const found = await store.get(id, now());
      if (!found.ok) return fail(...failureErrors(found.errors));
      if (found.value.requester.id !== by.id) return fail(bastionError('FORBIDDEN', `approval ${quote(id)}: only its requester ${quote(found.value.requester.id)} may cancel it`));
      const cancelled = await store.cancel(id, by.id, now(), body.value.comment);
      if (!cancelled.ok) return fail(...failureErrors(cancelled.errors));
      await transition('cancelled', cancelled.value, { by: by.id, ...(body.value.comment !== undefined ? { comment: body.value.comment } : {}) });
      return ok(view(cancelled.value));
    },
    async sweep() {
      const expired = await store.expire(now());
      for (const r of expired) await transition('expired', r);
      return expired.length;
    },
    close() {
      for (const finish of [...waiters]) finish();
    },
  };
}
