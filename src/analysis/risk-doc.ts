/**
 * The generated part of docs/analysis.md's risk table, rendered from the code that decides:
 * the risk functions by path zone and host class (risk-table.ts), and every program family
 * with its programs and verb tables (programs/). scripts/generate-risk-table.mjs writes it
 * between the markers; test/analysis/risk-doc.test.ts fails when the document is stale.
 */

import { PROGRAM_FAMILIES } from './programs/index.js';
import type { VerbTable } from './programs/family.js';
import { deleteRisk, HOST_CLASSES, hostRisk, PATH_ZONES, writeRisk } from './risk-table.js';

export const RISK_TABLE_START = '<!-- risk-table:start -->';
export const RISK_TABLE_END = '<!-- risk-table:end -->';

const code = (s: string): string => (s === '' ? '(none)' : `\`${s}\``);
const cell = (s: string): string => s.replace(/\|/g, '\\|');

function verbTable(table: VerbTable): string[] {
  const lines = [
    `**${table.program}**${table.match === 'prefix' ? ' (a verb also matches its hyphenated forms: `delete` matches `delete-bucket`)' : ''}:`,
    '',
    '| verbs | finding | what |',
    '|---|---|---|',
  ];
  const finding = (f: { category: string; risk: string } | undefined) => (f === undefined ? 'none' : `\`${f.category}\` ${f.risk}`);
  for (const row of table.rows) lines.push(`| ${cell(row.verbs.map(code).join(' '))} | ${finding(row.finding)} | ${cell(row.why)} |`);
  if (table.otherwise !== undefined) lines.push(`| any other | ${finding(table.otherwise.finding)} | ${cell(table.otherwise.why)} |`);
  if (table.notes !== undefined) lines.push('', ...table.notes.map((n) => `- ${n}`));
  return [...lines, ''];
}

/**
 * The markdown between the risk-table markers of docs/analysis.md.
 *
 * @example renderRiskTable().startsWith('<!-- generated') // true
 */
export function renderRiskTable(): string {
  const lines = [
    '<!-- generated from src/analysis/risk-table.ts and src/analysis/programs/ by `npm run risk-table`: do not edit by hand -->',
    '',
    '### By path zone',
    '',
    '| zone | `fs.delete` one file | `fs.delete` recursive or glob | `fs.write` |',
    '|---|---|---|---|',
    ...PATH_ZONES.map((z) => `| ${z} | ${deleteRisk(z, false)} | ${deleteRisk(z, true)} | ${writeRisk(z)} |`),
    '',
    '### By host class',
    '',
    '| host class | `net.egress` download | `net.egress` upload |',
    '|---|---|---|',
    ...HOST_CLASSES.map((h) => `| ${h} | ${hostRisk(h, false)} | ${hostRisk(h, true)} |`),
    '',
    'Secrets sent anywhere make the egress critical.',
    '',
    '### By program',
    '',
    'Every program the analyzer has a rule for, by family, with the verb tables its rules decide by. Any other program is unknown: it gets no category of its own (secret files among its arguments, a binary run from `/tmp`, a shell handed to it still count).',
    '',
  ];
  for (const family of PROGRAM_FAMILIES) {
    const names = family.rules.flatMap(([n]) => n.split(/\s+/).filter((x) => x !== ''));
    lines.push(`#### ${family.title}`, '', names.map(code).join(' '), '');
    for (const table of family.verbs ?? []) lines.push(...verbTable(table));
  }
  // A blank line ends the last table before the end marker.
  return lines.join('\n').replace(/\n+$/, '\n\n');
}

/**
 * `doc` with the text between the markers replaced by `table`; undefined when the markers are
 * missing or out of order.
 */
export function withRiskTable(doc: string, table: string): string | undefined {
  const start = doc.indexOf(RISK_TABLE_START);
  const end = doc.indexOf(RISK_TABLE_END);
  if (start < 0 || end < start) return undefined;
  return `${doc.slice(0, start + RISK_TABLE_START.length)}\n${table}${doc.slice(end)}`;
}
