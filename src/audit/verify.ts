/**
 * Verification over a list of stored rows, independent of where they are stored: recomputes
 * every leaf hash, the hash chain and the Merkle root at every signed checkpoint, checks the
 * signatures, and names the first sequence number that does not hold. The SQLite store and a
 * later PostgreSQL store feed it the same rows.
 */

import type { KeyObject } from 'node:crypto';
import type { Checkpoint } from './checkpoint.js';
import { checkCheckpointSignature } from './checkpoint.js';
import { chainHash, ChainCursor, GENESIS_CHAIN_HASH, HASH_BYTES, leafDigest, leafHash } from './hash.js';
import { CompactRange, DigestRange } from './merkle.js';

/**
 * One stored event as the verifier sees it. The leaf hash is not stored: it is recomputed
 * from the body, and the stored chain hash (which covers it) is what the body must match.
 */
export interface StoredRow {
  seq: number;
  /** The event's RFC 8785 canonical JSON, exactly the bytes that were hashed. */
  body: string;
  /** The stored chain hash: bytes, or lowercase hex (cheaper for a store to hand out per row). */
  chainHash: Buffer | string;
  /** Indexed copies a store keeps beside the body; when given, they must match it. */
  traceId?: string | null;
  time?: string;
}

/** Where a pruned log starts: the chain hash and compact range after event `size`. */
export interface Anchor {
  size: number;
  chainHash: Buffer;
  range: CompactRange;
}

export const GENESIS_ANCHOR: Anchor = { size: 0, chainHash: GENESIS_CHAIN_HASH, range: new CompactRange() };

export interface VerifyFailure {
  /** The first sequence number that does not verify, when the fault is in the events. */
  seq?: number;
  /** The size of the checkpoint at fault, when a checkpoint is forged or contradicted. */
  checkpointSize?: number;
  reason: string;
}

export interface VerifyReport {
  ok: boolean;
  /** Events checked. */
  events: number;
  /** First and last seq present (after pruning the first is above 1). */
  firstSeq: number;
  lastSeq: number;
  /** Signed checkpoints whose signature, root and chain hash were all checked. */
  checkpointsVerified: number;
  latestCheckpoint?: { size: number; root: string; time: string };
  /** Merkle root and chain hash over everything verified, hex. */
  root: string;
  chainHash: string;
  failure?: VerifyFailure;
}

export interface VerifyInput {
  rows: Iterable<StoredRow>;
  /** Rows expected, for progress only. */
  total?: number;
  checkpoints: readonly Checkpoint[];
  publicKey: KeyObject;
  anchor?: Anchor;
  onProgress?: (done: number, total: number) => void;
}

const PROGRESS_EVERY = 16_384;
const MALFORMED_ANCHOR = 'the stored anchor of the pruned prefix is malformed (hashes of the wrong length)';

/**
 * Verifies rows in seq order against the hash chain and the signed checkpoints.
 *
 * @example
 * const report = verifyRows({ rows, checkpoints, publicKey });
 * if (!report.ok) console.log(report.failure?.seq, report.failure?.reason);
 */
