/**
 * The contract every limit store adapter must pass (memory, SQLite; Redis in a later issue):
 * the GCRA and budget step tables of `test/fixtures/limits/`, exactly; atomicity per key
 * under many concurrent calls; separate rate and budget key spaces; pruning that changes no
 * answer; malformed operands as `LIMIT_INVALID` values; a closed store rejecting.
 */

import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BudgetVerdict, LimitStore, RateLimit, RateVerdict } from '../../../src/limits/index.js';

interface RateCase {
  description: string;
  limit: RateLimit;
  steps: Array<{ now: number; cost?: number; expect: RateVerdict }>;
}

interface BudgetCase {
  description: string;
  limit: number;
  windowMs: number;
  steps: Array<{ now: number; amount: number; limit?: number; windowMs?: number; overdraw?: boolean; expect: BudgetVerdict }>;
}

function fixture<T>(name: string): T[] {
  const parsed = JSON.parse(readFileSync(new URL(`../../fixtures/limits/${name}`, import.meta.url), 'utf8')) as { cases: T[] };
  return parsed.cases;
}

export const RATE_CASES = fixture<RateCase>('gcra.json');
export const BUDGET_CASES = fixture<BudgetCase>('budgets.json');

export interface LimitStoreHandle {
  store: LimitStore;
  cleanup: () => Promise<void>;
}

async function ok<T>(result: Promise<{ ok: true; value: T } | { ok: false; errors: Array<{ message: string }> }>): Promise<T> {
  const r = await result;
  if (!r.ok) throw new Error(`expected success, got: ${r.errors.map((e) => e.message).join('; ')}`);
  return r.value;
}

