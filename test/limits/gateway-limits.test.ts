/**
 * Limits declared in policy, through the gateway (issue 10): the decision sequence of
 * `test/fixtures/limits/decisions.json` with exact reasons, matched rules and `limit`, on a
 * clock the test moves; concurrency caps held for a guarded function's run; token budgets
 * spent by `recordUsage`; the limit store failing (closed by default, open when configured,
 * audited and counted; budgets always closed); and the policy errors of a bad `limits` block.
 */

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BastionException } from '../../src/core/errors.js';
import { ActionDeniedError, createGateway } from '../../src/gateway/index.js';
import type { LimitStore } from '../../src/limits/index.js';
import { loadPolicySet } from '../../src/policy/index.js';
import { openSqliteAuditReader } from '../../src/storage/index.js';

const root = new URL('../..', import.meta.url).pathname;
const POLICY = join(root, 'test/fixtures/limits/policy.yaml');

interface Step {
  description: string;
  at: number;
  request: unknown;
  expect: { decision: string; reason: string; matched: unknown[]; limit?: unknown };
}
const fixture = JSON.parse(readFileSync(join(root, 'test/fixtures/limits/decisions.json'), 'utf8')) as { base: number; steps: Step[] };

const alice = { id: 'alice', groups: ['agents'] };

/** A limit store whose every operation fails, as a store that is down does. */
function brokenStore(): LimitStore {
  const down = async (): Promise<never> => {
    throw new BastionException({ code: 'STATE_STORAGE', message: 'the limit store is unreachable' });
  };
  return { take: down, spend: down, prune: down, close: async () => undefined };
}

describe('the decision sequence of the fixture', () => {
  it('holds at least 20 steps', () => {
    expect(fixture.steps.length).toBeGreaterThanOrEqual(20);
  });

  it('every step gets its exact decision, reason, matched rules and limit, in order', async () => {
    let now = fixture.base;
    const gateway = await createGateway({ policies: [POLICY], now: () => now });
    try {
      for (const step of fixture.steps) {
        now = fixture.base + step.at;
        const d = await gateway.decide(step.request);
        expect({ decision: d.decision, reason: d.reason, matched: d.matched, ...(d.limit ? { limit: d.limit } : {}) }, step.description).toEqual(step.expect);
      }
    } finally {
      await gateway.close();
    }
  });
});

