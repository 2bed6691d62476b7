/**
 * The audit log: group-committed, hash-chained appends into a store, signed checkpoints on a
 * schedule, verification, proofs and retention. This is the edge that owns the clock (an
 * injectable `now`) and the key file; the hashing and verification it calls are pure.
 */

import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Result } from '../core/result.js';
import { fail, ok } from '../core/result.js';
import type { BastionError } from '../core/errors.js';
import { BastionException, bastionError, quote } from '../core/errors.js';
import type { AuditFilter, AuditStore } from './store.js';
import { AuditStateError } from './store.js';
import { ensureDirectory } from '../storage/directory.js';
import { SqliteAuditStore } from '../storage/sqlite/audit-store.js';
import type { CanonicalJsonError, SplitCanonical } from '../core/canonical-json.js';
import { canonicalSplit } from '../core/canonical-json.js';
import type { Checkpoint } from './checkpoint.js';
import { CHECKPOINT_VERSION, checkCheckpointSignature, logIdOf, parsePublicKey, signCheckpoint } from './checkpoint.js';
import { chainHash, leafHash } from './hash.js';
import type { SigningKey } from './keys.js';
import { createSigningKey, loadSigningKey, PRIVATE_KEY_FILE } from './keys.js';
import { TreeHasher, verifyInclusion } from './merkle.js';
import type { AuditEvent, AuditEventInput } from './schema.js';
import { AUDIT_SCHEMA_VERSION, validateEventInput } from './schema.js';
import type { Malformed, StoredRow, VerifyInput, VerifyReport } from './verify.js';
import { verifyRows } from './verify.js';

export interface AuditLogOptions {
  /** The SQLite file, e.g. `DIR/bastion.db`; its directory is created when missing. */
  path: string;
  /** Where the Ed25519 signing key lives; default the directory of `path`. */
  keyDir?: string;
  /** Default true: `append()` resolves only once the event is on disk (`synchronous=FULL`). */
  durable?: boolean;
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
}

/** Reading, verifying and proving: what the CLI needs, without the signing key. */
export interface AuditReader {
  query(filter: AuditFilter): AuditEvent[];
  getTrace(traceId: string): AuditEvent[];
  /** Events with seq > afterSeq in seq order, at most `limit` (for paging exports and sinks). */
  eventsAfter(afterSeq: number, limit: number): AuditEvent[];
  verify(options?: VerifyOptions): VerifyReport;
  inclusionProof(seq: number): InclusionProof;
  consistencyProof(fromSize: number, toSize: number): string[];
  publicKeyPem(): string;
  latestCheckpoint(): Checkpoint | undefined;
  checkpoints(sinceSize?: number): Checkpoint[];
  /** Number of events stored (after pruning). */
  size(): number;
}

export interface AuditLog extends AuditReader {
  append(event: AuditEventInput): Promise<AuditReceipt>;
  checkpoint(reason: string): Promise<Checkpoint>;
  prune(now?: Date): PruneReport;
  close(): Promise<void>;
  /** The store, for adapters that share the file (the SIEM sink keeps its cursor there). */
  readonly store: AuditStore;
}

