/**
 * The audit store in process memory: a real implementation of the port (head checks,
 * atomic batches, snapshots, pruning, cursors), for tests and for a gateway without a data
 * directory. Everything is lost when the process ends. JavaScript runs one batch at a time,
 * so a batch's `build` always sees the head the previous batch left: that is the head lock.
 *
 * The stored state is kept in the columns the SQLite store has (a head as size, chain hash
 * and frontier JSON), parsed by the same helpers, so both report damaged state alike.
 */

import type { Anchor, AuditBatch, AuditFilter, AuditStore, AuditStoreView, ChainHead, Checkpoint, StoredCheckpoint, StoredChainState, StoredRow } from '../../audit/index.js';
import { checkHead, CompactRange, GENESIS_CHAIN_HASH, parseChainState, parseStoredCheckpoint, storeChainState } from '../../audit/index.js';
import { RISKS, riskRank } from '../../core/risk.js';

/** One stored event: the row, its chain hash as bytes. */
export interface MemoryEventRow {
  readonly seq: number;
  readonly body: string;
  readonly chainHash: Buffer;
  readonly traceId: string | null;
  readonly time: string;
}

/** The tables of a memory store, as they are kept. */
export interface MemoryAuditTables {
  /** In seq order. */
  events: MemoryEventRow[];
  head: StoredChainState | undefined;
  anchor: StoredChainState | undefined;
  checkpoints: StoredCheckpoint[];
  nextCheckpointId: number;
  meta: Map<string, string>;
  cursors: Map<string, number>;
}

const PAGE = 1024;

function copyTables(t: MemoryAuditTables): MemoryAuditTables {
  return {
    events: t.events.slice(),
    head: t.head && { ...t.head },
    anchor: t.anchor && { ...t.anchor },
    checkpoints: t.checkpoints.slice(),
    nextCheckpointId: t.nextCheckpointId,
    meta: new Map(t.meta),
    cursors: new Map(t.cursors),
  };
}

/** Index of the first event with seq >= `seq`. */
function lowerBound(events: readonly MemoryEventRow[], seq: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((events[mid] as MemoryEventRow).seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function isoTime(value: string | Date): string {
  return value instanceof Date ? value.toISOString() : value;
}

/** `*` matches any run of characters; everything else literally (as the SQLite store's GLOB). */
function globMatcher(pattern: string): (value: unknown) => boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[\\s\\S]*')}$`,
  );
  return (value) => typeof value === 'string' && re.test(value);
}

interface ParsedEvent {
  decision?: unknown;
  principal?: { id?: unknown; groups?: unknown };
  action?: unknown;
  risk?: unknown;
  type?: unknown;
}

/** The reads, over one set of tables (the live ones, or a snapshot's copy). */
class MemoryAuditView implements AuditStoreView {
  constructor(readonly tables: MemoryAuditTables) {}

  protected headNow(): ChainHead {
    const last = this.tables.events[this.tables.events.length - 1];
    return checkHead(this.storedHeadNow(), this.anchorNow(), last);
  }

  protected storedHeadNow(): ChainHead | undefined {
    return this.tables.head ? parseChainState('head', this.tables.head) : undefined;
  }

  protected anchorNow(): Anchor {
    return this.tables.anchor ? parseChainState('anchor', this.tables.anchor) : { size: 0, chainHash: GENESIS_CHAIN_HASH, range: new CompactRange() };
  }

  async head(): Promise<ChainHead> {
    return this.headNow();
  }

  async storedHead(): Promise<ChainHead | undefined> {
    return this.storedHeadNow();
  }

  async anchor(): Promise<Anchor> {
    return this.anchorNow();
  }

  async extent(): Promise<{ lowest: string; highest: string } | undefined> {
    const { events } = this.tables;
    const first = events[0];
    const last = events[events.length - 1];
    return first && last ? { lowest: String(first.seq), highest: String(last.seq) } : undefined;
  }

  async *rows(from = 1, to = Number.MAX_SAFE_INTEGER): AsyncGenerator<readonly StoredRow[]> {
    let next = from;
    while (next <= to) {
      // Found again by seq each page: a pruning between pages shifts the array.
      const { events } = this.tables;
      const at = lowerBound(events, next);
      const page: StoredRow[] = [];
      for (let i = at; i < events.length && page.length < PAGE; i++) {
        const row = events[i] as MemoryEventRow;
        if (row.seq > to) break;
        page.push({ seq: row.seq, body: row.body, chainHash: row.chainHash, traceId: row.traceId, time: row.time });
      }
      const last = page[page.length - 1];
      if (!last) return;
      yield page;
      next = last.seq + 1;
    }
  }

  async row(seq: number): Promise<StoredRow | undefined> {
    const { events } = this.tables;
    const row = events[lowerBound(events, seq)];
    return row && row.seq === seq ? { seq: row.seq, body: row.body, chainHash: Buffer.from(row.chainHash), traceId: row.traceId, time: row.time } : undefined;
  }

  async bodiesAfter(afterSeq: number, limit: number): Promise<string[]> {
    const { events } = this.tables;
    const out: string[] = [];
    for (let i = lowerBound(events, Math.floor(afterSeq) + 1); i < events.length && out.length < limit; i++) {
      const row = events[i] as MemoryEventRow;
      if (row.seq > Number.MAX_SAFE_INTEGER) break;
      if (row.seq > afterSeq) out.push(row.body);
    }
    return out;
  }

