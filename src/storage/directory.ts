/**
 * Creating a data directory one level at a time. `mkdirSync(dir, { recursive: true })`
 * loops forever where the kernel answers ENOENT for a directory whose parent exists (procfs:
 * `--data-dir /proc/nope` never returned); walking up to the nearest existing ancestor and
 * creating each missing level with a plain mkdir fails at once with the kernel's answer.
 */

import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

function code(err: unknown): string | undefined {
  return (err as { code?: unknown }).code === undefined ? undefined : String((err as { code: unknown }).code);
}

function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // Node's text is `ENOENT: no such file or directory, mkdir '/proc/nope'`: keep the middle.
  return message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
}

/**
 * Makes sure `dir` is a directory, creating it and any missing parents (each with `mode`).
 * Returns why it cannot, naming the directory at fault, or undefined when it is there.
 *
 * @example
 * ensureDirectory('/proc/nope') // 'cannot create directory `/proc/nope`: no such file or directory'
 */
export function ensureDirectory(dir: string, mode = 0o700): string | undefined {
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    try {
      if (!statSync(at).isDirectory()) return `\`${at}\` is not a directory`;
      break;
    } catch (err) {
      if (code(err) !== 'ENOENT') return `cannot use directory \`${at}\`: ${reason(err)}`;
    }
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level, { mode });
    } catch (err) {
      // Another process may have created it in the meantime.
      if (code(err) === 'EEXIST' && statSync(level, { throwIfNoEntry: false })?.isDirectory()) continue;
      return `cannot create directory \`${level}\`: ${reason(err)}`;
    }
  }
  return undefined;
}