export interface OpenedReader extends AuditReader {
  /** Where the public key came from: a key file, the caller, or the database itself. */
  keySource: 'key-file' | 'option' | 'database';
  close(): void;
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
function readState<T>(read: () => T): T | Malformed {
  try {
    return read();
  } catch (err) {
    if (err instanceof AuditStateError) return { malformed: err.message };
    throw err;
  }
}

/** Runs a read or write that needs trustworthy stored state; a malformed one is an AUDIT_STORAGE error. */
function withState<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof AuditStateError) throw new BastionException(bastionError('AUDIT_STORAGE', `${err.message}; run \`bastion audit verify\``));
    throw err;
  }
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
  query(filter: AuditFilter): AuditEvent[] {
    const after = withState(() => this.store.anchor().size);
    const through = Math.min(filter.throughSeq ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    return this.store.query({ ...filter, afterSeq: Math.max(filter.afterSeq ?? after, after), throughSeq: through }).map(parseEvent);
  }

  getTrace(traceId: string): AuditEvent[] {
    return this.query({ traceId });
  }

  eventsAfter(afterSeq: number, limit: number): AuditEvent[] {
    const after = withState(() => this.store.anchor().size);
    return this.store.bodiesAfter(Math.max(afterSeq, after), limit).map(parseEvent);
  }

  verify(options: VerifyOptions = {}): VerifyReport {
    const anchor = readState(() => this.store.anchor());
    const head = readState(() => this.store.storedHead() ?? null);
    const from = 'malformed' in anchor ? 1 : anchor.size + 1;
    const headSize = head !== null && !('malformed' in head) ? head.size : 0;
    const input: VerifyInput = {
      rows: this.store.rows(from),
      // For progress only: counting the rows would scan the whole table first.
      total: Math.max(0, headSize - from + 1),
      checkpoints: [],
      storedCheckpoints: this.store.checkpointRows(),
      publicKey: this.publicKey,
      anchor,
      head,
      extent: this.store.extent(),
    };
    if (options.trusted) input.trusted = options.trusted;
    if (options.onProgress) input.onProgress = options.onProgress;
    return verifyRows(input);
  }

  /** Leaf hashes of seq from..to, recomputed from the stored bodies (they are not stored). */
  private leafHashes(from: number, to: number): Buffer[] {
    const leaves: Buffer[] = [];
    for (const row of this.store.rows(from, to)) leaves.push(leafHash(row.body));
    return leaves;
  }

  protected coveringCheckpoint(seq: number): Checkpoint | undefined {
    const latest = this.store.latestCheckpoint();
    return latest && latest.size >= seq ? latest : undefined;
  }

  inclusionProof(seq: number): InclusionProof {
    const anchor = withState(() => this.store.anchor());
    const row = Number.isSafeInteger(seq) && seq > anchor.size ? this.store.row(seq) : undefined;
    if (!row) {
      const why = Number.isSafeInteger(seq) && seq >= 1 && seq <= anchor.size ? 'was pruned' : 'does not exist';
      throw new BastionException(bastionError('AUDIT_NOT_FOUND', `event ${quote(String(seq))} ${why}`));
    }
    const cp = this.coveringCheckpoint(seq);
    if (!cp) throw new BastionException(bastionError('AUDIT_NOT_FOUND', `no signed checkpoint covers event ${seq} yet`));
    const leaves = this.leafHashes(anchor.size + 1, cp.size);
    const hasher = new TreeHasher((i) => leaves[i - anchor.size] as Buffer, anchor.range);
    return {
      seq,
      leafIndex: seq - 1,
      event: row.body,
      leafHash: (leaves[seq - 1 - anchor.size] as Buffer).toString('hex'),
      treeSize: cp.size,
      proof: hasher.inclusionProof(seq - 1, cp.size).map((b) => b.toString('hex')),
      root: cp.root,
      checkpoint: cp,
    };
  }

  consistencyProof(fromSize: number, toSize: number): string[] {
    const anchor = withState(() => this.store.anchor());
    const head = withState(() => this.store.head());
    if (!(Number.isSafeInteger(fromSize) && Number.isSafeInteger(toSize) && fromSize >= 1 && fromSize <= toSize && toSize <= head.size)) {
      throw new BastionException(bastionError('AUDIT_NOT_FOUND', `no consistency proof from size ${quote(String(fromSize))} to ${quote(String(toSize))}`));
    }
    const leaves = this.leafHashes(anchor.size + 1, toSize);
    const hasher = new TreeHasher((i) => leaves[i - anchor.size] as Buffer, anchor.range);
    try {
      return hasher.consistencyProof(fromSize, toSize).map((b) => b.toString('hex'));
    } catch {
      throw new BastionException(bastionError('AUDIT_NOT_FOUND', `the proof from size ${fromSize} needs pruned events`));
    }
  }

  publicKeyPem(): string {
    return this.pem;
  }

  latestCheckpoint(): Checkpoint | undefined {
    return withState(() => this.store.latestCheckpoint());
  }

  checkpoints(sinceSize?: number): Checkpoint[] {
    return withState(() => this.store.checkpoints(sinceSize));
  }

  size(): number {
    return this.store.eventCount();
  }
}

