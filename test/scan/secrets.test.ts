import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findSecrets, redact, SECRET_RULE_IDS } from '../../src/scan/index.js';
import { base62, crc32, validBase62Crc32Token } from '../../src/scan/checksums.js';
import { cpuNow } from '../helpers/cpu-time.js';

interface PositiveCase {
  description: string;
  rule: string;
  secret: string;
  text: string;
}
interface NegativeCase {
  description: string;
  text: string;
}
const load = <T>(name: string): T[] => JSON.parse(readFileSync(new URL(`../fixtures/scan/${name}`, import.meta.url), 'utf8')) as T[];
const positives = load<PositiveCase>('secrets-positive.json');
const negatives = load<NegativeCase>('secrets-negative.json');

describe('secret corpus', () => {
  it('keeps its size: ≥ 150 positives over ≥ 50 rules, ≥ 100 negatives', () => {
    expect(positives.length).toBeGreaterThanOrEqual(150);
    expect(new Set(positives.map((c) => c.rule)).size).toBeGreaterThanOrEqual(50);
    expect(negatives.length).toBeGreaterThanOrEqual(100);
    expect(SECRET_RULE_IDS.length).toBeGreaterThanOrEqual(50);
  });

  it.each(positives)('finds $rule: $description', (c) => {
    const found = findSecrets(c.text);
    const hit = found.find((f) => f.rule === c.rule && c.text.slice(f.start, f.end) === c.secret);
    expect(hit, `${c.description}: got ${JSON.stringify(found.map((f) => f.rule))}`).toBeDefined();
    expect(redact(c.text)).not.toContain(c.secret);
    expect(hit?.evidence ?? '').not.toContain(c.secret);
  });

  it.each(negatives)('ignores $description', (c) => {
    expect(findSecrets(c.text), c.description).toEqual([]);
  });

  it('every positive names a rule that exists', () => {
    for (const c of positives) expect(SECRET_RULE_IDS, c.description).toContain(c.rule);
  });
});

describe('checksums', () => {
  it('verifies the GitHub/npm base62 CRC32 checksum; a token failing it is reported at lower confidence', () => {
    const random = 'Zq3Lp9Xv2Bn7Mc4Kd8Rt1Wy6Hs5Jf0';
    const token = 'ghp_' + random + base62(crc32(random), 6);
    expect(validBase62Crc32Token(token, 4)).toBe(true);
    expect(validBase62Crc32Token(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'), 4)).toBe(false);
    expect(findSecrets(`x ${token} y`).map((f) => [f.rule, f.confidence])).toEqual([['github-pat', 0.99]]);
    // A mistyped, truncated or test token of the exact shape is still worth redacting.
    const changed = `${token.slice(0, 10)}Q${token.slice(11)}`;
    expect(findSecrets(`x ${changed} y`).map((f) => [f.rule, f.confidence])).toEqual([['github-pat', 0.8]]);
    expect(findSecrets('seen in a typo: npm_xZGWtmeTtfosi0Tzswz26DXO4O33i7rlbxRZ').map((f) => [f.rule, f.confidence])).toEqual([['npm-access-token', 0.8]]);
    expect(redact(`x ${changed} y`)).not.toContain(changed);
  });
  it('does not take a GitHub-shaped run of words or filler for a token', () => {
    expect(findSecrets('ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')).toEqual([]);
    expect(findSecrets('ghp_aaaabbbbccccddddaaaabbbbccccddddaaaa')).toEqual([]);
  });
});

describe('performance guards', () => {
  it('scans 1 MB of mixed text in well under a second', () => {
    const chunk =
      positives
        .slice(0, 20)
        .map((c) => c.text)
        .join('\n') + negatives.map((c) => c.text).join('\n');
    const big = chunk.repeat(Math.ceil(1_000_000 / chunk.length)).slice(0, 1_000_000);
    const t0 = cpuNow();
    findSecrets(big);
    expect(cpuNow() - t0).toBeLessThan(1500);
  });
  it('does not backtrack on adversarial input', () => {
    const evil =
      'password=' +
      'a'.repeat(50_000) +
      ' ' +
      '-----BEGIN PRIVATE KEY-----'.repeat(200) +
      'sk-'.repeat(20_000) +
      // the rules that look back or search lazily: keyed arguments, command lines, filler runs
      ` "${'password'.repeat(20_000)} ` +
      '"x_token", '.repeat(10_000) +
      'mysql '.repeat(10_000) +
      'machine a login b '.repeat(5_000) +
      'A'.repeat(50_000) +
      ` fm2_${'a'.repeat(50_000)}`;
    const t0 = cpuNow();
    findSecrets(evil);
    expect(cpuNow() - t0).toBeLessThan(1500);
  });
});
