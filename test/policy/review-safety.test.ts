/**
 * Regex and glob safety, from test/fixtures/policy/review/regex-safety.yaml (findings 17 and
 * 18 of the 2026-12 review): policy regexes run in linear time, the structural check rejects
 * what the review found, every built-in scanner pattern passes it or is allow-listed with a
 * reason, and globs stay fast on long values. Also keeps the matchers-tour fixture equal to the
 * policy in docs/policy.md that the review extracted.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { actionMatches } from '../../src/analysis/analyzer-config.js';
import { compileGlob } from '../../src/core/glob.js';
import { checkRegex, compilePolicyRegex } from '../../src/policy/regex-safety.js';
import { INJECTION_DETECTORS } from '../../src/scan/injection-patterns.js';
import { SECRET_RULES } from '../../src/scan/secret-rules.js';

interface Input {
  text: string;
  times: number;
  then: string;
}
interface Fixture {
  linear: (Input & { pattern: string })[];
  re2Rejects: { pattern: string; message: string }[];
  checkRejects: string[];
  checkAccepts: string[];
  scannerAllowList: { pattern: string; why: string }[];
  globs: (Input & { pattern: string; matches: boolean })[];
}

const root = new URL('../..', import.meta.url).pathname;
const fixture = parse(readFileSync(join(root, 'test/fixtures/policy/review/regex-safety.yaml'), 'utf8')) as Fixture;
const input = (i: Input) => i.text.repeat(i.times) + i.then;

/** Milliseconds `f` takes. */
function timed(f: () => unknown): number {
  const start = performance.now();
  f();
  return performance.now() - start;
}

describe('policy regexes run on RE2', () => {
  it('has a corpus', () => expect(fixture.linear.length).toBeGreaterThanOrEqual(8));
  it.each(fixture.linear.map((c) => [c.pattern, c] as const))('%s loads and decides a 10 KB input in milliseconds', (_p, c) => {
    const re = compilePolicyRegex(c.pattern);
    expect(re.ok).toBe(true);
    if (!re.ok) return;
    re.test(input(c)); // warm up
    expect(timed(() => re.test(input(c)))).toBeLessThan(200);
  });
  it.each(fixture.re2Rejects.map((c) => [c.pattern, c] as const))('%s is a load error', (_p, c) => {
    const re = compilePolicyRegex(c.pattern);
    expect(re.ok).toBe(false);
    if (!re.ok) expect(re.message).toContain(c.message);
  });
  it('a pattern over 1,000 characters is a load error', () => {
    expect(compilePolicyRegex('x'.repeat(1001)).ok).toBe(false);
  });
});

describe('the structural check for JavaScript-engine patterns', () => {
  it.each(fixture.checkRejects)('rejects %s', (pattern) => expect(checkRegex(pattern, 'u').ok).toBe(false));
  it.each(fixture.checkAccepts)('accepts %s', (pattern) => expect(checkRegex(pattern, 'u').ok).toBe(true));
});

/** Every regex literal in src/scan/*.ts, plus the rules and detectors built from strings. */
function scannerPatterns(): { where: string; source: string; flags: string; key: string }[] {
  const out: { where: string; source: string; flags: string; key: string }[] = [];
  const dir = join(root, 'src/scan');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const sf = ts.createSourceFile(file, readFileSync(join(dir, file), 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node): void => {
      if (n.kind === ts.SyntaxKind.RegularExpressionLiteral) {
        const text = n.getText(sf);
        const end = text.lastIndexOf('/');
        out.push({ where: file, source: text.slice(1, end), flags: text.slice(end + 1), key: text.slice(1, end) });
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  for (const r of SECRET_RULES) {
    out.push({ where: `secret rule ${r.id}`, source: r.pattern, flags: r.flags ?? '', key: r.pattern });
    if (r.unless) out.push({ where: `secret rule ${r.id} (unless)`, source: r.unless.pattern, flags: r.flags ?? '', key: r.unless.pattern });
  }
  for (const d of INJECTION_DETECTORS) out.push({ where: `injection ${d.technique}`, source: d.pattern.source, flags: d.pattern.flags, key: d.technique });
  return out;
}

describe('built-in scanner patterns', () => {
  const patterns = scannerPatterns();
  const allowed = new Map(fixture.scannerAllowList.map((a) => [a.pattern, a.why]));
  const used = new Set<string>();

  it('are all found', () => {
    expect(patterns.length).toBeGreaterThanOrEqual(200);
    expect(SECRET_RULES.length).toBeGreaterThan(50);
    expect(INJECTION_DETECTORS.length).toBeGreaterThan(30);
  });

  it('each passes the structural check or is allow-listed with a linear-time argument', () => {
    const rejected: string[] = [];
    for (const p of patterns) {
      const r = checkRegex(p.source, p.flags.replace(/[gyd]/g, ''));
      if (r.ok) continue;
      if (allowed.has(p.key)) used.add(p.key);
      else rejected.push(`${p.where}: /${p.source.slice(0, 120)}/: ${r.message}`);
    }
    expect(rejected).toEqual([]);
    expect(
      [...allowed.keys()].filter((k) => !used.has(k)),
      'allow-list entries no pattern needs any more',
    ).toEqual([]);
  }, 60_000);
});

describe('globs match without backtracking', () => {
  it.each(fixture.globs.map((g) => [g.pattern.slice(0, 40), g] as const))('%s on 10 KB', (_p, g) => {
    const glob = compileGlob(g.pattern);
    expect(glob.ok).toBe(true);
    if (!glob.ok) return;
    let result = false;
    expect(timed(() => (result = glob.test(input(g))))).toBeLessThan(50);
    expect(result).toBe(g.matches);
  });

  it('analyzers.actions globs do too', () => {
    let result = true;
    expect(timed(() => (result = actionMatches('*-*-*-*-*-prod', '-'.repeat(10240))))).toBeLessThan(50);
    expect(result).toBe(false);
    expect(actionMatches('db.*', 'db.query')).toBe(true);
    expect(actionMatches('*.query', 'db.query')).toBe(true);
    expect(actionMatches('a*b*c', 'abc')).toBe(true);
    expect(actionMatches('a*b*c', 'acb')).toBe(false);
    expect(actionMatches('ab*ba', 'aba')).toBe(false);
  });
});

describe('the matchers-tour fixture', () => {
  it('is the policy docs/policy.md shows, verbatim', () => {
    const docs = readFileSync(join(root, 'docs/policy.md'), 'utf8');
    const block = /```yaml\n(apiVersion: bastion\/v1\nname: matchers-tour\n[\s\S]*?)```/.exec(docs);
    expect(block?.[1]).toBe(readFileSync(join(root, 'test/fixtures/policy/review/matchers-tour.yaml'), 'utf8'));
  });
});
