/**
 * Watches policy files and directories and reloads the set when they change. A new set that
 * does not load is reported and ignored: the last good set stays in force, so a bad edit
 * never leaves the service without policy (or with half of one).
 *
 * Saves are often atomic replaces (`sed -i`, editors, deploy tools write a temporary file and
 * rename it over the old one), which end an inotify watch on the file itself. So a file path
 * is watched through its parent directory, a directory path through itself and each of its
 * subdirectories, and every event leads to a content check: the policy files are hashed and
 * loaded only when the hash changed. The same check also runs every `pollMs`, so a change no
 * event announced (a symlink swap, a missed event) is still loaded, and it re-arms a watch
 * that was lost (its directory removed or replaced, or `fs.watch` failed). A loss is reported
 * until the watch is re-armed.
 */

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { bastionError, quote, type BastionError, type ErrorCode } from '../core/errors.js';
import { loadPolicySet, type LoadOptions } from './load.js';
import type { PolicySet } from './model.js';

export interface PolicyWatcher {
  /** The set in force: the last one that loaded. */
  current(): PolicySet;
  /** What `/health` reports: the set in force, whether every watch is armed, the last failure. */
  status(): PolicyWatchStatus;
  close(): void;
}

export interface PolicyWatchStatus {
  /** Version of the set in force. */
  version: string;
  /** False while some path's watch is lost (see `watchErrors`). */
  watching: boolean;
  /** The last reload that changed the set. */
  lastReload?: { at: string; version: string };
  /**
   * The last change that did not load (the set in force is older than the files), cleared
   * when the files load again (a fix, or a revert to the set in force).
   */
  reloadError?: { at: string; errors: { code: ErrorCode; message: string }[] };
  /** Watches that are lost, by policy path. */
  watchErrors: { path: string; message: string; since: string }[];
}

export interface WatchHandlers {
  /** A new, valid set with a different version. */
  onReload: (set: PolicySet) => void | Promise<void>;
  /** The changed files did not load; the previous set stays. */
  onError: (errors: BastionError[]) => void;
  /** A watch was lost: changes under `path` are seen only by the periodic check until it is re-armed. */
  onWatchLost?: (path: string, message: string) => void;
  /** A lost watch is armed again. */
  onWatchRestored?: (path: string) => void;
}

export interface WatchOptions extends LoadOptions {
  /** Quiet time after the last event before reloading (default 150 ms); a stream of events reloads at least every 1 s. */
  debounceMs?: number;
  /** Interval of the content check that catches unannounced changes and re-arms lost watches (default 2000 ms). */
  pollMs?: number;
}

/** Files a change in which may change the set: the loader's extensions, in any case. */
const POLICY_FILE = /\.(ya?ml|json)$/i;
const MAX_DEBOUNCE_WAIT_MS = 1000;

interface DirWatch {
  watcher: FSWatcher;
  ino: number;
  /** Set by an `error` event: the watcher is dead. */
  failed?: string;
}

interface Watch {
  /** The policy path as given, resolved. */
  path: string;
  /** Whether the path was a directory the last time it existed. */
  directory: boolean;
  /** The directories watched for it, by path: a file's parent, or a directory and its subdirectories. */
  dirs: Map<string, DirWatch>;
  lost: { message: string; since: string } | undefined;
}

/**
 * Starts watching. `initial` is the set already loaded from the same paths; the files are
 * checked once right away, so a change made since `initial` was loaded is not missed.
 *
 * @example
 * const w = watchPolicies(['policies/'], set, { onReload: (s) => gateway.setPolicySet(s), onError: log });
 * w.status(); // { version: 'sha256:…', watching: true, watchErrors: [] }
 */
