import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, type ErrorCode } from '../../src/core/errors.js';
import { detectFormat, loadPolicySet } from '../../src/policy/load.js';

interface InvalidCase {
  description: string;
  source: string;
  text: string;
  /** Message substrings; each must be in some reported error. */
  errors: string[];
  /** The code of every reported error. */
  code?: ErrorCode;
  /** The exact set of codes reported, for a case whose errors differ in code. */
  codes?: ErrorCode[];
}

const cases = parse(readFileSync(new URL('../fixtures/policy/invalid-policies.yaml', import.meta.url), 'utf8')) as InvalidCase[];

describe('policies that must not load', () => {
  it('has a corpus, every case naming its error code', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    for (const c of cases) {
      expect((c.code === undefined) !== (c.codes === undefined), `${c.description}: names \`code\` or \`codes\`, not both`).toBe(true);
      for (const code of c.codes ?? [c.code]) expect(Object.keys(ERROR_CODES), c.description).toContain(code);
    }
  });
  it.each(cases.map((c) => [c.description, c] as const))('%s', (_d, c) => {
    const r = loadPolicySet({ source: c.source, text: c.text });
    expect(r.ok, c.description).toBe(false);
    if (r.ok) return;
    const detail = `${c.description}: ${JSON.stringify(r.errors.map((e) => [e.code, e.message]))}`;
    const wantCodes = c.codes ?? (c.code === undefined ? [] : [c.code]);
    for (const expected of c.errors) {
      const hits = r.errors.filter((e) => e.message.includes(expected));
      expect(hits.length, detail).toBeGreaterThan(0);
      for (const hit of hits) expect(wantCodes, `${detail}: the code of ${JSON.stringify(expected)}`).toContain(hit.code);
    }
    expect([...new Set(r.errors.map((e) => e.code))].sort(), detail).toEqual([...new Set(wantCodes)].sort());
  });
});

