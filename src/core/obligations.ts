/**
 * Reading the obligations an allow carries (`Decision.obligations`), the same way on every
 * surface that applies them.
 */

import type { Obligation } from './types.js';

/**
 * The seconds a `timeout` obligation gives the call, the shortest when several apply; undefined
 * when none does (an obligation without a positive, finite `seconds` is not a timeout).
 *
 * @example obligedTimeoutSeconds([{ type: 'timeout', seconds: 60 }, { type: 'timeout', seconds: 5 }]) // 5
 */
export function obligedTimeoutSeconds(obligations: readonly Obligation[]): number | undefined {
  let seconds: number | undefined;
  for (const o of obligations) {
    const s = o['seconds'];
    if (o.type === 'timeout' && typeof s === 'number' && Number.isFinite(s) && s > 0) seconds = Math.min(seconds ?? s, s);
  }
  return seconds;
}
