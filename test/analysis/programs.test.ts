/**
 * The program rules (src/analysis/programs/) against their corpus: one case per program the
 * analyzer has a rule for, in test/fixtures/analysis/programs-coverage.json, and a check that
 * every registered program name is run by some case of the shell corpora, so a program
 * added to a family without a case fails here.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../../src/analysis/index.js';
import { PROGRAM_FAMILIES, registeredPrograms } from '../../src/analysis/programs/index.js';
import { type CorpusExpect, expectAnalysis } from '../helpers/corpus.js';

interface CommandCase {
  description: string;
  command: string;
  cwd?: string;
  expect: CorpusExpect;
}

const load = (name: string): CommandCase[] => JSON.parse(readFileSync(new URL(`../fixtures/analysis/${name}`, import.meta.url), 'utf8')) as CommandCase[];
const coverage = load('programs-coverage.json');
const corpus = [...load('commands.json'), ...load('review-shell.json'), ...coverage];
const analyzer = await createAnalyzer();
const analyze = (c: CommandCase) => analyzer.shell(c.command, c.cwd === undefined ? { home: '/home/user' } : { cwd: c.cwd, home: '/home/user' });

describe('program coverage corpus', () => {
  it('has a case for each of at least 300 programs', () => expect(coverage.length).toBeGreaterThanOrEqual(300));

  it.each(coverage)('$description', (c) => {
    const r = analyze(c);
    expectAnalysis(r, c.expect, `${c.description}: ${JSON.stringify(c.command)} → ${r.risk} ${JSON.stringify(r.findings)}`);
  });

  it('runs every registered program in some case of the shell corpora', () => {
    const run = new Set(corpus.flatMap((c) => analyze(c).commands.map((x) => x.program)));
    const names = registeredPrograms();
    expect(names.length).toBeGreaterThan(500);
    expect(names.filter((n) => !run.has(n))).toEqual([]);
  });

  it('registers each family under a title of its own', () => {
    const titles = PROGRAM_FAMILIES.map((f) => f.title);
    expect(new Set(titles).size).toBe(titles.length);
    expect(PROGRAM_FAMILIES.every((f) => f.rules.length > 0)).toBe(true);
  });
});
