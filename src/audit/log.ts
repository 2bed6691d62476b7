/**
 * The audit log: group-committed, hash-chained appends into a store, signed checkpoints on a
 * schedule, verification, proofs and retention. It takes a store (the port in `store.ts`)
 * and a signing key provider, never a path: the composition root picks the adapter
 * (`openSqliteAuditLog` in `src/storage/` for the embedded default). This is the edge that
 * owns the clock (an injectable `now`); the hashing and verification it calls are pure.
 */

import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Result } from '../core/result.js';
import { fail, ok } from '../core/result.js';
import type { BastionError } from '../core/errors.js';
import { BastionException, bastionError, quote } from '../core/errors.js';
import type { AuditFilter, AuditStore, AuditStoreView } from './store.js';
import { AuditStateError, AuditStoreUnavailable } from './store.js';
import type { CanonicalJsonError, SplitCanonical } from '../core/canonical-json.js';
import { canonicalSplit } from '../core/canonical-json.js';
import type { Checkpoint } from './checkpoint.js';
import { CHECKPOINT_VERSION, checkCheckpointSignature, logIdOf, parsePublicKey, signCheckpoint } from './checkpoint.js';
import { chainHash, leafHash } from './hash.js';
import type { AuditKeyProvider, SigningKey } from './keys.js';
import { TreeHasher, verifyInclusion } from './merkle.js';
import type { AuditEvent, AuditEventInput } from './schema.js';
import { AUDIT_SCHEMA_VERSION, validateEventInput } from './schema.js';
import type { Malformed, StoredRow, VerifyInput, VerifyReport } from './verify.js';
import { verifyRows } from './verify.js';

export interface AuditLogOptions {
  /** Where events, head, checkpoints and cursors live; the log closes it on `close()`. */
  store: AuditStore;
  /**
   * The Ed25519 key that signs checkpoints: `keyDirectory(dir)` (key files, created on the
   * first open of a new log), `ephemeralKey()` (this process only), or any provider.
   */
  key: AuditKeyProvider;
  /** Names the log in messages (a path, a URL without credentials); default `audit log`. */
  name?: string;
  /**
   * Default `maxDelayMs: 0`: a commit runs as soon as the event loop has taken in what is
   * ready (one `setImmediate`), so a lone caller never waits on a timer, and under load every
   * event that arrived while the previous commit ran joins the next one. A positive
   * `maxDelayMs` waits that long for company instead. `maxEvents` (default 256) caps a batch.
   */
  groupCommit?: { maxDelayMs?: number; maxEvents?: number };
  /** Defaults: every 1,000 events and every 60 seconds (when events were added). */
  checkpoint?: { everyEvents?: number; everySeconds?: number };
  /** Events older than this may be pruned by `prune()`; unset keeps everything. */
  retentionDays?: number;
  now?: () => Date;
}

export interface AuditReceipt {
  seq: number;
  leafHash: string;
  chainHash: string;
  time: string;
}

export interface InclusionProof {
  seq: number;
  leafIndex: number;
  /** The event's canonical JSON: its leaf hash is recomputed from it. */
  event: string;
  leafHash: string;
  treeSize: number;
  /** Audit path, bottom first, hex. */
  proof: string[];
  root: string;
  checkpoint: Checkpoint;
}

export interface PruneReport {
  pruned: number;
  /** Everything at or below this seq is gone (0 when nothing was ever pruned). */
  throughSeq: number;
  cutoff?: string;
  /** The seq of the `audit.pruned` event that records this pruning. */
  eventSeq?: number;
  /** Why nothing was pruned, when nothing was. */
  reason?: string;
}

export interface VerifyOptions {
  onProgress?: (done: number, total: number) => void;
  /** Checkpoints held elsewhere (a SIEM, a witness): the log must agree with them too. */
  trusted?: Checkpoint[];
  /**
   * Threads that check the events: the calling one and `threads - 1` worker threads, each
   * over its own read-only connection (stores that can: SQLite); 0 or 1 checks them on the
   * calling thread alone. Default: one per core, at most 4, for a log of
   * {@link PARALLEL_VERIFY_FROM} events or more, else 1 (a thread costs about 0.1 s of CPU to
   * start and warm up, more than it saves on a small log). A number given is used whatever
   * the size. The report is the same either way: when a stretch does not verify, the calling
   * thread verifies the log again on its own, and names the fault as it always does.
   */
  threads?: number;
  /** Told how the events were checked, when more threads than the calling one were used (`rechecked`: see `threads`). */
  onThreads?: (used: { threads: number; segments: number; rechecked: boolean }) => void;
}

