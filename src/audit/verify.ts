/**
 * Verification over a list of stored rows, independent of where they are stored: recomputes
 * every leaf hash, the hash chain and the Merkle root at every signed checkpoint, checks the
 * signatures, and names the first sequence number that does not hold. The SQLite store and a
 * later PostgreSQL store feed it the same rows.
 */

import type { KeyObject } from 'node:crypto';
import type { Checkpoint } from './checkpoint.js';
import { checkCheckpointSignature, checkpointShapeProblem } from './checkpoint.js';
import type { Digest } from './hash.js';
import { chainHash, ChainCursor, GENESIS_CHAIN_HASH, HASH_BYTES, leafDigest, leafHash } from './hash.js';
import type { SegmentNodes } from './merkle.js';
import { CompactRange, DigestRange, SegmentRange } from './merkle.js';

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

/** Stored state that could not be read as what it should be: says what is wrong with it. */
export interface Malformed {
  malformed: string;
}

/** A checkpoint row as a store keeps it: its own size column beside the signed body. */
export interface StoredCheckpoint {
  id: number;
  size: unknown;
  body: string;
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
  /**
   * The checkpoints given from outside (`trusted`): how many, how many of them were checked
   * against the events, and how many lie in the pruned prefix (their signature only).
   */
  trusted?: { given: number; verified: number; pruned: number };
  /** For a pruned log: the seq of the signed `audit.pruned` event that accounts for the prefix. */
  prunedBy?: number;
  latestCheckpoint?: { size: number; root: string; time: string };
  /** Merkle root and chain hash over everything verified, hex. */
  root: string;
  chainHash: string;
  failure?: VerifyFailure;
}

export interface VerifyInput {
  /** The rows after the anchor, in seq order: pages from a store, or plain rows. */
  rows: AsyncIterable<readonly StoredRow[]> | Iterable<StoredRow>;
  /** Rows expected, for progress only. */
  total?: number;
  /** Checkpoints already parsed (the log's own, when no `storedCheckpoints` are given). */
  checkpoints: readonly Checkpoint[];
  /** The store's checkpoint rows: parsed here, and each row's size column checked against its body. */
  storedCheckpoints?: readonly StoredCheckpoint[];
  /** Checkpoints held elsewhere (a SIEM, a witness), counted apart in the report. */
  trusted?: readonly Checkpoint[];
  publicKey: KeyObject;
  anchor?: Anchor | Malformed;
  /**
   * The head the store keeps, which must describe the last row (size, chain hash, Merkle
   * frontier); null when none is stored. Not checked when left out.
   */
  head?: Anchor | null | Malformed;
  /** The lowest and highest seq the store holds (exact decimal text): no row may lie outside the verified range. */
  extent?: { lowest: string; highest: string } | undefined;
  onProgress?: (done: number, total: number) => void;
  /**
   * Checks stretches of the rows elsewhere (worker threads, each reading the store on its own
   * connection) instead of reading `rows` here. Used only for a log of at least `minEvents`
   * events whose stored head and highest row agree on its end; when any stretch does not
   * verify (or the runner fails), `rows` is verified here as without it, so the report is the
   * same either way.
   */
  segments?: SegmentRunner;
}

/** Runs {@link SegmentTask}s somewhere else; see {@link VerifyInput.segments}. */
export interface SegmentRunner {
  /** How many threads verify at once, the calling one among them (2 or more, or `rows` are verified here alone). */
  threads: number;
  /** Fewer events are verified on the calling thread (starting threads costs more). */
  minEvents: number;
  /** Resolves to one result per task, in task order (undefined for a task left unrun after another failed). */
  run(tasks: readonly SegmentTask[], onRows: (rows: number) => void): Promise<ReadonlyArray<SegmentResult | undefined>>;
  /** Told how the events were checked: `rechecked` when a stretch did not verify and the calling thread verified everything again, to name the fault. */
  onUsed?: (used: { threads: number; segments: number; rechecked: boolean }) => void;
}

