/**
 * Runs the same operations on several worker threads, each with its own SQLite connection
 * to one file, started together at a barrier: real concurrent writers, as two processes
 * would be. Workers use the built adapters in `dist/` (run `npm run build` first; `npm test`
 * does).
 */

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const dist = fileURLToPath(new URL('../../dist', import.meta.url));

export async function race(kind: 'kill-switch' | 'approvals' | 'limits', file: string, workers: number, count: number, args: (worker: number) => Record<string, unknown>): Promise<string[][]> {
  if (!existsSync(`${dist}/storage/sqlite/limit-store.js`)) throw new Error('the race tests run the built adapters: run `npm run build` first');
  const barrier = new SharedArrayBuffer(4);
  return Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const worker = new Worker(new URL('./state-race-worker.mjs', import.meta.url), { workerData: { dist, file, kind, count, barrier, workers, args: args(w) } });
      return new Promise<string[]>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once('exit', (code) => {
          if (code !== 0) reject(new Error(`race worker exited with ${code}`));
        });
      });
    }),
  );
}
