// Audit trail figures: durable appends/s with group commit and with one commit per event,
// verification speed, and size on disk per million events (measured on a smaller log and
// extrapolated linearly). Run as `node bench/audit.bench.mjs <out.json>` after `npm run build`.
// The machine is shared, so each phase reports CPU time (process.cpuUsage, user + system)
// beside wall time: events per CPU-second compares runs made under different loads.
import { mkdtempSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../dist/storage/sqlite/driver.js';
import { openSqliteAuditLog, openSqliteAuditReader } from '../dist/storage/index.js';
import { createGateway } from '../dist/gateway/index.js';
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';

const GROUP_EVENTS = Number(process.env.BASTION_BENCH_AUDIT_EVENTS ?? 100_000);
const SINGLE_EVENTS = 2_000;
const IN_FLIGHT = 1024;

function event(i) {
  return {
    type: 'decision',
    traceId: `ai-20260522-${(i >>> 2).toString(16).padStart(12, '0')}`,
    principal: { id: `user${i % 50}@zyx.example`, groups: ['grp-ai-devops-readonly', 'grp-ai-cloud-change-reviewers'], deviceCompliant: true },
    action: i % 3 ? 'jira_read' : 'jira_add_comment',
    resource: `SEC-${1000 + (i % 500)}`,
    environment: 'development',
    args: { ticket: `SEC-${1000 + (i % 500)}`, comment: 'Security review summary: [REDACTED] findings attached' },
    decision: i % 10 ? 'allow' : 'deny',
    reason: i % 10 ? 'allowed by rule `zyx/jira_read`' : 'no rule allows this action',
    matched: [{ policy: 'zyx-tool-policy', rule: 'jira_read', effect: 'allow' }],
    risk: i % 3 ? 'low' : 'medium',
    categories: [],
    policyVersion: 'sha256:5f1c0e7a9b',
    model: { provider: 'openai', model: 'gpt-4o' },
    surface: 'http',
  };
}

async function open(path, extra = {}) {
  const opened = await openSqliteAuditLog(path, { checkpoint: { everyEvents: 10_000, everySeconds: 60 }, ...extra });
  if (!opened.ok) throw new Error(opened.errors[0].message);
  return opened.value;
}

/** Wall and CPU seconds of one phase. */
function timer() {
  const wall = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return { wall: Number(process.hrtime.bigint() - wall) / 1e9, cpu: (used.user + used.system) / 1e6 };
  };
}

async function appendConcurrently(log, total) {
  let next = 0;
  const worker = async () => {
    while (next < total) await log.append(event(next++));
  };
  const stop = timer();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return stop();
}

const seconds = (t) => `${t.wall.toFixed(2)} s wall, ${t.cpu.toFixed(2)} s CPU`;

