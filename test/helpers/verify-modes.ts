/**
 * Verifies one SQLite audit log on the calling thread alone and with worker threads, for
 * tests that hold both to the same report. Worker threads run the build in `dist/` (`npm run
 * build` first; `npm test` does). Counts the process's OS threads around each verification:
 * a worker left running would show as one more.
 */

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { VerifyOptions, VerifyReport } from '../../src/audit/index.js';
import { openSqliteAuditReader } from '../../src/storage/index.js';

const WORKER = fileURLToPath(new URL('../../dist/audit/verify-worker.js', import.meta.url));

export interface Modes {
  single: VerifyReport;
  threaded: VerifyReport;
  /** What `onThreads` was told in the threaded run (undefined: the rows were not split, e.g. the head and the rows disagree on the end). */
  used: { threads: number; segments: number; rechecked: boolean } | undefined;
}

/** The OS threads of this process (Linux), or undefined where /proc is not there. */
export function osThreads(): number | undefined {
  if (!existsSync('/proc/self/status')) return undefined;
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Threads:'));
  return line === undefined ? undefined : Number(line.split(/\s+/)[1]);
}

/**
 * The OS thread count once it is back at `expected` or more than 3 s have passed: a worker's
 * thread exits a moment after `terminate()` resolves, so a count taken at once may still hold it.
 */
export async function osThreadsSettled(expected: number | undefined): Promise<number | undefined> {
  const deadline = Date.now() + 3000;
  let now = osThreads();
  while (now !== undefined && expected !== undefined && now > expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    now = osThreads();
  }
  return now;
}

export async function verifyInBothModes(path: string, threads: number, options: VerifyOptions = {}): Promise<Modes> {
  if (!existsSync(WORKER)) throw new Error('verification threads run the build: run `npm run build` first');
  const run = async (extra: VerifyOptions): Promise<VerifyReport> => {
    const reader = await openSqliteAuditReader(path);
    if (!reader.ok) throw new Error(reader.errors.map((e) => e.message).join('; '));
    try {
      return await reader.value.verify({ ...options, ...extra });
    } finally {
      await reader.value.close();
    }
  };
  const single = await run({ threads: 1 });
  let used: Modes['used'];
  const before = osThreads();
  const threaded = await run({ threads, onThreads: (u) => (used = u) });
  // A terminated worker's OS thread can be reaped a moment after `terminate()` settles
  // (seen on Node 24): give it up to two seconds before calling it left running.
  let after = osThreads();
  for (let waited = 0; before !== undefined && after !== undefined && after > before && waited < 2000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    after = osThreads();
  }
  if (before !== undefined && after !== undefined && after > before) throw new Error(`verification left ${after - before} thread(s) running`);
  return { single, threaded, used };
}
