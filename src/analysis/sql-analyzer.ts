/**
 * The SQL analyzer: parses a query with node-sql-parser (PostgreSQL, then MySQL, then
 * generic grammars) and flags what destroys or exposes data: DROP, TRUNCATE, ALTER … DROP,
 * DELETE/UPDATE without WHERE, GRANT/REVOKE, several statements in one string. MongoDB shell
 * calls (`db.dropDatabase()`, `db.x.drop()`, `deleteMany({})`) are recognized too. A query no
 * grammar accepts is `parsed: false` at risk `high`, with keyword findings on top.
 */

import { createRequire } from 'node:module';
import type { Category } from '../core/categories.js';
import { maxRisk, type Risk } from '../core/risk.js';

export interface SqlFinding {
  category: Category;
  risk: Risk;
  evidence: string;
}

export interface SqlAnalysis {
  query: string;
  parsed: boolean;
  risk: Risk;
  categories: Category[];
  /** Statement types in order, e.g. `['select']`, `['delete', 'drop']`. */
  statements: string[];
  findings: SqlFinding[];
}

interface SqlParser {
  astify(sql: string, options?: { database?: string }): unknown;
}

let parser: SqlParser | undefined;
function sqlParser(): SqlParser {
  if (parser === undefined) {
    const require = createRequire(import.meta.url);
    const mod = require('node-sql-parser') as { Parser: new () => SqlParser };
    parser = new mod.Parser();
  }
  return parser;
}

const DIALECTS = ['PostgresQL', 'MySQL', 'TransactSQL', 'BigQuery', 'Sqlite'];

type Node = Record<string, unknown>;

function clip(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 100 ? one.slice(0, 97) + '...' : one;
}

/**
 * Analyzes SQL text (or a MongoDB shell snippet). Never throws.
 *
 * @example analyzeSqlText('DELETE FROM users').risk // 'high'
 */
export function analyzeSqlText(query: string): SqlAnalysis {
  const findings: SqlFinding[] = [];
  const statements: string[] = [];
  const add = (category: Category, risk: Risk, evidence: string) => findings.push({ category, risk, evidence });
  let parsed = true;
  if (mongo(query, add, statements)) return finish(query, true, statements, findings);
  let ast: unknown;
  for (const database of DIALECTS) {
    try {
      ast = sqlParser().astify(query, { database });
      break;
    } catch {
      ast = undefined;
    }
  }
  if (ast === undefined) {
    parsed = false;
    keywords(query, add);
    return finish(query, parsed, statements, findings);
  }
  const list = (Array.isArray(ast) ? ast : [ast]).filter((s): s is Node => typeof s === 'object' && s !== null);
  if (list.length > 1) add('db.destructive', 'medium', `${list.length} statements in one query`);
  for (const s of list) statement(s, add, statements);
  return finish(query, parsed, statements, findings);
}

function finish(query: string, parsed: boolean, statements: string[], findings: SqlFinding[]): SqlAnalysis {
  let risk: Risk = parsed ? 'low' : 'high';
  for (const f of findings) risk = maxRisk(risk, f.risk);
  const categories = [...new Set(findings.map((f) => f.category))].sort();
  return { query, parsed, risk, categories, statements, findings };
}

function names(list: unknown): string {
  if (!Array.isArray(list)) return '';
  return list.map((t) => (typeof t === 'object' && t !== null ? String((t as Node)['table'] ?? (t as Node)['name'] ?? '') : String(t))).join(', ');
}

function statement(s: Node, add: (c: Category, r: Risk, e: string) => void, statements: string[]): void {
  const type = String(s['type'] ?? 'unknown').toLowerCase();
  statements.push(type);
  const keyword = String(s['keyword'] ?? '').toLowerCase();
  switch (type) {
    case 'drop':
      add('db.destructive', keyword === 'database' || keyword === 'schema' ? 'critical' : 'high', `DROP ${keyword.toUpperCase()} ${names(s['name'])}`.trim());
      return;
    case 'truncate':
      add('db.destructive', 'high', `TRUNCATE ${names(s['name'])}`);
      return;
    case 'delete':
      if (s['where'] === null || s['where'] === undefined) add('db.destructive', 'high', `DELETE without WHERE on ${names(s['from'] ?? s['table'])}`);
      return;
    case 'update':
      if (s['where'] === null || s['where'] === undefined) add('db.destructive', 'high', `UPDATE without WHERE on ${names(s['table'])}`);
      return;
    case 'alter': {
      const exprs = Array.isArray(s['expr']) ? (s['expr'] as Node[]) : [];
      if (exprs.some((e) => String(e['action'] ?? '').toLowerCase() === 'drop')) add('db.destructive', 'high', `ALTER TABLE ${names(s['table'])} … DROP`);
      return;
    }
    case 'grant':
    case 'revoke':
      add('priv.escalate', 'high', `${type.toUpperCase()} on the database`);
      return;
    default:
      return;
  }
}

const MONGO = /\bdb(\.getSiblingDB\([^)]*\))?\.([\w$]+|getCollection\([^)]*\))?\.?(dropDatabase|drop|deleteMany|remove|updateMany|findOneAndDelete|deleteOne|dropIndexes|renameCollection)\s*\(([^)]*)\)/g;

function mongo(query: string, add: (c: Category, r: Risk, e: string) => void, statements: string[]): boolean {
  if (!/\bdb\./.test(query)) return false;
  let found = false;
  for (const m of query.matchAll(MONGO)) {
    found = true;
    const op = m[3] ?? '';
    const arg = (m[4] ?? '').replace(/\s+/g, '');
    statements.push(op);
    if (op === 'dropDatabase') add('db.destructive', 'critical', `db.dropDatabase()`);
    else if (op === 'drop' || op === 'dropIndexes') add('db.destructive', 'high', clip(m[0]));
    else if ((op === 'deleteMany' || op === 'remove' || op === 'updateMany') && (arg === '' || arg === '{}' || arg.startsWith('{},'))) add('db.destructive', 'high', `${clip(m[0])} matches every document`);
  }
  if (!found && /\bdb\.[\w$.]+\s*\(/.test(query)) {
    statements.push('mongo');
    found = true;
  }
  return found;
}

/** Fallback when no grammar parses the text: look for the dangerous keywords. */
function keywords(query: string, add: (c: Category, r: Risk, e: string) => void): void {
  const q = query.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ');
  if (/\bdrop\s+(database|schema)\b/i.test(q)) add('db.destructive', 'critical', clip(/\bdrop\s+\w+\s+\S+/i.exec(q)?.[0] ?? 'DROP'));
  else if (/\bdrop\s+(table|view|index|user|role)\b/i.test(q)) add('db.destructive', 'high', clip(/\bdrop\s+\w+\s+\S+/i.exec(q)?.[0] ?? 'DROP'));
  if (/\btruncate\b/i.test(q)) add('db.destructive', 'high', 'TRUNCATE');
  if (/\bdelete\s+from\b/i.test(q) && !/\bwhere\b/i.test(q)) add('db.destructive', 'high', 'DELETE without WHERE');
  if (/\bupdate\s+\S+\s+set\b/i.test(q) && !/\bwhere\b/i.test(q)) add('db.destructive', 'high', 'UPDATE without WHERE');
  if (/\b(grant|revoke)\b/i.test(q)) add('priv.escalate', 'high', 'GRANT/REVOKE');
  if (/\balter\s+table\b[\s\S]*\bdrop\b/i.test(q)) add('db.destructive', 'high', 'ALTER TABLE … DROP');
}
