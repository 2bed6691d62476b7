/**
 * Download in one call, run in the next (issue 13): the traces of
 * test/fixtures/analysis/trace-downloads.yaml decided through a gateway, with the trace's
 * record in memory and in a SQLite file shared by two gateways (as two hook processes of one
 * session share it); the allowed download's audit event names the files; `evaluate()` reads
 * the same record as the gateway.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { appendTaint } from '../../src/analysis/index.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { evaluate, loadPolicySet } from '../../src/policy/index.js';
import { openSqliteAuditReader, openSqliteTaintStore } from '../../src/storage/index.js';
import type { Decision } from '../../src/core/types.js';

interface Call {
  command: string;
  cwd?: string;
  trace?: string;
  expect: { decision: string; risk: string; reason: string; matched: string[]; downloads?: string[]; evidence?: string; notEvidence?: string };
}
interface Suite {
  policies: string[];
  principal: { id: string; groups: string[] };
  traces: { id: string; description: string; calls: Call[] }[];
}

const file = new URL('../fixtures/analysis/trace-downloads.yaml', import.meta.url).pathname;
const suite = parse(readFileSync(file, 'utf8')) as Suite;
const policy = resolve(dirname(file), suite.policies[0] as string);
const dir = mkdtempSync(join(tmpdir(), 'bastion-downloads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const request = (traceId: string, call: Call) => ({ principal: suite.principal, traceId, action: 'shell.execute', args: { command: call.command, ...(call.cwd ? { cwd: call.cwd } : {}) } });

function check(d: Decision, call: Call): void {
  const evidence = (d.analysis?.findings ?? []).map((f) => f.evidence);
  expect({ decision: d.decision, risk: d.risk, reason: d.reason, matched: d.matched.map((m) => m.rule), downloads: d.analysis?.['downloads'] }, call.command).toEqual({
    decision: call.expect.decision,
    risk: call.expect.risk,
    reason: call.expect.reason,
    matched: call.expect.matched,
    downloads: call.expect.downloads,
  });
  if (call.expect.evidence !== undefined) expect(evidence, call.command).toContain(call.expect.evidence);
  if (call.expect.notEvidence !== undefined) expect(evidence, call.command).not.toContain(call.expect.notEvidence);
}

describe('the trace-downloads corpus', () => {
  it('has attack traces whose last call runs the download, and traces where nothing may change', () => {
    const attacks = suite.traces.filter((t) => t.calls.at(-1)?.expect.evidence?.includes('downloaded by an earlier call of this trace'));
    expect(attacks.length).toBeGreaterThanOrEqual(7);
    expect(suite.traces.length - attacks.length).toBeGreaterThanOrEqual(4);
  });
});

describe.each(suite.traces.map((t) => [t.id, t] as const))('%s', (id, trace) => {
  it(`in memory: ${trace.description}`, async () => {
    const g = await createGateway({ policies: [policy], approvals: { enabled: false } });
    try {
      for (const call of trace.calls) check(await g.decide(request(call.trace ?? `mem:${id}`, call)), call);
    } finally {
      await g.close();
    }
  });

  it('in a SQLite file, each call decided by the other of two gateways (hook processes)', async () => {
    const path = join(dir, `${id}.db`);
    const gateways: Gateway[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const taint = openSqliteTaintStore(path);
        if (!taint.ok) throw new Error(taint.errors[0]?.message);
        gateways.push(await createGateway({ policies: [policy], approvals: { enabled: false }, stores: { taint: taint.value } }));
      }
      let turn = 0;
      for (const call of trace.calls) check(await (gateways[turn++ % 2] as Gateway).decide(request(call.trace ?? `file:${id}`, call)), call);
    } finally {
      for (const g of gateways) await g.close();
    }
  });
});

describe('what an allowed download leaves', () => {
  it('its decision event names the files; a denied one does not', async () => {
    const dataDir = join(dir, 'audit');
    const g = await createGateway({ policies: [policy], approvals: { enabled: false }, dataDir });
    try {
      await g.decide({ principal: suite.principal, traceId: 'a', action: 'shell.execute', args: { command: 'curl -o /tmp/i.sh https://example.com/i.sh' } });
      await g.decide({ principal: suite.principal, traceId: 'a', action: 'shell.execute', args: { command: 'curl -o /tmp/j.sh https://example.com/j.sh; rm -rf /' } });
    } finally {
      await g.close();
    }
    const reader = await openSqliteAuditReader(join(dataDir, 'bastion.db'));
    if (!reader.ok) throw new Error(reader.errors[0]?.message);
    const decisions = (await reader.value.query({})).filter((e) => e.type === 'decision');
    await reader.value.close();
    expect(decisions.map((e) => [e.decision, e.data?.['downloads']])).toEqual([
      ['allow', ['/tmp/i.sh']],
      ['deny', undefined],
    ]);
  });

  it('evaluate() given the trace record decides as the gateway does', async () => {
    const loaded = await loadPolicySet([policy]);
    if (!loaded.ok) throw new Error(loaded.errors[0]?.message);
    const record = appendTaint(undefined, { kind: 'download', action: 'shell.execute', paths: ['/tmp/install.sh'], at: '2026-12-07T00:00:00.000Z' });
    const run = { principal: suite.principal, action: 'shell.execute', args: { command: 'bash /tmp/install.sh' } };
    const d = evaluate(loaded.value, run, { taint: record });
    expect([d.decision, d.risk, d.reason]).toEqual(['deny', 'critical', 'critical risk: denied by the baseline policy']);
    expect(d.taintedBy).toBeUndefined();
    expect(evaluate(loaded.value, run).risk).toBe('medium');
  });
});
