/**
 * The rule `tools/list` shows tools by (`couldAllow`), as a fixture corpus: each case names its
 * policies, the principal, the tool, and whether it is shown.
 */

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { EMPTY_KILL_SWITCH, couldAllow, loadPolicySet, type KillSwitchState } from '../../src/policy/index.js';

interface Case {
  description: string;
  policies: string[];
  principal: { id: string; groups: string[] };
  action: string;
  environment?: string;
  killSwitch?: Partial<KillSwitchState>;
  visible: boolean;
  reason?: string;
}

const file = new URL('../fixtures/mcp/visibility.yaml', import.meta.url).pathname;
const cases = (parse(readFileSync(file, 'utf8')) as { cases: Case[] }).cases;

describe('tools/list visibility (couldAllow)', () => {
  it('has its cases', () => expect(cases.length).toBeGreaterThanOrEqual(8));
  it.each(cases.map((c) => [c.description, c] as const))('%s', (_d, c) => {
    const set = loadPolicySet(c.policies.map((p) => join(dirname(file), p)));
    if (!set.ok) throw new Error(set.errors[0]?.message);
    const got = couldAllow(set.value, { principal: c.principal, action: c.action, ...(c.environment ? { environment: c.environment } : {}) }, { ...EMPTY_KILL_SWITCH, ...c.killSwitch });
    expect(got.possible, c.description).toBe(c.visible);
    if (c.reason !== undefined) expect(got.reason).toBe(c.reason);
  });
});
