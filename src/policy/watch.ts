/**
 * Watches policy files and directories and reloads the set when they change. A new set that
 * does not load is reported and ignored: the last good set stays in force, so a bad edit
 * never leaves the service without policy (or with half of one).
 */

import { watch, type FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import { bastionError, type BastionError } from '../errors/index.js';
import { loadPolicySet, type LoadOptions } from './load.js';
import type { PolicySet } from './model.js';

export interface PolicyWatcher {
  /** The set in force: the last one that loaded. */
  current(): PolicySet;
  close(): void;
}

export interface WatchHandlers {
  /** A new, valid set with a different version. */
  onReload: (set: PolicySet) => void | Promise<void>;
  /** The changed files did not load; the previous set stays. */
  onError: (errors: BastionError[]) => void;
}

/**
 * Starts watching. `initial` is the set already loaded from the same paths.
 *
 * @example
 * const w = watchPolicies(['policies/'], set, { onReload: (s) => gateway.setPolicySet(s), onError: log });
 */
export function watchPolicies(paths: string[], initial: PolicySet, handlers: WatchHandlers, options: LoadOptions & { debounceMs?: number } = {}): PolicyWatcher {
  let current = initial;
  let timer: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];
  const reload = (): void => {
    timer = undefined;
    const r = loadPolicySet(paths, options);
    if (!r.ok) {
      handlers.onError(r.errors);
      return;
    }
    if (r.value.version === current.version) return;
    const next = r.value;
    // INVARIANT: `current` changes only once the consumer accepted the new set; a consumer
    // that fails keeps the previous set in force and the failure is reported, never thrown.
    Promise.resolve()
      .then(() => handlers.onReload(next))
      .then(
        () => {
          current = next;
        },
        (err: unknown) => {
          const details = (err as { details?: BastionError[] }).details;
          handlers.onError(details ?? [bastionError('INTERNAL', `while applying reloaded policies: ${(err as Error).message}`)]);
        },
      );
  };
  const schedule = (): void => {
    // Editors write files in several steps (truncate, write, rename): wait for quiet.
    if (timer) clearTimeout(timer);
    timer = setTimeout(reload, options.debounceMs ?? 150);
  };
  for (const p of paths) {
    try {
      watchers.push(watch(resolve(options.cwd ?? process.cwd(), p), { recursive: true, persistent: false }, schedule));
    } catch {
      // A path that cannot be watched was reported when the set was loaded.
    }
  }
  return {
    current: () => current,
    close: () => {
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