  async query(filter: AuditFilter): Promise<string[]> {
    const action = filter.action === undefined ? undefined : filter.action.includes('*') ? globMatcher(filter.action) : (v: unknown) => v === filter.action;
    const risks = filter.risk === undefined ? undefined : new Set<unknown>(RISKS.filter((r) => riskRank(r) >= riskRank(filter.risk as never)));
    const since = filter.since === undefined ? undefined : isoTime(filter.since);
    const until = filter.until === undefined ? undefined : isoTime(filter.until);
    const needsBody = filter.decision !== undefined || filter.principal !== undefined || filter.group !== undefined || action !== undefined || risks !== undefined || filter.type !== undefined;
    const out: string[] = [];
    for (const row of this.tables.events) {
      if (filter.afterSeq !== undefined && row.seq <= filter.afterSeq) continue;
      if (filter.throughSeq !== undefined && row.seq > filter.throughSeq) continue;
      if (filter.traceId !== undefined && row.traceId !== filter.traceId) continue;
      if (since !== undefined && row.time < since) continue;
      if (until !== undefined && row.time > until) continue;
      if (needsBody) {
        let event: ParsedEvent;
        try {
          event = JSON.parse(row.body) as ParsedEvent;
        } catch {
          continue;
        }
        if (typeof event !== 'object' || event === null) continue;
        if (filter.decision !== undefined && event.decision !== filter.decision) continue;
        if (filter.principal !== undefined && event.principal?.id !== filter.principal) continue;
        if (filter.group !== undefined && !(Array.isArray(event.principal?.groups) && event.principal.groups.includes(filter.group))) continue;
        if (action && !action(event.action)) continue;
        if (risks && !risks.has(event.risk)) continue;
        if (filter.type !== undefined && event.type !== filter.type) continue;
      }
      out.push(row.body);
    }
    return filter.limit !== undefined ? out.slice(Math.max(0, out.length - filter.limit)) : out;
  }

  async eventCount(): Promise<number> {
    return this.tables.events.length;
  }

  async checkpointRows(): Promise<StoredCheckpoint[]> {
    return this.tables.checkpoints.map((c) => ({ ...c }));
  }

  /** Checkpoints whose stored size is a number, in size order (ties in insertion order). */
  private sortedCheckpoints(): StoredCheckpoint[] {
    return this.tables.checkpoints.filter((c) => typeof c.size === 'number').sort((a, b) => (a.size as number) - (b.size as number) || a.id - b.id);
  }

  async checkpoints(sinceSize = -1): Promise<Checkpoint[]> {
    return this.sortedCheckpoints()
      .filter((c) => (c.size as number) > sinceSize)
      .map((c) => parseStoredCheckpoint(c.body));
  }

  async latestCheckpoint(): Promise<Checkpoint | undefined> {
    const sorted = this.sortedCheckpoints();
    const latest = sorted[sorted.length - 1];
    return latest ? parseStoredCheckpoint(latest.body) : undefined;
  }

  async maxTimeThrough(size: number): Promise<string | undefined> {
    let max: string | undefined;
    for (const row of this.tables.events) {
      if (row.seq > size) break;
      if (max === undefined || row.time > max) max = row.time;
    }
    return max;
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.tables.meta.get(key);
  }

  async getCursor(name: string): Promise<number> {
    return this.tables.cursors.get(name) ?? 0;
  }
}

/**
 * An audit store in process memory. `tables` is its state as kept, for tests that damage it
 * as someone with access to the process could.
 *
 * @example
 * const opened = await openAuditLog({ store: createMemoryAuditStore(), key: ephemeralKey() });
 */
export class MemoryAuditStore extends MemoryAuditView implements AuditStore {
  private closed = false;

  constructor() {
    super({ events: [], head: undefined, anchor: undefined, checkpoints: [], nextCheckpointId: 1, meta: new Map(), cursors: new Map() });
  }

  private writable(): void {
    if (this.closed) throw new Error('audit store is closed');
  }

  async appendBatch<T>(build: (head: ChainHead) => AuditBatch<T>): Promise<T> {
    this.writable();
    const built = build(this.headNow());
    const { events } = this.tables;
    // Checked before anything is written, so a refused batch leaves no trace.
    let previous = events[events.length - 1]?.seq ?? Number.NEGATIVE_INFINITY;
    for (const row of built.rows) {
      if (!Number.isSafeInteger(row.seq) || row.seq <= previous) throw new Error(`audit store: row seq ${row.seq} is not after seq ${previous}`);
      previous = row.seq;
    }
    const head = storeChainState(built.head);
    for (const row of built.rows) {
      const chainHash = typeof row.chainHash === 'string' ? Buffer.from(row.chainHash, 'hex') : Buffer.from(row.chainHash);
      events.push(Object.freeze({ seq: row.seq, body: row.body, chainHash, traceId: row.traceId ?? null, time: row.time ?? '' }));
    }
    this.tables.head = head;
    return built.result;
  }

  async snapshot<T>(read: (view: AuditStoreView) => Promise<T>): Promise<T> {
    return read(new MemoryAuditView(copyTables(this.tables)));
  }

  async addCheckpoint(checkpoint: Checkpoint): Promise<void> {
    this.writable();
    this.tables.checkpoints.push({ id: this.tables.nextCheckpointId++, size: checkpoint.size, body: JSON.stringify(checkpoint) });
  }

  async prune(anchor: Anchor): Promise<number> {
    this.writable();
    const { events } = this.tables;
    const keep = lowerBound(events, Math.floor(anchor.size) + 1);
    this.tables.anchor = storeChainState(anchor);
    events.splice(0, keep);
    return keep;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.writable();
    this.tables.meta.set(key, value);
  }

  async setCursor(name: string, seq: number): Promise<void> {
    this.writable();
    this.tables.cursors.set(name, seq);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * Creates an empty audit store in process memory.
 *
 * @example
 * const store = createMemoryAuditStore();
 */
export function createMemoryAuditStore(): MemoryAuditStore {
  return new MemoryAuditStore();
}
