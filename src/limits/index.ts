/**
 * The limits stage: rate limits (GCRA with burst) and spend budgets, their port
 * (`LimitStore`) and the pure arithmetic every adapter shares.
 */

export type { BudgetState, BudgetVerdict, RateLimit, RateVerdict, SpendOptions } from './rules.js';
export { checkBudget, checkRateLimit, gcra, spendBudget } from './rules.js';
export type { LimitBackend, LimitStore } from './store.js';
export { limitStoreOver } from './store.js';
