/**
 * The arithmetic of limits, pure and shared by every adapter of the limit store, so memory,
 * SQLite and (as a Lua script doing the same steps) Redis answer alike.
 *
 * Rate limits are GCRA, the generic cell rate algorithm (as in redis-cell and throttled):
 * a key's whole state is one number, its theoretical arrival time (TAT). A limit of
 * `perPeriod` calls per `periodMs` spaces calls `T = periodMs / perPeriod` apart and lets
 * `burst` calls through at once from idle. A call of cost `c` at `now` is allowed when
 * `max(TAT, now) + c·T − burst·T ≤ now`, and then moves TAT there.
 *
 * Budgets are fixed windows aligned to the epoch (`windowMs` = 86 400 000 resets at
 * midnight UTC on every replica alike): the amount spent in the current window, refused
 * whole when it would pass the limit.
 *
 * Times are milliseconds, passed in by the caller: nothing here reads a clock.
 */

import { bastionError, quote, type BastionError } from '../core/errors.js';

export interface RateLimit {
  /** Calls allowed per `periodMs` at the steady rate (> 0). */
  perPeriod: number;
  /** The period, in ms (> 0): `{perPeriod: 10, periodMs: 1000}` is 10 calls a second. */
  periodMs: number;
  /** Calls allowed at once from idle (a whole number ≥ 1). */
  burst: number;
  /** What this call costs, in calls (a whole number ≥ 0, default 1; 0 only asks). */
  cost?: number;
}

export interface RateVerdict {
  allowed: boolean;
  /** Calls of cost 1 that would still be allowed right now, after this one. */
  remaining: number;
  /** When refused: ms until the same call would be allowed (what `Retry-After` carries); else 0. */
  retryAfterMs: number;
  /** Ms until the key is back to its full burst (idle). */
  resetAfterMs: number;
}

export interface BudgetVerdict {
  allowed: boolean;
  /** Spent in the current window, this call included when allowed. */
  spent: number;
  /** What may still be spent in the current window (never below 0). */
  remaining: number;
  /** Ms until the current window ends and the budget is whole again. */
  resetAfterMs: number;
}

/** A budget key's state: the window it counts in and what was spent there. */
export interface BudgetState {
  windowStart: number;
  windowMs: number;
  spent: number;
}

export interface SpendOptions {
  /**
   * Charge even when it passes the limit (for usage known only after the call, such as a
   * model's tokens); `allowed` then says whether the budget still holds.
   */
  overdraw?: boolean;
}

// Float slack: T = 1000/3 must let exactly `burst` calls through, not burst − 1.
const EPSILON = 1e-6;
const MAX_KEY = 512;

function invalid(message: string): BastionError {
  return bastionError('LIMIT_INVALID', message);
}

