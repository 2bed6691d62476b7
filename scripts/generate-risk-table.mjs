#!/usr/bin/env node
// Writes the generated part of docs/analysis.md's risk table (between the risk-table markers)
// from the code that decides (src/analysis/risk-doc.ts, built into dist/ first by
// `npm run risk-table`). test/analysis/risk-doc.test.ts fails when the committed file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderRiskTable, withRiskTable } from '../dist/analysis/risk-doc.js';

const target = fileURLToPath(new URL('../docs/analysis.md', import.meta.url));
const next = withRiskTable(readFileSync(target, 'utf8'), renderRiskTable());
if (next === undefined) {
  console.error(`${target}: no <!-- risk-table:start --> … <!-- risk-table:end --> markers`);
  process.exit(1);
}
writeFileSync(target, next);
console.log(`wrote ${target}`);