export function limitStoreContract(name: string, makeStore: () => Promise<LimitStoreHandle>): void {
  describe(`limit store contract: ${name}`, () => {
    let handle: LimitStoreHandle;
    let store: LimitStore;
    beforeEach(async () => {
      handle = await makeStore();
      store = handle.store;
    });
    afterEach(async () => {
      await handle.cleanup();
    });

    it('runs a non-empty table of rate and budget cases', () => {
      expect(RATE_CASES.length).toBeGreaterThanOrEqual(5);
      expect(BUDGET_CASES.length).toBeGreaterThanOrEqual(6);
    });

    it.each(RATE_CASES.map((c) => [c.description, c] as const))('rate: %s', async (_d, c) => {
      const key = `rate:${c.description}`;
      for (const [i, step] of c.steps.entries()) {
        const limit = step.cost === undefined ? c.limit : { ...c.limit, cost: step.cost };
        expect(await ok(store.take(key, limit, step.now)), `${c.description}: step ${i} at ${step.now}`).toEqual(step.expect);
      }
    });

    it.each(BUDGET_CASES.map((c) => [c.description, c] as const))('budget: %s', async (_d, c) => {
      const key = `budget:${c.description}`;
      for (const [i, step] of c.steps.entries()) {
        const options = step.overdraw === undefined ? undefined : { overdraw: step.overdraw };
        const verdict = await ok(store.spend(key, step.amount, step.limit ?? c.limit, step.windowMs ?? c.windowMs, step.now, options));
        expect(verdict, `${c.description}: step ${i} at ${step.now}`).toEqual(step.expect);
      }
    });

    it('keeps keys apart, and rate keys apart from budget keys', async () => {
      const limit = { perPeriod: 1, periodMs: 1000, burst: 1 };
      expect((await ok(store.take('alice', limit, 0))).allowed).toBe(true);
      expect((await ok(store.take('alice', limit, 0))).allowed).toBe(false);
      expect((await ok(store.take('bob', limit, 0))).allowed).toBe(true);
      expect(await ok(store.spend('alice', 1, 1, 1000, 0))).toEqual({ allowed: true, spent: 1, remaining: 0, resetAfterMs: 1000 });
    });

    it('lets exactly the burst through under 100 concurrent takes of one key', async () => {
      const limit = { perPeriod: 1, periodMs: 60_000, burst: 10 };
      const verdicts = await Promise.all(Array.from({ length: 100 }, () => ok(store.take('crowd', limit, 5_000))));
      expect(verdicts.filter((v) => v.allowed)).toHaveLength(10);
      expect(
        verdicts
          .filter((v) => v.allowed)
          .map((v) => v.remaining)
          .sort((a, b) => a - b),
      ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('spends exactly the budget under 50 concurrent spends of one key', async () => {
      const verdicts = await Promise.all(Array.from({ length: 50 }, () => ok(store.spend('shared', 1, 20, 60_000, 0))));
      expect(verdicts.filter((v) => v.allowed)).toHaveLength(20);
      expect(await ok(store.spend('shared', 0, 20, 60_000, 0))).toEqual({ allowed: true, spent: 20, remaining: 0, resetAfterMs: 60_000 });
    });

    it('prunes only state that changes no answer', async () => {
      const limit = { perPeriod: 1, periodMs: 1000, burst: 2 };
      await ok(store.take('idle', limit, 0)); // TAT 1000
      await ok(store.take('busy', limit, 5_000));
      await ok(store.take('busy', limit, 5_000)); // TAT 7000
      await ok(store.spend('old-window', 1, 5, 1000, 0)); // window [0, 1000)
      await ok(store.spend('this-window', 4, 5, 10_000, 5_000)); // window [0, 10000)
      expect(await store.prune(5_000)).toBe(2);
      expect(await store.prune(5_000), 'nothing left to prune').toBe(0);
      expect(await ok(store.take('busy', limit, 5_000))).toEqual({ allowed: false, remaining: 0, retryAfterMs: 1000, resetAfterMs: 2000 });
      expect(await ok(store.take('idle', limit, 5_000))).toEqual({ allowed: true, remaining: 1, retryAfterMs: 0, resetAfterMs: 1000 });
      expect(await ok(store.spend('this-window', 1, 5, 10_000, 5_000))).toEqual({ allowed: true, spent: 5, remaining: 0, resetAfterMs: 5_000 });
    });

    it.each([
      ['a key that is not a string', 42, { perPeriod: 1, periodMs: 1000, burst: 1 }, 0, /^limit key `42` must be a string of 1 to 512 characters$/],
      ['an empty key', '', { perPeriod: 1, periodMs: 1000, burst: 1 }, 0, /^limit key `` must be/],
      ['a time that is not a number', 'k', { perPeriod: 1, periodMs: 1000, burst: 1 }, '0', /^now `0` must be a time in ms since the epoch$/],
      ['a rate of 0', 'k', { perPeriod: 0, periodMs: 1000, burst: 1 }, 0, /^rate limit: perPeriod `0` must be a number above 0$/],
      ['a period that is not finite', 'k', { perPeriod: 1, periodMs: Infinity, burst: 1 }, 0, /^rate limit: periodMs `null` must be a number of ms above 0$/],
      ['a burst of 0', 'k', { perPeriod: 1, periodMs: 1000, burst: 0 }, 0, /^rate limit: burst `0` must be a whole number from 1$/],
      ['a fractional cost', 'k', { perPeriod: 1, periodMs: 1000, burst: 2, cost: 0.5 }, 0, /^rate limit: cost `0.5` must be a whole number from 0$/],
      ['a cost above the burst', 'k', { perPeriod: 1, periodMs: 1000, burst: 2, cost: 3 }, 0, /^rate limit: cost 3 exceeds burst 2, so the call could never be allowed$/],
      ['a misspelt field', 'k', { perPeriod: 1, periodMs: 1000, brust: 2 }, 0, /^rate limit: unknown field `brust`/],
      ['no limit at all', 'k', null, 0, /^rate limit `null` must be an object/],
    ])('take refuses %s with LIMIT_INVALID', async (_d, key, limit, now, message) => {
      const result = await store.take(key as string, limit as RateLimit, now as number);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.errors[0]?.code).toBe('LIMIT_INVALID');
        expect(result.errors[0]?.message).toMatch(message);
      }
    });

    it.each([
      ['a negative amount', -1, 10, 1000, undefined, /^budget: amount `-1` must be a number from 0$/],
      ['an amount that is not a number', '1', 10, 1000, undefined, /^budget: amount `1` must be a number from 0$/],
      ['a limit that is NaN', 1, NaN, 1000, undefined, /^budget: limit `null` must be a number from 0$/],
      ['a window of 0', 1, 10, 0, undefined, /^budget: windowMs `0` must be a whole number of ms from 1$/],
      ['an unknown option', 1, 10, 1000, { overdrew: true }, /^budget: unknown option `overdrew`/],
    ])('spend refuses %s with LIMIT_INVALID', async (_d, amount, limit, windowMs, options, message) => {
      const result = await store.spend('k', amount as number, limit, windowMs, 0, options as { overdraw?: boolean });
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.errors[0]?.code).toBe('LIMIT_INVALID');
        expect(result.errors[0]?.message).toMatch(message);
      }
      expect(await ok(store.spend('k', 0, 10, 1000, 0)), 'a refused operand spends nothing').toEqual({ allowed: true, spent: 0, remaining: 10, resetAfterMs: 1000 });
    });

    it('rejects with STATE_STORAGE once closed', async () => {
      await store.close();
      await expect(store.take('k', { perPeriod: 1, periodMs: 1000, burst: 1 }, 0)).rejects.toMatchObject({ code: 'STATE_STORAGE', message: 'the limit store is closed' });
      await expect(store.spend('k', 1, 1, 1000, 0)).rejects.toMatchObject({ code: 'STATE_STORAGE' });
      await store.close();
    });
  });
}
