/**
 * The audit trail's storage port, owned by the audit stage. Every method is async, so a
 * networked store (PostgreSQL, with several gateway replicas appending to one chain) fits
 * the same shape as the embedded SQLite store and the in-memory one: appends run under a
 * head lock (`SELECT … FOR UPDATE` on the head row there, `BEGIN IMMEDIATE` in SQLite, a
 * queue in memory), `build` hashes the batch against the head it was handed, and the rows
 * plus the new head are written in one transaction, so no two writers can extend the same
 * head, and the lock is taken once per batch, not per event.
 *
 * Adapters live in `src/storage/` and pass `test/storage/contracts/audit-store.ts`. The
 * parsing helpers below are shared by them, so every store reports damaged state alike.
 */

import type { Checkpoint } from './checkpoint.js';
import { HASH_BYTES } from './hash.js';
import { CompactRange } from './merkle.js';
import type { Anchor, SegmentResult, SegmentTask, StoredCheckpoint, StoredRow } from './verify.js';
import type { Risk } from '../core/risk.js';

/**
 * The error a store's `appendBatch` throws when its server or disk did not take the write
 * (PostgreSQL unreachable, the disk full, the file locked past the busy timeout): nothing was
 * written, and the same batch may succeed later or on another replica. Any other failure of
 * a write is treated as a broken store.
 */
export class AuditStoreUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditStoreUnavailable';
  }
}

/**
 * Thrown (as a rejection) by a store when what it keeps about the chain (head, anchor,
 * checkpoint rows) is malformed or contradicts the stored events: a tampered or damaged log,
 * not a bug. The message names the table and what is wrong with it.
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

/** What `appendBatch`'s `build` returns: rows seq head.size+1 … in order, and the head after them. */
export interface AuditBatch<T> {
  rows: StoredRow[];
  head: ChainHead;
  result: T;
}

/** The reads of a store: the store itself, or one consistent snapshot of it (`snapshot`). */
export interface AuditStoreView {
  /**
   * The head a writer appends after (the anchor's state while nothing was appended). Rejects
   * with an {@link AuditStateError} when it is malformed or disagrees with the last stored
   * event (its seq and chain hash): appending after a wrong head would break the log for good.
   */
  head(): Promise<ChainHead>;
  /** The head as stored, parsed but not checked against the events; undefined when none. */
  storedHead(): Promise<ChainHead | undefined>;
  /** Where a pruned log starts (genesis when nothing was pruned); AuditStateError when malformed. */
  anchor(): Promise<Anchor>;
  /** The lowest and highest seq stored, exactly (as decimal text); undefined when empty. */
  extent(): Promise<{ lowest: string; highest: string } | undefined>;
  /**
   * Rows with from <= seq <= to in seq order, in pages (one await per page, not per row).
   * Gaps are kept as gaps: verification must see them.
   */
  rows(from?: number, to?: number): AsyncIterable<readonly StoredRow[]>;
  row(seq: number): Promise<StoredRow | undefined>;
  /** JSON bodies of the events with seq > afterSeq (and seq <= 2^53 - 1), in seq order, at most `limit`. */
  bodiesAfter(afterSeq: number, limit: number): Promise<string[]>;
  /** Events' JSON bodies matching a filter, in seq order. */
  query(filter: AuditFilter): Promise<string[]>;
  eventCount(): Promise<number>;
  /** Every checkpoint row as stored, in insertion order (verification cross-checks them). */
  checkpointRows(): Promise<StoredCheckpoint[]>;
  /** Checkpoints in size order; those with size > sinceSize when given. */
  checkpoints(sinceSize?: number): Promise<Checkpoint[]>;
  /** The checkpoint with the largest size (the last stored among equals). */
  latestCheckpoint(): Promise<Checkpoint | undefined>;
  /** Largest event time among seq <= size. */
  maxTimeThrough(size: number): Promise<string | undefined>;
  getMeta(key: string): Promise<string | undefined>;
  /** A named cursor (a SIEM sink's last acknowledged seq); 0 when never set. */
  getCursor(name: string): Promise<number>;
  /**
   * Verifies stretches of rows (`verifySegment` on each) on `threads` threads: the calling
   * one through this view, the others worker threads reading the store over their own
   * read-only connections (`verifyOnThreads`). Resolves to the results in task order, as
   * soon as one does not hold (the others then undefined). Every worker is gone when it
   * settles, on errors too. Absent where the store cannot (memory).
   */
  verifySegments?(tasks: readonly SegmentTask[], threads: number, onRows: (rows: number) => void): Promise<Array<SegmentResult | undefined>>;
}

