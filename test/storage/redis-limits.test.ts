/**
 * The limit store contract on a real Redis, and what only Redis has: one count per key across
 * separate clients (as replicas are), keys that expire by themselves, key prefixes that keep
 * deployments apart, verdicts equal to the memory store's on random sequences (the Lua steps
 * and the JavaScript arithmetic agree to the last bit), and an outage: steps reject at once
 * with STATE_STORAGE while Redis is gone, and the store recovers by itself when it is back.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { LimitStore, RateLimit } from '../../src/limits/index.js';
import { createMemoryLimitStore } from '../../src/storage/memory/limits.js';
import { openRedisLimitStore, type RedisLimitStore, type RedisLimitStoreOptions, redisTarget } from '../../src/storage/redis/limit-store.js';
import { REDIS_URL, redisAvailable, testRedisPrefix } from '../helpers/services.js';
import { limitStoreContract } from './contracts/limits.js';

const up = await redisAvailable();
const prefixes: string[] = [];

async function open(options: RedisLimitStoreOptions = {}, url = REDIS_URL): Promise<RedisLimitStore> {
  const prefix = options.prefix ?? testRedisPrefix('limits');
  prefixes.push(prefix);
  const opened = await openRedisLimitStore(url, { ...options, prefix });
  if (!opened.ok) throw new Error(opened.errors[0]?.message);
  return opened.value;
}

async function value<T>(result: Promise<{ ok: true; value: T } | { ok: false; errors: Array<{ message: string }> }>): Promise<T> {
  const r = await result;
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.value;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

afterAll(async () => {
  if (!up) return;
  const redis = new Redis(REDIS_URL);
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
});

if (up) {
  limitStoreContract('redis', async () => {
    const store = await open();
    return { store, cleanup: () => store.close() };
  });
}

const limit = { perPeriod: 1, periodMs: 60_000, burst: 10 };

describe.skipIf(!up)('redis limit store', () => {
  it('keeps one count per key across separate clients, as replicas are', async () => {
    const prefix = testRedisPrefix('shared');
    const stores = await Promise.all([open({ prefix }), open({ prefix }), open({ prefix })]);
    try {
      const verdicts = await Promise.all(Array.from({ length: 90 }, (_, i) => value((stores[i % 3] as LimitStore).take('crowd', limit, 1_000))));
      expect(verdicts.filter((v) => v.allowed)).toHaveLength(10);
      const spends = await Promise.all(Array.from({ length: 60 }, (_, i) => value((stores[i % 3] as LimitStore).spend('tokens', 5, 100, 60_000, 1_000))));
      expect(spends.filter((v) => v.allowed)).toHaveLength(20);
      expect(await value((stores[1] as LimitStore).spend('tokens', 0, 100, 60_000, 1_000))).toEqual({ allowed: true, spent: 100, remaining: 0, resetAfterMs: 59_000 });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('keeps prefixes apart: another deployment neither shares counts nor is pruned', async () => {
    const a = await open();
    const b = await open();
    try {
      const one = { perPeriod: 1, periodMs: 1000, burst: 1 };
      expect((await value(a.take('k', one, 0))).allowed).toBe(true);
      expect((await value(a.take('k', one, 0))).allowed).toBe(false);
      expect((await value(b.take('k', one, 0))).allowed).toBe(true);
      expect(await b.prune(10_000)).toBe(1);
      expect(await a.prune(500), 'a TAT of 1000 still matters at 500').toBe(0);
      expect(await a.prune(10_000)).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('lets every key expire by itself once it changes no answer (plus a minute for clock skew)', async () => {
    const prefix = testRedisPrefix('ttl');
    const store = await open({ prefix });
    const redis = new Redis(REDIS_URL);
    try {
      const now = Date.now();
      await value(store.take('k', { perPeriod: 1, periodMs: 30_000, burst: 3 }, now)); // TAT now + 30 s
      await value(store.spend('b', 1, 10, 3_600_000, now));
      const rateTtl = await redis.pttl(`${prefix}r:k`);
      const budgetTtl = await redis.pttl(`${prefix}b:b`);
      expect(rateTtl).toBeGreaterThan(89_000);
      expect(rateTtl).toBeLessThanOrEqual(90_000);
      const windowLeft = 3_600_000 - (now % 3_600_000);
      expect(budgetTtl).toBeGreaterThan(windowLeft + 59_000);
      expect(budgetTtl).toBeLessThanOrEqual(windowLeft + 60_000);
    } finally {
      await store.close();
      await redis.quit();
    }
  });

  it('answers exactly as the memory store on random sequences (Lua and JavaScript agree to the bit)', async () => {
    const redis = await open();
    const memory = createMemoryLimitStore();
    let seed = 0x5eed;
    const rand = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    try {
      for (let round = 0; round < 20; round++) {
        const burst = 1 + Math.floor(rand() * 5);
        const rate: RateLimit = { perPeriod: [1, 3, 7, 0.3, 1000][round % 5] as number, periodMs: [1000, 1000, 333, 60_000, 1][round % 5] as number, burst };
        let now = 1_700_000_000_000 + Math.floor(rand() * 1000) + (round % 2 === 0 ? 0.25 : 0);
        for (let step = 0; step < 12; step++) {
          now += rand() < 0.5 ? 0 : rand() * (rate.periodMs / rate.perPeriod) * 1.5;
          const cost = Math.floor(rand() * (burst + 1));
          const l = { ...rate, cost };
          expect(await value(redis.take(`r${round}`, l, now)), `rate round ${round} step ${step}`).toEqual(await value(memory.take(`r${round}`, l, now)));
          const amount = rand() < 0.2 ? 0 : Math.round(rand() * 700) / 100;
          const options = rand() < 0.2 ? { overdraw: true } : undefined;
          expect(await value(redis.spend(`b${round}`, amount, 10.5, 7_000, now, options)), `budget round ${round} step ${step}`).toEqual(
            await value(memory.spend(`b${round}`, amount, 10.5, 7_000, now, options)),
          );
        }
      }
    } finally {
      await redis.close();
      await memory.close();
    }
  });

  it('rejects with STATE_STORAGE, naming the key, when a value in Redis is malformed', async () => {
    const prefix = testRedisPrefix('bad');
    const store = await open({ prefix });
    const redis = new Redis(REDIS_URL);
    try {
      await redis.set(`${prefix}r:k`, 'not-a-number');
      await redis.set(`${prefix}b:b`, '1 2');
      await expect(store.take('k', limit, 0)).rejects.toMatchObject({
        code: 'STATE_STORAGE',
        message: expect.stringMatching(/^the limit store \(Redis at 127\.0\.0\.1:\d+\): a key's value is malformed \(tat is not a number\)/),
      });
      await expect(store.spend('b', 1, 10, 1000, 0)).rejects.toMatchObject({ code: 'STATE_STORAGE', message: expect.stringContaining('window start, window length or spend') });
    } finally {
      await store.close();
      await redis.quit();
    }
  });

  it('refuses unusable URLs and prefixes with CONFIG_INVALID, never echoing a password', async () => {
    for (const [url, text] of [
      ['http://127.0.0.1:6379', /scheme `http:` is not redis: or rediss:/],
      ['redis://', /not a URL|names no host/],
      ['redis://:hunter2@cache:6379/x', /database `x` is not a number/],
    ] as const) {
      const opened = await openRedisLimitStore(url);
      expect(opened.ok).toBe(false);
      if (!opened.ok) {
        expect(opened.errors[0]?.code).toBe('CONFIG_INVALID');
        expect(opened.errors[0]?.message).toMatch(text);
        expect(opened.errors[0]?.message).not.toContain('hunter2');
      }
    }
    const spaced = await openRedisLimitStore(REDIS_URL, { prefix: 'a b' });
    expect(spaced.ok).toBe(false);
    expect(redisTarget('rediss://user:pw@cache.internal/3')).toEqual({ ok: true, value: 'cache.internal:6379' });
  });
});

describe.skipIf(!up)('redis limit store through an outage', () => {
  let server: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'bastion-redis-'));
  afterAll(() => {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (port: number): Promise<void> => {
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    await waitFor('the private redis-server', async () => (await probe.ping()) === 'PONG');
    probe.disconnect();
  };

  it('opens while Redis is down, rejects at once while it is gone, and recovers by itself', async () => {
    const port = await freePort();
    const heard: Array<string | undefined> = [];
    const store = await open({ onStatus: (p) => heard.push(p), connectTimeoutMs: 500, commandTimeoutMs: 2000 }, `redis://:pw-never-shown@127.0.0.1:${port}`);
    try {
      expect(store.where).toBe(`127.0.0.1:${port}`);
      const began = performance.now();
      const refused = store.take('k', limit, 0);
      await expect(refused).rejects.toMatchObject({
        code: 'STATE_STORAGE',
        message: expect.stringMatching(new RegExp(`^the limit store \\(Redis at 127\\.0\\.0\\.1:${port}\\) cannot take from a rate limit: not connected`)),
      });
      await expect(store.spend('b', 1, 10, 1000, 0)).rejects.toMatchObject({ code: 'STATE_STORAGE' });
      // A step that waited would take the 2 s command timeout; the bound leaves room for a loaded runner.
      expect(performance.now() - began, 'a step does not wait for a reconnect').toBeLessThan(1000);
      await expect(store.ping()).rejects.toMatchObject({ code: 'STATE_STORAGE' });
      await refused.catch((err: Error) => expect(err.message).not.toContain('pw-never-shown'));

      await start(port);
      await waitFor('the store to reconnect', async () => (await store.take('k', limit, 0)).ok);
      expect(await value(store.take('k', limit, 0))).toMatchObject({ allowed: true, remaining: 8 });

      server?.kill('SIGKILL');
      await waitFor('the store to notice', () =>
        store.ping().then(
          () => false,
          () => true,
        ),
      );
      await expect(store.take('k', limit, 0)).rejects.toMatchObject({ code: 'STATE_STORAGE' });

      await start(port);
      await waitFor('the store to reconnect again', async () => (await store.take('k', limit, 0)).ok);
      expect(heard[0]).toEqual(expect.any(String));
      expect(heard).toContain(undefined);
      expect(heard.filter((p) => p === undefined).length).toBeGreaterThanOrEqual(2);
    } finally {
      await store.close();
    }
  }, 30_000);
});
