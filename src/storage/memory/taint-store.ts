/**
 * The taint store in process memory: bounded, oldest trace forgotten first. State is lost
 * when the process ends (a trace rarely outlives it); replicas do not share it.
 */

import type { TaintStore } from '../../analysis/index.js';
import type { TaintRecord } from '../../core/types.js';

/** Bounded memory of tainted traces. */
export const TAINT_LIMIT = 10_000;

function copy(record: TaintRecord): TaintRecord {
  return { score: record.score, techniques: [...record.techniques], source: record.source };
}

/**
 * @example const taint = createMemoryTaintStore(); await taint.mark('t1', { score: 0.9, techniques: ['override'], source: 'web' });
 */
export function createMemoryTaintStore(limit = TAINT_LIMIT): TaintStore {
  const traces = new Map<string, TaintRecord>();
  return {
    get: async (traceId) => {
      const r = traces.get(traceId);
      return r === undefined ? undefined : copy(r);
    },
    async mark(traceId, record) {
      if (!traces.has(traceId) && traces.size >= limit) traces.delete(traces.keys().next().value as string);
      traces.set(traceId, copy(record));
    },
    close: async () => undefined,
  };
}
