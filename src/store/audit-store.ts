/**
 * The storage interface of the audit trail. The embedded store is SQLite; a PostgreSQL store
 * with several gateway replicas appending to one chain satisfies the same shape: appends run
 * under a head lock (`SELECT … FOR UPDATE` on the head row there, `BEGIN IMMEDIATE` here),
 * `build` hashes the batch against the head it was handed, and rows plus the new head are
 * written in one transaction, so no two writers can extend the same head.
 */

import type { Checkpoint } from '../audit/checkpoint.js';
import type { CompactRange } from '../audit/merkle.js';
import type { Anchor, StoredRow } from '../audit/verify.js';
import type { Risk } from '../core/risk.js';

/** The end of the chain: how many events, the last chain hash and the Merkle frontier. */
export interface ChainHead {
  size: number;
  chainHash: Buffer;
  range: CompactRange;
}

/** Filters of `query`; every given filter must hold. */
export interface AuditFilter {
  decision?: string;
  /** Principal id. */
  principal?: string;
  /** A group the principal was in. */
  group?: string;
  /** Action name; `*` matches any run of characters. */
  action?: string;
  /** Risk at or above this level. */
  risk?: Risk;
  traceId?: string;
  type?: string;
  /** ISO 8601 times or Dates, inclusive. */
  since?: string | Date;
  until?: string | Date;
  /** Only events after this seq (for paging and export cursors). */
  afterSeq?: number;
  /** At most this many events: the most recent ones, still returned in seq order. */
  limit?: number;
}

export interface AuditStore {
  /**
   * Appends a batch atomically under the head lock. `build` receives the current head and
   * returns the rows to insert (seq head.size+1 … in order) and the head after them.
   */
  appendBatch<T>(build: (head: ChainHead) => { rows: StoredRow[]; head: ChainHead; result: T }): T;
  head(): ChainHead;
  /** Rows with from <= seq <= to, in seq order, streamed. */
  rows(from?: number, to?: number): Iterable<StoredRow>;
  row(seq: number): StoredRow | undefined;
  /** JSON bodies of the events with seq > afterSeq, in seq order, at most `limit` (skips gaps). */
  bodiesAfter(afterSeq: number, limit: number): string[];
  /** Events' JSON bodies matching a filter, in seq order. */
  query(filter: AuditFilter): string[];
  eventCount(): number;
  addCheckpoint(checkpoint: Checkpoint): void;
  /** Checkpoints in size order; those with size > sinceSize when given. */
  checkpoints(sinceSize?: number): Checkpoint[];
  latestCheckpoint(): Checkpoint | undefined;
  anchor(): Anchor;
  /** Deletes events with seq <= anchor.size and records the anchor, in one transaction. */
  prune(anchor: Anchor): number;
  /** Largest event time among seq <= size. */
  maxTimeThrough(size: number): string | undefined;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  getCursor(name: string): number;
  setCursor(name: string, seq: number): void;
  close(): void;
}
