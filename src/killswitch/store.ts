/**
 * The kill switch's port: where its state lives. The consumer (the gateway) reads a snapshot
 * before every decision and writes changes through `update`, which applies a change
 * atomically, so two operators switching different keys at once both take effect.
 *
 * Adapters: in memory (`createMemoryKillSwitchStore`, here because it is the stage's own
 * default and does no I/O; `storage/memory/kill-switch.ts` re-exports it), SQLite
 * (`storage/sqlite/kill-switch-store.ts`), and PostgreSQL (`storage/postgres/kill-switch-store.ts`); every adapter
 * passes the contract suite `test/storage/contracts/kill-switch.ts`.
 *
 * Failures: a change that is not a kill-switch change (see `parseKillSwitchChange`) makes
 * `update` reject with a `REQUEST_INVALID` {@link BastionException}; a store that cannot be
 * read or written, holds a malformed state or was closed rejects with `STATE_STORAGE`. The
 * gateway treats a rejected `get` as "state unknown" and fails closed.
 */

import { BastionException, bastionError } from '../core/errors.js';
import { isPlainObject } from '../core/schema.js';
import { parseKillSwitchChange } from './change.js';
import type { KillSwitchState } from './state.js';
import { applyKillSwitchChange, EMPTY_KILL_SWITCH } from './state.js';

/** The state with what a cache or another replica needs to tell one change from the next. */
export interface KillSwitchSnapshot {
  state: KillSwitchState;
  /** 0 while nothing was ever stored; every `update` adds one. */
  version: number;
  /** When the last `update` was applied (ms since the epoch); null while nothing was stored. */
  updatedAt: number | null;
}

/** Called after every change the store learns of, with the state after it. */
export type KillSwitchListener = (snapshot: KillSwitchSnapshot) => void;

export interface KillSwitchStore {
  /** The current state; the empty state (all off) when nothing was ever stored. */
  get(): Promise<KillSwitchState>;
  /** Applies a change atomically (fields left out keep their value); resolves to the new state. */
  update(change: Partial<KillSwitchState>): Promise<KillSwitchState>;
  /** The current state with its version and the time of its last change. */
  snapshot(): Promise<KillSwitchSnapshot>;
  /**
   * Calls `listener` after each change made through this store, and (where the adapter can
   * learn of them: a read that sees a newer version, LISTEN/NOTIFY, pub/sub) after changes
   * made elsewhere. Versions reach a listener in increasing order, each at most once. A
   * listener that throws is ignored. Returns the function that unsubscribes.
   */
  subscribe(listener: KillSwitchListener): () => void;
  close(): Promise<void>;
}

/**
 * Checks a change handed to `update` (the gateway parses `PUT /v1/kill-switch` first, so a
 * failure here is a caller's mistake) and returns it as a clean copy.
 */
export function checkKillSwitchChange(change: unknown): Partial<KillSwitchState> {
  let given = change;
  if (isPlainObject(change)) {
    // Keys given as undefined are left out, as in an object spread; nothing left changes nothing.
    given = Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined));
    if (Object.keys(given as object).length === 0) return {};
  }
  const parsed = parseKillSwitchChange(given, 'kill-switch store: update');
  if (!parsed.ok) throw new BastionException(parsed.errors);
  return parsed.value;
}

/**
 * Delivers snapshots to listeners in version order, each version at most once. Adapters
 * call `publish` with every snapshot they write or read.
 */
export class KillSwitchListeners {
  private readonly listeners = new Set<KillSwitchListener>();
  private lastVersion: number;

  constructor(version: number) {
    this.lastVersion = version;
  }

  add(listener: KillSwitchListener): () => void {
    // A fresh wrapper per subscription: the same function subscribed twice is called twice.
    const entry: KillSwitchListener = (s) => listener(s);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  publish(snapshot: KillSwitchSnapshot): void {
    if (snapshot.version <= this.lastVersion) return;
    this.lastVersion = snapshot.version;
    for (const listener of [...this.listeners]) {
      try {
        listener(copySnapshot(snapshot));
      } catch {
        // INVARIANT: a listener's failure never fails the update that triggered it.
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}

export function copySnapshot(snapshot: KillSwitchSnapshot): KillSwitchSnapshot {
  return { state: applyKillSwitchChange(snapshot.state, {}), version: snapshot.version, updatedAt: snapshot.updatedAt };
}

function closedStoreError(store: string): BastionException {
  return new BastionException(bastionError('STATE_STORAGE', `the ${store} is closed`));
}

/**
 * A kill-switch store in process memory: state is lost when the process ends.
 *
 * @example
 * const store = createMemoryKillSwitchStore();
 * await store.update({ read_only_mode: true, reason: 'incident 42' });
 * (await store.get()).read_only_mode // true
 */
export function createMemoryKillSwitchStore(initial: Partial<KillSwitchState> = {}, options: { now?: () => number } = {}): KillSwitchStore {
  const now = options.now ?? Date.now;
  let current: KillSwitchSnapshot = { state: applyKillSwitchChange(EMPTY_KILL_SWITCH, checkKillSwitchChange(initial)), version: 0, updatedAt: null };
  const listeners = new KillSwitchListeners(0);
  let closed = false;
  const open = (): void => {
    if (closed) throw closedStoreError('kill-switch store');
  };
  return {
    async get() {
      open();
      return applyKillSwitchChange(current.state, {});
    },
    async update(change) {
      open();
      const clean = checkKillSwitchChange(change);
      current = { state: applyKillSwitchChange(current.state, clean), version: current.version + 1, updatedAt: now() };
      listeners.publish(current);
      return applyKillSwitchChange(current.state, {});
    },
    async snapshot() {
      open();
      return copySnapshot(current);
    },
    subscribe: (listener) => listeners.add(listener),
    async close() {
      closed = true;
      listeners.clear();
    },
  };
}