class Log extends Reader implements AuditLog {
  private pending: Pending[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastCheckpointSize: number;
  private readonly maxDelayMs: number;
  private readonly maxEvents: number;
  private readonly everyEvents: number;
  private readonly logId: string;

  constructor(
    store: AuditStore,
    private readonly key: SigningKey,
    private readonly options: AuditLogOptions,
    private readonly now: () => Date,
  ) {
    super(store, key.publicKey, key.publicKeyPem);
    this.logId = logIdOf(key.publicKey);
    this.maxDelayMs = options.groupCommit?.maxDelayMs ?? 0;
    this.maxEvents = options.groupCommit?.maxEvents ?? 256;
    this.everyEvents = options.checkpoint?.everyEvents ?? 1000;
    this.lastCheckpointSize = store.latestCheckpoint()?.size ?? 0;
    const everySeconds = options.checkpoint?.everySeconds ?? 60;
    if (everySeconds > 0) {
      this.checkpointTimer = setInterval(() => this.tryCheckpoint('interval', true), everySeconds * 1000);
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

  /** Arms one flush: on the next turn of the event loop, or after the configured delay. */
  private schedule(): void {
    if (this.maxDelayMs <= 0 || this.pending.length >= this.maxEvents) {
      if (this.immediate) return;
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.flush();
      });
    } else if (!this.flushTimer && !this.immediate) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.flush();
      }, this.maxDelayMs);
    }
  }

  /** Cancels the armed flush and commits what is pending now. */
  private flushNow(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.flush();
  }

  /** Commits everything pending in one transaction, then settles the callers' promises. */
  private flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    let receipts: AuditReceipt[];
    try {
      receipts = this.store.appendBatch((head) => {
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
      const why = err instanceof AuditStateError ? `${err.message}; nothing was written (run \`bastion audit verify\`)` : err instanceof Error ? err.message : String(err);
      const error = new BastionException(bastionError('AUDIT_STORAGE', `cannot write the audit log: ${why}`));
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => item.resolve(receipts[i] as AuditReceipt));
    const last = receipts[receipts.length - 1];
    if (last && last.seq - this.lastCheckpointSize >= this.everyEvents) this.tryCheckpoint('events');
  }

  private tryCheckpoint(reason: string, onlyIfGrown = false): void {
    try {
      if (onlyIfGrown && this.store.head().size <= this.lastCheckpointSize) return;
      this.checkpointNow(reason);
    } catch {
      // A scheduled checkpoint that fails is retried at the next trigger; appends go on (and
      // refuse for themselves when the head is wrong).
    }
  }

  private checkpointNow(reason: string): Checkpoint {
    // head() refuses a head that disagrees with the rows: never sign a wrong one.
    const head = this.store.head();
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
    const latest = this.store.latestCheckpoint();
    if (latest?.signature === cp.signature) return latest;
    this.store.addCheckpoint(cp);
    this.lastCheckpointSize = Math.max(this.lastCheckpointSize, cp.size);
    return cp;
  }

  async checkpoint(reason: string): Promise<Checkpoint> {
    if (this.closed) throw new BastionException(bastionError('AUDIT_CLOSED', 'the audit log is closed'));
    this.flushNow();
    try {
      return this.checkpointNow(reason);
    } catch (err) {
      throw new BastionException(bastionError('AUDIT_STORAGE', `cannot write a checkpoint: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  protected override coveringCheckpoint(seq: number): Checkpoint | undefined {
    const found = super.coveringCheckpoint(seq);
    if (found || this.closed) return found;
    return this.store.head().size >= seq ? this.checkpointNow('proof') : undefined;
  }

  prune(now: Date = this.now()): PruneReport {
    const anchor = withState(() => this.store.anchor());
    const days = this.options.retentionDays;
    if (days === undefined) return { pruned: 0, throughSeq: anchor.size, reason: 'no retention period is configured' };
    if (this.closed) throw new BastionException(bastionError('AUDIT_CLOSED', 'the audit log is closed'));
    this.flush();
    const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString();
    const candidates = this.store.checkpoints(anchor.size).reverse();
    const target = candidates.find((cp) => {
      const newest = this.store.maxTimeThrough(cp.size);
      return newest !== undefined && newest < cutoff;
    });
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
    for (const row of this.store.rows(anchor.size + 1, target.size)) {
      if (row.seq !== expected++) break;
      const leaf = leafHash(row.body);
      previous = chainHash(previous, leaf);
      range.append(leaf);
      events++;
    }
    if (range.size !== target.size || range.root().toString('hex') !== target.root || previous.toString('hex') !== target.chainHash) {
      return { pruned: 0, throughSeq: anchor.size, cutoff, reason: `events up to ${target.size} do not verify against their checkpoint; nothing pruned` };
    }
    // The record goes first, then a checkpoint that signs it, and only then are the rows
    // deleted: verification accepts a pruned prefix only on a signed `audit.pruned` event, and
    // a crash in between leaves a record of a pruning not yet done, never a gap without one.
    const time = this.now().toISOString();
    const parts = splitAtSeq({
      type: 'audit.pruned',
      data: { throughSeq: target.size, events, checkpointRoot: target.root, retentionDays: days, cutoff },
    }, time);
    if (!parts.ok) throw new Error('unreachable: pruning record is plain data');
    let eventSeq: number | undefined;
    let failure: unknown;
    this.pending.push(new Pending(parts.value.prefix, parts.value.suffix, time, null, (r) => { eventSeq = r.seq; }, (err) => { failure = err; }));
    this.flush();
    if (eventSeq === undefined) {
      return { pruned: 0, throughSeq: anchor.size, cutoff, reason: `the pruning record cannot be written: ${failure instanceof Error ? failure.message : String(failure)}; nothing pruned` };
    }
    try {
      this.checkpointNow('prune');
    } catch (err) {
      return { pruned: 0, throughSeq: anchor.size, cutoff, eventSeq, reason: `the pruning record cannot be signed: ${err instanceof Error ? err.message : String(err)}; nothing pruned` };
    }
    const pruned = this.store.prune({ size: target.size, chainHash: previous, range });
    return { pruned, throughSeq: target.size, cutoff, eventSeq };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flushNow();
    this.closed = true;
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    try {
      if (this.store.head().size > this.lastCheckpointSize) this.checkpointNow('close');
    } finally {
      this.store.close();
    }
  }
}

function storageError(path: string, err: unknown): BastionError {
  const message = err instanceof Error ? err.message : String(err);
  return bastionError('AUDIT_STORAGE', `while opening ${quote(path)}: ${message.toLowerCase().replace(/\.$/, '')}`, { file: path });
}

/**
 * Opens (creating on first use) the audit log in a SQLite file, with its signing key.
 *
 * @example
 * const opened = openAuditLog({ path: '.bastion/bastion.db', retentionDays: 2555 });
 * if (!opened.ok) throw new BastionException(opened.errors);
 * const receipt = await opened.value.append({ type: 'service.start' });
 */
export function openAuditLog(options: AuditLogOptions): Result<AuditLog, BastionError> {
  if (typeof options.path !== 'string' || options.path === '') return fail(bastionError('AUDIT_STORAGE', 'audit log path is empty'));
  const keyDir = options.keyDir ?? dirname(options.path);
  for (const dir of new Set([dirname(options.path), keyDir])) {
    const problem = ensureDirectory(dir);
    if (problem) return fail(bastionError('AUDIT_STORAGE', `while opening ${quote(options.path)}: ${problem}`, { file: options.path }));
  }
  let store: SqliteAuditStore;
  try {
    store = new SqliteAuditStore(options.path, { synchronous: options.durable === false ? 'NORMAL' : 'FULL' });
  } catch (err) {
    return fail(storageError(options.path, err));
  }
  const stored = store.getMeta('public_key');
  let key = loadSigningKey(keyDir);
  if (typeof key === 'string') {
    if (stored !== undefined || existsSync(join(keyDir, PRIVATE_KEY_FILE))) {
      store.close();
      return fail(bastionError('AUDIT_KEY', `while opening ${quote(options.path)}: ${key}`, { file: options.path }));
    }
    try {
      key = createSigningKey(keyDir);
    } catch (err) {
      store.close();
      return fail(bastionError('AUDIT_KEY', `cannot create the signing key in ${quote(keyDir)}: ${err instanceof Error ? err.message : String(err)}`));
    }
  }
  if (stored !== undefined && stored.trim() !== key.publicKeyPem.trim()) {
    store.close();
    return fail(bastionError('AUDIT_KEY', `while opening ${quote(options.path)}: the signing key in ${quote(keyDir)} is not the key of this log`));
  }
  if (stored === undefined) {
    store.setMeta('public_key', key.publicKeyPem);
    store.setMeta('log_id', logIdOf(key.publicKey));
    store.setMeta('schema_version', String(AUDIT_SCHEMA_VERSION));
  }
  try {
    // Refuse a log whose head, anchor or latest checkpoint was tampered with before the
    // first append would build on them; appends check the head again under the write lock.
    const head = store.head();
    // After a clean close the latest checkpoint is at the head: then the whole head, its
    // Merkle frontier too, can be checked without reading the events.
    const latest = store.latestCheckpoint();
    if (latest?.size === head.size && (latest.root !== head.range.root().toString('hex') || latest.chainHash !== head.chainHash.toString('hex'))) {
      throw new AuditStateError('head', `the stored head (table audit_head) does not match the signed checkpoint at its size ${head.size}: its chain hash or Merkle frontier was edited`);
    }
    return ok(new Log(store, key, options, options.now ?? (() => new Date())));
  } catch (err) {
    store.close();
    if (err instanceof AuditStateError) {
      return fail(bastionError('AUDIT_STORAGE', `while opening ${quote(options.path)}: ${err.message}; nothing was written (run \`bastion audit verify\`)`, { file: options.path }));
    }
    return fail(storageError(options.path, err));
  }
}

export interface AuditReaderOptions {
  path: string;
  /** Where to look for the public key file; default the directory of `path`. */
  keyDir?: string;
  /** A public key held elsewhere: the strongest check, since the log's operator cannot swap it. */
  publicKeyPem?: string;
}

/**
 * Opens an existing audit log read-only, for verifying, querying and exporting. The public
 * key comes from `publicKeyPem`, else the key files next to the log, else (reported as
 * `keySource: 'database'`) the copy stored in the log itself.
 *
 * @example
 * const reader = openAuditReader({ path: '.bastion/bastion.db' });
 * if (reader.ok) console.log(reader.value.verify().ok);
 */
export function openAuditReader(options: AuditReaderOptions): Result<OpenedReader, BastionError> {
  if (!existsSync(options.path)) return fail(bastionError('AUDIT_STORAGE', `audit log ${quote(options.path)} does not exist`, { file: options.path }));
  let store: SqliteAuditStore;
  try {
    store = new SqliteAuditStore(options.path, { readOnly: true });
  } catch (err) {
    return fail(storageError(options.path, err));
  }
  let pem: string | undefined;
  let keySource: OpenedReader['keySource'] = 'database';
  if (options.publicKeyPem !== undefined) {
    pem = options.publicKeyPem;
    keySource = 'option';
  } else {
    const fromFile = loadPublicKeyFile(options.keyDir ?? dirname(options.path));
    if (fromFile !== undefined) {
      pem = fromFile;
      keySource = 'key-file';
    } else {
      pem = store.getMeta('public_key');
    }
  }
  const publicKey = pem === undefined ? undefined : parsePublicKey(pem);
  if (!publicKey || pem === undefined) {
    store.close();
    return fail(bastionError('AUDIT_KEY', `no usable Ed25519 public key for ${quote(options.path)}`, { file: options.path }));
  }
  const reader = new Reader(store, publicKey, pem) as Reader & { keySource: OpenedReader['keySource']; close(): void };
  reader.keySource = keySource;
  reader.close = () => store.close();
  return ok(reader);
}

function loadPublicKeyFile(dir: string): string | undefined {
  const key = loadSigningKey(dir);
  if (typeof key !== 'string') return key.publicKeyPem;
  return undefined;
}

/**
 * Checks an inclusion proof on its own: the checkpoint's signature, the leaf hash of the
 * event, and the audit path up to the signed root. Returns why it fails, or undefined.
 *
 * @example
 * verifyInclusionProof(log.inclusionProof(42), log.publicKeyPem()) // undefined: valid
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