/** Events from which `verify` uses worker threads by default. */
export const PARALLEL_VERIFY_FROM = 50_000;
const MAX_VERIFY_THREADS = 64;

function defaultVerifyThreads(): number {
  const cores = availableParallelism();
  return Math.min(cores, 4);
}

/** Reading, verifying and proving: what the CLI needs, without the signing key. */
export interface AuditReader {
  query(filter: AuditFilter): Promise<AuditEvent[]>;
  /**
   * The events `query(filter)` would return, in seq order, in pages of at most `pageSize`
   * events: memory stays bounded whatever the size of the log (with a `limit` too: the most
   * recent `limit` matches). Events appended after the call starts are not included.
   *
   * @example for await (const page of reader.queryPages({ decision: 'deny' })) for (const e of page) write(e);
   */
  queryPages(filter: AuditFilter, pageSize?: number): AsyncGenerator<AuditEvent[]>;
  getTrace(traceId: string): Promise<AuditEvent[]>;
  /** Events with seq > afterSeq in seq order, at most `limit` (for paging exports and sinks). */
  eventsAfter(afterSeq: number, limit: number): Promise<AuditEvent[]>;
  /** Verifies one snapshot of the store while appends go on. */
  verify(options?: VerifyOptions): Promise<VerifyReport>;
  /** The proof that event `seq` is in the log under the latest signed checkpoint; `AUDIT_NOT_FOUND` when unknown, pruned or not yet covered. */
  inclusionProof(seq: number): Promise<Result<InclusionProof, BastionError>>;
  /** The proof that the log at `toSize` extends the log at `fromSize`; `AUDIT_NOT_FOUND` when out of range or pruned. */
  consistencyProof(fromSize: number, toSize: number): Promise<Result<string[], BastionError>>;
  publicKeyPem(): string;
  latestCheckpoint(): Promise<Checkpoint | undefined>;
  checkpoints(sinceSize?: number): Promise<Checkpoint[]>;
  /** Number of events stored (after pruning). */
  size(): Promise<number>;
}

export interface AuditLog extends AuditReader {
  append(event: AuditEventInput): Promise<AuditReceipt>;
  checkpoint(reason: string): Promise<Checkpoint>;
  prune(now?: Date): Promise<PruneReport>;
  close(): Promise<void>;
  /** The store, for adapters that share it (the SIEM sink keeps its cursor there). */
  readonly store: AuditStore;
}

export interface OpenedReader extends AuditReader {
  /** Where the public key came from: a key file, the caller, or the store itself. */
  keySource: 'key-file' | 'option' | 'database';
  readonly store: AuditStore;
  close(): Promise<void>;
}

/** An event waiting for its group commit. A class, so every pending item has one shape. */
class Pending {
  constructor(
    /** The event's canonical JSON up to its `seq` value, and everything after it. */
    readonly prefix: string,
    readonly suffix: string,
    readonly time: string,
    readonly traceId: string | null,
    readonly resolve: (receipt: AuditReceipt) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

/**
 * Canonicalizes an event split around the one member only known at commit (`seq`), so the
 * commit is a string concatenation. Same bytes as canonicalizing the whole event.
 */
function splitAtSeq(event: AuditEventInput, time: string): Result<SplitCanonical, CanonicalJsonError> {
  return canonicalSplit(event as unknown as Record<string, unknown>, { seq: 0, time, v: AUDIT_SCHEMA_VERSION }, 'seq');
}

function parseEvent(body: string): AuditEvent {
  return JSON.parse(body) as AuditEvent;
}

/** Reads stored state for verification: what a store reports as malformed becomes a finding. */
async function readState<T>(read: () => Promise<T>): Promise<T | Malformed> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof AuditStateError) return { malformed: err.message };
    throw err;
  }
}

/** Runs a read or write that needs trustworthy stored state; a malformed one is an AUDIT_STORAGE error. */
async function withState<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof AuditStateError) throw new BastionException(bastionError('AUDIT_STORAGE', `${err.message}; run \`bastion audit verify\``));
    throw err;
  }
}

