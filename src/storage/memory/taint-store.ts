/**
 * The taint store in process memory: bounded, oldest trace forgotten first. State is lost
 * when the process ends (a trace rarely outlives it); replicas do not share it.
 */

import { appendTaint, copyTaint, TAINT_SOURCES_LIMIT, type TaintStore } from '../../analysis/index.js';
import type { TaintRecord } from '../../core/types.js';

/** Bounded memory of tainted traces. */
export const TAINT_LIMIT = 10_000;

/**
 * @example const taint = createMemoryTaintStore(); await taint.mark('t1', { score: 0.9, techniques: ['override'], source: 'web' });
 */
export function createMemoryTaintStore(limit = TAINT_LIMIT, sourcesLimit = TAINT_SOURCES_LIMIT): TaintStore {
  const traces = new Map<string, TaintRecord>();
  const put = (traceId: string, record: TaintRecord) => {
    if (!traces.has(traceId) && traces.size >= limit) traces.delete(traces.keys().next().value as string);
    traces.set(traceId, record);
  };
  return {
    get: async (traceId) => {
      const r = traces.get(traceId);
      return r === undefined ? undefined : copyTaint(r);
    },
    async mark(traceId, record) {
      put(traceId, copyTaint(record));
    },
    // INVARIANT: read, append and write happen in one synchronous step, so concurrent appends to one trace never lose one.
    async append(traceId, entry) {
      const next = appendTaint(traces.get(traceId), entry, sourcesLimit);
      put(traceId, next);
      return copyTaint(next);
    },
    close: async () => undefined,
  };
}
