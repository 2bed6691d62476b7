// Audit trail figures on PostgreSQL: durable events/s appended by 1 and by 3 concurrent
// writer processes (each group-committing its batches, the head row locked once per batch),
// and verification speed of the resulting shared chain. Run as
// `node bench/pg-audit.bench.mjs <out.json>` after `npm run build`, with PostgreSQL at
// BASTION_BENCH_POSTGRES (default: the test server, postgres://postgres@127.0.0.1:5432/test);
// each phase gets a database of its own, dropped at the end. Without a server the figures
// say `skipped` and the run still succeeds. Commits are durable as the server is configured
// (synchronous_commit, reported beside the figures).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { keyDirectory } from '../dist/audit/index.js';
import { openPostgresAuditLog, openPostgresAuditReader } from '../dist/storage/index.js';

const ADMIN = process.env.BASTION_BENCH_POSTGRES ?? process.env.BASTION_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const EVENTS = Number(process.env.BASTION_BENCH_PG_EVENTS ?? 30_000);
const IN_FLIGHT = 1024;

function event(i, writer) {
  return {
    type: 'decision',
    traceId: `ai-${writer}-${(i >>> 2).toString(16).padStart(12, '0')}`,
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
    surface: 'http',
  };
}

/** Appends `count` events with IN_FLIGHT in flight; resolves to the wall and CPU seconds. */
async function appendAll(url, keyDir, count, writer) {
  const opened = await openPostgresAuditLog(url, { key: keyDirectory(keyDir), checkpoint: { everyEvents: 10_000, everySeconds: 60 } });
  if (!opened.ok) throw new Error(opened.errors[0].message);
  const log = opened.value;
  const cpu = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) await log.append(event(next++, writer));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await log.close();
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6 };
}

// A writer process of the three-writer phase: waits for `go` on stdin, appends, reports.
if (process.argv[2] === '--writer') {
  const [, , , url, keyDir, count, writer] = process.argv;
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const result = await appendAll(url, keyDir, Number(count), writer);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

const out = process.argv[2];
const databases = [];
async function admin(run) {
  const client = new pg.Client({ connectionString: ADMIN, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}
async function database(label) {
  const name = `bastion_bench_${label}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  databases.push(name);
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  return url.toString();
}

let synchronousCommit;
try {
  synchronousCommit = await admin(async (c) => (await c.query('SHOW synchronous_commit')).rows[0].synchronous_commit);
} catch (err) {
  console.log(`skipped: PostgreSQL is not reachable at ${new URL(ADMIN).host} (${err.message})`);
  writeFileSync(out, `${JSON.stringify({ skipped: `PostgreSQL not reachable: ${err.message}` }, null, 2)}\n`);
  process.exit(0);
}

const keys = mkdtempSync(join(tmpdir(), 'bastion-pg-bench-'));
const results = { events: EVENTS, inFlight: IN_FLIGHT, synchronousCommit };
try {
  keyDirectory(join(keys, 'key')).create();

  const one = await appendAll(await database('one'), join(keys, 'key'), EVENTS, 'w0');
  results.oneWriter = { eventsPerSecond: Math.round(EVENTS / one.seconds), eventsPerCpuSecond: Math.round(EVENTS / one.cpuSeconds) };
  console.log(`1 writer: ${EVENTS} durable events in ${one.seconds.toFixed(2)} s: ${results.oneWriter.eventsPerSecond} events/s (${results.oneWriter.eventsPerCpuSecond} per CPU-second)`);

  const shared = await database('three');
  const per = Math.ceil(EVENTS / 3);
  const writers = [1, 2, 3].map((w) => {
    const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--writer', shared, join(keys, 'key'), String(per), `w${w}`], { stdio: ['pipe', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (c) => (text += c));
    const ready = new Promise((resolve) => child.stdout.on('data', () => text.includes('ready\n') && resolve()));
    const done = new Promise((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(text.split('\n')[1])) : reject(new Error(`writer ${w} exited ${code}`)))));
    return { child, ready, done };
  });
  await Promise.all(writers.map((w) => w.ready));
  const started = performance.now();
  for (const w of writers) w.child.stdin.end('go\n');
  const each = await Promise.all(writers.map((w) => w.done));
  const wall = (performance.now() - started) / 1000;
  const total = per * 3;
  results.threeWriters = {
    events: total,
    eventsPerSecond: Math.round(total / wall),
    perWriterEventsPerSecond: each.map((r) => Math.round(per / r.seconds)),
  };
  console.log(
    `3 writers: ${total} durable events into one chain in ${wall.toFixed(2)} s: ${results.threeWriters.eventsPerSecond} events/s (each ${results.threeWriters.perWriterEventsPerSecond.join(', ')})`,
  );

  const reader = await openPostgresAuditReader(shared, { keyDir: join(keys, 'key') });
  if (!reader.ok) throw new Error(reader.errors[0].message);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const report = await reader.value.verify();
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  await reader.value.close();
  if (!report.ok || report.events !== total) throw new Error(`the shared chain does not verify: ${JSON.stringify(report.failure ?? report.events)}`);
  results.verify = {
    events: report.events,
    checkpoints: report.checkpointsVerified,
    eventsPerSecond: Math.round(report.events / seconds),
    eventsPerCpuSecond: Math.round(report.events / ((used.user + used.system) / 1e6)),
  };
  console.log(`verify: ${report.events} events, ${report.checkpointsVerified} checkpoints from 3 replicas, in ${seconds.toFixed(2)} s: ${results.verify.eventsPerSecond} events/s`);
} finally {
  rmSync(keys, { recursive: true, force: true });
  for (const name of databases) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(() => undefined);
}
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