export function verifyRows(input: VerifyInput): VerifyReport {
  const anchor = input.anchor ?? GENESIS_ANCHOR;
  // Digests travel as latin1 strings and chain hashes as hex from here on: no Buffer per row.
  let range: DigestRange | undefined;
  let previous = anchor.chainHash.toString('hex');
  let lastSeq = anchor.size;
  let events = 0;
  const total = input.total ?? 0;
  const checkpoints = [...input.checkpoints].sort((a, b) => a.size - b.size);
  let verified = 0;
  let latest: Checkpoint | undefined;

  const report = (failure?: VerifyFailure): VerifyReport => {
    const out: VerifyReport = {
      ok: failure === undefined,
      events,
      firstSeq: anchor.size + 1,
      lastSeq,
      checkpointsVerified: verified,
      root: '',
      chainHash: previous,
    };
    if (range) out.root = range.rootHex();
    if (latest) out.latestCheckpoint = { size: latest.size, root: latest.root, time: latest.time };
    if (failure) out.failure = failure;
    return out;
  };

  if (anchor.chainHash.length !== HASH_BYTES || anchor.range.nodes.some((n) => n.length !== HASH_BYTES)) {
    return report({ seq: anchor.size + 1, reason: MALFORMED_ANCHOR });
  }
  range = DigestRange.from(anchor.range);
  const chain = new ChainCursor(anchor.chainHash);
  for (const cp of checkpoints) {
    const problem = checkCheckpointSignature(cp, input.publicKey);
    if (problem) return report({ checkpointSize: cp.size, reason: `checkpoint at size ${cp.size}: ${problem}` });
  }

  // Checkpoints below the anchor cover pruned events: their signatures were checked above;
  // the one at the anchor must vouch for the anchor itself.
  let next = checkpoints.findIndex((cp) => cp.size >= anchor.size);
  if (next === -1) next = checkpoints.length;
  if (anchor.size > 0) {
    const atAnchor = checkpoints.filter((cp) => cp.size === anchor.size);
    if (atAnchor.length === 0) {
      return report({ seq: anchor.size + 1, reason: `pruned prefix of ${anchor.size} events is not covered by a signed checkpoint` });
    }
    const rootHex = range.rootHex();
    for (const cp of atAnchor) {
      if (cp.root !== rootHex || cp.chainHash !== previous) {
        return report({ seq: anchor.size + 1, checkpointSize: cp.size, reason: `pruned prefix does not match the signed checkpoint at size ${cp.size}` });
      }
      verified++;
      latest = cp;
      next++;
    }
  }
  let lastGood = anchor.size;

  // Two stored chain hashes back: telling an insertion from an edit needs the one before last.
  let beforePrevious: string | undefined;
  const rows = input.rows[Symbol.iterator]();
  // Iterated by hand to peek one row ahead on a break; the finally releases the cursor.
  try {
    for (let step = rows.next(); !step.done; step = rows.next()) {
      const row = step.value;
      const expected = lastSeq + 1;
      if (row.seq !== expected) {
        return report({
          seq: expected,
          reason: row.seq > expected ? `event ${expected} is missing (deleted)` : `event ${row.seq} appears out of order or twice`,
        });
      }
      const leaf = leafDigest(row.body);
      const chained = chain.next(leaf);
      const stored = row.chainHash;
      if (typeof stored === 'string' ? chained !== stored : chained !== stored.toString('hex')) {
        return report({ seq: row.seq, reason: chainBreak(row, beforePrevious, rows.next()) });
      }
      // The body names its own seq: a row moved to another seq with rehashed chain would
      // otherwise only show at the next checkpoint.
      const tail = plainTail(row.body) ?? eventTail(row.body);
      if (tail?.seq !== row.seq) return report({ seq: row.seq, reason: `event ${row.seq} carries another sequence number in its content` });
      if ((row.time !== undefined && row.time !== tail.time) || (row.traceId !== undefined && (row.traceId ?? undefined) !== tail.traceId)) {
        return report({ seq: row.seq, reason: `event ${row.seq} has index columns that disagree with its content (edited to hide it from queries)` });
      }
      beforePrevious = previous;
      chain.advance();
      range.append(leaf);
      previous = chained;
      lastSeq = row.seq;
      events++;
      while (next < checkpoints.length && (checkpoints[next] as Checkpoint).size === lastSeq) {
        const cp = checkpoints[next] as Checkpoint;
        if (cp.root !== range.rootHex() || cp.chainHash !== previous) {
          return report({
            seq: lastGood + 1,
            checkpointSize: cp.size,
            reason: `events ${lastGood + 1}..${cp.size} do not match the signed checkpoint at size ${cp.size} (rewritten)`,
          });
        }
        verified++;
        latest = cp;
        lastGood = cp.size;
        next++;
      }
      if (input.onProgress && events % PROGRESS_EVERY === 0) input.onProgress(events, total);
    }
  } finally {
    rows.return?.();
  }
  input.onProgress?.(events, total);

  const last = checkpoints[checkpoints.length - 1];
  if (last && last.size > lastSeq) {
    return report({
      seq: lastSeq + 1,
      checkpointSize: last.size,
      reason: `log ends at event ${lastSeq} but a signed checkpoint covers ${last.size} events (truncated)`,
    });
  }
  return report();
}

