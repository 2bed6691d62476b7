/**
 * Verification on worker threads: a pool of `threads` workers (`verify-worker.ts`), each
 * opening the store on its own connection through a module the store names, and handed one
 * stretch of rows at a time (`verifySegment`) until none is left or one does not hold. The
 * audit stage owns the threads; a store only says how a thread reads it, so any store whose
 * rows another connection can read (SQLite now, PostgreSQL later) can verify this way.
 */

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SegmentResult, SegmentTask, StoredRow } from './verify.js';
import { verifySegment } from './verify.js';

/** One thread's read access to a store: what a worker verifies from. */
export interface SegmentRows {
  /** Rows with from <= seq <= to in seq order, in pages; gaps kept as gaps. */
  rows(from: number, to: number): AsyncIterable<readonly StoredRow[]>;
  /** The stored chain hash of row `seq`, lowercase hex; undefined when there is no such row. */
  chainHash(seq: number): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * How a worker thread opens a store: `module` exports `openSegmentRows(source)` returning
 * {@link SegmentRows} (or a promise of them); `source` is what it needs (a path), sent as is.
 */
export interface SegmentSource {
  module: URL;
  source: unknown;
}

/** What the pool posts to a worker: a stretch, by its index among the tasks. */
export interface WorkerTask {
  index: number;
  task: SegmentTask;
}

/** What a worker posts back: rows done (progress), or a stretch's result. */
export type WorkerReply = { rows: number } | { index: number; result: SegmentResult };

/**
 * A module as a thread can load it: the file itself when it exists, else, for a module of the
 * TypeScript sources (the tests run those), its compiled twin under `dist/` (`npm run build`
 * first; `npm test` does). A thread cannot load TypeScript.
 */
export function loadableModule(url: URL): URL {
  const path = fileURLToPath(url);
  if (existsSync(path) && !path.endsWith('.ts')) return url;
  const at = path.lastIndexOf('/src/');
  if (at !== -1) {
    const built = path.slice(0, at) + '/dist/' + path.slice(at + '/src/'.length).replace(/\.ts$/, '.js');
    if (existsSync(built)) return new URL(`file://${built}`);
  }
  throw new Error(`the module \`${path}\` a verification thread needs is not built (run \`npm run build\`)`);
}

/**
 * Verifies one task through `store`: from its seed, or from the stored chain hash of the row
 * before it (which the task before verifies; whoever joins them checks that the two agree).
 */
export async function runSegmentTask(store: SegmentRows, task: SegmentTask, onRows?: (rows: number) => void): Promise<SegmentResult> {
  let seed = task.seed;
  if (seed === null) {
    const before = await store.chainHash(task.from - 1);
    if (before === undefined) return { ok: false, seq: task.from - 1 };
    seed = before;
  }
  return verifySegment(store.rows(task.from, task.to), { ...task, seed }, onRows);
}

// Stretches handed to a worker ahead of the one it is on: the calling thread, busy with a
// stretch of its own, answers a worker's result only when it is done with it.
const QUEUED_PER_WORKER = 2;

/**
 * Verifies `tasks` on `threads` threads: the calling one, reading through `local` (its own
 * snapshot), and `threads - 1` worker threads, each opening `store` on its own connection;
 * without `local`, on `threads` workers. Resolves to the results in task order once all are
 * in, or as soon as one does not hold (tasks not run then stay undefined); rejects when a
 * worker cannot start or fails. Every worker is terminated before it settles, whatever
 * happened.
 *
 * @example
 * const results = await verifyOnThreads({ module: new URL('./segment-rows.js', import.meta.url), source: path }, tasks, 2, () => undefined);
 */
export async function verifyOnThreads(
  store: SegmentSource,
  tasks: readonly SegmentTask[],
  threads: number,
  onRows: (rows: number) => void,
  local?: SegmentRows,
): Promise<Array<SegmentResult | undefined>> {
  const results = new Array<SegmentResult | undefined>(tasks.length).fill(undefined);
  const workerCount = Math.min(local ? threads - 1 : threads, tasks.length);
  if (tasks.length === 0 || (workerCount < 1 && !local)) return results;
  const workers: Worker[] = [];
  let next = 0;
  let finished = 0;
  let settled = false;
  let settle: (err?: unknown) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      if (err === undefined) resolve();
      else reject(err);
    };
  });
  const record = (index: number, result: SegmentResult): void => {
    results[index] = result;
    finished++;
    if (!result.ok || finished === tasks.length) settle();
  };
  const give = (worker: Worker): void => {
    if (settled || next >= tasks.length) return;
    worker.postMessage({ index: next, task: tasks[next] as SegmentTask } satisfies WorkerTask);
    next++;
  };
  try {
    if (workerCount > 0) {
      const script = loadableModule(new URL('./verify-worker.js', import.meta.url));
      const workerData = { module: loadableModule(store.module).href, source: store.source };
      for (let i = 0; i < workerCount; i++) {
        const worker = new Worker(script, { workerData });
        workers.push(worker);
        worker.on('message', (reply: WorkerReply) => {
          if (settled) return;
          if ('rows' in reply) return onRows(reply.rows);
          record(reply.index, reply.result);
          give(worker);
        });
        worker.on('error', (err) => settle(err));
        // Workers only end when terminated: one that exits by itself failed.
        worker.on('exit', (code) => settle(new Error(`a verification thread exited early (code ${code})`)));
        for (let q = 0; q < QUEUED_PER_WORKER; q++) give(worker);
      }
    }
    if (local) {
      while (!settled && next < tasks.length) {
        const index = next++;
        record(index, await runSegmentTask(local, tasks[index] as SegmentTask, onRows));
        // A stretch read from SQLite never yields to the event loop: let the workers'
        // results in between, so that they are handed their next stretches.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    await done;
  } finally {
    // Settled first: the workers' exits below (or a failure of the calling thread's own
    // stretch) must not reject `done` with nobody left to hear it.
    settle();
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
