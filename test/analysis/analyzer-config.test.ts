/**
 * The analyzer configuration: its action globs are the policy glob (one implementation, the
 * same answer in `analyzers.actions` as in a rule), and a malformed glob is refused when the
 * block is parsed instead of silently matching nothing.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { actionMatches, parseAnalyzerConfig } from '../../src/analysis/analyzer-config.js';
import { createAnalyzer } from '../../src/analysis/index.js';
import { evaluate } from '../../src/policy/evaluate.js';
import { loadPolicySet } from '../../src/policy/load.js';

interface GlobCase {
  description: string;
  glob: string;
  action: string;
  matches: boolean;
}

const cases = parse(readFileSync(new URL('../fixtures/policy/analyzer-globs.yaml', import.meta.url), 'utf8')) as GlobCase[];

describe('analyzer action globs are the policy glob', () => {
  it('has a corpus', () => expect(cases.length).toBeGreaterThanOrEqual(10));

  it.each(cases.map((c) => [c.description, c] as const))('%s', async (_d, c) => {
    expect(actionMatches(c.glob, c.action), c.description).toBe(c.matches);
    // The analyzer reads `statement` as SQL only for actions the glob matches.
    const analyzer = await createAnalyzer({ actions: { [c.glob]: { sql: ['statement'] } } });
    const analysis = analyzer.analyze({ principal: { id: 'a', groups: [] }, action: c.action, args: { statement: 'DROP TABLE users' } });
    expect(analysis.categories.includes('db.destructive'), c.description).toBe(c.matches);
    // And a rule with the same glob in `actions` agrees.
    const set = loadPolicySet({ source: 'globs.yaml', document: { apiVersion: 'bastion/v1', name: 'g', rules: [{ id: 'r', effect: 'allow', actions: [c.glob] }] } });
    expect(set.ok).toBe(true);
    if (!set.ok) return;
    const d = evaluate(set.value, { principal: { id: 'a', groups: [] }, action: c.action });
    expect(d.decision === 'allow', c.description).toBe(c.matches);
  });

  it('refuses a malformed glob with its field', () => {
    const r = parseAnalyzerConfig({ actions: { 'db.[x': { sql: ['q'] } } }, '`bastion.yaml`');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.message)).toEqual(['`bastion.yaml`: field `analyzers.actions.db.[x`: invalid glob `db.[x`: unclosed `[` in pattern']);
  });

  it('takes one string for a list and drops a leading `args.`', () => {
    const r = parseAnalyzerConfig({ actions: { 'db.*': { sql: 'args.statement' } }, urls: { allow: 'example.com' } }, 'x');
    expect(r.ok && r.value).toEqual({ actions: { 'db.*': { sql: ['statement'] } }, urls: { allow: ['example.com'] } });
  });
});