/**
 * Names what broke the chain at `row`, whose content does not hash to its stored chain hash.
 * If the next row still chains onto this row's stored hash, the stored hash is the original
 * and the content changed, unless the stored hash chains onto the event before the previous
 * one: then an event was slipped in before this row. Otherwise the hashes themselves are out
 * of place (reordered, inserted or removed rows).
 */
function chainBreak(row: StoredRow, beforePrevious: string | undefined, next: IteratorResult<StoredRow>): string {
  const stored = bytes(row.chainHash);
  const inserted = beforePrevious !== undefined && chainHash(bytes(beforePrevious), leafHash(row.body)).equals(stored);
  const followed = !next.done && next.value.seq === row.seq + 1 && stored.length === HASH_BYTES
    && chainHash(stored, leafHash(next.value.body)).equals(bytes(next.value.chainHash));
  if (followed && !inserted) return `event ${row.seq} was modified (its content does not match its chain hash)`;
  return `event ${row.seq} breaks the hash chain (an event was inserted, removed or reordered)`;
}

function bytes(hash: Buffer | string): Buffer {
  return typeof hash === 'string' ? Buffer.from(hash, 'hex') : hash;
}

// The members from `seq` on exactly as the log writes them: flat, strings without escapes.
// A match covers the rest of the body up to its one closing brace, so the `seq` it starts
// at is the top-level one; anything else is left to the JSON parser.
const PLAIN_TAIL = /"seq":(0|[1-9]\d{0,15}),(?:"surface":"[^"\\]*",)?"time":"([^"\\]*)"(?:,"traceId":"([^"\\]*)")?(?:,"type":"[^"\\]*")?(?:,"v":\d{1,9})?}$/y;

// The same pattern searched forward over the last TAIL_WINDOW characters, which hold the
// whole tail of ordinary events: no position but the last `"seq":` can match through to the
// closing brace (a match has quotes only around its fixed keys and its values), and the
// regular expression engine finds it faster than lastIndexOf, a call into the runtime.
const PLAIN_TAIL_SEARCH = new RegExp(PLAIN_TAIL.source, 'g');
const TAIL_WINDOW = 256;

function plainTail(body: string): EventTail | undefined {
  PLAIN_TAIL_SEARCH.lastIndex = body.length > TAIL_WINDOW ? body.length - TAIL_WINDOW : 0;
  let m = PLAIN_TAIL_SEARCH.exec(body);
  if (!m || m.index === 0) {
    const at = body.lastIndexOf('"seq":');
    if (at <= 0) return undefined;
    PLAIN_TAIL.lastIndex = at;
    m = PLAIN_TAIL.exec(body);
    if (!m) return undefined;
  }
  const tail: EventTail = { seq: Number(m[1]), time: m[2] };
  if (m[3] !== undefined) tail.traceId = m[3];
  return tail;
}

/** The top-level members from `seq` on: `seq`, `surface`, `time`, `traceId`, `type`, `v`. */
export interface EventTail {
  seq?: unknown;
  time?: unknown;
  traceId?: unknown;
  type?: unknown;
}

/**
 * Reads the members from `seq` on without parsing the whole event. In canonical JSON they
 * come last and are all scalars, so the last `"seq":` starts them; if that occurrence were
 * nested instead, the slice would close more brackets than it opens and not parse, and
 * the whole body is parsed instead.
 */
export function eventTail(body: string): EventTail | undefined {
  const at = body.lastIndexOf('"seq":');
  if (at > 0) {
    try {
      return JSON.parse('{' + body.slice(at)) as EventTail;
    } catch {
      // fall through to the full parse
    }
  }
  try {
    const parsed = JSON.parse(body) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as EventTail) : undefined;
  } catch {
    return undefined;
  }
}