describe('concurrency caps', () => {
  it('guard() holds a slot from the allow until the function settles; a second call meanwhile is refused', async () => {
    const gateway = await createGateway({ policies: [POLICY] });
    try {
      let finish: () => void = () => undefined;
      const running = new Promise<void>((r) => {
        finish = r;
      });
      const build = gateway.guard('build.run', async () => running.then(() => 'built'), { principal: alice });
      const first = build({ target: 'web' });
      // The first call is now running: a second one is refused by the cap.
      const refused = await build({ target: 'api' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ActionDeniedError);
      expect((refused as ActionDeniedError).decision).toMatchObject({
        decision: 'deny',
        reason: 'concurrency limit reached: `build-concurrency`',
        matched: [
          { policy: 'limited', rule: 'allow-agents', effect: 'allow' },
          { policy: 'bastion/limits', rule: 'build-concurrency', effect: 'deny' },
        ],
        limit: { name: 'build-concurrency', kind: 'concurrency', retryAfterSeconds: 1 },
      });
      finish();
      expect(await first).toBe('built');
      // Settled: the slot is free again, also after a function that throws.
      await expect(gateway.guard('build.run', async () => Promise.reject(new Error('boom')), { principal: alice })({})).rejects.toThrow('boom');
      expect(await build({ target: 'api' })).toBe('built');
    } finally {
      await gateway.close();
    }
  });

  it('decide() holds a slot only while deciding: sequential decisions are never refused by a cap', async () => {
    const gateway = await createGateway({ policies: [POLICY] });
    try {
      for (let i = 0; i < 5; i++) expect((await gateway.decide({ principal: alice, action: 'build.run' })).decision).toBe('allow');
    } finally {
      await gateway.close();
    }
  });
});

describe('token budgets', () => {
  it('recordUsage spends tokens with overdraw; once the window is spent calls are refused until it ends', async () => {
    let now = Date.UTC(2030, 0, 1, 12);
    const gateway = await createGateway({ policies: [POLICY], now: () => now });
    try {
      const call = { principal: alice, action: 'llm.chat' };
      const first = await gateway.decide(call);
      expect(first.decision).toBe('allow');
      expect(await gateway.recordUsage({ traceId: first.traceId, tokens: 600 })).toEqual({ budgets: [{ name: 'model-tokens', spent: 600, remaining: 400, exhausted: false }] });
      const second = await gateway.decide(call);
      expect(second.decision).toBe('allow');
      // Usage known only afterwards may pass the budget (overdraw); then calls stop.
      expect(await gateway.recordUsage({ principal: alice, action: 'llm.chat', tokens: 700 })).toEqual({ budgets: [{ name: 'model-tokens', spent: 1300, remaining: 0, exhausted: true }] });
      expect(await gateway.decide(call)).toMatchObject({
        decision: 'deny',
        reason: 'budget exhausted: `model-tokens`',
        limit: { name: 'model-tokens', kind: 'budget', retryAfterSeconds: 12 * 3600 },
      });
      // The window is a day aligned to the epoch: at midnight UTC the budget is whole again.
      now = Date.UTC(2030, 0, 2);
      expect((await gateway.decide(call)).decision).toBe('allow');
    } finally {
      await gateway.close();
    }
  });

  it('a malformed report or an unknown trace is REQUEST_INVALID, naming the field', async () => {
    const gateway = await createGateway({ policies: [POLICY] });
    try {
      const code = (p: Promise<unknown>) =>
        p.then(
          () => 'resolved',
          (e: unknown) => (e instanceof BastionException ? `${e.code} ${e.details[0]?.field}` : String(e)),
        );
      expect(await code(gateway.recordUsage({ traceId: 'never-seen', tokens: 5 }))).toBe('REQUEST_INVALID traceId');
      expect(await code(gateway.recordUsage({ principal: alice, action: 'llm.chat', tokens: -1 }))).toBe('REQUEST_INVALID tokens');
      expect(await code(gateway.recordUsage({ principal: alice, tokens: 5 }))).toBe('REQUEST_INVALID action');
      expect(await code(gateway.recordUsage({ tokens: 5 } as never))).toBe('REQUEST_INVALID principal');
    } finally {
      await gateway.close();
    }
  });
});

describe('the limit store failing', () => {
  const shell = { principal: alice, action: 'shell.execute', args: { command: 'ls' } };

  it('closed by default: a rate-limited call is refused, saying the store is unavailable', async () => {
    const gateway = await createGateway({ policies: [POLICY], stores: { limits: brokenStore() } });
    try {
      expect(await gateway.decide(shell)).toMatchObject({
        decision: 'deny',
        reason: 'limit store unavailable: `shell-rate`',
        matched: [
          { policy: 'limited', rule: 'allow-agents', effect: 'allow' },
          { policy: 'bastion/limits', rule: 'shell-rate', effect: 'deny' },
        ],
      });
      expect(gateway.failOpenCount()).toBe(0);
      // A call no limit applies to is decided as usual.
      expect((await gateway.decide({ principal: alice, action: 'wiki.read' })).decision).toBe('allow');
    } finally {
      await gateway.close();
    }
  });

  it('open when configured: allowed, audited as limits.fail_open and counted; budgets still fail closed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-limits-open-'));
    const gateway = await createGateway({ policies: [POLICY], dataDir, stores: { limits: brokenStore() }, limits: { onStoreError: 'open' } });
    let traceId: string;
    try {
      const d = await gateway.decide(shell);
      traceId = d.traceId;
      expect(d).toMatchObject({ decision: 'allow', reason: 'allowed by limited/allow-agents' });
      expect(gateway.failOpenCount()).toBe(1);
      await gateway.decide(shell);
      expect(gateway.failOpenCount()).toBe(2);
      expect(await gateway.decide({ principal: alice, action: 'jira_read' })).toMatchObject({ decision: 'deny', reason: 'limit store unavailable: `jira-calls`' });
      expect(gateway.failOpenCount()).toBe(2);
    } finally {
      await gateway.close();
    }
    const reader = await openSqliteAuditReader(join(dataDir, 'bastion.db'));
    if (!reader.ok) throw new Error(reader.errors[0]?.message);
    try {
      const events = await reader.value.query({});
      const open = events.filter((e) => e.type === 'limits.fail_open');
      expect(open).toHaveLength(2);
      expect(open[0]).toMatchObject({ traceId, action: 'shell.execute', principal: { id: 'alice' }, data: { limit: 'shell-rate', onStoreError: 'open', error: 'the limit store is unreachable' } });
      // The refused budget's decision event carries the limit.
      const refused = events.find((e) => e.type === 'decision' && e.action === 'jira_read');
      expect(refused).toMatchObject({
        decision: 'deny',
        matched: [
          { policy: 'limited', rule: 'allow-agents' },
          { policy: 'bastion/limits', rule: 'jira-calls' },
        ],
        data: { limit: { name: 'jira-calls', kind: 'budget' } },
      });
    } finally {
      await reader.value.close();
    }
  });

  it('an invalid onStoreError is CONFIG_INVALID', async () => {
    await expect(createGateway({ policies: [POLICY], limits: { onStoreError: 'maybe' as never } })).rejects.toSatisfy(
      (e: unknown) => e instanceof BastionException && e.message === 'createGateway: option `limits.onStoreError`: must be `closed` or `open`, got `maybe`',
    );
  });
});

