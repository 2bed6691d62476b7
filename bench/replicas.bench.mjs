// Several replicas on PostgreSQL: durable decisions per second (POST /v1/decide, each answered
// only once its audit event is committed) with one, two and three real `bastion serve`
// processes on one database, one replica on SQLite in the same run as the reference, the
// kill switch's propagation from one replica to another, and verify speed of the shared chain.
// Run as `node bench/replicas.bench.mjs <out.json>` after `npm run build`, with PostgreSQL at
// BASTION_BENCH_POSTGRES (default: the test server). Without a server the figures say
// `skipped` and the run still succeeds.
//
// The machine has 2 cores: the replicas, PostgreSQL and the load generator (one autocannon
// process per replica, so each replica gets its own connections as behind a load balancer)
// share them, so the ratios to one replica and to SQLite say more than the absolute figures.
//
// Environment: BASTION_BENCH_REPLICA_SECONDS (default 8), BASTION_BENCH_REPLICA_CONNECTIONS
// (per replica, default 24), BASTION_BENCH_KILL_SWITCH_CHANGES (default 50).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { keyDirectory } from '../dist/audit/index.js';

const root = new URL('..', import.meta.url).pathname;
const CLI = join(root, 'dist/cli/main.js');
const out = process.argv[2];
const ADMIN = process.env.BASTION_BENCH_POSTGRES ?? process.env.BASTION_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const SECONDS = Number(process.env.BASTION_BENCH_REPLICA_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BASTION_BENCH_REPLICA_CONNECTIONS ?? 24);
const CHANGES = Number(process.env.BASTION_BENCH_KILL_SWITCH_CHANGES ?? 50);
const run = promisify(execFile);

const POLICY = `apiVersion: bastion/v1
kind: Policy
name: replicas-bench
actions:
  ticket.update: { write: true, connector: tickets }
rules:
  - id: allow-update
    effect: allow
    actions: [ticket.update]
`;
const BODY = { principal: { id: 'agent-1', groups: ['agents'] }, action: 'ticket.update', resource: 'SEC-1042', args: { comment: 'triaged: duplicate of SEC-1001' } };
const ADMIN_HEADERS = { 'content-type': 'application/json', 'x-bastion-principal-id': 'admin', 'x-bastion-principal-groups': 'bastion-admins' };

