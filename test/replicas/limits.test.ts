/**
 * Global limits across replicas (issue 15), through real `bastion serve` processes on one
 * PostgreSQL database and one Redis: a rate limit and a budget count once for every replica
 * together, not once per replica; with Redis gone, limited calls are refused (rate limits'
 * default fail mode `closed`, budgets always), calls under no limit still pass, and `/health`
 * (degraded, still 200) and `/metrics` (`bastion_limit_store_up 0`) say so; when Redis is
 * back the replicas use it again by themselves.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresAvailable, redisAvailable, type TestDatabase, testRedisPrefix } from '../helpers/services.js';
import { decide, health, type PrivateRedis, type ReplicaSet, startPrivateRedis, startReplicas, waitFor } from './harness.js';

const up = (await postgresAvailable()) && (await redisAvailable());

const POLICY = `apiVersion: bastion/v1
kind: Policy
name: replica-limits
actions:
  ticket.read: { connector: tickets }
  ticket.list: { connector: tickets }
  ticket.update: { write: true, connector: tickets }
rules:
  - { id: allow-tickets, effect: allow, actions: [ticket.read, ticket.list, ticket.update] }
limits:
  - name: read-rate
    actions: [ticket.read]
    rate: { perPeriod: 6, period: 1h, burst: 6 }
  - name: update-calls
    actions: [ticket.update]
    budget: { calls: 4, window: 1d }
`;

const alice = { id: 'alice', groups: ['agents'] };
const bob = { id: 'bob', groups: ['agents'] };

async function metric(url: string, name: string): Promise<string | undefined> {
  const r = await fetch(`${url}/metrics`);
  const line = (await r.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return line?.split(' ')[1];
}

describe.skipIf(!up)('limits shared by replicas through Redis', () => {
  let db: TestDatabase;
  let redis: PrivateRedis;
  let set: ReplicaSet;

  beforeAll(async () => {
    db = await createTestDatabase('limits');
    redis = await startPrivateRedis();
    set = await startReplicas({ count: 2, postgresUrl: db.url, policy: POLICY, redis: { url: redis.url, prefix: testRedisPrefix('replicas') } });
  }, 60_000);

  afterAll(async () => {
    await set?.stop();
    await redis?.destroy();
    await db?.drop();
  }, 30_000);

  it('counts a rate limit and a budget once for all replicas together', async () => {
    const [a, b] = set.replicas as [ReplicaSet['replicas'][0], ReplicaSet['replicas'][0]];
    const reads = [];
    for (let i = 0; i < 12; i++) reads.push(await decide(i % 2 === 0 ? a : b, 'ticket.read', {}, alice));
    expect(reads.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429, 429, 429, 429]);
    expect(reads[6]?.body).toMatchObject({ error: { code: 'LIMIT_EXCEEDED' }, decision: { decision: 'deny', reason: 'rate limit exceeded: `read-rate`', limit: { name: 'read-rate', kind: 'rate' } } });

    const updates = [];
    for (let i = 0; i < 8; i++) updates.push(await decide(i % 2 === 0 ? b : a, 'ticket.update', {}, alice));
    expect(updates.map((r) => r.status)).toEqual([200, 200, 200, 200, 429, 429, 429, 429]);
    expect(updates[4]?.body).toMatchObject({ decision: { reason: 'budget exhausted: `update-calls`', limit: { name: 'update-calls', kind: 'budget' } } });

    expect((await decide(b, 'ticket.read', {}, bob)).status, "another principal's count is its own").toBe(200);
    for (const r of set.replicas) expect(r.stdout()).toMatch(/, state and audit log in PostgreSQL, limits in Redis at 127\.0\.0\.1:\d+\)\n/);
    for (const r of set.replicas) {
      const h = await health(r.url);
      expect(h.status).toBe(200);
      expect(h.body.checks).toMatchObject({ limitStore: { status: 'ok' } });
      expect(await metric(r.url, 'bastion_limit_store_up')).toBe('1');
    }
  });

  it('with Redis gone: limited calls are refused, others pass, /health and /metrics say so; then it recovers by itself', async () => {
    const [a, b] = set.replicas as [ReplicaSet['replicas'][0], ReplicaSet['replicas'][0]];
    await redis.crash();
    for (const r of [a, b]) {
      const h = await waitFor(
        async () => {
          const answer = await health(r.url);
          return (answer.body.checks as Record<string, { status: string }> | undefined)?.limitStore?.status === 'degraded' ? answer : undefined;
        },
        `${r.name} to report the limit store degraded`,
        15_000,
      );
      expect(h.status, 'still ready: every replica shares the outage, and it has documented fail modes').toBe(200);
      expect(h.body).toMatchObject({ status: 'ok', degraded: ['limitStore'], checks: { limitStore: { status: 'degraded', error: 'not usable (the error is in the service log)' } } });
      expect(await metric(r.url, 'bastion_limit_store_up')).toBe('0');
    }
    const carol = { id: 'carol', groups: ['agents'] };
    const read = await decide(a, 'ticket.read', {}, carol);
    expect(read.status).toBe(429);
    expect(read.body).toMatchObject({ decision: { decision: 'deny', reason: 'limit store unavailable: `read-rate`' } });
    const update = await decide(b, 'ticket.update', {}, carol);
    expect(update.status).toBe(429);
    expect(update.body).toMatchObject({ decision: { decision: 'deny', reason: 'limit store unavailable: `update-calls`' } });
    expect((await decide(a, 'ticket.list', {}, carol)).status, 'a call under no limit does not need the limit store').toBe(200);
    expect(a.stderr()).toMatch(/the limit store \(Redis at 127\.0\.0\.1:\d+\) is unreachable \(.+\): rate limits fail closed, budgets fail closed, until it is back/);

    await redis.start();
    // A Redis restarted without persistence has forgotten every count: carol starts whole.
    const back = await waitFor(
      async () => {
        const r = await decide(b, 'ticket.read', {}, carol);
        return r.status === 200 ? r : undefined;
      },
      'decisions under limits to pass again',
      15_000,
    );
    expect(back.body).toMatchObject({ decision: 'allow' });
    await waitFor(async () => ((await metric(a.url, 'bastion_limit_store_up')) === '1' ? true : undefined), 'replica r0 to report the limit store up', 15_000);
    expect((await health(a.url)).body.checks).toMatchObject({ limitStore: { status: 'ok' } });
    expect(b.stderr()).toMatch(/the limit store \(Redis at 127\.0\.0\.1:\d+\) is reachable/);
  }, 60_000);
});
