import { describe, expect, it } from 'vitest';
import { base62, crc32 } from '../../src/scan/checksums.js';
import { createStreamRedactor, redact, redactValue, scanText } from '../../src/scan/index.js';

const R30 = 'Qm7Rt2Vx9Kp4Lw8Nz3Hc6Jd1Fb5Gs0';
const GHP = 'ghp_' + R30.slice(0, 30) + base62(crc32(R30.slice(0, 30)), 6);
const AWS = 'AKIAZ7VQ3XKPL2M4N5TR';

describe('redact', () => {
  it('replaces a secret in place with its rule name', () => {
    expect(redact(`export AWS_ACCESS_KEY_ID=${AWS}\n`)).toBe('export AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key]\n');
  });
  it('redacts the value of an assignment, not the key name', () => {
    expect(redact('DB_PASSWORD="Tr0ub4dor&3x"')).toBe('DB_PASSWORD="[REDACTED:generic-password]"');
  });
  it('leaves documented example keys alone', () => {
    expect(redact('AKIAIOSFODNN7EXAMPLE')).toBe('AKIAIOSFODNN7EXAMPLE');
  });
  it('reports offsets into the original text and masks evidence', () => {
    const text = `a ${GHP} b`;
    const { findings } = scanText(text, { kinds: ['secret'] });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ type: 'secret', rule: 'github-pat', start: 2, end: 2 + GHP.length });
    expect(JSON.stringify(findings)).not.toContain(GHP.slice(4));
  });
});

describe('redactValue', () => {
  it('redacts inside JSON values and keeps the JSON valid', () => {
    const value = { msg: `use ${AWS}`, nested: [{ token: 'abc' }, 42, null], password: 'hunter22', max_tokens: 100, token_type: 'Bearer' };
    const out = redactValue(value);
    expect(out).toEqual({
      msg: 'use [REDACTED:aws-access-key]',
      nested: [{ token: '[REDACTED:secret-field]' }, 42, null],
      password: '[REDACTED:password-field]',
      max_tokens: 100,
      token_type: 'Bearer',
    });
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
    expect(value.password).toBe('hunter22');
  });
  it('redacts secrets inside a JSON document held in a string without breaking it', () => {
    const doc = JSON.stringify({ key: AWS, note: 'ok' });
    const out = redact(doc);
    expect(JSON.parse(out)).toEqual({ key: '[REDACTED:aws-access-key]', note: 'ok' });
  });
  it('survives cycles', () => {
    const a: Record<string, unknown> = { s: AWS };
    a['self'] = a;
    const out = redactValue(a) as Record<string, unknown>;
    expect(out['s']).toBe('[REDACTED:aws-access-key]');
    expect(out['self']).toBe(out);
  });
});

describe('createStreamRedactor', () => {
  const text = 'x'.repeat(700) + ` header ${GHP} mid ` + 'y'.repeat(1500) + ` key ${AWS} tail password="Tr0ub4dor&3x" end`;
  it.each([1, 3, 7, 64, 1000, 5000])('catches secrets cut across chunks of %i characters', (size) => {
    const r = createStreamRedactor();
    let out = '';
    for (let i = 0; i < text.length; i += size) out += r.push(text.slice(i, i + size));
    out += r.end();
    expect(out).toBe(redact(text));
    expect(out).not.toContain(AWS);
    expect(out).not.toContain(GHP);
  });
});