/** A stretch of rows `from..to` (all of them must be there), checked on its own. */
export interface SegmentTask {
  from: number;
  to: number;
  /** The chain hash before `from` (hex), or null: the stored chain hash of row `from - 1`, which the previous task verifies. */
  seed: string | null;
  /** Sizes within `from..to` at which the chain hash and Merkle range are wanted (the checkpoints'). */
  marks: number[];
  /** The pruned prefix: an `audit.pruned` event naming it is reported. */
  anchorSize: number;
  anchorRoot: string;
}

/** A stretch's outcome: its chain and Merkle range at its end and at each mark, or the first seq that did not hold. */
export type SegmentResult =
  | {
      ok: true;
      /** The chain hash it started from, hex. */
      seed: string;
      chainHash: string;
      range: SegmentNodes;
      marks: Array<{ size: number; chainHash: string; range: SegmentNodes }>;
      /** The first `audit.pruned` event in the stretch that accounts for the anchor. */
      prunedBy?: number;
    }
  | { ok: false; seq: number };

const PROGRESS_EVERY = 16_384;
const MALFORMED_ANCHOR = 'the stored anchor of the pruned prefix is malformed (hashes of the wrong length)';

const PAGE = 1024;

/** Plain rows as pages, so one loop serves both shapes. */
async function* pagesOf(rows: Iterable<StoredRow>): AsyncGenerator<readonly StoredRow[]> {
  let page: StoredRow[] = [];
  for (const row of rows) {
    page.push(row);
    if (page.length === PAGE) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

function pageIterator(rows: VerifyInput['rows']): AsyncIterator<readonly StoredRow[]> {
  return Symbol.asyncIterator in rows ? rows[Symbol.asyncIterator]() : pagesOf(rows)[Symbol.asyncIterator]();
}

/**
 * Verifies rows in seq order against the hash chain and the signed checkpoints. Rows come
 * in pages: the per-row work is synchronous, one await per page.
 *
 * @example
 * const report = await verifyRows({ rows: store.rows(), checkpoints, publicKey });
 * if (!report.ok) console.log(report.failure?.seq, report.failure?.reason);
 */
export async function verifyRows(input: VerifyInput): Promise<VerifyReport> {
  const givenAnchor = input.anchor ?? GENESIS_ANCHOR;
  const anchor = 'malformed' in givenAnchor ? GENESIS_ANCHOR : givenAnchor;
  // Digests travel as latin1 strings and chain hashes as hex from here on: no Buffer per row.
  let range: DigestRange | undefined;
  let previous = anchor.chainHash.toString('hex');
  let lastSeq = anchor.size;
  let events = 0;
  const total = input.total ?? 0;
  const trusted = input.trusted ?? [];
  const fromOutside = new Set<Checkpoint>(trusted);
  let checkpoints: Checkpoint[] = [];
  let verified = 0;
  let trustedVerified = 0;
  let trustedPruned = 0;
  let prunedBy: number | undefined;
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
    if (input.trusted) out.trusted = { given: trusted.length, verified: trustedVerified, pruned: trustedPruned };
    if (prunedBy !== undefined) out.prunedBy = prunedBy;
    if (failure) out.failure = failure;
    return out;
  };
  const label = (cp: Checkpoint): string => (fromOutside.has(cp) ? 'outside checkpoint' : 'checkpoint');

  if ('malformed' in givenAnchor) return report({ seq: 1, reason: givenAnchor.malformed });
  if (anchor.chainHash.length !== HASH_BYTES || anchor.range.nodes.some((n) => n.length !== HASH_BYTES)) {
    return report({ seq: anchor.size + 1, reason: MALFORMED_ANCHOR });
  }
  // Every row a query can show must be one this verification covers: nothing at or below
  // the anchor (seq 0, negative, or inside a pruned prefix) may sit in the table unverified.
  const lowest = input.extent?.lowest;
  if (lowest !== undefined && !seqAbove(lowest, anchor.size)) {
    return report({
      seq: Number(lowest),
      reason:
        anchor.size > 0
          ? `a row at seq ${lowest} lies inside the pruned prefix 1..${anchor.size} (inserted after pruning)`
          : `a row at seq ${lowest} lies before the start of the log (sequence numbers start at 1)`,
    });
  }
  const stored = input.storedCheckpoints === undefined ? { checkpoints: [...input.checkpoints] } : parseStoredCheckpoints(input.storedCheckpoints);
  if ('failure' in stored) return report(stored.failure);
  for (const [i, cp] of trusted.entries()) {
    const problem = checkpointShapeProblem(cp);
    if (problem) return report({ reason: `outside checkpoint ${i + 1}: ${problem}` });
  }
  checkpoints = [...stored.checkpoints, ...trusted].sort((a, b) => a.size - b.size);
  range = DigestRange.from(anchor.range);
  const chain = new ChainCursor(anchor.chainHash);
  for (const cp of checkpoints) {
    const problem = checkCheckpointSignature(cp, input.publicKey);
    if (problem) return report({ checkpointSize: cp.size, reason: `${label(cp)} at size ${cp.size}: ${problem}` });
    if (cp.size < anchor.size && fromOutside.has(cp)) trustedPruned++;
  }

  // Checkpoints below the anchor cover pruned events: their signatures were checked above;
  // the ones at the anchor must vouch for the anchor itself (a pruned prefix, or the empty
  // log: a checkpoint at size 0 left unchecked would hold up every one after it).
  let next = checkpoints.findIndex((cp) => cp.size >= anchor.size);
  if (next === -1) next = checkpoints.length;
  const atAnchor = checkpoints.filter((cp) => cp.size === anchor.size);
  if (anchor.size > 0 && atAnchor.length === 0) {
    return report({ seq: anchor.size + 1, reason: `pruned prefix of ${anchor.size} events is not covered by a signed checkpoint` });
  }
  const rootAtAnchor = range.rootHex();
  for (const cp of atAnchor) {
    if (cp.root !== rootAtAnchor || cp.chainHash !== previous) {
      const what = anchor.size > 0 ? 'pruned prefix does not match' : 'the empty log does not match';
      return report({ seq: anchor.size + 1, checkpointSize: cp.size, reason: `${what} the signed ${label(cp)} at size ${cp.size}` });
    }
    verified++;
    if (fromOutside.has(cp)) trustedVerified++;
    latest = cp;
    next++;
  }
  const anchorRoot = range.rootHex();
  let lastGood = anchor.size;

  const headSize = input.head && !('malformed' in input.head) ? input.head.size : undefined;
  const runner = input.segments;
  const count = headSize === undefined ? 0 : headSize - anchor.size;
  if (runner && headSize !== undefined && runner.threads >= 2 && count >= Math.max(1, runner.minEvents) && input.extent?.highest === String(headSize)) {
    const tasks = planSegments(
      anchor,
      headSize,
      runner.threads,
      checkpoints.slice(next).map((cp) => cp.size),
      anchorRoot,
    );
    let done = 0;
    const results = await runner
      .run(tasks, (rows) => {
        done += rows;
        input.onProgress?.(done, total);
      })
      .catch(() => undefined);
    const merged = results && mergeSegments(anchor, tasks, results);
    if (merged) {
      const holds = (cp: Checkpoint): boolean => {
        const at = merged.marks.get(cp.size);
        return at !== undefined && cp.root === at.root && cp.chainHash === at.chainHash;
      };
      let good = true;
      for (let i = next; i < checkpoints.length && (checkpoints[i] as Checkpoint).size <= headSize; i++) good &&= holds(checkpoints[i] as Checkpoint);
      if (good) {
        for (; next < checkpoints.length && (checkpoints[next] as Checkpoint).size <= headSize; next++) {
          const cp = checkpoints[next] as Checkpoint;
          verified++;
          if (fromOutside.has(cp)) trustedVerified++;
          latest = cp;
          lastGood = cp.size;
        }
        if (anchor.size > 0 && merged.prunedBy !== undefined) prunedBy = merged.prunedBy;
        range = merged.range.toDigestRange();
        previous = merged.chainHash;
        lastSeq = headSize;
        events = count;
        runner.onUsed?.({ threads: Math.min(runner.threads, tasks.length), segments: tasks.length, rechecked: false });
        input.onProgress?.(events, total);
        return finish();
      }
    }
    runner.onUsed?.({ threads: Math.min(runner.threads, tasks.length), segments: tasks.length, rechecked: true });
  }

  // Two stored chain hashes back: telling an insertion from an edit needs the one before last.
  let beforePrevious: string | undefined;
  const checked = new CheckedRow();
  const pages = pageIterator(input.rows);
  const nextPage = async (): Promise<readonly StoredRow[] | undefined> => {
    const step = await pages.next();
    return step.done ? undefined : step.value;
  };
  // The finally releases the store's cursor when verification stops early.
  try {
    for (let page = await nextPage(); page !== undefined; page = await nextPage()) {
      for (let i = 0; i < page.length; i++) {
        const row = page[i] as StoredRow;
        const expected = lastSeq + 1;
        if (row.seq !== expected) {
          return report({
            seq: expected,
            reason: row.seq > expected ? `event ${expected} is missing (deleted)` : `event ${row.seq} appears out of order or twice`,
          });
        }
        const fault = checkRow(row, chain, checked);
        if (fault === CHAIN_BROKEN) {
          // One row ahead tells an edit from an insertion.
          const following = i + 1 < page.length ? page[i + 1] : (await nextPage())?.[0];
          return report({ seq: row.seq, reason: chainBreak(row, beforePrevious, following) });
        }
        if (fault === OTHER_SEQ) return report({ seq: row.seq, reason: `event ${row.seq} carries another sequence number in its content` });
        if (fault === INDEX_EDITED) {
          return report({ seq: row.seq, reason: `event ${row.seq} has index columns that disagree with its content (edited to hide it from queries)` });
        }
        const { leaf, chained, tail } = checked;
        if (tail.type === 'audit.pruned' && prunedBy === undefined && anchor.size > 0 && accountsFor(row.body, anchor.size, anchorRoot)) prunedBy = row.seq;
        beforePrevious = previous;
        chain.advance();
        range.append(leaf);
        previous = chained;
        lastSeq = row.seq;
        events++;
        // Several checkpoints may share a size (the log's and a witness's): each one is held
        // against the events since the last good checkpoint below this size.
        const since = lastGood + 1;
        while (next < checkpoints.length && (checkpoints[next] as Checkpoint).size === lastSeq) {
          const cp = checkpoints[next] as Checkpoint;
          if (cp.root !== range.rootHex() || cp.chainHash !== previous) {
            return report({
              seq: since,
              checkpointSize: cp.size,
              reason: `events ${since}..${cp.size} do not match the signed ${label(cp)} at size ${cp.size} (rewritten)`,
            });
          }
          verified++;
          if (fromOutside.has(cp)) trustedVerified++;
          latest = cp;
          lastGood = cp.size;
          next++;
        }
        if (input.onProgress && events % PROGRESS_EVERY === 0) input.onProgress(events, total);
      }
    }
  } finally {
    await pages.return?.();
  }
  input.onProgress?.(events, total);
  return finish();

  // What holds after the last row, however the rows were checked.
  function finish(): VerifyReport {
    const last = checkpoints[checkpoints.length - 1];
    if (last && last.size > lastSeq) {
      return report({
        seq: lastSeq + 1,
        checkpointSize: last.size,
        reason: `log ends at event ${lastSeq} but a signed ${label(last)} covers ${last.size} events (truncated)`,
      });
    }
    // A pruned prefix is only accounted for by the log's own signed word: an `audit.pruned`
    // event naming this anchor, inside the range a checkpoint covers. Everything else about the
    // anchor (its size, chain hash and frontier) can be recomputed by whoever deleted the rows.
    if (anchor.size > 0 && (prunedBy === undefined || prunedBy > lastGood)) {
      const why =
        prunedBy === undefined
          ? `no \`audit.pruned\` event names throughSeq ${anchor.size} and the checkpoint root at that size`
          : `the \`audit.pruned\` event ${prunedBy} that names it is not covered by a signed checkpoint`;
      prunedBy = undefined;
      return report({ seq: 1, reason: `events 1..${anchor.size} are missing: ${why} (deleted, not pruned)` });
    }
    const highest = input.extent?.highest;
    if (highest !== undefined && seqAbove(highest, lastSeq)) {
      return report({ seq: lastSeq + 1, reason: `a row at seq ${highest} lies past the end of the verified log (event ${lastSeq})` });
    }
    const head = input.head;
    if (head === null) {
      if (lastSeq > anchor.size) return report({ seq: lastSeq + 1, reason: `the stored head (table audit_head) is missing, but events up to ${lastSeq} are stored` });
    } else if (head !== undefined) {
      if ('malformed' in head) return report({ seq: lastSeq + 1, reason: head.malformed });
      if (head.size !== lastSeq) {
        return report({ seq: Math.min(head.size, lastSeq) + 1, reason: `the stored head (table audit_head) says ${head.size} events, but the log ends at event ${lastSeq} (edited)` });
      }
      if (head.chainHash.toString('hex') !== previous || head.range.root().toString('hex') !== (range as DigestRange).rootHex()) {
        return report({ seq: lastSeq, reason: `the stored head (table audit_head) does not match event ${lastSeq}: its chain hash or Merkle frontier was edited` });
      }
    }
    return report();
  }
}

// What `checkRow` finds wrong with a row (0: nothing).
const CHAIN_BROKEN = 1;
const OTHER_SEQ = 2;
const INDEX_EDITED = 3;

/** What `checkRow` computed for a row that holds: reused from row to row, nothing allocated. */
class CheckedRow {
  leaf: Digest = '';
  chained = '';
  tail: EventTail = {};
}

/**
 * The checks of one row whose seq is the expected one, shared by every way of verifying
 * (here, and a stretch on a worker thread): its body must hash onto the chain so far to its
 * stored chain hash, name its own seq, and agree with its indexed copies.
 */
function checkRow(row: StoredRow, chain: ChainCursor, out: CheckedRow): number {
  const leaf = leafDigest(row.body);
  const chained = chain.next(leaf);
  const stored = row.chainHash;
  if (typeof stored === 'string' ? chained !== stored : chained !== stored.toString('hex')) return CHAIN_BROKEN;
  // The body names its own seq: a row moved to another seq with rehashed chain would
  // otherwise only show at the next checkpoint.
  const tail = plainTail(row.body) ?? eventTail(row.body);
  if (tail?.seq !== row.seq) return OTHER_SEQ;
  if ((row.time !== undefined && row.time !== tail.time) || (row.traceId !== undefined && (row.traceId ?? undefined) !== tail.traceId)) return INDEX_EDITED;
  out.leaf = leaf;
  out.chained = chained;
  out.tail = tail;
  return 0;
}

/**
 * Verifies one stretch of rows (see {@link SegmentTask}) as {@link verifyRows} verifies every
 * row, but only says whether it holds: the chain from `seed`, each body's own seq and index
 * copies, every seq of `from..to` present once, in order. The Merkle range and chain hash at
 * the end and at each mark go back to whoever combines the stretches. A worker thread runs
 * this over its own connection.
 *
 * @example
 * const result = await verifySegment(store.rows(task.from, task.to), { ...task, seed });
 */
export async function verifySegment(rows: AsyncIterable<readonly StoredRow[]> | Iterable<StoredRow>, task: SegmentTask & { seed: string }, onRows?: (rows: number) => void): Promise<SegmentResult> {
  let expected = task.from;
  const seedBytes = Buffer.from(task.seed, 'hex');
  if (seedBytes.length !== HASH_BYTES || seedBytes.toString('hex') !== task.seed) return { ok: false, seq: task.from };
  const chain = new ChainCursor(seedBytes);
  const range = SegmentRange.at(task.from - 1);
  const checked = new CheckedRow();
  const marks: Array<{ size: number; chainHash: string; range: SegmentNodes }> = [];
  let mark = 0;
  let chained = task.seed;
  let prunedBy: number | undefined;
  let sinceReport = 0;
  const pages = pageIterator(rows);
  try {
    for (let step = await pages.next(); !step.done; step = await pages.next()) {
      const page = step.value;
      for (let i = 0; i < page.length; i++) {
        const row = page[i] as StoredRow;
        if (row.seq !== expected || expected > task.to) return { ok: false, seq: expected };
        if (checkRow(row, chain, checked) !== 0) return { ok: false, seq: expected };
        if (checked.tail.type === 'audit.pruned' && prunedBy === undefined && task.anchorSize > 0 && accountsFor(row.body, task.anchorSize, task.anchorRoot)) prunedBy = row.seq;
        chain.advance();
        range.append(checked.leaf);
        chained = checked.chained;
        while (mark < task.marks.length && task.marks[mark] === expected) {
          marks.push({ size: expected, chainHash: chained, range: range.toJSON() });
          mark++;
        }
        expected++;
      }
      sinceReport += page.length;
      if (onRows && sinceReport >= PROGRESS_EVERY) {
        onRows(sinceReport);
        sinceReport = 0;
      }
    }
  } finally {
    await pages.return?.();
  }
  if (expected !== task.to + 1 || mark !== task.marks.length) return { ok: false, seq: expected };
  if (onRows && sinceReport > 0) onRows(sinceReport);
  const out: SegmentResult = { ok: true, seed: task.seed, chainHash: chained, range: range.toJSON(), marks };
  if (prunedBy !== undefined) out.prunedBy = prunedBy;
  return out;
}

/** Splits the rows after the anchor up to the head into stretches, several per thread (threads slowed by others' work then share the rest). */
function planSegments(anchor: Anchor, headSize: number, threads: number, checkpointSizes: readonly number[], anchorRoot: string): SegmentTask[] {
  const count = headSize - anchor.size;
  const segments = Math.min(count, threads * SEGMENTS_PER_THREAD);
  const size = Math.ceil(count / segments);
  const tasks: SegmentTask[] = [];
  for (let from = anchor.size + 1; from <= headSize; from += size) {
    const to = Math.min(headSize, from + size - 1);
    const marks = [...new Set(checkpointSizes.filter((s) => s >= from && s <= to))];
    tasks.push({ from, to, seed: from === anchor.size + 1 ? anchor.chainHash.toString('hex') : null, marks, anchorSize: anchor.size, anchorRoot });
  }
  return tasks;
}

// Stretches per thread: the calling thread and the workers take the next one as they come
// free, so a thread slowed by others' work (or a worker still starting) leaves its share to them.
const SEGMENTS_PER_THREAD = 8;

/**
 * Joins the stretches' results: each must hold and start from the chain hash the one before
 * it ended on (the first from the anchor's); gives the chain hash and Merkle range at the end
 * and the root and chain hash at every mark, or undefined when anything does not fit.
 */
function mergeSegments(
  anchor: Anchor,
  tasks: readonly SegmentTask[],
  results: ReadonlyArray<SegmentResult | undefined>,
): { chainHash: string; range: SegmentRange; marks: Map<number, { root: string; chainHash: string }>; prunedBy?: number } | undefined {
  if (results.length !== tasks.length) return undefined;
  let range = SegmentRange.ofPrefix(anchor.range);
  let chainHashHex = anchor.chainHash.toString('hex');
  let prunedBy: number | undefined;
  const marks = new Map<number, { root: string; chainHash: string }>();
  for (const [i, result] of results.entries()) {
    const task = tasks[i] as SegmentTask;
    if (!result?.ok || result.seed !== chainHashHex || result.range.begin !== task.from - 1 || result.range.end !== task.to) return undefined;
    for (const m of result.marks) marks.set(m.size, { root: range.concat(SegmentRange.fromJSON(m.range)).rootHex(), chainHash: m.chainHash });
    range = range.concat(SegmentRange.fromJSON(result.range));
    chainHashHex = result.chainHash;
    prunedBy ??= result.prunedBy;
  }
  return prunedBy === undefined ? { chainHash: chainHashHex, range, marks } : { chainHash: chainHashHex, range, marks, prunedBy };
}

/** Whether a seq given as decimal text is above `size` (text that is no integer is not). */
function seqAbove(seq: string, size: number): boolean {
  try {
    return BigInt(seq) > BigInt(size);
  } catch {
    return false;
  }
}

/** Whether an `audit.pruned` event's body records pruning through `size` under checkpoint `root`. */
function accountsFor(body: string, size: number, root: string): boolean {
  try {
    const data = (JSON.parse(body) as { data?: { throughSeq?: unknown; checkpointRoot?: unknown } }).data;
    return data?.throughSeq === size && data.checkpointRoot === root;
  } catch {
    return false;
  }
}

/**
 * Parses a store's checkpoint rows: each must hold a checkpoint whose size is the row's
 * size column (the column orders and filters what witnesses are served), and no signed
 * checkpoint may be stored twice (it would count twice).
 */
function parseStoredCheckpoints(rows: readonly StoredCheckpoint[]): { checkpoints: Checkpoint[] } | { failure: VerifyFailure } {
  const checkpoints: Checkpoint[] = [];
  const seen = new Map<string, number>();
  for (const row of rows) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(row.body);
    } catch {
      return { failure: { reason: `checkpoint row ${row.id} (table audit_checkpoints) is not JSON` } };
    }
    const problem = checkpointShapeProblem(parsed);
    if (problem) return { failure: { reason: `checkpoint row ${row.id} (table audit_checkpoints): ${problem}` } };
    const cp = parsed as Checkpoint;
    if (row.size !== cp.size) {
      return { failure: { checkpointSize: cp.size, reason: `checkpoint at size ${cp.size} is stored in row ${row.id} with size ${String(row.size)} (table audit_checkpoints edited)` } };
    }
    const first = seen.get(cp.signature);
    if (first !== undefined) {
      return { failure: { checkpointSize: cp.size, reason: `checkpoint at size ${cp.size} is stored twice (rows ${first} and ${row.id} of table audit_checkpoints)` } };
    }
    seen.set(cp.signature, row.id);
    checkpoints.push(cp);
  }
  return { checkpoints };
}

