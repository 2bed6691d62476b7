import { describe, expect, it } from 'vitest';
import { compileGlob } from '../../src/core/glob.js';
import { checkRegex } from '../../src/policy/regex-safety.js';

describe('globs', () => {
  it.each([
    ['sys:*', 'sys:execute', true],
    ['sys:*', 'system:execute', false],
    ['shell.*', 'shell.execute', true],
    ['*', 'anything at all', true],
    ['jira_?ead', 'jira_read', true],
    ['repo:org/infra-*', 'repo:org/infra-net', true],
    ['repo:org/infra-*', 'repo:org/payments', false],
    ['[abc]x', 'bx', true],
    ['[!abc]x', 'bx', false],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['[a-c]x', 'bx', true],
    ['[a-c]x', 'dx', false],
    ['[-a]x', '-x', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
    ['ab*ba', 'aba', false],
    ['*.env', 'PROD.ENV', false],
    ['x?y*z', 'x-yz', true],
    ['*-*-prod', 'a-b-prod', true],
    ['*-*-prod', '--prod', true],
    ['*-*-prod', '-prod', false],
  ])('%s against %s → %s', (pattern, value, expected) => {
    const g = compileGlob(pattern);
    expect(g.ok).toBe(true);
    if (g.ok) expect(g.test(value)).toBe(expected);
  });

  it.each([[''], ['a['], ['a\\'], ['[z-a]']])('rejects %j', (pattern) => {
    expect(compileGlob(pattern).ok).toBe(false);
  });
});

describe('regex safety', () => {
  it.each([['^(a+)+$'], ['(a*)*b'], ['(\\w+\\s?)*$'], ['(a|a)*$'], ['(\\w|\\d)+$'], ['(?:x{2,})+y'], ['(a)\\1'], ['(.*a){12}'], ['x'.repeat(1001)]])('rejects %s', (pattern) => {
    expect(checkRegex(pattern).ok).toBe(false);
  });

  it.each([['^[A-Z][A-Z0-9]+-[0-9]+$'], ['^(foo|bar)-[0-9]+$'], ['^https://([a-z0-9-]+\\.)?example\\.com/'], ['^\\d{4}-\\d{2}-\\d{2}$'], ['(ab|cd)*e']])('accepts %s', (pattern) => {
    expect(checkRegex(pattern).ok).toBe(true);
  });

  it('rejects an invalid pattern with the engine message', () => {
    const r = checkRegex('(unclosed');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/^invalid regular expression/);
  });
});
