/**
 * The storage interface of the audit trail. The embedded store is SQLite; a PostgreSQL store
 * with several gateway replicas appending to one chain satisfies the same shape: appends run
 * under a head lock (`SELECT … FOR UPDATE` on the head row there, `BEGIN IMMEDIATE` here),
 * `build` hashes the batch against the head it was handed, and rows plus the new head are
 * written in one transaction, so no two writers can extend the same head.
 */

import type { Checkpoint } from './checkpoint.js';
import type { CompactRange } from './merkle.js';
import type { Anchor, StoredCheckpoint, StoredRow } from './verify.js';
import type { Risk } from '../core/risk.js';

/**
 * Thrown by a store when what it keeps about the chain (head, anchor, checkpoint rows) is
 * malformed or contradicts the stored events: a tampered or damaged log, not a bug. The
 * message names the table and what is wrong with it.
 */
export class AuditStateError extends Error {
  constructor(
    /** Which part of the stored state is at fault. */
    readonly part: 'head' | 'anchor' | 'checkpoint',
    message: string,
  ) {
    super(message);
    this.name = 'AuditStateError';
  }
}

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
  /** Only events at or before this seq. */
  throughSeq?: number;
  /** At most this many events: the most recent ones, still returned in seq order. */
  limit?: number;
}

export interface AuditStore {
  /**
   * Appends a batch atomically under the head lock. `build` receives the current head and
   * returns the rows to insert (seq head.size+1 … in order) and the head after them.
   */
  appendBatch<T>(build: (head: ChainHead) => { rows: StoredRow[]; head: ChainHead; result: T }): T;
  /**
   * The head a writer appends after (the anchor's state while nothing was appended). Throws
   * an {@link AuditStateError} when it is malformed or disagrees with the last stored event
   * (its seq and chain hash): appending after a wrong head would break the log for good.
   */
  head(): ChainHead;
  /** The head row as stored, parsed but not checked against the events; undefined when none. */
  storedHead(): ChainHead | undefined;
  /** The lowest and highest seq stored, exactly (as decimal text); undefined when empty. */
  extent(): { lowest: string; highest: string } | undefined;
  /** Rows with from <= seq <= to, in seq order, streamed. */
  rows(from?: number, to?: number): Iterable<StoredRow>;
  row(seq: number): StoredRow | undefined;
  /** JSON bodies of the events with seq > afterSeq, in seq order, at most `limit` (skips gaps). */
  bodiesAfter(afterSeq: number, limit: number): string[];
  /** Events' JSON bodies matching a filter, in seq order. */
  query(filter: AuditFilter): string[];
  eventCount(): number;
  addCheckpoint(checkpoint: Checkpoint): void;
  /** Every checkpoint row as stored, in id order (verification cross-checks them). */
  checkpointRows(): StoredCheckpoint[];
  /** Checkpoints in size order; those with size > sinceSize when given. */
  checkpoints(sinceSize?: number): Checkpoint[];
  latestCheckpoint(): Checkpoint | undefined;
  /** Where a pruned log starts (genesis when nothing was pruned); AuditStateError when malformed. */
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
