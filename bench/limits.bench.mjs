// Limit store figures: rate-limit steps (`take`) and budget steps (`spend`) per second and
// their latency, on Redis (shared by replicas: one Lua script per step), on SQLite (the data
// directory's file, per replica, synchronous=FULL as `bastion serve` opens it with a durable
// audit log) and in memory, in the same run; plus the machine's ceiling for one Redis round
// trip (PING through the same client library) to compare the Lua step against. Run as
// `node bench/limits.bench.mjs <out.json>` after `npm run build`, with Redis at
// BASTION_BENCH_REDIS (default: the test server, redis://127.0.0.1:6379); without it the
// Redis figures say `skipped`.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createMemoryLimitStore, openRedisLimitStore, openSqliteLimitStore } from '../dist/storage/index.js';

const REDIS = process.env.BASTION_BENCH_REDIS ?? process.env.BASTION_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const STEPS = Number(process.env.BASTION_BENCH_LIMIT_STEPS ?? 20_000);
const IN_FLIGHT = 64;
const LATENCY_SAMPLES = 2_000;
const limit = { perPeriod: 1_000_000, periodMs: 1000, burst: 1_000_000 };

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** `STEPS` calls of `step(i)` with IN_FLIGHT in flight; then LATENCY_SAMPLES one at a time. */
async function measure(step) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < STEPS) await step(next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const times = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const t = performance.now();
    await step(STEPS + i);
    times.push((performance.now() - t) * 1000);
  }
  times.sort((a, b) => a - b);
  return { perSecond: Math.round(STEPS / seconds), p50Us: Math.round(percentile(times, 50)), p99Us: Math.round(percentile(times, 99)) };
}

async function storeFigures(name, store) {
  const now = Date.now();
  const take = await measure((i) => store.take(`p:agent-${i % 500}`, limit, now + i / 1000));
  const spend = await measure((i) => store.spend(`b:agent-${i % 500}`, 1, 1e12, 86_400_000, now + i / 1000));
  console.log(`${name}: take ${take.perSecond}/s (one at a time p50 ${take.p50Us} µs, p99 ${take.p99Us} µs); spend ${spend.perSecond}/s (p50 ${spend.p50Us} µs, p99 ${spend.p99Us} µs)`);
  return { take, spend };
}

const results = { steps: STEPS, inFlight: IN_FLIGHT };
const dir = mkdtempSync(join(tmpdir(), 'bastion-limits-bench-'));
try {
  const memory = createMemoryLimitStore();
  results.memory = await storeFigures('memory', memory);
  await memory.close();

  const sqlite = openSqliteLimitStore(join(dir, 'bastion.db'), { synchronous: 'FULL' });
  if (!sqlite.ok) throw new Error(sqlite.errors[0].message);
  results.sqlite = await storeFigures('sqlite (synchronous=FULL)', sqlite.value);
  await sqlite.value.close();

  const prefix = `bastion-bench:${randomBytes(4).toString('hex')}:`;
  const probe = new Redis(REDIS, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  let reachable = true;
  try {
    await probe.connect();
  } catch (err) {
    reachable = false;
    results.redis = { skipped: `Redis not reachable at ${new URL(REDIS).host}: ${err.message}` };
    console.log(`redis: skipped (${results.redis.skipped})`);
  }
  if (reachable) {
    const ping = await measure(() => probe.ping());
    console.log(`redis PING (the ceiling, same client): ${ping.perSecond}/s (p50 ${ping.p50Us} µs, p99 ${ping.p99Us} µs)`);
    const opened = await openRedisLimitStore(REDIS, { prefix });
    if (!opened.ok) throw new Error(opened.errors[0].message);
    results.redis = { ...(await storeFigures('redis (Lua)', opened.value)), ping };
    results.redis.takeToPing = Math.round((results.redis.take.perSecond / ping.perSecond) * 100) / 100;
    console.log(`redis take / PING throughput: ${results.redis.takeToPing}`);
    await opened.value.close();
    const keys = await probe.keys(`${prefix}*`);
    for (let i = 0; i < keys.length; i += 500) await probe.del(...keys.slice(i, i + 500));
    await probe.quit();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
writeFileSync(process.argv[2] ?? 'limits.json', `${JSON.stringify(results, null, 2)}\n`);