describe('loading', () => {
  const examples = new URL('../../examples', import.meta.url).pathname;

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
    expect(r.value.policies.map((p) => p.format).sort()).toEqual(['capfence', 'control-zero', 'harness', 'native', 'native', 'native', 'zyx']);
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
    const two = loadPolicySet({
      source: 'two.yaml',
      text: 'apiVersion: bastion/v1\nname: a\nrules: [{id: r, effect: allow, actions: [x]}]\n---\napiVersion: bastion/v1\nname: b\nrules: [{id: r, effect: allow, actions: [y]}]\n',
    });
    expect(two.ok && two.value.policies.length).toBe(2);
    const same = loadPolicySet({
      source: 'same.yaml',
      text: 'apiVersion: bastion/v1\nname: a\nrules: [{id: r, effect: allow, actions: [x]}]\n---\napiVersion: bastion/v1\nname: a\nrules: [{id: s, effect: allow, actions: [y]}]\n',
    });
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

describe('files that say nothing or cannot be read exactly (review findings 13, 25, 26)', () => {
  const allow = 'apiVersion: bastion/v1\nname: allow\nrules: [{ id: all, effect: allow, actions: ["*"] }]\n';
  const dirWith = (files: Record<string, string | Buffer>): string => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-load-review-'));
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    return dir;
  };

  it.each([
    ['0 bytes', ''],
    ['comments only', '# moved to another file\n'],
    ['empty documents only', '---\n---\n'],
  ])('a directory with one %s file fails as a whole, naming that file', (_what, content) => {
    const dir = dirWith({ '00-deny.yaml': content, '10-allow.yaml': allow });
    const r = loadPolicySet([dir]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.code, e.file])).toEqual([['POLICY_EMPTY', join(dir, '00-deny.yaml')]]);
    expect(r.errors[0]?.message).toBe(`while loading \`${join(dir, '00-deny.yaml')}\`: the file holds no policy (it is empty or only comments)`);
  });

  it('a metadata-only policy (`actions`, no rules) still loads beside others', () => {
    const dir = dirWith({ '00-meta.yaml': 'apiVersion: bastion/v1\nname: meta\nactions: { slack_post: { write: true } }\nrules: []\n', '10-allow.yaml': allow });
    const r = loadPolicySet([dir]);
    expect(r.ok && r.value.policies.map((p) => p.name)).toEqual(['meta', 'allow']);
  });

  it('loads `.YAML`, `.Yml` and `.JSON` files and skips `.TEST.YAML` ones', () => {
    const dir = dirWith({
      'A.YAML': 'apiVersion: bastion/v1\nname: a\nrules: [{ id: r, effect: deny, actions: [x] }]\n',
      'b.Yml': 'apiVersion: bastion/v1\nname: b\nrules: [{ id: r, effect: allow, actions: [y] }]\n',
      'C.JSON': '{"name": "c", "rules": [{"id": "r", "effect": "allow", "actions": ["z"]}]}',
      'D.TEST.YAML': 'tests: []\n',
    });
    const r = loadPolicySet([dir]);
    expect(r.ok && r.value.policies.map((p) => `${p.name}:${p.format}`)).toEqual(['a:native', 'c:control-zero', 'b:native']);
  });

  it('rejects a file that is not valid UTF-8, naming the line and byte', () => {
    const text = Buffer.concat([Buffer.from('apiVersion: bastion/v1\nname: t\nrules: [{ id: r, effect: deny, actions: [a], reason: "caf'), Buffer.from([0xe9]), Buffer.from('" }]\n')]);
    const dir = dirWith({ 'latin1.yaml': text, 'ok.yaml': allow });
    const r = loadPolicySet([dir]);
    expect(!r.ok && r.errors.map((e) => [e.code, e.message])).toEqual([['POLICY_PARSE', `while loading \`${join(dir, 'latin1.yaml')}\`: line 3: the file is not valid UTF-8 (byte 88 is 0xe9)`]]);
  });

  it.each([
    ['an overlong encoding', [0xc0, 0xaf]],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['a truncated sequence', [0xe2, 0x82]],
  ])('rejects %s', (_what, bytes) => {
    const dir = dirWith({ 'x.yaml': Buffer.concat([Buffer.from('# '), Buffer.from(bytes), Buffer.from('\n' + allow)]) });
    const r = loadPolicySet([dir]);
    expect(!r.ok && r.errors[0]?.message).toContain('the file is not valid UTF-8 (byte 2 is');
  });

  it('accepts well-formed multi-byte UTF-8', () => {
    const dir = dirWith({ 'x.yaml': '# café ✓ 𝄞\n' + allow });
    expect(loadPolicySet([dir]).ok).toBe(true);
  });

  it('a policy nested thousands of levels deep is a clear error, not a stack overflow', () => {
    const n = 5000;
    const text = `{"apiVersion":"bastion/v1","name":"d","rules":[{"id":"r","effect":"deny","actions":["x"],"when":${'{"not":'.repeat(n)}{"field":"action","equals":"x"}${'}'.repeat(n)}}]}`;
    const r = loadPolicySet({ source: 'deep.json', text });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.message).join('\n')).toContain('the document nests too deeply (at most 64 levels)');
    expect(r.errors.map((e) => e.message).join('\n')).not.toContain('Maximum call stack');
  });

  it('a deep in-memory document is rejected without a stack overflow', () => {
    let when: unknown = { field: 'action', equals: 'x' };
    for (let i = 0; i < 100_000; i++) when = { not: when };
    const r = loadPolicySet({ source: 'deep', document: { apiVersion: 'bastion/v1', name: 'd', rules: [{ id: 'r', effect: 'deny', actions: ['x'], when }] } });
    expect(!r.ok && r.errors[0]?.message).toMatch(/^while loading `deep`: field `rules\[0\]\.when(\.not)+[^`]*`: the document nests too deeply \(at most 64 levels\)$/);
  });

  it('an in-memory integer beyond 2^53 is rejected', () => {
    const r = loadPolicySet({ source: 'big', document: { apiVersion: 'bastion/v1', name: 'b', rules: [{ id: 'r', effect: 'deny', actions: ['x'], when: [{ field: 'args.n', gt: 2 ** 60 }] }] } });
    expect(!r.ok && r.errors[0]?.message).toContain('field `rules[0].when[0].gt`: integer beyond 2^53 cannot be represented exactly');
  });
});

describe('bare parsed documents (issue 9)', () => {
  const native = { apiVersion: 'bastion/v1', name: 'bare', rules: [{ id: 'all', effect: 'allow', actions: ['*'] }] };

  it('loads a bare document alongside wrapped ones', () => {
    const r = loadPolicySet([native, { source: 'cz.json', document: { name: 'cz', rules: [{ id: 'x', effect: 'deny', principals: ['*'], actions: ['sys:*'], resources: ['*'] }] } }]);
    expect(r.ok && r.value.policies.map((p) => [p.name, p.source])).toEqual([
      ['bare', '<document 1>'],
      ['cz', 'cz.json'],
    ]);
  });

  it('names a bare document by its place in messages', () => {
    const r = loadPolicySet([native, { nonsense: true }]);
    expect(!r.ok && r.errors.map((e) => e.message)).toEqual([expect.stringMatching(/^while loading `<document 2>`: not a known policy format/)]);
  });

  it('refuses an input that is neither a path nor a document', () => {
    for (const input of [null, 7, ['x.yaml']]) {
      const r = loadPolicySet([input as never]);
      expect(!r.ok && r.errors[0]?.message).toMatch(/^policy input 1: expected a path, \{source, text\}, \{source, document\} or a policy document, got /);
    }
  });
});