/** Leaf hashes of seq from..to, recomputed from the stored bodies (they are not stored). */
async function leafHashes(view: AuditStoreView, from: number, to: number): Promise<Buffer[]> {
  const leaves: Buffer[] = [];
  for await (const page of view.rows(from, to)) for (const row of page) leaves.push(leafHash(row.body));
  return leaves;
}

class Reader implements AuditReader {
  constructor(
    readonly store: AuditStore,
    protected readonly publicKey: KeyObject,
    protected readonly pem: string,
  ) {}

  /**
   * Events matching a filter. Only events after the anchor are read: rows at or below it
   * (seq 0, negative, inside a pruned prefix) are outside what `verify` covers, and verify
   * reports them instead.
   */
  async query(filter: AuditFilter): Promise<AuditEvent[]> {
    const after = (await withState(() => this.store.anchor())).size;
    const through = Math.min(filter.throughSeq ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const bodies = await this.store.query({ ...filter, afterSeq: Math.max(filter.afterSeq ?? after, after), throughSeq: through });
    return bodies.map(parseEvent);
  }

  async *queryPages(filter: AuditFilter, pageSize = 5000): AsyncGenerator<AuditEvent[]> {
    if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError('queryPages: pageSize must be a positive whole number');
    const anchor = (await withState(() => this.store.anchor())).size;
    const extent = await this.store.extent();
    if (extent === undefined) return;
    const highest = Math.min(Number(extent.highest), filter.throughSeq ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const from = Math.max(filter.afterSeq ?? anchor, anchor);
    const { limit, ...rest } = filter;
    if (limit === 0 || !(highest > from)) return;
    // Walk down by matches (the most recent `pageSize` below the last cut, as `limit` reads
    // them), keeping only where each batch starts, then read the batches upwards: seq gaps
    // cost nothing and no query ever holds more than `pageSize` events.
    // INVARIANT: batch (after, through] holds exactly the matches the walk counted there.
    let need = limit ?? Number.POSITIVE_INFINITY;
    let top = highest;
    const cuts: Array<[after: number, through: number]> = [];
    let oldest: AuditEvent[] = [];
    while (need > 0 && top > from) {
      const ask = Math.min(need, pageSize);
      const found = await this.query({ ...rest, afterSeq: from, throughSeq: top, limit: ask });
      const first = found[0];
      if (first === undefined) break;
      cuts.push([first.seq - 1, top]);
      oldest = found;
      need -= found.length;
      if (found.length < ask) break;
      top = first.seq - 1;
    }
    if (cuts.length === 0) return;
    yield oldest;
    for (let i = cuts.length - 2; i >= 0; i--) {
      const [after, through] = cuts[i] as [number, number];
      const page = await this.query({ ...rest, afterSeq: after, throughSeq: through });
      if (page.length > 0) yield page;
    }
  }

  getTrace(traceId: string): Promise<AuditEvent[]> {
    return this.query({ traceId });
  }

  async eventsAfter(afterSeq: number, limit: number): Promise<AuditEvent[]> {
    const after = (await withState(() => this.store.anchor())).size;
    return (await this.store.bodiesAfter(Math.max(afterSeq, after), limit)).map(parseEvent);
  }

  verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    const { threads } = options;
    if (threads !== undefined && !(Number.isSafeInteger(threads) && threads >= 0 && threads <= MAX_VERIFY_THREADS)) {
      return Promise.reject(new RangeError(`threads must be a whole number from 0 to ${MAX_VERIFY_THREADS}, got ${String(threads)}`));
    }
    return this.store.snapshot(async (view) => {
      const anchor = await readState(() => view.anchor());
      const head = await readState(async () => (await view.storedHead()) ?? null);
      const from = 'malformed' in anchor ? 1 : anchor.size + 1;
      const headSize = head !== null && !('malformed' in head) ? head.size : 0;
      const input: VerifyInput = {
        rows: view.rows(from),
        // For progress only: counting the rows would scan the whole table first.
        total: Math.max(0, headSize - from + 1),
        checkpoints: [],
        storedCheckpoints: await view.checkpointRows(),
        publicKey: this.publicKey,
        anchor,
        head,
        extent: await view.extent(),
      };
      if (options.trusted) input.trusted = options.trusted;
      if (options.onProgress) input.onProgress = options.onProgress;
      const threads = options.threads ?? defaultVerifyThreads();
      const runSegments = view.verifySegments?.bind(view);
      if (runSegments && threads >= 2) {
        input.segments = {
          threads,
          minEvents: options.threads === undefined ? PARALLEL_VERIFY_FROM : 1,
          run: (tasks, onRows) => runSegments(tasks, threads, onRows),
        };
        if (options.onThreads) input.segments.onUsed = options.onThreads;
      }
      return verifyRows(input);
    });
  }

  /** The latest checkpoint when it covers `seq`; a writer signs one on demand. */
  protected async coveringCheckpoint(seq: number): Promise<Checkpoint | undefined> {
    const latest = await this.store.latestCheckpoint();
    return latest && latest.size >= seq ? latest : undefined;
  }

  async inclusionProof(seq: number): Promise<Result<InclusionProof, BastionError>> {
    const known = Number.isSafeInteger(seq) && seq >= 1;
    const cp = known ? await withState(() => this.coveringCheckpoint(seq)) : undefined;
    // One snapshot: a pruning between reading the row and its neighbours must not tear the proof.
    return this.store.snapshot(async (view) => {
      const anchor = await withState(() => view.anchor());
      const row = known && seq > anchor.size ? await view.row(seq) : undefined;
      if (!row) {
        const why = known && seq <= anchor.size ? 'was pruned' : 'does not exist';
        return fail(bastionError('AUDIT_NOT_FOUND', `event ${quote(String(seq))} ${why}`));
      }
      if (!cp) return fail(bastionError('AUDIT_NOT_FOUND', `no signed checkpoint covers event ${seq} yet`));
      const leaves = await leafHashes(view, anchor.size + 1, cp.size);
      const hasher = new TreeHasher((i) => leaves[i - anchor.size] as Buffer, anchor.range);
      return ok({
        seq,
        leafIndex: seq - 1,
        event: row.body,
        leafHash: (leaves[seq - 1 - anchor.size] as Buffer).toString('hex'),
        treeSize: cp.size,
        proof: hasher.inclusionProof(seq - 1, cp.size).map((b) => b.toString('hex')),
        root: cp.root,
        checkpoint: cp,
      });
    });
  }

  consistencyProof(fromSize: number, toSize: number): Promise<Result<string[], BastionError>> {
    return this.store.snapshot(async (view): Promise<Result<string[], BastionError>> => {
      const anchor = await withState(() => view.anchor());
      const head = await withState(() => view.head());
      if (!(Number.isSafeInteger(fromSize) && Number.isSafeInteger(toSize) && fromSize >= 1 && fromSize <= toSize && toSize <= head.size)) {
        return fail(bastionError('AUDIT_NOT_FOUND', `no consistency proof from size ${quote(String(fromSize))} to ${quote(String(toSize))}`));
      }
      const leaves = await leafHashes(view, anchor.size + 1, toSize);
      const hasher = new TreeHasher((i) => leaves[i - anchor.size] as Buffer, anchor.range);
      try {
        return ok(hasher.consistencyProof(fromSize, toSize).map((b) => b.toString('hex')));
      } catch {
        return fail(bastionError('AUDIT_NOT_FOUND', `the proof from size ${fromSize} needs pruned events`));
      }
    });
  }

  publicKeyPem(): string {
    return this.pem;
  }

  latestCheckpoint(): Promise<Checkpoint | undefined> {
    return withState(() => this.store.latestCheckpoint());
  }

  checkpoints(sinceSize?: number): Promise<Checkpoint[]> {
    return withState(() => this.store.checkpoints(sinceSize));
  }

  size(): Promise<number> {
    return this.store.eventCount();
  }
}

class Log extends Reader implements AuditLog {
  private pending: Pending[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  /** The commit in flight: one at a time, so batches reach the store in arrival order. */
  private committing: Promise<void> | undefined;
  /** Prunings run one after another (the timer and an operator may ask at once). */
  private pruning: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly maxDelayMs: number;
  private readonly maxEvents: number;
  private readonly everyEvents: number;
  private readonly logId: string;

  constructor(
    store: AuditStore,
    private readonly key: SigningKey,
    private readonly options: AuditLogOptions,
    private readonly now: () => Date,
    private lastCheckpointSize: number,
  ) {
    super(store, key.publicKey, key.publicKeyPem);
    this.logId = logIdOf(key.publicKey);
    this.maxDelayMs = options.groupCommit?.maxDelayMs ?? 0;
    this.maxEvents = options.groupCommit?.maxEvents ?? 256;
    this.everyEvents = options.checkpoint?.everyEvents ?? 1000;
    const everySeconds = options.checkpoint?.everySeconds ?? 60;
    if (everySeconds > 0) {
      this.checkpointTimer = setInterval(() => void this.tryCheckpoint('interval', true), everySeconds * 1000);
      // A schedule must not keep a finished process alive.
      this.checkpointTimer.unref();
    }
  }

  append(event: AuditEventInput): Promise<AuditReceipt> {
    if (this.closed) return Promise.reject(new BastionException(bastionError('AUDIT_CLOSED', 'the audit log is closed')));
    const problems = validateEventInput(event);
    if (problems.length > 0) {
      return Promise.reject(new BastionException(problems.map((p) => bastionError('AUDIT_EVENT_INVALID', `audit event: ${p}`))));
    }
    const time = this.now().toISOString();
    const parts = splitAtSeq(event, time);
    if (!parts.ok) {
      const e = parts.errors[0];
      return Promise.reject(new BastionException(bastionError('AUDIT_EVENT_INVALID', `audit event: at \`${e?.path ?? '$'}\`: ${e?.message ?? 'not JSON'}`)));
    }
    const { prefix, suffix } = parts.value;
    const traceId = event.traceId ?? null;
    return new Promise<AuditReceipt>((resolve, reject) => {
      this.pending.push(new Pending(prefix, suffix, time, traceId, resolve, reject));
      this.schedule();
    });
  }

  /**
   * Arms one flush: on the next turn of the event loop, or after the configured delay. While
   * a commit is in flight nothing is armed: the events wait for it and form the next batch.
   */
  private schedule(): void {
    if (this.committing) return;
    if (this.maxDelayMs <= 0 || this.pending.length >= this.maxEvents) {
      if (this.immediate) return;
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        void this.flush();
      });
    } else if (!this.flushTimer && !this.immediate) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        void this.flush();
      }, this.maxDelayMs);
    }
  }

  /** Cancels the armed flush and commits everything pending now, the commit in flight first. */
  private async drain(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    while (this.committing || this.pending.length > 0) {
      if (this.committing) await this.committing;
      else await this.flush();
    }
  }

  /** Starts one commit of what is pending (after the one in flight); resolves when it is done. */
  private flush(): Promise<void> {
    if (this.committing) return this.committing;
    if (this.pending.length === 0) return Promise.resolve();
    const batch = this.pending;
    this.pending = [];
    const run = this.commit(batch).finally(() => {
      this.committing = undefined;
      // What arrived during the commit goes next, at once: it has waited already.
      if (this.pending.length > 0 && !this.closed) {
        if (this.flushTimer) clearTimeout(this.flushTimer);
        this.flushTimer = undefined;
        if (!this.immediate) {
          this.immediate = setImmediate(() => {
            this.immediate = undefined;
            void this.flush();
          });
        }
      }
    });
    this.committing = run;
    return run;
  }

  /** Commits a batch in one transaction (one await), then settles the callers' promises. */
  private async commit(batch: Pending[]): Promise<void> {
    let receipts: AuditReceipt[];
    try {
      receipts = await this.store.appendBatch((head) => {
        let previous = head.chainHash;
        const range = head.range.clone();
        let seq = head.size;
        const rows: StoredRow[] = [];
        const result: AuditReceipt[] = [];
        for (const item of batch) {
          seq++;
          const body = item.prefix + seq + item.suffix;
          const leaf = leafHash(body);
          previous = chainHash(previous, leaf);
          range.append(leaf);
          rows.push({ seq, body, chainHash: previous, traceId: item.traceId, time: item.time });
          result.push({ seq, leafHash: leaf.toString('hex'), chainHash: previous.toString('hex'), time: item.time });
        }
        return { rows, head: { size: seq, chainHash: previous, range }, result };
      });
    } catch (err) {
      // A store that did not take the write (its server gone, the disk full) is unavailable
      // (503): the caller may retry elsewhere. Anything else is a broken store (500).
      const why = err instanceof AuditStateError ? `${err.message}; nothing was written (run \`bastion audit verify\`)` : err instanceof Error ? err.message : String(err);
      const error = new BastionException(bastionError(err instanceof AuditStoreUnavailable ? 'AUDIT_UNAVAILABLE' : 'AUDIT_STORAGE', `cannot write the audit log: ${why}`));
      for (const item of batch) item.reject(error);
      return;
    }
    // The checkpoint that is due goes first: once an append resolves, the checkpoint its
    // batch completed is stored (a witness polling after it sees it).
    const last = receipts[receipts.length - 1];
    if (last && last.seq - this.lastCheckpointSize >= this.everyEvents) await this.tryCheckpoint('events');
    batch.forEach((item, i) => item.resolve(receipts[i] as AuditReceipt));
  }

  private async tryCheckpoint(reason: string, onlyIfGrown = false): Promise<void> {
    try {
      if (this.closed) return;
      if (onlyIfGrown && (await this.store.head()).size <= this.lastCheckpointSize) return;
      await this.checkpointNow(reason);
    } catch {
      // A scheduled checkpoint that fails is retried at the next trigger; appends go on (and
      // refuse for themselves when the head is wrong).
    }
  }

  private async checkpointNow(reason: string): Promise<Checkpoint> {
    // head() refuses a head that disagrees with the rows: never sign a wrong one.
    const head = await this.store.head();
    const cp = signCheckpoint(
      {
        v: CHECKPOINT_VERSION,
        logId: this.logId,
        size: head.size,
        root: head.range.root().toString('hex'),
        chainHash: head.chainHash.toString('hex'),
        time: this.now().toISOString(),
        reason,
      },
      this.key.privateKey,
    );
    // The same signed bytes twice (two calls within one millisecond, nothing appended) would
    // be one checkpoint stored twice, which verification reports.
    const latest = await this.store.latestCheckpoint();
    if (latest?.signature === cp.signature) return latest;
    await this.store.addCheckpoint(cp);
    this.lastCheckpointSize = Math.max(this.lastCheckpointSize, cp.size);
    return cp;
  }

  async checkpoint(reason: string): Promise<Checkpoint> {
    if (this.closed) throw new BastionException(bastionError('AUDIT_CLOSED', 'the audit log is closed'));
    await this.drain();
    try {
      return await this.checkpointNow(reason);
    } catch (err) {
      throw new BastionException(bastionError('AUDIT_STORAGE', `cannot write a checkpoint: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  protected override async coveringCheckpoint(seq: number): Promise<Checkpoint | undefined> {
    const found = await super.coveringCheckpoint(seq);
    if (found || this.closed) return found;
    await this.drain();
    return (await this.store.head()).size >= seq ? this.checkpointNow('proof') : undefined;
  }

  prune(now: Date = this.now()): Promise<PruneReport> {
    const run = this.pruning.then(() => this.pruneNow(now));
    this.pruning = run.catch(() => undefined);
    return run;
  }

  private async pruneNow(now: Date): Promise<PruneReport> {
    const anchor = await withState(() => this.store.anchor());
    const days = this.options.retentionDays;
    if (days === undefined) return { pruned: 0, throughSeq: anchor.size, reason: 'no retention period is configured' };
    if (this.closed) throw new BastionException(bastionError('AUDIT_CLOSED', 'the audit log is closed'));
    await this.drain();
    const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString();
    const candidates = (await this.store.checkpoints(anchor.size)).reverse();
    let target: Checkpoint | undefined;
    for (const cp of candidates) {
      const newest = await this.store.maxTimeThrough(cp.size);
      if (newest !== undefined && newest < cutoff) {
        target = cp;
        break;
      }
    }
    if (!target) return { pruned: 0, throughSeq: anchor.size, cutoff, reason: 'no signed checkpoint covers only expired events' };
    // Fail closed: only a range that verifies against its checkpoint may be dropped, or the
    // pruning would launder a tampered range into an unverifiable past.
    if (checkCheckpointSignature(target, this.publicKey)) {
      return { pruned: 0, throughSeq: anchor.size, cutoff, reason: `checkpoint at size ${target.size} does not verify; nothing pruned` };
    }
    const range = anchor.range.clone();
    let previous = anchor.chainHash;
    let events = 0;
    let expected = anchor.size + 1;
    let gap = false;
    for await (const page of this.store.rows(anchor.size + 1, target.size)) {
      for (const row of page) {
        if (row.seq !== expected++) {
          gap = true;
          break;
        }
        const leaf = leafHash(row.body);
        previous = chainHash(previous, leaf);
        range.append(leaf);
        events++;
      }
      if (gap) break;
    }
    if (range.size !== target.size || range.root().toString('hex') !== target.root || previous.toString('hex') !== target.chainHash) {
      return { pruned: 0, throughSeq: anchor.size, cutoff, reason: `events up to ${target.size} do not verify against their checkpoint; nothing pruned` };
    }
    // The record goes first, then a checkpoint that signs it, and only then are the rows
    // deleted: verification accepts a pruned prefix only on a signed \`audit.pruned\` event, and
    // a crash in between leaves a record of a pruning not yet done, never a gap without one.
    const time = this.now().toISOString();
    const parts = splitAtSeq(
      {
        type: 'audit.pruned',
        data: { throughSeq: target.size, events, checkpointRoot: target.root, retentionDays: days, cutoff },
      },
      time,
    );
    if (!parts.ok) throw new Error('unreachable: pruning record is plain data');
    let eventSeq: number | undefined;
    let failure: unknown;
    this.pending.push(
      new Pending(
        parts.value.prefix,
        parts.value.suffix,
        time,
        null,
        (r) => {
          eventSeq = r.seq;
        },
        (err) => {
          failure = err;
        },
      ),
    );
    await this.drain();
    if (eventSeq === undefined) {
      return { pruned: 0, throughSeq: anchor.size, cutoff, reason: `the pruning record cannot be written: ${failure instanceof Error ? failure.message : String(failure)}; nothing pruned` };
    }
    try {
      await this.checkpointNow('prune');
    } catch (err) {
      return { pruned: 0, throughSeq: anchor.size, cutoff, eventSeq, reason: `the pruning record cannot be signed: ${err instanceof Error ? err.message : String(err)}; nothing pruned` };
    }
    const pruned = await this.store.prune({ size: target.size, chainHash: previous, range });
    return { pruned, throughSeq: target.size, cutoff, eventSeq };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.drain();
    this.closed = true;
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    await this.pruning;
    try {
      if ((await this.store.head()).size > this.lastCheckpointSize) await this.checkpointNow('close');
    } finally {
      await this.store.close();
    }
  }
}

function storageError(name: string, err: unknown): BastionError {
  const message = err instanceof Error ? err.message : String(err);
  return bastionError('AUDIT_STORAGE', `while opening ${quote(name)}: ${message.toLowerCase().replace(/\.$/, '')}`, { file: name });
}

/**
 * Opens the audit log over a store, with its signing key. A new log records its public key
 * in the store; a log whose key is elsewhere refuses a different one. On failure the store
 * is closed. For the embedded default, `openSqliteAuditLog(path)` from `src/storage/`.
 *
 * @example
 * const opened = await openAuditLog({ store: createMemoryAuditStore(), key: ephemeralKey() });
 * if (!opened.ok) throw new BastionException(opened.errors);
 * const receipt = await opened.value.append({ type: 'service.start' });
 */
export async function openAuditLog(options: AuditLogOptions): Promise<Result<AuditLog, BastionError>> {
  const { store, key: provider } = options;
  const name = options.name ?? 'audit log';
  const file = options.name === undefined ? {} : { file: options.name };
  const refuse = async (error: BastionError): Promise<Result<AuditLog, BastionError>> => {
    await store.close().catch(() => undefined);
    return fail(error);
  };
  try {
    const stored = await store.getMeta('public_key');
    let key = provider.load();
    if (typeof key === 'string') return refuse(bastionError('AUDIT_KEY', `while opening ${quote(name)}: ${key}`, file));
    if ('missing' in key) {
      // Only a new log may get a new key: a log signed before must be opened with its key.
      if (stored !== undefined) return refuse(bastionError('AUDIT_KEY', `while opening ${quote(name)}: ${key.missing}`, file));
      try {
        key = provider.create();
      } catch (err) {
        return refuse(bastionError('AUDIT_KEY', `cannot create the signing key in ${provider.where}: ${err instanceof Error ? err.message : String(err)}`));
      }
    }
    if (stored !== undefined && stored.trim() !== key.publicKeyPem.trim()) {
      return refuse(bastionError('AUDIT_KEY', `while opening ${quote(name)}: the signing key in ${provider.where} is not the key of this log`, file));
    }
    if (stored === undefined) {
      await store.setMeta('public_key', key.publicKeyPem);
      await store.setMeta('log_id', logIdOf(key.publicKey));
      await store.setMeta('schema_version', String(AUDIT_SCHEMA_VERSION));
    }
    // Refuse a log whose head, anchor or latest checkpoint was tampered with before the
    // first append would build on them; appends check the head again under the write lock.
    const head = await store.head();
    // After a clean close the latest checkpoint is at the head: then the whole head, its
    // Merkle frontier too, can be checked without reading the events.
    const latest = await store.latestCheckpoint();
    if (latest?.size === head.size && (latest.root !== head.range.root().toString('hex') || latest.chainHash !== head.chainHash.toString('hex'))) {
      throw new AuditStateError('head', `the stored head (table audit_head) does not match the signed checkpoint at its size ${head.size}: its chain hash or Merkle frontier was edited`);
    }
    return ok(new Log(store, key, options, options.now ?? (() => new Date()), latest?.size ?? 0));
  } catch (err) {
    if (err instanceof AuditStateError) {
      return refuse(bastionError('AUDIT_STORAGE', `while opening ${quote(name)}: ${err.message}; nothing was written (run \`bastion audit verify\`)`, file));
    }
    return refuse(storageError(name, err));
  }
}

