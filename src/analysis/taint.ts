/**
 * The taint port: what untrusted content each trace has read. `inspectResult` adds a source
 * when a result comes from an action declared `untrusted` or scores as a prompt-injection
 * attack; every later decision in the trace reads the record as a fact: an attack as
 * `analysis.untrustedContent`, any source for the policy's `flow` rules.
 *
 * A record keeps at most `TAINT_SOURCES_LIMIT` sources per trace (oldest dropped, counted in
 * `dropped`); whether the trace read an attack is kept whatever was dropped.
 *
 * Adapters: in memory (`src/storage/memory/taint-store.ts`) and SQLite
 * (`src/storage/sqlite/taint-store.ts`).
 */

import type { TaintRecord, TaintSource } from '../core/types.js';

/** How many tainting results one trace keeps (the oldest are dropped first). */
export const TAINT_SOURCES_LIMIT = 16;

/** One result to add to a trace's taint. */
export interface TaintEntry {
  action: string;
  source: string;
  attack: boolean;
  score: number;
  techniques: string[];
  /** ISO 8601 UTC. */
  at: string;
}

export interface TaintStore {
  /** The trace's taint, or undefined when it read nothing untrusted. */
  get(traceId: string): Promise<TaintRecord | undefined>;
  /** Marks a trace (the latest record of a trace replaces the earlier one). */
  mark(traceId: string, record: TaintRecord): Promise<void>;
  /**
   * Adds one result to the trace's taint in one atomic step (`appendTaint` on the stored
   * record) and answers the new record. Optional: without it the gateway reads, appends and
   * marks, serialized per trace in its process.
   */
  append?(traceId: string, entry: TaintEntry): Promise<TaintRecord>;
  close(): Promise<void>;
}

/** A deep copy of a record. */
export function copyTaint(record: TaintRecord): TaintRecord {
  const out: TaintRecord = { score: record.score, techniques: [...record.techniques], source: record.source };
  if (record.attack !== undefined) out.attack = record.attack;
  if (record.sources !== undefined) out.sources = record.sources.map((s) => ({ ...s }));
  if (record.dropped !== undefined) out.dropped = record.dropped;
  return out;
}

/**
 * The record after one more result: the entry appended as the next source (numbered after
 * the last one, dropped ones included), the oldest dropped beyond `limit`; an attack entry
 * becomes the record's `score`, `techniques` and `source`.
 *
 * @example appendTaint(undefined, { action: 'web.fetch', source: 'web.fetch', attack: false, score: 0.1, techniques: [], at: new Date().toISOString() })
 */
export function appendTaint(previous: TaintRecord | undefined, entry: TaintEntry, limit = TAINT_SOURCES_LIMIT): TaintRecord {
  const wasAttack = previous !== undefined && previous.attack !== false;
  const earlier: TaintSource[] =
    previous === undefined
      ? []
      : previous.sources !== undefined
        ? previous.sources.map((s) => ({ ...s }))
        : [{ seq: 1, action: previous.source, source: previous.source, attack: wasAttack, score: previous.score }];
  const last = earlier[earlier.length - 1];
  const seq = (last?.seq ?? previous?.dropped ?? 0) + 1;
  earlier.push({ seq, action: entry.action, source: entry.source, at: entry.at, attack: entry.attack, score: entry.score });
  const drop = Math.max(0, earlier.length - Math.max(1, limit));
  const sources = earlier.slice(drop);
  const base =
    entry.attack || previous === undefined
      ? { score: entry.attack ? entry.score : 0, techniques: entry.attack ? [...entry.techniques] : [], source: entry.source }
      : { score: previous.score, techniques: [...previous.techniques], source: previous.source };
  return { ...base, attack: wasAttack || entry.attack, sources, dropped: (previous?.dropped ?? 0) + drop };
}