function positive(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

function checkCommon(key: unknown, now: unknown): BastionError | undefined {
  if (typeof key !== 'string' || key === '' || key.length > MAX_KEY) return invalid(`limit key ${quote(key)} must be a string of 1 to ${MAX_KEY} characters`);
  if (typeof now !== 'number' || !Number.isFinite(now) || now < 0) return invalid(`now ${quote(now)} must be a time in ms since the epoch`);
  return undefined;
}

/** Why the operands of `take` are unusable, or undefined when they are fine. */
export function checkRateLimit(key: unknown, limit: unknown, now: unknown): BastionError | undefined {
  const common = checkCommon(key, now);
  if (common) return common;
  if (typeof limit !== 'object' || limit === null) return invalid(`rate limit ${quote(limit)} must be an object {perPeriod, periodMs, burst, cost?}`);
  const l = limit as Record<string, unknown>;
  for (const field of Object.keys(l))
    if (!['perPeriod', 'periodMs', 'burst', 'cost'].includes(field)) return invalid(`rate limit: unknown field ${quote(field)} (expected perPeriod, periodMs, burst, cost)`);
  if (!positive(l['perPeriod'])) return invalid(`rate limit: perPeriod ${quote(l['perPeriod'])} must be a number above 0`);
  if (!positive(l['periodMs'])) return invalid(`rate limit: periodMs ${quote(l['periodMs'])} must be a number of ms above 0`);
  const burst = l['burst'];
  if (typeof burst !== 'number' || !Number.isSafeInteger(burst) || burst < 1) return invalid(`rate limit: burst ${quote(burst)} must be a whole number from 1`);
  const cost = l['cost'] ?? 1;
  if (typeof cost !== 'number' || !Number.isSafeInteger(cost) || cost < 0) return invalid(`rate limit: cost ${quote(cost)} must be a whole number from 0`);
  if (cost > burst) return invalid(`rate limit: cost ${cost} exceeds burst ${burst}, so the call could never be allowed`);
  return undefined;
}

/**
 * One GCRA step: the verdict for a call at `now` and the TAT to store (unchanged when
 * refused). `tat` is undefined for a key never seen (or pruned).
 *
 * @example
 * gcra(undefined, { perPeriod: 1, periodMs: 1000, burst: 2 }, 0)
 * // { verdict: { allowed: true, remaining: 1, retryAfterMs: 0, resetAfterMs: 1000 }, tat: 1000 }
 */
export function gcra(tat: number | undefined, limit: RateLimit, now: number): { verdict: RateVerdict; tat: number | undefined } {
  const interval = limit.periodMs / limit.perPeriod;
  const tolerance = interval * limit.burst;
  const cost = limit.cost ?? 1;
  const from = tat === undefined || tat < now ? now : tat;
  const next = from + interval * cost;
  const allowAt = next - tolerance;
  if (allowAt > now + EPSILON) {
    return {
      verdict: {
        allowed: false,
        remaining: Math.max(0, Math.floor((now + tolerance - from) / interval + EPSILON)),
        retryAfterMs: Math.ceil(allowAt - now - EPSILON),
        resetAfterMs: Math.max(0, Math.ceil(from - now - EPSILON)),
      },
      tat,
    };
  }
  return {
    verdict: {
      allowed: true,
      remaining: Math.max(0, Math.floor((now + tolerance - next) / interval + EPSILON)),
      retryAfterMs: 0,
      resetAfterMs: Math.max(0, Math.ceil(next - now - EPSILON)),
    },
    // Cost 0 only asks: nothing to store.
    tat: cost === 0 ? tat : next,
  };
}

/** Why the operands of `spend` are unusable, or undefined when they are fine. */
export function checkBudget(key: unknown, amount: unknown, limit: unknown, windowMs: unknown, now: unknown, options: unknown): BastionError | undefined {
  const common = checkCommon(key, now);
  if (common) return common;
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) return invalid(`budget: amount ${quote(amount)} must be a number from 0`);
  if (typeof limit !== 'number' || !Number.isFinite(limit) || limit < 0) return invalid(`budget: limit ${quote(limit)} must be a number from 0`);
  if (typeof windowMs !== 'number' || !Number.isSafeInteger(windowMs) || windowMs < 1) return invalid(`budget: windowMs ${quote(windowMs)} must be a whole number of ms from 1`);
  if (options !== undefined) {
    if (typeof options !== 'object' || options === null) return invalid(`budget: options ${quote(options)} must be an object {overdraw?}`);
    for (const field of Object.keys(options)) if (field !== 'overdraw') return invalid(`budget: unknown option ${quote(field)} (expected overdraw)`);
    const overdraw = (options as Record<string, unknown>)['overdraw'];
    if (overdraw !== undefined && typeof overdraw !== 'boolean') return invalid(`budget: overdraw ${quote(overdraw)} must be true or false`);
  }
  return undefined;
}

/**
 * One budget step: the verdict for spending `amount` at `now` and the state to store
 * (undefined when nothing changes).
 *
 * @example
 * spendBudget(undefined, 3, 10, 60_000, 1_000) // verdict { allowed: true, spent: 3, remaining: 7, resetAfterMs: 59000 }
 */
export function spendBudget(
  state: BudgetState | undefined,
  amount: number,
  limit: number,
  windowMs: number,
  now: number,
  options: SpendOptions = {},
): { verdict: BudgetVerdict; state: BudgetState | undefined } {
  const windowStart = now - (now % windowMs);
  const resetAfterMs = windowStart + windowMs - now;
  // A state from another window, or counted in windows of another length, is spent out.
  const spent = state !== undefined && state.windowStart === windowStart && state.windowMs === windowMs ? state.spent : 0;
  const after = spent + amount;
  const fits = after <= limit + EPSILON * Math.max(1, limit);
  if (!fits && options.overdraw !== true) return { verdict: { allowed: false, spent, remaining: Math.max(0, limit - spent), resetAfterMs }, state: undefined };
  return {
    verdict: { allowed: fits, spent: after, remaining: Math.max(0, limit - after), resetAfterMs },
    state: amount === 0 ? undefined : { windowStart, windowMs, spent: after },
  };
}