export function watchPolicies(paths: string[], initial: PolicySet, handlers: WatchHandlers, options: WatchOptions = {}): PolicyWatcher {
  const cwd = options.cwd ?? process.cwd();
  const debounceMs = options.debounceMs ?? 150;
  let current = initial;
  let lastReload: PolicyWatchStatus['lastReload'];
  let reloadError: PolicyWatchStatus['reloadError'];
  /** Content hash of the files as last loaded (or last rejected); undefined: check now. */
  let loadedHash: string | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let firstEventAt = 0;
  let running = false;
  let again = false;

  const watches: Watch[] = paths.map((p) => ({ path: resolve(cwd, p), directory: isDirectory(resolve(cwd, p)) ?? false, dirs: new Map(), lost: undefined }));

  const schedule = (): void => {
    if (closed) return;
    // Editors and deploy tools write in several steps (truncate, write, rename): wait for
    // quiet, but not forever under a steady stream of events.
    const now = Date.now();
    if (timer) clearTimeout(timer);
    else firstEventAt = now;
    const wait = Math.max(0, Math.min(debounceMs, firstEventAt + MAX_DEBOUNCE_WAIT_MS - now));
    timer = setTimeout(() => {
      timer = undefined;
      void check();
    }, wait);
  };

  const lose = (w: Watch, message: string): void => {
    for (const d of w.dirs.values()) d.watcher.close();
    w.dirs.clear();
    if (w.lost) return;
    w.lost = { message, since: new Date().toISOString() };
    handlers.onWatchLost?.(w.path, message);
  };

  /**
   * Arms the watches of one path, or re-arms them when a directory is gone, replaced or its
   * watch failed. Directories are watched one by one, not with `recursive: true`: on Linux,
   * Node's recursive watch follows each file's inode and goes deaf after an atomic replace.
   */
  const arm = (w: Watch): void => {
    const isDir = isDirectory(w.path);
    if (isDir !== undefined) w.directory = isDir;
    // A file is watched through its parent: an atomic replace swaps the file's inode, and a
    // watch on the old inode would hear nothing more.
    const root = w.directory ? w.path : dirname(w.path);
    const rootIno = inodeOf(root);
    const armed = w.dirs.get(root);
    if (armed?.failed) lose(w, `the watch of ${quote(root)} failed: ${armed.failed}`);
    else if (armed && armed.ino !== rootIno) lose(w, `${quote(root)} was removed or replaced`);
    if (rootIno === undefined) {
      lose(w, `${quote(root)} does not exist`);
      return;
    }
    const wanted = new Map<string, number>(w.directory ? directoriesUnder(root) : [[root, rootIno]]);
    for (const [dir, d] of w.dirs) {
      if (wanted.get(dir) === d.ino && !d.failed) continue;
      d.watcher.close();
      w.dirs.delete(dir);
      // A subdirectory's watch that failed while the directory is still there is a loss.
      if (d.failed && wanted.has(dir)) {
        lose(w, `the watch of ${quote(dir)} failed: ${d.failed}`);
        return;
      }
    }
    for (const [dir, ino] of wanted) {
      if (w.dirs.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, schedule);
        const entry: DirWatch = { watcher, ino };
        watcher.on('error', (err: Error) => {
          entry.failed = err.message;
          schedule();
        });
        w.dirs.set(dir, entry);
      } catch (err) {
        lose(w, `cannot watch ${quote(dir)}: ${(err as Error).message}`);
        return;
      }
    }
    if (w.lost) {
      w.lost = undefined;
      handlers.onWatchRestored?.(w.path);
      // Whatever changed while the watch was lost is picked up by the content check.
      loadedHash = undefined;
    }
  };

  const checkOnce = async (): Promise<void> => {
    for (const w of watches) arm(w);
    const hash = contentHash(watches);
    if (hash === loadedHash) return;
    loadedHash = hash;
    const r = loadPolicySet(paths, options);
    if (!r.ok) {
      reloadError = { at: new Date().toISOString(), errors: r.errors.map((e) => ({ code: e.code, message: e.message })) };
      handlers.onError(r.errors);
      return;
    }
    if (r.value.version === current.version) {
      // The files say what is in force again (an edit reverted, a comment changed).
      reloadError = undefined;
      return;
    }
    const next = r.value;
    // INVARIANT: `current` changes only once the consumer accepted the new set; a consumer
    // that fails keeps the previous set in force and the failure is reported, never thrown.
    try {
      await handlers.onReload(next);
      current = next;
      reloadError = undefined;
      lastReload = { at: new Date().toISOString(), version: next.version };
    } catch (err) {
      const details = (err as { details?: BastionError[] }).details ?? [bastionError('INTERNAL', `while applying reloaded policies: ${(err as Error).message}`)];
      reloadError = { at: new Date().toISOString(), errors: details.map((e) => ({ code: e.code, message: e.message })) };
      handlers.onError(details);
    }
  };

  // INVARIANT: one check at a time, so sets are applied in the order the files changed; an
  // event during a check runs one more check after it.
  const check = async (): Promise<void> => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        try {
          await checkOnce();
        } catch (err) {
          // Fail closed and keep watching: an unexpected error keeps the set in force and is
          // reported like a change that did not load, never a crash of the service.
          const e = bastionError('INTERNAL', `while checking the policy files: ${(err as Error).message}`);
          reloadError = { at: new Date().toISOString(), errors: [{ code: e.code, message: e.message }] };
          handlers.onError([e]);
        }
      } while (again && !closed);
    } finally {
      running = false;
    }
  };

  for (const w of watches) arm(w);
  schedule();
  const poll = setInterval(() => void check(), options.pollMs ?? 2000);
  poll.unref();

  return {
    current: () => current,
    status: () => {
      const watchErrors = watches.flatMap((w) => (w.lost ? [{ path: w.path, message: w.lost.message, since: w.lost.since }] : []));
      return {
        version: current.version,
        watching: watchErrors.length === 0,
        ...(lastReload ? { lastReload } : {}),
        ...(reloadError ? { reloadError } : {}),
        watchErrors,
      };
    },
    close: () => {
      closed = true;
      if (timer) clearTimeout(timer);
      clearInterval(poll);
      for (const w of watches) for (const d of w.dirs.values()) d.watcher.close();
    },
  };
}

