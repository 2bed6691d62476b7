/**
 * The taint port: what untrusted content each trace has read. `inspectResult` adds a source
 * when a result comes from an action declared `untrusted` or scores as a prompt-injection
 * attack; every later decision in the trace reads the record as a fact: an attack as
 * `analysis.untrustedContent`, any source for the policy's `flow` rules.
 *
 * A record keeps at most `TAINT_SOURCES_LIMIT` sources per trace (oldest dropped, counted in
 * `dropped`); whether the trace read an attack is kept whatever was dropped. The same record
 * keeps the files the trace's allowed calls downloaded (at most `TAINT_DOWNLOADS_LIMIT`), which
 * the analysis of its later calls is seeded with; they do not taint the trace.
 *
 * Adapters: in memory (`src/storage/memory/taint-store.ts`), SQLite
 * (`src/storage/sqlite/taint-store.ts`) and PostgreSQL (`src/storage/postgres/taint-store.ts`).
 */

import type { TaintRecord, TaintSource, TraceDownload } from '../core/types.js';

/** How many tainting results one trace keeps (the oldest are dropped first). */
export const TAINT_SOURCES_LIMIT = 16;

/** How many downloaded files one trace keeps (the oldest are dropped first). */
export const TAINT_DOWNLOADS_LIMIT = 32;

/** What to add to a trace's record: a result that tainted it, or files an allowed call downloaded. */
export type TaintEntry = ResultTaintEntry | DownloadTaintEntry;

/** One result to add to a trace's taint. */
export interface ResultTaintEntry {
  kind?: 'result';
  action: string;
  source: string;
  attack: boolean;
  score: number;
  techniques: string[];
  /** ISO 8601 UTC. */
  at: string;
}

/** Files one allowed call downloaded (`Analysis.downloads`). */
export interface DownloadTaintEntry {
  kind: 'download';
  action: string;
  paths: readonly string[];
  /** ISO 8601 UTC. */
  at: string;
}

/**
 * Whether the record says the trace read untrusted content: a source, or an attack (a record
 * written before flow rules, with no `attack`, is one). Downloads alone do not taint.
 */
export function isTainted(record: TaintRecord | undefined): record is TaintRecord {
  if (record === undefined) return false;
  return record.attack !== false || (record.sources?.length ?? 0) > 0;
}

/** The files earlier calls of the trace downloaded, oldest first. */
export function traceDownloads(record: TaintRecord | undefined): string[] {
  return record?.downloads?.map((d) => d.path) ?? [];
}

/** The downloads after one more call's: a path downloaded again moves to the end; the oldest are dropped beyond the bound. */
function appendDownloads(previous: readonly TraceDownload[] | undefined, entry: DownloadTaintEntry): TraceDownload[] {
  const fresh = new Set(entry.paths);
  const kept = (previous ?? []).filter((d) => !fresh.has(d.path)).map((d) => ({ ...d }));
  for (const path of fresh) kept.push({ path, action: entry.action, at: entry.at });
  return kept.slice(Math.max(0, kept.length - TAINT_DOWNLOADS_LIMIT));
}

export interface TaintStore {
  /**
   * The trace's record, or undefined when it read nothing untrusted and downloaded nothing (a
   * record of downloads only is not tainted: `isTainted`).
   */
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
  if (record.downloads !== undefined) out.downloads = record.downloads.map((d) => ({ ...d }));
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
  if (entry.kind === 'download') {
    const base: TaintRecord = previous === undefined ? { score: 0, techniques: [], source: '', attack: false, sources: [] } : copyTaint(previous);
    return { ...base, downloads: appendDownloads(previous?.downloads, entry) };
  }
  const downloads = previous?.downloads;
  // A record that holds only downloads did not taint the trace: the entry starts its taint.
  if (previous !== undefined && !isTainted(previous)) {
    const started = appendTaint(undefined, entry, limit);
    return downloads === undefined ? started : { ...started, downloads: downloads.map((d) => ({ ...d })) };
  }
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
  const next: TaintRecord = { ...base, attack: wasAttack || entry.attack, sources, dropped: (previous?.dropped ?? 0) + drop };
  if (downloads !== undefined) next.downloads = downloads.map((d) => ({ ...d }));
  return next;
}