/**
 * Names what broke the chain at `row`, whose content does not hash to its stored chain hash.
 * If the next row still chains onto this row's stored hash, the stored hash is the original
 * and the content changed, unless the stored hash chains onto the event before the previous
 * one: then an event was slipped in before this row. Otherwise the hashes themselves are out
 * of place (reordered, inserted or removed rows).
 */
function chainBreak(row: StoredRow, beforePrevious: string | undefined, next: StoredRow | undefined): string {
  const stored = bytes(row.chainHash);
  const inserted = beforePrevious !== undefined && chainHash(bytes(beforePrevious), leafHash(row.body)).equals(stored);
  const followed = next !== undefined && next.seq === row.seq + 1 && stored.length === HASH_BYTES && chainHash(stored, leafHash(next.body)).equals(bytes(next.chainHash));
  if (followed && !inserted) return `event ${row.seq} was modified (its content does not match its chain hash)`;
  return `event ${row.seq} breaks the hash chain (an event was inserted, removed or reordered)`;
}

function bytes(hash: Buffer | string): Buffer {
  return typeof hash === 'string' ? Buffer.from(hash, 'hex') : hash;
}

// The members from `seq` on exactly as the log writes them: flat, strings without escapes.
// A match covers the rest of the body up to its one closing brace, so the `seq` it starts
// at is the top-level one; anything else is left to the JSON parser.
const PLAIN_TAIL = /"seq":(0|[1-9]\d{0,15}),(?:"surface":"[^"\\]*",)?"time":"([^"\\]*)"(?:,"traceId":"([^"\\]*)")?(?:,"type":"([^"\\]*)")?(?:,"v":\d{1,9})?}$/y;

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
  if (m[4] !== undefined) tail.type = m[4];
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
