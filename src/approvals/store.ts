/**
 * The approval store's port: where approvals live between the decision that asks for one,
 * the humans who decide on it and the retried call that uses it. Owned by the approvals
 * stage; adapters in `storage/memory/approvals.ts` and `storage/sqlite/approval-store.ts`
 * (and `storage/postgres/approval-store.ts`) pass the contract suite `test/storage/contracts/approvals.ts`.
 *
 * Every method that changes a record is one atomic compare-and-set: the adapter reads the
 * record, applies `applyApprovalChange` (the stage's pure rules, the same for every adapter)
 * and writes it back before any other writer can read it, so concurrent approvers both
 * count and concurrent consumers of one approval get exactly one success.
 *
 * Expiry is applied on read: a pending or approved approval past `expiresAt` reads, lists
 * and acts as `expired` at once; `expire(now)` also writes that status and returns the
 * records it changed, so the service can audit `approval.expired` once per approval.
 *
 * Failures are values: malformed input (`APPROVAL_INVALID`), an unknown id
 * (`APPROVAL_NOT_FOUND`), a state that does not allow the change (`APPROVAL_CONFLICT`), each
 * with a `reason`. Storage that cannot be read or written, or a closed store, rejects with a
 * `STATE_STORAGE` BastionException.
 */

import { BastionException, bastionError, quote } from '../core/errors.js';
import type { Result } from '../core/result.js';
import type { ApprovalChange, ApprovalFailure, ApprovalFilter, ApprovalPage, ApprovalRecord, ApprovalResult, ApproverDecision, ListQuery, NewApproval } from './record.js';
import { applyApprovalChange, approvalCursor, approvalFailure, checkApprovalChange, checkApprovalFilter, checkApprovalId, checkTime, createApprovalRecord, effectiveApproval } from './record.js';

/** Called after every change the store makes or learns of, with the record after it. */
export type ApprovalListener = (record: ApprovalRecord) => void;

export interface ApprovalStore {
  /** Stores a new approval (`createApprovalRecord`'s rules); fails with reason `exists` on a taken id. */
  create(input: NewApproval): Promise<ApprovalResult>;
  /** The record as of `now` (expiry applied); `APPROVAL_NOT_FOUND` for an unknown id. */
  get(id: string, now: number): Promise<ApprovalResult>;
  /** Records as of `now`, oldest first, one page at a time. */
  list(filter: ApprovalFilter, now: number): Promise<Result<ApprovalPage, ApprovalFailure>>;
  /** Adds an approver's decision; a deny ends the approval, distinct approvals reaching the quorum approve it. */
  decide(id: string, decision: ApproverDecision, now: number, expectedVersion?: number): Promise<ApprovalResult>;
  /** Cancels a pending or approved approval (the service checks that `by` may). */
  cancel(id: string, by: string, now: number, reason?: string): Promise<ApprovalResult>;
  /**
   * Uses an approval once: succeeds exactly once, only for an approved, unexpired approval
   * whose binding hash is `bindingHash`; every other call fails and changes nothing.
   */
  consume(id: string, bindingHash: string, now: number): Promise<ApprovalResult>;
  /** Writes `expired` on every pending or approved approval past its expiry; returns them. */
  expire(now: number): Promise<ApprovalRecord[]>;
  /**
   * Calls `listener` after each change made through this store (and, where the adapter can
   * learn of them, made elsewhere). A listener that throws is ignored. Returns the function
   * that unsubscribes.
   */
  subscribe(listener: ApprovalListener): () => void;
  close(): Promise<void>;
}

/**
 * What an adapter provides: storage primitives. `approvalStoreOver` adds the checks, the
 * rules and the notifications, so adapters differ only in how they keep records.
 */