export interface AuditReaderOptions {
  store: AuditStore;
  /** A public key held elsewhere: the strongest check, since the log's operator cannot swap it. */
  publicKeyPem?: string;
  /** Where `publicKeyPem` came from, as reported; default `option`. */
  keySource?: 'key-file' | 'option';
  /** Names the log in messages; default `audit log`. */
  name?: string;
}

/**
 * Opens a reader over a store, for verifying, querying and exporting. The public key comes
 * from `publicKeyPem`, else (reported as `keySource: 'database'`) the copy in the store.
 * On failure the store is closed. For a SQLite file, `openSqliteAuditReader(path)`.
 *
 * @example
 * const reader = await openAuditReader({ store });
 * if (reader.ok) console.log((await reader.value.verify()).ok);
 */
export async function openAuditReader(options: AuditReaderOptions): Promise<Result<OpenedReader, BastionError>> {
  const { store } = options;
  const name = options.name ?? 'audit log';
  let pem = options.publicKeyPem;
  let keySource: OpenedReader['keySource'] = pem === undefined ? 'database' : (options.keySource ?? 'option');
  try {
    if (pem === undefined) {
      pem = await store.getMeta('public_key');
      keySource = 'database';
    }
  } catch (err) {
    await store.close().catch(() => undefined);
    return fail(storageError(name, err));
  }
  const publicKey = pem === undefined ? undefined : parsePublicKey(pem);
  if (!publicKey || pem === undefined) {
    await store.close().catch(() => undefined);
    return fail(bastionError('AUDIT_KEY', `no usable Ed25519 public key for ${quote(name)}`, ...(options.name === undefined ? [] : [{ file: options.name }])));
  }
  const reader = new Reader(store, publicKey, pem) as Reader & { keySource: OpenedReader['keySource']; close(): Promise<void> };
  reader.keySource = keySource;
  reader.close = () => store.close();
  return ok(reader);
}

