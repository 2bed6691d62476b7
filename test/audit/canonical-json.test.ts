import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalMembers, canonicalSplit, joinCanonicalMembers } from '../../src/core/canonical-json.js';

interface Case {
  description: string;
  input: unknown;
  expected: string;
}
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

  const late = { seq: 0, time: '2026-01-01T00:00:00.000Z', v: 1 };
  const splitInputs: Array<[string, Record<string, unknown>]> = [
    ...cases
      .filter((c) => typeof c.input === 'object' && c.input !== null && !Array.isArray(c.input))
      .map((c): [string, Record<string, unknown>] => [c.description, c.input as Record<string, unknown>]),
    ['an event', { type: 'decision', args: { z: 1, a: [2, { seq: 0 }] }, traceId: 't-"seq":0', zeta: 'last' }],
    ['array-index keys nested (the string builder path)', { type: 'x', args: { '10': 1, '9': 2, a: { '0': true } } }],
    ['a `__proto__` member', JSON.parse('{"type":"x","args":{"__proto__":{"a":1},"b":2}}') as Record<string, unknown>],
    ['members sorting after every late one', { zz: 1, w: [] }],
    ['a quoted name after the split that spells it', { 'x"seq': 0, y: '"seq":0' }],
    ['nothing but the late members', {}],
  ];

  it.each(splitInputs)('splits around seq into the same bytes as the whole: %s', (_name, input) => {
    const parts = canonicalSplit(input, late, 'seq');
    expect(parts.ok).toBe(true);
    if (!parts.ok) return;
    const whole = canonicalJson({ ...input, ...late, seq: 7 });
    expect(whole.ok && parts.value.prefix + 7 + parts.value.suffix).toBe(whole.ok && whole.value);
  });

  it('rejects in a split what it rejects whole, naming where', () => {
    const parts = canonicalSplit({ type: 'x', data: { n: Number.NaN } }, late, 'seq');
    expect(parts.ok).toBe(false);
    if (!parts.ok) expect(parts.errors[0]?.path).toBe('$.data.n');
    expect(canonicalJson({ d: new Date(Number.NaN) }).ok).toBe(false);
  });

  it('reads each value once, so a getter cannot slip an unchecked value past the checks', () => {
    let reads = 0;
    const tricky = {
      get x(): unknown {
        reads++;
        return reads === 1 ? 1 : Number.NaN;
      },
    };
    expect(canonicalJson(tricky)).toEqual({ ok: true, value: '{"x":1}' });
  });
});
