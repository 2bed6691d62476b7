/**
 * A verification worker thread: opens the store through the module it is given (see
 * `SegmentSource`) and verifies the stretches of rows it is handed, one at a time, posting
 * each result back. It loads only the verifier and that module, not the whole audit stage:
 * its start-up is paid on every verification. Started, and ended, by `verifyOnThreads`.
 */

import { parentPort, workerData } from 'node:worker_threads';
import type { SegmentRows, WorkerReply, WorkerTask } from './verify-threads.js';
import { runSegmentTask } from './verify-threads.js';

const port = parentPort;
if (!port) throw new Error('verify-worker runs as a worker thread');
const { module, source } = workerData as { module: string; source: unknown };
const opened: Promise<SegmentRows> = import(module).then((m: { openSegmentRows(source: unknown): SegmentRows | Promise<SegmentRows> }) => m.openSegmentRows(source));

async function run({ index, task }: WorkerTask): Promise<WorkerReply> {
  const result = await runSegmentTask(await opened, task, (rows) => port?.postMessage({ rows } satisfies WorkerReply));
  return { index, result };
}

port.on('message', (message: WorkerTask) => {
  // A failure rejects unhandled, which ends the thread with an 'error' event in the pool:
  // verification then goes on on the calling thread.
  void run(message).then((reply) => port.postMessage(reply));
});
