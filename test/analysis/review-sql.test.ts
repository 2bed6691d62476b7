/**
 * The SQL cases of the 2026-12 outside review (findings 5 and 7) and their neighbours, as a
 * fixture corpus: `test/fixtures/analysis/review-sql.json`. Each case names a query, the
 * categories its analysis reports, exactly (extras only when listed in `allowExtra`), and its
 * risk (exact, or a range).
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../../src/analysis/index.js';
import { riskRank } from '../../src/core/risk.js';
import { type CorpusExpect, expectAnalysis } from '../helpers/corpus.js';

interface SqlCase {
  description: string;
  query: string;
  expect: CorpusExpect;
}

const cases = JSON.parse(readFileSync(new URL('../fixtures/analysis/review-sql.json', import.meta.url), 'utf8')) as SqlCase[];
const analyzer = await createAnalyzer();

describe('review SQL corpus', () => {
  it('has its cases, harmless reads among them', () => {
    expect(cases.length).toBeGreaterThanOrEqual(90);
    expect(cases.filter((c) => (c.expect.risk ?? c.expect.maxRisk) === 'low' && c.expect.categories.length === 0).length).toBeGreaterThanOrEqual(15);
  });

  it.each(cases)('$description', (c) => {
    const r = analyzer.sql(c.query);
    expectAnalysis(r, c.expect, `${c.description}: ${JSON.stringify(c.query)} → ${r.risk} ${JSON.stringify(r.findings)}`);
  });

  it('never throws on hostile SQL and stays fast', () => {
    const inputs = [
      '/*!',
      '/*!50000',
      "'",
      '$$',
      'EXEC(',
      "EXEC('",
      'EXEC(' + "'x'+".repeat(5_000),
      "EXEC('".repeat(2_000),
      'pg_read_file('.repeat(20_000),
      'SELECT ' + 'f('.repeat(5_000),
      ';'.repeat(20_000),
      "SELECT '" + '\\'.repeat(10_001),
      '/*!' + ' DELETE FROM t */ /*!'.repeat(2_000),
      'x '.repeat(40_000),
    ];
    for (const input of inputs) {
      const started = performance.now();
      const r = analyzer.sql(input);
      expect(['low', 'medium', 'high', 'critical']).toContain(r.risk);
      if (!r.parsed) expect(riskRank(r.risk)).toBeGreaterThanOrEqual(riskRank('high'));
      expect(performance.now() - started, `${input.slice(0, 30)}…`).toBeLessThan(3_000);
    }
  });
});
