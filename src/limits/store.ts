/**
 * The limit store's port: rate limits (GCRA) and spend budgets, each atomic per key. Owned
 * by the limits stage; adapters in `storage/memory/limits.ts` and
 * `storage/sqlite/limit-store.ts` (Redis, with the same steps as a Lua script, in a later
 * issue) pass the contract suite `test/storage/contracts/limits.ts`.
 *
 * Rate keys and budget keys are separate spaces: `take('p:alice', …)` and
 * `spend('p:alice', …)` never share state. `now` is passed in (ms), so the store reads no
 * clock and tests need none.
 *
 * Failures: malformed operands are a `LIMIT_INVALID` error value; storage that cannot be
 * read or written, or a closed store, rejects with a `STATE_STORAGE` BastionException,
 * which the caller maps to the limit's documented fail mode (budgets fail closed).
 */

import { BastionException, bastionError, type BastionError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import type { BudgetState, BudgetVerdict, RateLimit, RateVerdict, SpendOptions } from './rules.js';
import { checkBudget, checkRateLimit, gcra, spendBudget } from './rules.js';

export interface LimitStore {
  /** Takes `limit.cost` (default 1) from the key's rate limit at `now`, atomically. */
  take(key: string, limit: RateLimit, now: number): Promise<Result<RateVerdict, BastionError>>;
  /**
   * Spends `amount` from the key's budget of `limit` per window of `windowMs` at `now`,
   * atomically; refused whole (nothing spent) when it would pass the limit, unless
   * `options.overdraw`.
   */
  spend(key: string, amount: number, limit: number, windowMs: number, now: number, options?: SpendOptions): Promise<Result<BudgetVerdict, BastionError>>;
  /** Drops state that no longer changes any answer at `now` (idle rate keys, ended windows); resolves to how many keys. */
  prune(now: number): Promise<number>;
  /**
   * Stores with a server of their own (Redis): resolves when it answers now, rejects with
   * `STATE_STORAGE` when not. What `/health` and `bastion_limit_store_up` report.
   */
  ping?(): Promise<void>;
  close(): Promise<void>;
}

/**
 * What an adapter provides: per-key atomic read-modify-write of the two kinds of state.
 * `limitStoreOver` adds the checks and the arithmetic.
 */
export interface LimitBackend {
  /** Atomically reads the key's TAT, calls `step`, and stores the TAT it returns (when not undefined). */
  rate<T>(key: string, step: (tat: number | undefined) => { tat: number | undefined; result: T }): Promise<T>;
  /** Atomically reads the key's budget state, calls `step`, and stores the state it returns (when not undefined). */
  budget<T>(key: string, step: (state: BudgetState | undefined) => { state: BudgetState | undefined; result: T }): Promise<T>;
  /** Deletes rate keys with TAT ≤ now and budget keys whose window ended by now. */
  prune(now: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Builds a limit store over a backend.
 *
 * @example
 * const limits = limitStoreOver(myBackend, 'limit store');
 * await limits.take('principal:alice', { perPeriod: 10, periodMs: 1000, burst: 20 }, Date.now());
 */
export function limitStoreOver(backend: LimitBackend, name: string): LimitStore {
  let closed = false;
  const open = (): void => {
    if (closed) throw new BastionException(bastionError('STATE_STORAGE', `the ${name} is closed`));
  };
  return {
    async take(key, limit, now) {
      open();
      const error = checkRateLimit(key, limit, now);
      if (error) return { ok: false, errors: [error] };
      const verdict = await backend.rate(key, (tat) => {
        const step = gcra(tat, limit, now);
        return { tat: step.tat === tat ? undefined : step.tat, result: step.verdict };
      });
      return { ok: true, value: verdict };
    },
    async spend(key, amount, limit, windowMs, now, options) {
      open();
      const error = checkBudget(key, amount, limit, windowMs, now, options);
      if (error) return { ok: false, errors: [error] };
      const verdict = await backend.budget(key, (state) => {
        const step = spendBudget(state, amount, limit, windowMs, now, options);
        return { state: step.state, result: step.verdict };
      });
      return { ok: true, value: verdict };
    },
    async prune(now) {
      open();
      if (typeof now !== 'number' || !Number.isFinite(now)) throw new BastionException(bastionError('LIMIT_INVALID', 'prune: now must be a time in ms since the epoch'));
      return backend.prune(now);
    },
    async close() {
      if (closed) return;
      closed = true;
      await backend.close();
    },
  };
}
