/**
 * The contract every approval store adapter must pass (memory, SQLite; PostgreSQL in a later
 * issue): creation and its checks, quorum of distinct approvers, one deny ending it,
 * single-use consumption bound to the exact call (exactly one winner among many concurrent
 * consumers), expiry on read and by `expire`, cancellation, compare-and-set by version,
 * listing with filters and paging, notification, copies in and out, and errors as values.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalRecord, ApprovalResult, ApprovalStore, NewApproval } from '../../../src/approvals/index.js';

export interface ApprovalStoreHandle {
  store: ApprovalStore;
  cleanup: () => Promise<void>;
}

export const T0 = 1_750_000_000_000;
const MINUTES = 60_000;
export const HASH = 'a'.repeat(64);
const OTHER_HASH = 'b'.repeat(64);

/** A valid new approval; override what a test is about. */
export function newApproval(overrides: Partial<NewApproval> = {}): NewApproval {
  return {
    bindingHash: HASH,
    policyVersion: 'v1',
    requester: { id: 'agent-7', groups: ['agents'] },
    request: { action: 'sys:execute', resource: 'web-1', environment: 'production', args: { command: 'systemctl restart web' }, context: { ticket: 'CHG-1' } },
    approverGroups: ['sre-approvers'],
    quorum: 1,
    needs: ['change ticket'],
    rule: { policy: 'sre', rule: 'prod-restart' },
    reason: 'production restarts need an approver',
    traceId: 'trace-1',
    createdAt: T0,
    expiresAt: T0 + 15 * MINUTES,
    ...overrides,
  };
}

function approver(id: string, verdict: 'approve' | 'deny' = 'approve', at = T0 + 1000) {
  return { approver: id, groups: ['sre-approvers'], verdict, comment: `${verdict} by ${id}`, at };
}

function value(result: ApprovalResult): ApprovalRecord {
  if (!result.ok) throw new Error(`expected success, got: ${result.errors.map((e) => e.message).join('; ')}`);
  return result.value;
}

function failure(result: { ok: boolean; errors?: Array<{ code: string; reason?: string; message: string; field?: string }> }) {
  expect(result.ok, 'expected a failure').toBe(false);
  return (result as { errors: Array<{ code: string; reason?: string; message: string; field?: string }> }).errors;
}