const dir = mkdtempSync(join(tmpdir(), 'bastion-bench-audit-'));
try {
  // 1. Group commit, durable (synchronous=FULL), many appends in flight.
  const path = join(dir, 'group.db');
  const log = await open(path);
  const group = await appendConcurrently(log, GROUP_EVENTS);
  await log.close();
  const groupRate = GROUP_EVENTS / group.wall;

  // 2. One commit per event: each append awaited before the next, no batching.
  const single = await open(join(dir, 'single.db'), { groupCommit: { maxDelayMs: 0, maxEvents: 1 } });
  let stop = timer();
  for (let i = 0; i < SINGLE_EVENTS; i++) await single.append(event(i));
  const singleTime = stop();
  const singleRate = SINGLE_EVENTS / singleTime.wall;
  await single.close();

  // 2b. One caller with the default options, each append awaited before the next: group
  // commit must not make a lone caller wait for company. Its ceiling is phase 2.
  const lone = await open(join(dir, 'lone.db'));
  const latencies = [];
  stop = timer();
  for (let i = 0; i < SINGLE_EVENTS; i++) {
    const t = process.hrtime.bigint();
    await lone.append(event(i));
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const loneTime = stop();
  await lone.close();
  latencies.sort((a, b) => a - b);
  const loneP50 = latencies[Math.floor(latencies.length / 2)];
  const loneRate = SINGLE_EVENTS / loneTime.wall;

  // 2c. The machine's own ceiling for one durable write: fdatasync of a small append, and
  // one agent calling decide() in a loop with a durable audit log (the ZYX example policy).
  const syncTimes = [];
  const fd = openSync(join(dir, 'sync.bin'), 'a');
  for (let i = 0; i < 500; i++) {
    writeSync(fd, 'x'.repeat(900));
    const t = process.hrtime.bigint();
    fdatasyncSync(fd);
    syncTimes.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  closeSync(fd);
  syncTimes.sort((a, b) => a - b);
  const fdatasyncP50 = syncTimes[Math.floor(syncTimes.length / 2)];
  const gateway = await createGateway({ policies: [new URL('../examples/zyx', import.meta.url).pathname], dataDir: join(dir, 'gw') });
  const decideTimes = [];
  for (let i = 0; i < 1_000; i++) {
    const t = process.hrtime.bigint();
    await gateway.decide({ principal: { id: 'eng', groups: ['grp-ai-devops-readonly'], deviceCompliant: true }, action: 'jira_read', args: { ticket: `SEC-${i}` } });
    decideTimes.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  await gateway.close();
  decideTimes.sort((a, b) => a - b);
  const decideP50 = decideTimes[Math.floor(decideTimes.length / 2)];

  // 3. Verification of the group-commit log, read-only, as `bastion audit verify` does it:
  // on the calling thread alone (`--threads 1`) and split among threads (the default for a
  // log this size: one per core, at most 4), interleaved A B B A A B … so that a burst of
  // load from elsewhere on the machine falls on both, each run with a fresh reader.
  const verifyRuns = Number(process.env.BASTION_BENCH_VERIFY_RUNS ?? 3);
  // What the default picks from 50,000 events on, given even to a smaller bench log.
  const verifyThreads = Math.max(2, Math.min(availableParallelism(), 4));
  const runsOf = { single: [], threads: [] };
  let report;
  let threadsUsed = 0;
  for (let i = 0; i < verifyRuns * 2; i++) {
    const mode = [0, 3].includes(i % 4) ? 'single' : 'threads';
    const reader = await openSqliteAuditReader(path);
    if (!reader.ok) throw new Error(reader.errors[0].message);
    let used;
    stop = timer();
    report = await reader.value.verify(mode === 'single' ? { threads: 1 } : { threads: verifyThreads, onThreads: (u) => (used = u) });
    const time = stop();
    await reader.value.close();
    if (!report.ok) throw new Error(`bench log does not verify: ${report.failure?.reason}`);
    if (mode === 'threads') {
      if (!used || used.rechecked) throw new Error(`verification did not run on threads (${JSON.stringify(used)}; ${availableParallelism()} cores)`);
      threadsUsed = used.threads;
    }
    runsOf[mode].push({ rate: report.events / time.wall, perCpu: report.events / time.cpu, time });
  }
  const range = (runs, key) => [Math.round(Math.min(...runs.map((r) => r[key]))), Math.round(Math.max(...runs.map((r) => r[key])))];
  const median = (runs, key) => {
    const sorted = runs.map((r) => r[key]).sort((a, b) => a - b);
    return Math.round(sorted[Math.floor(sorted.length / 2)]);
  };
  const verifyTime = runsOf.threads[runsOf.threads.length - 1].time;

  // 4. Size on disk, WAL folded into the main file first.
  const db = new Database(path);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const bytes = statSync(path).size + (existsSync(path + '-wal') ? statSync(path + '-wal').size : 0);
  const bytesPerEvent = bytes / GROUP_EVENTS;

  const figures = {
    groupCommitEventsPerSecond: Math.round(groupRate),
    groupCommitEventsPerCpuSecond: Math.round(GROUP_EVENTS / group.cpu),
    groupCommitWallSeconds: Number(group.wall.toFixed(3)),
    groupCommitCpuSeconds: Number(group.cpu.toFixed(3)),
    singleCommitEventsPerSecond: Math.round(singleRate),
    singleCommitWallSeconds: Number(singleTime.wall.toFixed(3)),
    singleCommitCpuSeconds: Number(singleTime.cpu.toFixed(3)),
    loneCallerEventsPerSecond: Math.round(loneRate),
    loneCallerP50Ms: Number(loneP50.toFixed(3)),
    loneCallerVsSingleCommit: Number((loneRate / singleRate).toFixed(2)),
    fdatasyncP50Ms: Number(fdatasyncP50.toFixed(3)),
    sequentialDecideP50Ms: Number(decideP50.toFixed(3)),
    sequentialDecideVsFdatasync: Number((decideP50 / fdatasyncP50).toFixed(2)),
    // The default (threads): median over the runs; the ranges of both modes beside it.
    verifyEventsPerSecond: median(runsOf.threads, 'rate'),
    verifyEventsPerCpuSecond: median(runsOf.threads, 'perCpu'),
    verifyWallSeconds: Number(verifyTime.wall.toFixed(3)),
    verifyCpuSeconds: Number(verifyTime.cpu.toFixed(3)),
    verifyThreads: threadsUsed,
    verifyThreadsEventsPerSecondRange: range(runsOf.threads, 'rate'),
    verifyThreadsEventsPerCpuSecondRange: range(runsOf.threads, 'perCpu'),
    verifySingleThreadEventsPerSecond: median(runsOf.single, 'rate'),
    verifySingleThreadEventsPerSecondRange: range(runsOf.single, 'rate'),
    verifySingleThreadEventsPerCpuSecondRange: range(runsOf.single, 'perCpu'),
    verifyRuns,
    bytesPerEvent: Math.round(bytesPerEvent),
    megabytesPerMillionEvents: Math.round((bytesPerEvent * 1e6) / 1e6),
    eventsMeasured: GROUP_EVENTS,
    inFlight: IN_FLIGHT,
    checkpointsVerified: report.checkpointsVerified,
  };
  console.log(
    `audit: group commit (durable, ${IN_FLIGHT} in flight): ${figures.groupCommitEventsPerSecond.toLocaleString('en')} events/s (target >= 40,000); ${figures.groupCommitEventsPerCpuSecond.toLocaleString('en')} per CPU-second (${seconds(group)})`,
  );
  console.log(`audit: one commit per event (durable):        ${figures.singleCommitEventsPerSecond.toLocaleString('en')} events/s (${seconds(singleTime)})`);
  console.log(
    `audit: one caller in sequence (defaults):   ${figures.loneCallerEventsPerSecond.toLocaleString('en')} events/s, p50 ${figures.loneCallerP50Ms} ms per append (${figures.loneCallerVsSingleCommit}x the one-commit-per-event rate; ${seconds(loneTime)})`,
  );
  console.log(
    `audit: sequential durable decide() p50 ${figures.sequentialDecideP50Ms} ms against fdatasync p50 ${figures.fdatasyncP50Ms} ms in the same run: ${figures.sequentialDecideVsFdatasync}x (target <= 3x)`,
  );
  const span = ([a, b]) => `${a.toLocaleString('en')}–${b.toLocaleString('en')}`;
  console.log(
    `audit: verify (chain, roots, signatures), ${threadsUsed} threads: ${figures.verifyEventsPerSecond.toLocaleString('en')} events/s median, ${span(figures.verifyThreadsEventsPerSecondRange)} over ${verifyRuns} runs (target >= 200,000); ${span(figures.verifyThreadsEventsPerCpuSecondRange)} per CPU-second`,
  );
  console.log(
    `audit: verify on one thread (--threads 1), interleaved: ${figures.verifySingleThreadEventsPerSecond.toLocaleString('en')} events/s median, ${span(figures.verifySingleThreadEventsPerSecondRange)}; ${span(figures.verifySingleThreadEventsPerCpuSecondRange)} per CPU-second`,
  );
  console.log(`audit: size on disk: ${figures.bytesPerEvent} bytes/event, ~${figures.megabytesPerMillionEvents} MB per million events (extrapolated from ${GROUP_EVENTS.toLocaleString('en')})`);
  if (process.argv[2]) writeFileSync(process.argv[2], JSON.stringify(figures, null, 2) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
