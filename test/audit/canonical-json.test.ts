import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalMembers, joinCanonicalMembers } from '../../src/audit/canonical-json.js';

interface Case { description: string; input: unknown; expected: string }
const { cases } = JSON.parse(readFileSync(new URL('../fixtures/audit/canonical-json.json', import.meta.url), 'utf8')) as { cases: Case[] };

describe('canonicalJson (RFC 8785)', () => {
  it('has a fixture corpus', () => expect(cases.length).toBeGreaterThanOrEqual(5));

  it.each(cases)('$description', ({ description, input, expected }) => {
    const out = canonicalJson(input);
    expect(out, description).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['NaN', { a: Number.NaN }, '$.a'],
    ['Infinity', [1, Number.POSITIVE_INFINITY], '$[1]'],
    ['a bigint', { n: 1n }, '$.n'],
    ['a function', { f: () => 1 }, '$.f'],
    ['a lone surrogate', { s: 'a\ud800b' }, '$.s'],
    ['a class instance', { m: new Map() }, '$.m'],
  ])('rejects %s, naming where', (_name, input, path) => {
    const out = canonicalJson(input);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.errors[0]?.path).toBe(path);
  });

  it('rejects cycles', () => {
    const a: Record<string, unknown> = {};
    a['self'] = a;
    expect(canonicalJson(a).ok).toBe(false);
  });

  it('merges late members into the same bytes as serializing the whole', () => {
    const event = { type: 'decision', args: { z: 1, a: [2] }, traceId: 't-1', zeta: 'last' };
    const members = canonicalMembers(event);
    expect(members.ok).toBe(true);
    if (!members.ok) return;
    const joined = joinCanonicalMembers(members.value, { seq: 7, time: '2026-01-01T00:00:00.000Z', v: 1 });
    expect(joined).toBe((canonicalJson({ ...event, seq: 7, time: '2026-01-01T00:00:00.000Z', v: 1 }) as { value: string }).value);
  });
});