export function approvalStoreContract(name: string, makeStore: () => Promise<ApprovalStoreHandle>): void {
  describe(`approval store contract: ${name}`, () => {
    let handle: ApprovalStoreHandle;
    let store: ApprovalStore;
    beforeEach(async () => {
      handle = await makeStore();
      store = handle.store;
    });
    afterEach(async () => {
      await handle.cleanup();
    });

    const create = async (overrides: Partial<NewApproval> = {}) => value(await store.create(newApproval(overrides)));

    describe('create and get', () => {
      it('stores a pending approval at version 1 with a fresh UUID and reads it back equal', async () => {
        const record = await create();
        expect(record.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(record).toEqual({ ...newApproval(), id: record.id, status: 'pending', updatedAt: T0, decisions: [], version: 1 });
        expect(value(await store.get(record.id, T0 + 1))).toEqual(record);
      });

      it('keeps a given id and refuses a second approval with it', async () => {
        await create({ id: 'appr-1' });
        const errors = failure(await store.create(newApproval({ id: 'appr-1', bindingHash: OTHER_HASH })));
        expect(errors).toEqual([expect.objectContaining({ code: 'APPROVAL_CONFLICT', reason: 'exists', message: 'an approval with id `appr-1` already exists' })]);
        expect(value(await store.get('appr-1', T0)).bindingHash, 'the first one is untouched').toBe(HASH);
      });

      it('hands out copies: changing a returned record changes nothing stored', async () => {
        const record = await create({ id: 'copy' });
        record.approverGroups.push('everyone');
        record.request.args['command'] = 'rm -rf /';
        const read = value(await store.get('copy', T0));
        expect(read.approverGroups).toEqual(['sre-approvers']);
        expect(read.request.args).toEqual({ command: 'systemctl restart web' });
      });

      it.each([
        ['a binding hash that is not a SHA-256', { bindingHash: 'abc' }, 'bindingHash', /^new approval: field `bindingHash`: must be 64 lowercase hex digits/],
        ['a quorum of 0', { quorum: 0 }, 'quorum', /^new approval: field `quorum`: /],
        ['no approver groups', { approverGroups: [] }, 'approverGroups', /^new approval: field `approverGroups`: /],
        ['an expiry before creation', { expiresAt: T0 }, 'expiresAt', /^new approval: field `expiresAt` must be after `createdAt`$/],
        ['an id with a slash', { id: '../etc' }, 'id', /^new approval: field `id`: must be 1 to 128 letters, digits or \. _ : -$/],
        ['a requester without an id', { requester: { groups: [] } as unknown as NewApproval['requester'] }, 'requester.id', /^new approval: field `requester.id`: /],
        ['a quorum given as text', { quorum: '2' as unknown as number }, 'quorum', /^new approval: field `quorum`: invalid input: expected number/],
      ])('refuses %s with APPROVAL_INVALID naming the field', async (_d, overrides, field, message) => {
        const errors = failure(await store.create(newApproval(overrides as Partial<NewApproval>)));
        expect(errors[0]).toMatchObject({ code: 'APPROVAL_INVALID', reason: 'invalid' });
        expect(
          errors.some((e) => e.field === field && message.test(e.message)),
          JSON.stringify(errors),
        ).toBe(true);
      });

      it('refuses a call whose arguments JSON cannot carry, naming the field', async () => {
        const request = { ...newApproval().request, args: { retries: Number.NaN } };
        expect(failure(await store.create(newApproval({ request })))).toEqual([
          expect.objectContaining({ code: 'APPROVAL_INVALID', field: 'request.args.retries', message: 'new approval: field `request.args.retries`: number `NaN` is not finite' }),
        ]);
      });

      it('refuses an unknown field and input that is not an object', async () => {
        const errors = failure(await store.create({ ...newApproval(), approvers: ['x'] } as NewApproval));
        expect(errors[0]?.message).toBe('new approval: unrecognized key: "approvers"');
        expect(failure(await store.create('pending' as unknown as NewApproval))[0]?.code).toBe('APPROVAL_INVALID');
        expect(failure(await store.create(null as unknown as NewApproval))[0]?.code).toBe('APPROVAL_INVALID');
      });

      it('answers an unknown id with APPROVAL_NOT_FOUND and a malformed one with APPROVAL_INVALID', async () => {
        expect(failure(await store.get('nope', T0))).toEqual([expect.objectContaining({ code: 'APPROVAL_NOT_FOUND', reason: 'not_found', message: 'no approval has id `nope`' })]);
        expect(failure(await store.get(42 as unknown as string, T0))[0]).toMatchObject({ code: 'APPROVAL_INVALID', message: 'approval id `42` must be 1 to 128 letters, digits or . _ : -' });
        expect(failure(await store.get('x', 'now' as unknown as number))[0]).toMatchObject({ code: 'APPROVAL_INVALID', message: 'now `now` must be a time in ms since the epoch' });
      });
    });

    describe('decide', () => {
      it('approves once distinct approvers reach the quorum, recording each decision', async () => {
        const { id } = await create({ quorum: 2 });
        const first = value(await store.decide(id, approver('carol'), T0 + 1000));
        expect(first).toMatchObject({ status: 'pending', version: 2, updatedAt: T0 + 1000 });
        expect(failure(await store.decide(id, approver('carol', 'approve', T0 + 2000), T0 + 2000))[0]).toMatchObject({
          code: 'APPROVAL_CONFLICT',
          reason: 'already_decided',
          message: `approval \`${id}\`: \`carol\` has already decided on it`,
        });
        const second = value(await store.decide(id, approver('dave', 'approve', T0 + 3000), T0 + 3000));
        expect(second.status).toBe('approved');
        expect(second.version).toBe(3);
        expect(second.decisions).toEqual([approver('carol'), approver('dave', 'approve', T0 + 3000)]);
        expect(value(await store.get(id, T0 + 4000))).toEqual(second);
        expect(failure(await store.decide(id, approver('erin'), T0 + 4000))[0]).toMatchObject({ reason: 'approved', message: `approval \`${id}\`: is approved, so it cannot be decided` });
      });

      it('ends with one deny, even after approvals short of the quorum', async () => {
        const { id } = await create({ quorum: 3 });
        value(await store.decide(id, approver('carol'), T0 + 1000));
        const denied = value(await store.decide(id, approver('dave', 'deny'), T0 + 2000));
        expect(denied.status).toBe('denied');
        expect(failure(await store.decide(id, approver('erin'), T0 + 3000))[0]?.reason).toBe('denied');
        expect(failure(await store.consume(id, HASH, T0 + 3000))[0]?.reason).toBe('denied');
      });

      it('refuses the requester and a principal in none of the approver groups', async () => {
        const { id } = await create();
        expect(failure(await store.decide(id, { ...approver('agent-7'), groups: ['sre-approvers'] }, T0 + 1000))[0]).toMatchObject({
          code: 'APPROVAL_CONFLICT',
          reason: 'self_approval',
          message: `approval \`${id}\`: \`agent-7\` requested it and cannot decide on it`,
        });
        expect(failure(await store.decide(id, { ...approver('mallory'), groups: ['interns'] }, T0 + 1000))[0]).toMatchObject({
          reason: 'not_an_approver',
          message: `approval \`${id}\`: \`mallory\` is in none of the approver groups (\`sre-approvers\`)`,
        });
        expect(value(await store.get(id, T0 + 1000))).toMatchObject({ status: 'pending', version: 1, decisions: [] });
      });

      it('compares and sets by version when asked', async () => {
        const { id } = await create({ quorum: 2 });
        expect(failure(await store.decide(id, approver('carol'), T0 + 1000, 2))[0]).toMatchObject({ reason: 'version_mismatch', message: `approval \`${id}\`: is at version 1, not \`2\`` });
        expect(value(await store.decide(id, approver('carol'), T0 + 1000, 1)).version).toBe(2);
      });

      it('counts every one of many concurrent approvers up to the quorum, and no more', async () => {
        const { id } = await create({ quorum: 3 });
        const people = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
        const results = await Promise.all(people.map((p) => store.decide(id, approver(p), T0 + 1000)));
        expect(results.filter((r) => r.ok)).toHaveLength(3);
        expect(results.filter((r) => !r.ok).map((r) => failure(r)[0]?.reason)).toEqual(Array(5).fill('approved'));
        const record = value(await store.get(id, T0 + 1000));
        expect(record.status).toBe('approved');
        expect(record.decisions).toHaveLength(3);
        expect(record.version).toBe(4);
      });

      it('refuses a malformed decision with APPROVAL_INVALID and changes nothing', async () => {
        const { id } = await create();
        const errors = failure(await store.decide(id, { ...approver('carol'), verdict: 'maybe' as 'approve' }, T0 + 1000));
        expect(errors[0]).toMatchObject({ code: 'APPROVAL_INVALID', field: 'verdict' });
        expect(errors[0]?.message).toMatch(/^decision: field `verdict`: /);
        expect(failure(await store.decide('nope', approver('carol'), T0 + 1000))[0]?.code).toBe('APPROVAL_NOT_FOUND');
        expect(value(await store.get(id, T0 + 1000)).version).toBe(1);
      });
    });

    describe('consume', () => {
      it('succeeds exactly once for the approved, unexpired call it is bound to', async () => {
        const { id } = await create();
        expect(failure(await store.consume(id, HASH, T0 + 500))[0]).toMatchObject({
          code: 'APPROVAL_CONFLICT',
          reason: 'pending',
          message: `approval \`${id}\`: is pending, so it cannot be consumed`,
        });
        value(await store.decide(id, approver('carol'), T0 + 1000));
        expect(failure(await store.consume(id, OTHER_HASH, T0 + 2000))[0]).toMatchObject({ reason: 'binding_mismatch' });
        expect(value(await store.get(id, T0 + 2000)).status, 'a mismatch leaves it approved').toBe('approved');
        const consumed = value(await store.consume(id, HASH, T0 + 3000));
        expect(consumed).toMatchObject({ status: 'consumed', consumedAt: T0 + 3000, version: 3 });
        expect(failure(await store.consume(id, HASH, T0 + 4000))[0]).toMatchObject({ reason: 'consumed' });
        expect(value(await store.get(id, T0 + 60 * MINUTES)).status, 'consumed stays consumed past expiry').toBe('consumed');
      });

      it('has exactly one winner among 50 concurrent consumers', async () => {
        const { id } = await create();
        value(await store.decide(id, approver('carol'), T0 + 1000));
        const results = await Promise.all(Array.from({ length: 50 }, () => store.consume(id, HASH, T0 + 2000)));
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        expect(new Set(results.filter((r) => !r.ok).map((r) => failure(r)[0]?.reason))).toEqual(new Set(['consumed']));
      });

      it('refuses a malformed binding hash and an unknown id', async () => {
        expect(failure(await store.consume('nope', HASH, T0))[0]?.code).toBe('APPROVAL_NOT_FOUND');
        expect(failure(await store.consume('nope', 'ABC', T0))[0]).toMatchObject({ code: 'APPROVAL_INVALID', message: 'binding hash `ABC` must be 64 lowercase hex digits (a SHA-256)' });
      });
    });

    describe('expiry', () => {
      it('reads as expired at expiresAt, refuses every change, and is written once by expire', async () => {
        const { id, expiresAt } = await create({ id: 'soon' });
        const later = await create({ id: 'later', expiresAt: T0 + 60 * MINUTES });
        const approved = await create({ id: 'approved-soon' });
        value(await store.decide(approved.id, approver('carol'), T0 + 1000));
        expect(value(await store.get(id, expiresAt - 1)).status).toBe('pending');
        expect(value(await store.get(id, expiresAt))).toMatchObject({ status: 'expired', version: 1 });
        expect(failure(await store.decide(id, approver('carol'), expiresAt))[0]?.reason).toBe('expired');
        expect(failure(await store.consume(approved.id, HASH, expiresAt))[0]?.reason).toBe('expired');
        expect(failure(await store.cancel(id, 'agent-7', expiresAt))[0]?.reason).toBe('expired');
        const written = await store.expire(expiresAt);
        expect(written.map((r) => [r.id, r.status, r.version]).sort()).toEqual([
          ['approved-soon', 'expired', 3],
          ['soon', 'expired', 2],
        ]);
        expect(await store.expire(expiresAt + 1), 'each approval expires once').toEqual([]);
        expect(value(await store.get(later.id, expiresAt)).status).toBe('pending');
        await expect(store.expire(Number.NaN)).rejects.toMatchObject({ code: 'APPROVAL_INVALID' });
      });
    });

    describe('cancel', () => {
      it('cancels a pending or approved approval once, recording who', async () => {
        const { id } = await create();
        const cancelled = value(await store.cancel(id, 'agent-7', T0 + 1000, 'not needed'));
        expect(cancelled).toMatchObject({ status: 'cancelled', version: 2, cancelled: { by: 'agent-7', at: T0 + 1000, reason: 'not needed' } });
        expect(failure(await store.cancel(id, 'agent-7', T0 + 2000))[0]?.reason).toBe('cancelled');
        const other = await create({ id: 'approved' });
        value(await store.decide(other.id, approver('carol'), T0 + 1000));
        expect(value(await store.cancel(other.id, 'admin', T0 + 2000)).status).toBe('cancelled');
        expect(failure(await store.consume(other.id, HASH, T0 + 3000))[0]?.reason).toBe('cancelled');
      });
    });

    describe('list', () => {
      it('pages oldest first with filters by effective status and requester', async () => {
        for (let i = 0; i < 5; i++) await create({ id: `a${i}`, createdAt: T0 + i, expiresAt: T0 + 10 * MINUTES + i });
        await create({ id: 'b0', createdAt: T0 + 2, requester: { id: 'agent-9', groups: [] } });
        await create({ id: 'short', createdAt: T0 + 3, expiresAt: T0 + MINUTES });
        value(await store.decide('a1', approver('carol'), T0 + 100));

        const ids = async (filter: Parameters<ApprovalStore['list']>[0], now = T0 + 2 * MINUTES): Promise<string[][]> => {
          const pages: string[][] = [];
          let cursor: string | undefined;
          do {
            const page = await store.list(cursor === undefined ? filter : { ...filter, cursor }, now);
            if (!page.ok) throw new Error(page.errors[0]?.message);
            pages.push(page.value.records.map((r) => r.id));
            cursor = page.value.nextCursor;
          } while (cursor !== undefined);
          return pages;
        };
        expect(await ids({ limit: 3 })).toEqual([['a0', 'a1', 'a2'], ['b0', 'a3', 'short'], ['a4']]);
        expect(await ids({ status: 'pending' })).toEqual([['a0', 'a2', 'b0', 'a3', 'a4']]);
        expect(await ids({ status: 'pending' }, T0)).toEqual([['a0', 'a2', 'b0', 'a3', 'short', 'a4']]);
        expect(await ids({ status: 'expired' })).toEqual([['short']]);
        expect(await ids({ status: 'approved' })).toEqual([['a1']]);
        expect(await ids({ requester: 'agent-9' })).toEqual([['b0']]);
        expect(await ids({ requester: 'agent-7', status: 'pending', limit: 2 })).toEqual([
          ['a0', 'a2'],
          ['a3', 'a4'],
        ]);
        expect(await ids({ status: 'consumed' })).toEqual([[]]);
        const page = await store.list({ status: 'expired' }, T0 + 2 * MINUTES);
        expect(page.ok && page.value.records[0]?.status, 'listed records carry the effective status').toBe('expired');
      });

      it.each([
        ['an unknown status', { status: 'open' }, 'approval filter: status `open` is not one of pending, approved, denied, expired, consumed, cancelled'],
        ['a limit of 0', { limit: 0 }, 'approval filter: limit `0` must be a whole number from 1 to 1000'],
        ['a forged cursor', { cursor: 'not-a-cursor' }, 'approval filter: cursor `not-a-cursor` is not a cursor this store returned'],
        ['an unknown field', { state: 'pending' }, 'approval filter: unknown field `state` (expected status, requester, limit, cursor)'],
      ])('refuses %s with APPROVAL_INVALID', async (_d, filter, message) => {
        expect(failure(await store.list(filter as Parameters<ApprovalStore['list']>[0], T0))[0]).toMatchObject({ code: 'APPROVAL_INVALID', message });
      });
    });

    describe('subscribe', () => {
      it('tells listeners of every change made through the store, until they unsubscribe', async () => {
        const seen: Array<[string, string, number]> = [];
        const unsubscribe = store.subscribe((r) => seen.push([r.id, r.status, r.version]));
        store.subscribe(() => {
          throw new Error('a broken listener');
        });
        const { id } = await create({ id: 'watched' });
        value(await store.decide(id, approver('carol'), T0 + 1000));
        failure(await store.consume(id, OTHER_HASH, T0 + 2000));
        value(await store.consume(id, HASH, T0 + 2000));
        unsubscribe();
        await create({ id: 'unwatched' });
        expect(seen).toEqual([
          ['watched', 'pending', 1],
          ['watched', 'approved', 2],
          ['watched', 'consumed', 3],
        ]);
      });
    });

    it('rejects with STATE_STORAGE once closed', async () => {
      await store.close();
      await expect(store.get('x', T0)).rejects.toMatchObject({ code: 'STATE_STORAGE', message: 'the approval store is closed' });
      await expect(store.create(newApproval())).rejects.toMatchObject({ code: 'STATE_STORAGE' });
      await expect(store.consume('x', HASH, T0)).rejects.toMatchObject({ code: 'STATE_STORAGE' });
      await store.close();
    });
  });
}