/**
 * Checks an inclusion proof on its own: the checkpoint's signature, the leaf hash of the
 * event, and the audit path up to the signed root. Returns why it fails, or undefined.
 *
 * @example
 * const proof = await log.inclusionProof(42);
 * if (proof.ok) verifyInclusionProof(proof.value, log.publicKeyPem()) // undefined: valid
 */
export function verifyInclusionProof(proof: InclusionProof, publicKeyPem: string): string | undefined {
  const publicKey = parsePublicKey(publicKeyPem);
  if (!publicKey) return 'the public key is not an Ed25519 key';
  const problem = checkCheckpointSignature(proof.checkpoint, publicKey);
  if (problem) return problem;
  if (proof.treeSize !== proof.checkpoint.size || proof.root !== proof.checkpoint.root) return 'the proof is not for the checkpoint it carries';
  const leaf = leafHash(proof.event);
  if (leaf.toString('hex') !== proof.leafHash) return 'the event does not match its leaf hash';
  let parsed: unknown;
  try {
    parsed = JSON.parse(proof.event);
  } catch {
    return 'the event is not JSON';
  }
  if ((parsed as { seq?: unknown }).seq !== proof.seq || proof.leafIndex !== proof.seq - 1) return 'the event is not at the position the proof claims';
  const path = proof.proof.map((h) => Buffer.from(h, 'hex'));
  return verifyInclusion(leaf, proof.leafIndex, proof.treeSize, path, Buffer.from(proof.root, 'hex')) ? undefined : 'the audit path does not lead to the signed root';
}
