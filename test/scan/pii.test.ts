import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findPii, redact, scanText } from '../../src/scan/index.js';

interface PiiCase {
  description: string;
  text: string;
  rule: string | null;
  value?: string;
}
const cases = JSON.parse(readFileSync(new URL('../fixtures/scan/pii.json', import.meta.url), 'utf8')) as PiiCase[];

describe('personal data corpus', () => {
  it('keeps its size', () => {
    expect(cases.filter((c) => c.rule !== null).length).toBeGreaterThanOrEqual(20);
    expect(cases.filter((c) => c.rule === null).length).toBeGreaterThanOrEqual(10);
  });
  it.each(cases)('$description', (c) => {
    const found = findPii(c.text);
    if (c.rule === null) expect(found, c.description).toEqual([]);
    else
      expect(
        found.some((f) => f.rule === c.rule && c.text.slice(f.start, f.end) === c.value),
        `${c.description}: ${JSON.stringify(found)}`,
      ).toBe(true);
  });
});

describe('personal data options', () => {
  it('switches each detector off', () => {
    const text = 'mail jane@acme.io, call +49 30 12345678';
    expect(findPii(text, { email: false }).map((f) => f.rule)).toEqual(['phone']);
    expect(findPii(text, { phone: false }).map((f) => f.rule)).toEqual(['email']);
    expect(redact(text, { pii: { email: false } })).toBe('mail jane@acme.io, call [REDACTED:phone]');
  });
  it('skips personal data when kinds leaves it out', () => {
    expect(scanText('jane@acme.io', { kinds: ['secret'] }).findings).toEqual([]);
  });
});
