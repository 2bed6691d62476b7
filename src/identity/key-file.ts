/**
 * Watches one key file (`identity.jwt.jwksFile` or `publicKeyFile`) so a key rotation needs no
 * restart. The same idea as the policy watcher (`policy/watch.ts`): deploy tools and editors
 * replace a file atomically (write a temporary file, rename it over the old one), which ends
 * an inotify watch on the file itself, so the file is watched through its parent directory;
 * and a check every `pollMs` catches what no event announced (a symlink swap, a missed event,
 * a watch that failed) and re-arms a lost directory watch. Every event and poll only asks the
 * owner to check: the owner compares contents, so a spurious event costs one small read.
 */

import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface KeyFileWatch {
  close(): void;
}

export interface KeyFileWatchOptions {
  /** Interval of the check that needs no event (default 2000 ms). */
  pollMs?: number;
  /** Quiet time after the last event before checking (default 100 ms): a write in several steps is checked once. */
  debounceMs?: number;
}

/** The default interval of the key file's poll, in ms. */
export const KEY_FILE_POLL_MS = 2000;

/**
 * Calls `check` soon after `path` may have changed, and every `pollMs` in any case.
 *
 * @example const w = watchKeyFile('/etc/bastion/jwks.json', () => reload()); // … w.close();
 */
export function watchKeyFile(path: string, check: () => void, options: KeyFileWatchOptions = {}): KeyFileWatch {
  const dir = dirname(path);
  const name = basename(path);
  const debounceMs = options.debounceMs ?? 100;
  let watcher: FSWatcher | undefined;
  let watchedIno: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const soon = (): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) check();
    }, debounceMs);
    timer.unref();
  };
  const disarm = (): void => {
    watcher?.close();
    watcher = undefined;
    watchedIno = undefined;
  };
  /** (Re-)arms the directory watch when there is none, it failed, or the directory was replaced. */
  const arm = (): void => {
    let ino: number | undefined;
    try {
      ino = statSync(dir).ino;
    } catch {
      ino = undefined;
    }
    if (watcher && watchedIno === ino) return;
    disarm();
    if (ino === undefined) return;
    try {
      const w = watch(dir, { persistent: false }, (_event, file) => {
        // Other files in the directory are no concern; a platform that names none could be ours.
        if (file === null || file === name || file.toString() === name) soon();
      });
      w.on('error', () => {
        if (watcher === w) disarm();
        soon();
      });
      watcher = w;
      watchedIno = ino;
    } catch {
      // No watch (too many watches, a file system without events): the poll still checks.
    }
  };

  arm();
  const poll = setInterval(() => {
    arm();
    check();
  }, options.pollMs ?? KEY_FILE_POLL_MS);
  poll.unref();

  return {
    close() {
      closed = true;
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      disarm();
    },
  };
}