async function postgresUp() {
  const client = new pg.Client({ connectionString: ADMIN, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

async function withAdmin(fn) {
  const client = new pg.Client({ connectionString: ADMIN });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function createDatabase() {
  const name = `bastion_bench_replicas_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

/** Starts `count` replicas sharing one config (and so one database, when given) and one key. */
async function startReplicas(count, postgresUrl) {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-bench-replicas-'));
  keyDirectory(join(dir, 'audit-key')).create();
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  const config = join(dir, 'bastion.yaml');
  writeFileSync(
    config,
    [
      'server: { host: 127.0.0.1, port: 0 }',
      'dev: true',
      'policies: [./policy.yaml]',
      'audit: { durable: true, keyDir: ./audit-key }',
      'admin_groups: [bastion-admins]',
      ...(postgresUrl ? [`storage: { kind: postgres, url: "${postgresUrl}" }`] : []),
      '',
    ].join('\n'),
  );
  const replicas = await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--data-dir', join(dir, `data-${i}`), '--port', '0', '--log-level', 'off'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, BASTION_AUDIT_KEY_DIR: '' },
      });
      let err = '';
      child.stderr.on('data', (c) => (err += c));
      return new Promise((resolve, reject) => {
        let text = '';
        child.stdout.on('data', (c) => {
          text += c;
          const m = /listening on (http:\/\/\S+)/.exec(text);
          if (m) resolve({ url: m[1], child });
        });
        child.once('exit', (code) => reject(new Error(`replica ${i} exited ${code}: ${err}`)));
      });
    }),
  );
  const stop = async () => {
    await Promise.all(
      replicas.map(
        (r) =>
          new Promise((res) => {
            if (r.child.exitCode !== null) return res();
            r.child.once('exit', res);
            r.child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  return { replicas, stop, keyDir: join(dir, 'audit-key') };
}

function autocannon(url) {
  const args = [
    join(root, 'node_modules/autocannon/autocannon.js'),
    '--json',
    '-c',
    String(CONNECTIONS),
    '-d',
    String(SECONDS),
    '-m',
    'POST',
    '-H',
    'content-type=application/json',
    '-b',
    JSON.stringify(BODY),
    url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (c) => (text += c));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(text)) : reject(new Error(`autocannon exited ${code}`))));
  });
}

/** Loads every replica at once; the total of 2xx answers per second, and the worst p99. */
async function throughput(set) {
  const probe = await fetch(`${set.replicas[0].url}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(BODY) });
  const decided = await probe.json();
  if (probe.status !== 200 || decided.decision !== 'allow') throw new Error(`the bench request is not allowed (${probe.status}): ${JSON.stringify(decided).slice(0, 200)}`);
  const reports = await Promise.all(set.replicas.map((r) => autocannon(`${r.url}/v1/decide`)));
  const ok = reports.reduce((n, r) => n + r.requests.total - r.non2xx, 0);
  const bad = reports.reduce((n, r) => n + r.non2xx + r.errors, 0);
  if (bad > 0) throw new Error(`${bad} non-2xx answers or errors under load`);
  return {
    replicas: set.replicas.length,
    decisionsPerSecond: Math.round(ok / SECONDS),
    p50ms: Math.max(...reports.map((r) => r.latency.p50)),
    p99ms: Math.max(...reports.map((r) => r.latency.p99)),
  };
}

/** Sets the kill switch on replica A and times until replica B's next decision follows it. */
async function propagation(set) {
  const [a, b] = set.replicas;
  const decide = async () => (await (await fetch(`${b.url}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(BODY) })).json()).decision;
  const samples = [];
  for (let i = 0; i < CHANGES; i++) {
    const on = i % 2 === 0;
    const started = performance.now();
    const put = await fetch(`${a.url}/v1/kill-switch`, { method: 'PUT', headers: ADMIN_HEADERS, body: JSON.stringify({ all_write_tools_disabled: on, reason: `bench ${i}` }) });
    if (put.status !== 200) throw new Error(`PUT /v1/kill-switch answered ${put.status}: ${await put.text()}`);
    const want = on ? 'deny' : 'allow';
    while ((await decide()) !== want) {
      if (performance.now() - started > 5000) throw new Error(`replica B did not follow the kill switch within 5 s (change ${i})`);
    }
    samples.push(performance.now() - started);
  }
  samples.sort((x, y) => x - y);
  const at = (p) => Math.round(samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))] * 100) / 100;
  return {
    changes: CHANGES,
    p50ms: at(50),
    p99ms: at(99),
    maxMs: at(100),
    note: 'from the start of PUT /v1/kill-switch on replica A to the first decision on replica B that follows it (HTTP round trips included)',
  };
}

let results;
if (!(await postgresUp())) {
  results = { skipped: `PostgreSQL is not reachable at ${new URL(ADMIN).host}` };
  console.log(`replicas: skipped (${results.skipped})`);
} else {
  const sqliteSet = await startReplicas(1);
  let sqlite;
  try {
    sqlite = await throughput(sqliteSet);
  } finally {
    await sqliteSet.stop();
  }
  console.log(`1 replica on SQLite:      ${sqlite.decisionsPerSecond} durable decisions/s (p99 ${sqlite.p99ms} ms)`);
  const postgres = [];
  let killSwitch;
  let verify;
  for (const count of [1, 2, 3]) {
    const db = await createDatabase();
    const set = await startReplicas(count, db.url);
    try {
      const figures = await throughput(set);
      postgres.push(figures);
      console.log(
        `${count} replica(s) on PostgreSQL: ${figures.decisionsPerSecond} durable decisions/s (p99 ${figures.p99ms} ms): ${Math.round((figures.decisionsPerSecond / postgres[0].decisionsPerSecond) * 100) / 100} × one replica, ${Math.round((figures.decisionsPerSecond / sqlite.decisionsPerSecond) * 100) / 100} × SQLite`,
      );
      if (count === 2) {
        killSwitch = await propagation(set);
        console.log(`kill switch A → B:        p50 ${killSwitch.p50ms} ms, p99 ${killSwitch.p99ms} ms, max ${killSwitch.maxMs} ms over ${killSwitch.changes} changes`);
      }
      if (count === 3) {
        const started = performance.now();
        const { stdout } = await run(process.execPath, [CLI, 'audit', 'verify', '--postgres', db.url, '--key-dir', set.keyDir, '--json'], { maxBuffer: 64 * 2 ** 20 });
        const seconds = (performance.now() - started) / 1000;
        const report = JSON.parse(stdout);
        if (report.ok !== true) throw new Error(`the shared chain does not verify: ${stdout.slice(0, 300)}`);
        verify = { events: report.events, seconds: Math.round(seconds * 100) / 100, eventsPerSecond: Math.round(report.events / seconds) };
        console.log(`audit verify --postgres:  ${verify.events} events in ${verify.seconds} s (${verify.eventsPerSecond} events/s, the CLI's start included)`);
      }
    } finally {
      await set.stop();
      await db.drop();
    }
  }
  results = {
    seconds: SECONDS,
    connectionsPerReplica: CONNECTIONS,
    sqlite,
    postgres: postgres.map((f) => ({
      ...f,
      ratioToOne: Math.round((f.decisionsPerSecond / postgres[0].decisionsPerSecond) * 100) / 100,
      ratioToSqlite: Math.round((f.decisionsPerSecond / sqlite.decisionsPerSecond) * 100) / 100,
    })),
    killSwitch,
    verify,
    target: { threeReplicasAuditEventsPerSecond: 15_000, killSwitchP99ms: 100 },
  };
}
if (out) writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