export interface AuditStore extends AuditStoreView {
  /**
   * Appends a batch atomically under the head lock: `build` receives the current head
   * (checked as `head()` checks it) and returns the rows and the head after them. Batches
   * from any number of callers (or replicas) are serialised: each sees the head the previous
   * one left. When `build` throws or a row cannot be written, nothing is written.
   */
  appendBatch<T>(build: (head: ChainHead) => AuditBatch<T>): Promise<T>;
  /**
   * Runs `read` against one consistent snapshot (verification reads the head, anchor,
   * checkpoints and every row, and they must describe the same moment while appends go on).
   */
  snapshot<T>(read: (view: AuditStoreView) => Promise<T>): Promise<T>;
  addCheckpoint(checkpoint: Checkpoint): Promise<void>;
  /** Deletes events with seq <= anchor.size and records the anchor, in one transaction; resolves to the rows deleted. */
  prune(anchor: Anchor): Promise<number>;
  setMeta(key: string, value: string): Promise<void>;
  setCursor(name: string, seq: number): Promise<void>;
  close(): Promise<void>;
}

/** A head or anchor as a store keeps it: its columns, unparsed. */
export interface StoredChainState {
  size: unknown;
  chain_hash: unknown;
  /** JSON of `{size, nodes: [hex, …]}` (the Merkle frontier). */
  range: unknown;
}

const TABLE = { head: 'audit_head', anchor: 'audit_anchor' } as const;
const HEX_HASH = /^[0-9a-f]{64}$/;

/**
 * Reads a stored head or anchor strictly: a whole size, a 32-byte chain hash, and a frontier
 * of exactly the nodes that size needs, for that same size. Anything else was written by
 * hand, and is reported as an {@link AuditStateError} rather than crashing whoever reads it.
 *
 * @example
 * parseChainState('head', { size: 0, chain_hash: Buffer.alloc(32), range: '{"size":0,"nodes":[]}' })
 */
export function parseChainState(part: 'head' | 'anchor', row: StoredChainState): ChainHead {
  const bad = (what: string): AuditStateError => new AuditStateError(part, `the stored ${part} (table ${TABLE[part]}) is malformed: ${what}`);
  const size = row.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw bad(`size ${quoted(size)} is not a whole number of events`);
  if (!Buffer.isBuffer(row.chain_hash) || row.chain_hash.length !== HASH_BYTES) throw bad(`chain_hash is not ${HASH_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(row.range));
  } catch {
    throw bad(`range ${quoted(row.range)} is not JSON`);
  }
  const range = parsed as { size?: unknown; nodes?: unknown };
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(range.nodes) || range.nodes.some((n) => typeof n !== 'string' || !HEX_HASH.test(n))) {
    throw bad('range is not {size, nodes: [64 hex digits, …]}');
  }
  if (range.size !== size) throw bad(`size ${size}, but its Merkle frontier (range) covers ${quoted(range.size)} events`);
  const nodes = range.nodes as string[];
  const needed = popcount(size);
  if (nodes.length !== needed) throw bad(`range has ${nodes.length} nodes; a frontier of ${size} events has ${needed}`);
  return { size, chainHash: row.chain_hash, range: CompactRange.fromJSON({ size, nodes }) };
}

/** The columns a store keeps for a head or anchor. */
export function storeChainState(state: ChainHead): { size: number; chain_hash: Buffer; range: string } {
  return { size: state.size, chain_hash: Buffer.from(state.chainHash), range: JSON.stringify(state.range.toJSON()) };
}

/**
 * The check every store runs on its head before handing it out: it must describe the last
 * stored event (or, with no event after the anchor, be the anchor's state).
 */
export function checkHead(stored: ChainHead | undefined, anchor: Anchor, last: { seq: number; chainHash: unknown } | undefined): ChainHead {
  const head = stored ?? { size: anchor.size, chainHash: anchor.chainHash, range: anchor.range.clone() };
  // INVARIANT: rows and head are written in one transaction, so the head describes the
  // last row; when it does not, someone edited one of them and appending would hide it.
  const problem =
    last === undefined
      ? head.size !== anchor.size || !head.chainHash.equals(anchor.chainHash)
        ? `says ${head.size} events, but no event after ${anchor.size} is stored`
        : undefined
      : stored === undefined
        ? `is missing, but events up to ${last.seq} are stored`
        : head.size !== last.seq
          ? `says ${head.size} events, but the last stored event is ${last.seq}`
          : !(Buffer.isBuffer(last.chainHash) && head.chainHash.equals(last.chainHash))
            ? `does not hold the chain hash of event ${last.seq}`
            : undefined;
  if (problem) throw new AuditStateError('head', `the stored head (table audit_head) ${problem}`);
  return head;
}

/** Parses a stored checkpoint body; an {@link AuditStateError} when it is not JSON. */
export function parseStoredCheckpoint(body: string): Checkpoint {
  try {
    return JSON.parse(body) as Checkpoint;
  } catch {
    throw new AuditStateError('checkpoint', 'a stored checkpoint (table audit_checkpoints) is not JSON');
  }
}

function popcount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}

function quoted(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return `\`${text.length > 40 ? text.slice(0, 40) + '…' : text}\``;
}
