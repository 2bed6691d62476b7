/**
 * The limit store in process memory: counters are per process and lost when it ends (a
 * restart forgives every limit). Each step runs in one turn of the event loop, which makes
 * it atomic per key here. Call `prune` now and then to drop idle keys.
 */

import type { BudgetState, LimitBackend, LimitStore } from '../../limits/index.js';
import { limitStoreOver } from '../../limits/index.js';

/**
 * @example
 * const limits = createMemoryLimitStore();
 * const verdict = await limits.take('tool:deploy', { perPeriod: 5, periodMs: 60_000, burst: 5 }, Date.now());
 */
export function createMemoryLimitStore(): LimitStore {
  const rates = new Map<string, number>();
  const budgets = new Map<string, BudgetState>();
  const backend: LimitBackend = {
    async rate(key, step) {
      const out = step(rates.get(key));
      if (out.tat !== undefined) rates.set(key, out.tat);
      return out.result;
    },
    async budget(key, step) {
      const stored = budgets.get(key);
      const out = step(stored === undefined ? undefined : { ...stored });
      if (out.state !== undefined) budgets.set(key, { ...out.state });
      return out.result;
    },
    async prune(now) {
      let dropped = 0;
      for (const [key, tat] of rates) if (tat <= now && rates.delete(key)) dropped++;
      for (const [key, state] of budgets) if (state.windowStart + state.windowMs <= now && budgets.delete(key)) dropped++;
      return dropped;
    },
    async close() {
      rates.clear();
      budgets.clear();
    },
  };
  return limitStoreOver(backend, 'limit store');
}