export interface ApprovalBackend {
  /** Inserts the record unless its id is taken; resolves to false when taken. */
  insert(record: ApprovalRecord): Promise<boolean>;
  /** The stored record (status as written), or undefined. */
  read(id: string): Promise<ApprovalRecord | undefined>;
  /**
   * Atomically reads the stored record, calls `change` with it and, when that succeeds,
   * writes the record it returns, before any other writer can read the old one.
   */
  update(id: string, change: (stored: ApprovalRecord | undefined) => ApprovalResult): Promise<ApprovalResult>;
  /**
   * Up to `query.limit + 1` records after `query.after`, oldest first, filtered by requester
   * and by effective status at `now` (status as written, but pending or approved past expiry
   * counts as expired). Records are returned as written.
   */
  page(query: ListQuery, now: number): Promise<ApprovalRecord[]>;
  /** Atomically writes `expired` on every pending or approved record with `expiresAt <= now`; returns them as written. */
  expire(now: number): Promise<ApprovalRecord[]>;
  close(): Promise<void>;
}

function invalid(errors: ApprovalFailure[]): { ok: false; errors: ApprovalFailure[] } {
  return { ok: false, errors };
}

/**
 * Builds an approval store over a backend.
 *
 * @example
 * const store = approvalStoreOver(myBackend, 'approval store');
 */
export function approvalStoreOver(backend: ApprovalBackend, name: string): ApprovalStore {
  const listeners = new Set<ApprovalListener>();
  let closed = false;
  const open = (): void => {
    if (closed) throw new BastionException(bastionError('STATE_STORAGE', `the ${name} is closed`));
  };
  const publish = (record: ApprovalRecord): void => {
    for (const listener of [...listeners]) {
      try {
        listener(structuredClone(record));
      } catch {
        // INVARIANT: a listener's failure never fails the change that triggered it.
      }
    }
  };
  const change = async (id: string, c: ApprovalChange, now: number): Promise<ApprovalResult> => {
    open();
    const errors = checkApprovalChange(id, c, now);
    if (errors.length > 0) return invalid(errors);
    const result = await backend.update(id, (stored) => applyApprovalChange(id, stored, c, now));
    if (result.ok) publish(result.value);
    return result;
  };
  return {
    async create(input) {
      open();
      const built = createApprovalRecord(input);
      if (!built.ok) return built;
      const record = built.value;
      if (!(await backend.insert(record))) return invalid([approvalFailure('APPROVAL_CONFLICT', 'exists', `an approval with id ${quote(record.id)} already exists`)]);
      publish(record);
      return { ok: true, value: structuredClone(record) };
    },
    async get(id, now) {
      open();
      const errors = [checkApprovalId(id), checkTime(now, 'now')].filter((e) => e !== undefined);
      if (errors.length > 0) return invalid(errors);
      const stored = await backend.read(id);
      if (stored === undefined) return invalid([approvalFailure('APPROVAL_NOT_FOUND', 'not_found', `no approval has id ${quote(id)}`)]);
      return { ok: true, value: effectiveApproval(stored, now) };
    },
    async list(filter, now) {
      open();
      const query = checkApprovalFilter(filter, now);
      if (!query.ok) return query;
      const rows = await backend.page(query.value, now);
      const records = rows.slice(0, query.value.limit).map((r) => effectiveApproval(r, now));
      const last = records[records.length - 1];
      return { ok: true, value: rows.length > query.value.limit && last !== undefined ? { records, nextCursor: approvalCursor(last) } : { records } };
    },
    decide: (id, decision, now, expectedVersion) => change(id, { kind: 'decide', decision, ...(expectedVersion === undefined ? {} : { expectedVersion }) }, now),
    cancel: (id, by, now, reason) => change(id, { kind: 'cancel', by, ...(reason === undefined ? {} : { reason }) }, now),
    consume: (id, bindingHash, now) => change(id, { kind: 'consume', bindingHash }, now),
    async expire(now) {
      open();
      const error = checkTime(now, 'now');
      if (error) throw new BastionException(error);
      const expired = await backend.expire(now);
      for (const record of expired) publish(record);
      return expired;
    },
    subscribe(listener) {
      const entry: ApprovalListener = (r) => listener(r);
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      await backend.close();
    },
  };
}
