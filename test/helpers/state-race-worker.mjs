// A worker thread of the SQLite race tests: opens its own connection to the shared file
// through the built adapters (dist/), waits at a barrier so every worker starts at once,
// runs its operations and posts the outcomes back.
import { parentPort, workerData } from 'node:worker_threads';

const { dist, file, kind, count, barrier, workers, args } = workerData;
const flag = new Int32Array(barrier);

async function open() {
  if (kind === 'kill-switch') return (await import(`${dist}/storage/sqlite/kill-switch-store.js`)).openSqliteKillSwitchStore(file);
  if (kind === 'approvals') return (await import(`${dist}/storage/sqlite/approval-store.js`)).openSqliteApprovalStore(file);
  return (await import(`${dist}/storage/sqlite/limit-store.js`)).openSqliteLimitStore(file);
}

const opened = await open();
if (!opened.ok) throw new Error(opened.errors[0].message);
const store = opened.value;
// Barrier: the last worker to arrive wakes the others.
if (Atomics.add(flag, 0, 1) + 1 === workers) Atomics.notify(flag, 0);
else while (Atomics.load(flag, 0) < workers) Atomics.wait(flag, 0, Atomics.load(flag, 0), 50);
const outcomes = [];
for (let i = 0; i < count; i++) {
  if (kind === 'kill-switch') outcomes.push((await store.update({ disabled_users: [`${args.name}-${i}`] })).disabled_users[0]);
  else if (kind === 'approvals') {
    const r = await store.consume(args.id, args.hash, args.now);
    outcomes.push(r.ok ? 'won' : r.errors[0].reason);
  } else {
    const r = await store.take(args.key, args.limit, args.now);
    outcomes.push(r.ok && r.value.allowed ? 'allowed' : 'refused');
  }
}
await store.close();
parentPort.postMessage(outcomes);