function isDirectory(path: string): boolean | undefined {
  try {
    return statSync(path).isDirectory();
  } catch {
    return undefined;
  }
}

/** A directory and its subdirectories (not hidden ones: the loader skips them), with their inodes. */
function directoriesUnder(root: string): [string, number][] {
  const out: [string, number][] = [];
  const walk = (dir: string): void => {
    const ino = inodeOf(dir);
    if (ino === undefined) return;
    out.push([dir, ino]);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) if (entry.isDirectory() && !entry.name.startsWith('.')) walk(join(dir, entry.name));
  };
  walk(root);
  return out;
}

function inodeOf(path: string): number | undefined {
  try {
    const s = statSync(path);
    return s.isDirectory() ? s.ino : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A hash of everything the loader would read under the paths: names and contents of the
 * policy files (a superset: test files too), or why a path could not be read. Contents, not
 * times: two saves within one clock tick still differ.
 */
function contentHash(watches: Watch[]): string {
  const h = createHash('sha256');
  const file = (path: string): void => {
    h.update(`file\0${path}\0`);
    try {
      h.update(readFileSync(path));
    } catch (err) {
      h.update(`unreadable\0${(err as NodeJS.ErrnoException).code ?? ''}`);
    }
    h.update('\0');
  };
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    } catch (err) {
      h.update(`unreadable-dir\0${dir}\0${(err as NodeJS.ErrnoException).code ?? ''}\0`);
      return;
    }
    h.update(`dir\0${dir}\0`);
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (POLICY_FILE.test(extname(entry.name))) file(full);
    }
  };
  for (const w of watches) {
    const isDir = isDirectory(w.path);
    if (isDir === undefined) h.update(`missing\0${w.path}\0`);
    else if (isDir) walk(w.path);
    else file(w.path);
  }
  return h.digest('hex');
}
