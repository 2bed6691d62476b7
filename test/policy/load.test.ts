import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { detectFormat, loadPolicySet } from '../../src/policy/load.js';

interface InvalidCase {
  description: string;
  source: string;
  text: string;
  errors: string[];
}

const cases = parse(readFileSync(new URL('../fixtures/policy/invalid-policies.yaml', import.meta.url), 'utf8')) as InvalidCase[];

describe('policies that must not load', () => {
  it('has a corpus', () => expect(cases.length).toBeGreaterThanOrEqual(20));
  it.each(cases.map((c) => [c.description, c] as const))('%s', (_d, c) => {
    const r = loadPolicySet({ source: c.source, text: c.text });
    expect(r.ok, c.description).toBe(false);
    if (r.ok) return;
    const messages = r.errors.map((e) => e.message);
    for (const expected of c.errors) expect(messages.some((m) => m.includes(expected)), `${c.description}: ${JSON.stringify(messages)}`).toBe(true);
  });
});

describe('loading', () => {
  const examples = new URL('../../examples/', import.meta.url).pathname;

  it('detects every example format by its shape', () => {
    const load = (f: string) => parse(readFileSync(join(examples, f), 'utf8')) as unknown;
    expect(detectFormat(JSON.parse(readFileSync(join(examples, 'control-zero/sre-safety-policy.json'), 'utf8')))).toBe('control-zero');
    expect(detectFormat(load('capfence/devops_policy.yaml'))).toBe('capfence');
    expect(detectFormat(load('zyx/tool_policies.yaml'))).toBe('zyx');
    expect(detectFormat(load('harness/agent-harness-config.yaml'))).toBe('harness');
    expect(detectFormat(load('native/platform-agents.yaml'))).toBe('native');
  });

  it('merges a directory, skipping test files, and versions the set by content', () => {
    const r = loadPolicySet([examples]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.policies.map((p) => p.format).sort()).toEqual(['capfence', 'control-zero', 'harness', 'native', 'zyx']);
    expect(r.value.version).toMatch(/^sha256:[0-9a-f]{64}$/);
    const again = loadPolicySet([examples]);
    expect(again.ok && again.value.version).toBe(r.value.version);
  });

  it('changes the version when the content changes, not when formatting does', () => {
    const a = loadPolicySet({ source: 'a.yaml', text: 'apiVersion: bastion/v1\nname: t\nrules: [{id: r, effect: allow, actions: [a]}]\n' });
    const b = loadPolicySet({ source: 'b.yaml', text: '# comment\napiVersion: bastion/v1\nname: t\nrules:\n  - id: r\n    actions: [a]\n    effect: allow\n' });
    const c = loadPolicySet({ source: 'c.yaml', text: 'apiVersion: bastion/v1\nname: t\nrules: [{id: r, effect: deny, actions: [a]}]\n' });
    expect(a.ok && b.ok && a.value.version === b.value.version).toBe(true);
    expect(a.ok && c.ok && a.value.version !== c.value.version).toBe(true);
  });

  it('loads several documents from one file and rejects two policies with one name', () => {
    const two = loadPolicySet({ source: 'two.yaml', text: 'apiVersion: bastion/v1\nname: a\nrules: [{id: r, effect: allow, actions: [x]}]\n---\napiVersion: bastion/v1\nname: b\nrules: [{id: r, effect: allow, actions: [y]}]\n' });
    expect(two.ok && two.value.policies.length).toBe(2);
    const same = loadPolicySet({ source: 'same.yaml', text: 'apiVersion: bastion/v1\nname: a\nrules: [{id: r, effect: allow, actions: [x]}]\n---\napiVersion: bastion/v1\nname: a\nrules: [{id: s, effect: allow, actions: [y]}]\n' });
    expect(same.ok).toBe(false);
  });

  it('reports a missing path and an empty directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-load-'));
    mkdirSync(join(dir, 'empty'));
    const missing = loadPolicySet([join(dir, 'nope.yaml')]);
    expect(!missing.ok && missing.errors[0]?.code).toBe('POLICY_NOT_FOUND');
    const empty = loadPolicySet([join(dir, 'empty')]);
    expect(!empty.ok && empty.errors[0]?.code).toBe('POLICY_EMPTY');
    writeFileSync(join(dir, 'empty', 'x.test.yaml'), 'tests: []\n');
    const onlyTests = loadPolicySet([join(dir, 'empty')]);
    expect(onlyTests.ok).toBe(false);
  });

  it('indexes rules so irrelevant rules are never candidates', () => {
    const rules = Array.from({ length: 1000 }, (_, i) => ({ id: `r${i}`, effect: 'allow', actions: [`tool_${i}`] }));
    const r = loadPolicySet({ source: 'big', document: { apiVersion: 'bastion/v1', name: 'big', rules: [...rules, { id: 'g', effect: 'deny', actions: ['tool_9*'] }] } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.candidates('tool_5').map((c) => c.id)).toEqual(['r5']);
    expect(r.value.candidates('tool_95').map((c) => c.id)).toEqual(['r95', 'g']);
    expect(r.value.candidates('other')).toEqual([]);
  });
});
