/**
 * The containment suite (issue 13): scripted agent traces in which a tool result carries an
 * injection (some the scanner detects, some it does not) and the next call tries to send data
 * out or change something, plus benign traces. With the example policy's flow rules no attack
 * succeeds (is allowed without a human), whether or not the scanner saw it; without them most
 * undetected attacks would. Benign traces are counted as they fare, and pinned.
 */

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { detectInjection } from '../../src/scan/index.js';

interface Step {
  action: string;
  args?: Record<string, unknown>;
  environment?: string;
}
interface Trace {
  id: string;
  description: string;
  principal: string;
  results: { action: string; text: string }[];
}
interface Suite {
  policies: string[];
  principals: Record<string, { id: string; groups: string[] }>;
  attacks: (Trace & { detected: boolean; goal: Step })[];
  benign: (Trace & { calls: Step[] })[];
}

const file = new URL('../fixtures/containment/traces.yaml', import.meta.url).pathname;
const suite = parse(readFileSync(file, 'utf8')) as Suite;
const policy = resolve(dirname(file), suite.policies[0] as string);

/** The example policy as loaded, without its `flow` block: what the suite would do without flow rules. */
function withoutFlow() {
  const doc = parse(readFileSync(policy, 'utf8')) as Record<string, unknown>;
  delete doc['flow'];
  return { source: 'platform-agents (no flow rules)', document: doc };
}

async function run(gateway: Gateway, trace: Trace, calls: Step[], run: string) {
  const traceId = `${run}:${trace.id}`;
  const principal = suite.principals[trace.principal];
  for (const r of trace.results) await gateway.inspectResult({ traceId, action: r.action, text: r.text });
  const decisions = [];
  for (const c of calls) decisions.push(await gateway.decide({ principal, traceId, action: c.action, args: c.args ?? {}, ...(c.environment ? { environment: c.environment } : {}) }));
  return decisions;
}

let contained: Gateway;
let open: Gateway;
beforeAll(async () => {
  contained = await createGateway({ policies: [policy], approvals: { enabled: false } });
  open = await createGateway({ policies: [withoutFlow()], approvals: { enabled: false } });
});
afterAll(async () => {
  await contained?.close();
  await open?.close();
});

describe('the containment corpus', () => {
  it('has at least 20 attack traces (both detected and undetected ones) and 15 benign ones', () => {
    expect(suite.attacks.length).toBeGreaterThanOrEqual(20);
    expect(suite.attacks.filter((a) => a.detected).length).toBeGreaterThanOrEqual(5);
    expect(suite.attacks.filter((a) => !a.detected).length).toBeGreaterThanOrEqual(10);
    expect(suite.benign.length).toBeGreaterThanOrEqual(15);
    expect(new Set([...suite.attacks, ...suite.benign].map((t) => t.id)).size).toBe(suite.attacks.length + suite.benign.length);
  });
  it.each(suite.attacks.map((a) => [a.id, a] as const))('%s: the scanner agrees with its `detected` label', (_id, attack) => {
    expect(
      attack.results.some((r) => detectInjection(r.text).attack),
      attack.description,
    ).toBe(attack.detected);
  });
  it.each(suite.benign.map((b) => [b.id, b] as const))('%s: no benign result scores as an attack', (_id, trace) => {
    expect(trace.results.every((r) => !detectInjection(r.text).attack)).toBe(true);
  });
});

describe('with the example policy flow rules', () => {
  it.each(suite.attacks.map((a) => [a.id, a] as const))('%s: the attack does not succeed', async (_id, attack) => {
    const [goal] = await run(contained, attack, [attack.goal], 'contained');
    expect(goal?.decision, `${attack.description}: ${goal?.reason}`).not.toBe('allow');
    // The decision says which flow rule held it and which result tainted the trace.
    expect(
      goal?.matched.some(
        (m) =>
          m.policy === 'platform-agents' &&
          ['no-egress-after-untrusted', 'rule-of-two-writes', 'rule-of-two-shell-changes', 'approve-service-changes', 'untrusted-content-then-write'].includes(m.rule),
      ),
    ).toBe(true);
  });
  it('without the flow rules, most undetected attacks would have succeeded (the flow rules are what contains them)', async () => {
    const undetected = suite.attacks.filter((a) => !a.detected);
    let succeeded = 0;
    for (const a of undetected) if ((await run(open, a, [a.goal], 'open'))[0]?.decision === 'allow') succeeded++;
    expect(succeeded).toBeGreaterThanOrEqual(Math.ceil(undetected.length * 0.75));
  });
  it('benign traces run without a human, except those that write or fetch after untrusted content (pinned)', async () => {
    const held: string[] = [];
    for (const b of suite.benign) {
      const decisions = await run(contained, b, b.calls, 'benign');
      if (decisions.some((d) => d.decision !== 'allow')) held.push(b.id);
    }
    expect(held).toEqual(['ticket-then-comment', 'email-then-linked-runbook']);
  });
});
