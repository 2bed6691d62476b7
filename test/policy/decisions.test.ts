/**
 * Runs every policy test file (examples/ and test/fixtures/policy/) case by case through the
 * gateway, so analyzers and scanners take part as they do in production.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import type { KillSwitchState } from '../../src/policy/model.js';
import { checkExpectations, findTestFiles, readTestFile, type PolicyTestFile } from '../../src/policy/testing.js';

const root = new URL('../..', import.meta.url).pathname;
const found = findTestFiles(['examples', 'test/fixtures/policy'], root);
const files: PolicyTestFile[] = found.files.map((f) => {
  const r = readTestFile(f);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.value;
});

function gatewayFor(file: PolicyTestFile, killSwitch?: Partial<KillSwitchState>): Promise<Gateway> {
  return createGateway({ policies: file.policies, baseline: { enabled: file.baseline }, ...(killSwitch ? { killSwitch } : {}) });
}

describe('the decision corpus', () => {
  it('has at least 80 cases across every seed format', () => {
    expect(found.errors).toEqual([]);
    const total = files.reduce((n, f) => n + f.tests.length, 0);
    expect(total).toBeGreaterThanOrEqual(80);
    for (const seed of ['control-zero', 'capfence', 'zyx', 'harness', 'native']) {
      expect(
        files.some((f) => f.file.includes(`examples/${seed}/`)),
        `examples/${seed} has a test file`,
      ).toBe(true);
    }
  });
});

for (const file of files) {
  describe(file.file.slice(root.length), () => {
    let gateway: Gateway;
    beforeAll(async () => {
      gateway = await gatewayFor(file, file.killSwitch);
    });
    afterAll(async () => {
      await gateway?.close();
    });
    it.each(file.tests.map((t) => [t.description, t] as const))('%s', async (_description, t) => {
      const g = t.killSwitch ? await gatewayFor(file, { ...file.killSwitch, ...t.killSwitch }) : gateway;
      try {
        let request = t.request;
        if (t.results !== undefined) {
          // A case's scripted trace: its results are inspected in its own trace first.
          const traceId = `decisions:${file.file}:${t.description}`;
          for (const r of t.results) await g.inspectResult({ traceId, action: r.action, text: r.text, ...(r.source !== undefined ? { source: r.source } : {}) });
          request = { ...(t.request as Record<string, unknown>), traceId };
        }
        const decision = await g.decide(request);
        expect(checkExpectations(decision, t.expect), t.description).toEqual([]);
      } finally {
        if (g !== gateway) await g.close();
      }
    });
  });
}
