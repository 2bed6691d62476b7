import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderRiskTable, RISK_TABLE_END, RISK_TABLE_START, withRiskTable } from '../../src/analysis/risk-doc.js';

const doc = readFileSync(new URL('../../docs/analysis.md', import.meta.url), 'utf8');

describe('the documented risk table', () => {
  it('docs/analysis.md holds the table the code renders (run `npm run risk-table` after changing a rule)', () => {
    expect(withRiskTable(doc, renderRiskTable())).toBe(doc);
  });

  it('renders every zone, host class and family', () => {
    const table = renderRiskTable();
    expect(table).toContain('| system | high | critical | high |');
    expect(table).toContain('| metadata | critical | critical |');
    expect(table).toContain('#### Version control');
    expect(table).toContain('| `poweroff` `reboot`');
  });

  it('refuses a document without the markers', () => {
    expect(withRiskTable('# no table', 'x')).toBeUndefined();
    expect(withRiskTable(`${RISK_TABLE_END}\n${RISK_TABLE_START}`, 'x')).toBeUndefined();
    expect(withRiskTable(`a\n${RISK_TABLE_START}\nold\n${RISK_TABLE_END}\nb`, 'new\n')).toBe(`a\n${RISK_TABLE_START}\nnew\n${RISK_TABLE_END}\nb`);
  });
});