describe('the limits block in policy', () => {
  const load = (limits: unknown[], extra: Record<string, unknown>[] = []) =>
    loadPolicySet([
      { source: 'p.yaml', document: { apiVersion: 'bastion/v1', name: 'p', rules: [{ id: 'a', effect: 'allow', actions: ['*'] }], limits } },
      ...extra.map((document, i) => ({ source: `q${i}.yaml`, document })),
    ]);
  const messages = (r: ReturnType<typeof load>) => (r.ok ? [] : r.errors.map((e) => e.message));

  it.each([
    [[{ name: 'x', rate: { perPeriod: 1, period: '1m' }, budget: { calls: 1, window: '1d' } }], 'a limit takes exactly one of rate, concurrency or budget (got rate, budget)'],
    [[{ name: 'x' }], 'a limit takes exactly one of rate, concurrency or budget'],
    [[{ name: 'x', rate: { perPeriod: 1, period: 'minute' } }], '`period` must be a duration such as `1s`, `1m`, `1h` or `1d`'],
    [[{ name: 'x', rate: { perPeriod: 0, period: '1s' } }], '`perPeriod` must be a whole number of at least 1'],
    [[{ name: 'x', budget: { calls: 1, tokens: 2, window: '1d' } }], '`budget` takes exactly one of `calls` or `tokens`'],
    [[{ name: 'x', concurrency: 2, per: 'tool' }], '`per` must be principal, action or principal+action'],
    [
      [
        { name: 'x', concurrency: 1 },
        { name: 'x', concurrency: 2 },
      ],
      'duplicate limit name `x` (first used by limit 1)',
    ],
    [[{ name: 'x', concurrency: 1, actions: ['[a-'] }], 'invalid glob'],
  ])('%j is refused: %s', (limits, message) => {
    const got = messages(load(limits));
    expect(got.length, JSON.stringify(got)).toBeGreaterThan(0);
    expect(got.join('\n')).toContain(message);
  });

  it('names are unique in the whole set, across policies', () => {
    const got = messages(load([{ name: 'x', concurrency: 1 }], [{ apiVersion: 'bastion/v1', name: 'q', rules: [], limits: [{ name: 'x', concurrency: 2 }] }]));
    expect(got.join('\n')).toContain('limit `x` is also declared by policy `p`: limit names are unique in the set');
  });

  it('a policy of limits alone is valid, and compiles with its defaults', () => {
    const r = load([], [{ apiVersion: 'bastion/v1', name: 'q', rules: [], limits: [{ name: 'r', rate: { perPeriod: 10, period: '1m' } }] }]);
    if (!r.ok) throw new Error(r.errors[0]?.message);
    expect(r.value.limits.map((l) => ({ name: l.name, policy: l.policy, per: l.per, rate: l.rate }))).toEqual([
      { name: 'r', policy: 'q', per: 'principal', rate: { perPeriod: 10, periodMs: 60_000, burst: 10 } },
    ]);
  });
});
