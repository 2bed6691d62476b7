/**
 * The SQL analyzer: parses a query with node-sql-parser (PostgreSQL, then MySQL, then
 * generic grammars) and flags what destroys or exposes data: DROP, TRUNCATE, ALTER … DROP,
 * DELETE/UPDATE without WHERE or with one that matches every row (`WHERE 1=1`), GRANT/REVOKE,
 * several statements in one string. Every statement that is not provably a pure read is at
 * least `db.write`. Read from the tokens as well (whatever the grammar made of them): MySQL
 * executable comments as code, dynamic SQL (`EXEC('…')`, `EXECUTE IMMEDIATE`,
 * `sp_executesql`) analyzed when literal and `high` when computed, file I/O on the server
 * (`INTO OUTFILE`, `LOAD DATA INFILE`, `COPY`, `pg_read_file`), OS commands (`xp_cmdshell`,
 * `COPY … PROGRAM`). MongoDB shell calls (`db.dropDatabase()`, `db.x.drop()`,
 * `deleteMany({})`) are recognized when no SQL grammar reads the text. A query no grammar
 * accepts is `parsed: false` at risk `high`, with keyword findings on top.
 */

import { createRequire } from 'node:module';
import type { Category } from '../core/categories.js';
import { maxRisk, type Risk } from '../core/risk.js';
import { analyzePath } from './path-analyzer.js';
import { PURE_FUNCTIONS, SIDE_EFFECT_FUNCTIONS, SIDE_EFFECT_PROCEDURES } from './sql-functions.js';
import { readingsOf, splitStatements, type Lexed, type Token } from './sql-lexer.js';
import { matchesEveryRow } from './sql-where.js';

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

/** Recursion limit for dynamic SQL inside dynamic SQL (`EXEC('EXEC(''…'')')`). */
const MAX_DEPTH = 4;

/**
 * Analyzes SQL text (or a MongoDB shell snippet). Never throws.
 *
 * @example analyzeSqlText('DELETE FROM users').risk // 'high'
 */
export function analyzeSqlText(query: string): SqlAnalysis {
  return analyzeAt(query, 0);
}

function analyzeAt(query: string, depth: number): SqlAnalysis {
  const findings: SqlFinding[] = [];
  const add: Add = (category, risk, evidence) => {
    if (!findings.some((f) => f.category === category && f.risk === risk && f.evidence === evidence)) findings.push({ category, risk, evidence });
  };
  // Every way a server may read the text (executable comments as code; MySQL and PostgreSQL
  // string escapes): a finding in any reading counts.
  let statements: string[] | undefined;
  let parsedSome = false;
  for (const reading of readingsOf(query)) {
    const ast = parseSql(reading.text);
    if (ast === undefined) {
      const mongoStatements: string[] = [];
      if (!reading.executable && mongo(reading.text, add, mongoStatements)) {
        statements ??= mongoStatements;
        parsedSome = true;
        continue;
      }
      keywords(reading.text, add);
    } else {
      parsedSome = true;
      const list = (Array.isArray(ast) ? ast : [ast]).map(unwrap).filter((s): s is Node => s !== undefined);
      // Counted from the tokens: the T-SQL grammar reads `MERGE INTO t …` as several assignments.
      const count = splitStatements(reading.tokens).length;
      if (count > 1) add('db.destructive', 'medium', `${count} statements in one query`);
      const types: string[] = [];
      for (const s of list) statement(s, add, types);
      statements ??= types;
    }
    tokenRules(reading, add, depth, findings);
  }
  return finish(query, parsedSome, statements ?? [], findings);
}

type Add = (category: Category, risk: Risk, evidence: string) => void;

function parseSql(text: string): unknown {
  for (const database of DIALECTS) {
    try {
      return sqlParser().astify(text, { database });
    } catch {
      // try the next grammar
    }
  }
  return undefined;
}

/** The T-SQL grammar wraps each statement as `{ stmt, vars }`. */
function unwrap(s: unknown): Node | undefined {
  if (typeof s !== 'object' || s === null) return undefined;
  const node = s as Node;
  if (node['type'] === undefined && typeof node['stmt'] === 'object' && node['stmt'] !== null) return node['stmt'] as Node;
  return node;
}

function finish(query: string, parsed: boolean, statements: string[], findings: SqlFinding[]): SqlAnalysis {
  let risk: Risk = parsed ? 'low' : 'high';
  for (const f of findings) risk = maxRisk(risk, f.risk);
  const categories = [...new Set(findings.map((f) => f.category))].sort();
  return { query, parsed, risk, categories, statements, findings };
}

function names(list: unknown): string {
  if (typeof list === 'string') return list;
  if (!Array.isArray(list)) return '';
  return list.map((t) => (typeof t === 'object' && t !== null ? String((t as Node)['table'] ?? (t as Node)['name'] ?? '') : String(t))).join(', ');
}

function statement(s: Node, add: Add, statements: string[]): void {
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
    case 'update': {
      const table = names(type === 'delete' ? (s['from'] ?? s['table']) : s['table']);
      const where = s['where'];
      if (where === null || where === undefined) add('db.destructive', 'high', `${type.toUpperCase()} without WHERE on ${table}`);
      else if (matchesEveryRow(where)) add('db.destructive', 'high', `${type.toUpperCase()} on ${table} with a WHERE that matches every row`);
      return;
    }
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

// ---------------------------------------------------------------------------------------
// Token rules: what each statement does, read from the tokens, whether or not a grammar
// accepted the text (the permissive grammars read `EXEC('…')` or `COPY t TO '…'` as
// assignments, and none reads `COPY … PROGRAM`).

/** Statements that only read, by their first word. */
const READ_LEADS = new Set(['select', 'with', 'values', 'table', 'show', 'describe', 'desc', 'explain', 'use', 'begin', 'start', 'commit', 'rollback', 'end', 'savepoint', 'release', 'abort']);
/** Leads whose statements are never scanned for writes inside (`SHOW CREATE TABLE t`). */
const OPAQUE_READS = new Set(['show', 'describe', 'desc', 'use']);
/** Words that make a statement led by a read word a write (`WITH d AS (DELETE …)`, `SELECT … INTO`, `FOR UPDATE`). */
const WRITE_WORDS = new Set(['insert', 'update', 'delete', 'merge', 'upsert', 'truncate', 'drop', 'create', 'alter', 'grant', 'revoke', 'into']);
/** Leads the AST rules already rate (destructive or privilege changes). */
const AST_RATED = new Set(['drop', 'truncate', 'grant', 'revoke']);
/** Data changes, rated low. */
const DML_LEADS = new Set([
  'insert',
  'update',
  'delete',
  'merge',
  'upsert',
  'replace',
  'set',
  'reset',
  'declare',
  'deallocate',
  'discard',
  'lock',
  'unlock',
  'flush',
  'analyze',
  'vacuum',
  'optimize',
  'checkpoint',
  'listen',
  'notify',
  'unlisten',
  'refresh',
  'reindex',
  'cluster',
  'close',
  'fetch',
  'move',
  'print',
  'raiserror',
  'throw',
  'waitfor',
  'go',
]);
/** Schema changes and procedure calls, rated medium. */
const DDL_LEADS = new Set(['create', 'alter', 'rename', 'comment', 'call', 'exec', 'execute', 'prepare', 'security']);
/** Words that can stand before `(` without being a function call. */
const NOT_CALLS = new Set(
  `in exists any all some values as over filter within using on and or not from join where select lateral row array by then else
  when case distinct is like ilike between union intersect except with returning having limit offset fetch into table group partition
  order rollup cube sets window top cross apply outer inner left right full natural escape recursive materialized tablesample
  repeatable at zone collate asc desc nulls first last only for of key share nowait skip locked similar to overlaps
  grouping interval`
    .split(/\s+/)
    .filter((w) => w !== ''),
);
/** Functions that run a query given as text (PostgreSQL). */
const DYNAMIC_SQL_FUNCTIONS = new Set(['query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema']);
const UNTRUSTED_LANGUAGES = new Set(['c', 'internal', 'plpythonu', 'plpython2u', 'plpython3u', 'plperlu', 'pltclu', 'plsh', 'plr', 'java']);

function isWord(t: Token | undefined, ...values: string[]): boolean {
  return t !== undefined && t.kind === 'word' && (values.length === 0 || values.includes(t.value));
}

function isPunct(t: Token | undefined, value: string): boolean {
  return t !== undefined && t.kind === 'punct' && t.value === value;
}

/** A string literal: `'…'`, `N'…'`, `$$…$$`, or `"…"` (a string in MySQL and in T-SQL with QUOTED_IDENTIFIER off). */
function isLiteral(t: Token | undefined): t is Token {
  return t !== undefined && (t.kind === 'string' || (t.kind === 'ident' && t.doubleQuoted === true));
}

/** The routine name at `i` (`master.dbo.xp_cmdshell`, `[dbo].[x]`), lowercased last part, and the index after it. */
function routineName(tokens: Token[], i: number): { name: string; end: number } | undefined {
  let j = i;
  let name: string | undefined;
  for (;;) {
    const t = tokens[j];
    if (t === undefined || (t.kind !== 'word' && t.kind !== 'ident')) break;
    name = t.value.toLowerCase();
    j++;
    if (!isPunct(tokens[j], '.')) break;
    while (isPunct(tokens[j], '.')) j++;
  }
  return name === undefined ? undefined : { name, end: j };
}

/** The string literals joined by `+` or `||` from `i` up to `stop`, or undefined when anything else is there. */
function literalConcat(tokens: Token[], i: number, stop: number): string | undefined {
  let text = '';
  let j = i;
  let expectLiteral = true;
  while (j < stop) {
    const t = tokens[j] as Token;
    if (expectLiteral) {
      if (!isLiteral(t)) return undefined;
      text += t.value;
      j++;
    } else if (isPunct(t, '+')) j++;
    else if (isPunct(t, '|') && isPunct(tokens[j + 1], '|')) j += 2;
    else return undefined;
    expectLiteral = !expectLiteral;
  }
  return expectLiteral ? undefined : text;
}

/** The index of the `)` that closes the `(` at `open`, or the end. */
function closing(tokens: Token[], open: number): number {
  let depth = 0;
  for (let j = open; j < tokens.length; j++) {
    if (isPunct(tokens[j], '(')) depth++;
    else if (isPunct(tokens[j], ')') && --depth === 0) return j;
  }
  return tokens.length;
}

function tokenRules(reading: Lexed, add: Add, depth: number, findings: readonly SqlFinding[]): void {
  const dynamic = (what: string, text: string | undefined) => {
    if (text === undefined) {
      add('exec.obfuscated', 'high', `${what} runs SQL built from a computed string`);
      add('db.write', 'high', `${what} runs SQL the analyzer cannot see`);
      return;
    }
    if (depth >= MAX_DEPTH) {
      add('exec.obfuscated', 'high', `${what}: dynamic SQL nested more than ${MAX_DEPTH} levels`);
      return;
    }
    const inner = analyzeAt(text, depth + 1);
    add('db.write', inner.parsed ? 'low' : 'high', `${what} runs dynamic SQL: ${clip(text)}`);
    for (const f of inner.findings) add(f.category, f.risk, `dynamic SQL: ${f.evidence}`);
  };
  for (const st of splitStatements(reading.tokens)) {
    let k = 0;
    while (isPunct(st[k], '(')) k++;
    const first = st[k];
    const lead = first?.kind === 'word' ? first.value : '';
    if (AST_RATED.has(lead)) astRatedFallback(st, k, lead, add, findings);
    statementRules(st, k, lead, add, dynamic);
    routineRules(st, add, dynamic);
  }
}

type Dynamic = (what: string, text: string | undefined) => void;

/**
 * DROP, TRUNCATE, GRANT and REVOKE are rated from the AST; this covers the statements the
 * grammar did not see (a reading it read differently, or text it could not read).
 */
function astRatedFallback(st: Token[], k: number, lead: string, add: Add, findings: readonly SqlFinding[]): void {
  const what = lead.toUpperCase();
  const object = st[k + 1]?.kind === 'word' ? (st[k + 1] as Token).value : '';
  const category: Category = lead === 'grant' || lead === 'revoke' ? 'priv.escalate' : 'db.destructive';
  const risk: Risk = lead === 'drop' && (object === 'database' || object === 'schema') ? 'critical' : 'high';
  if (findings.some((f) => f.category === category && f.risk === risk && f.evidence.toUpperCase().startsWith(what))) return;
  const target = st
    .slice(k + 1, k + 6)
    .filter((t) => t.kind === 'word' || t.kind === 'ident')
    .map((t) => (t.kind === 'word' ? t.value.toUpperCase() : t.value))
    .join(' ');
  add(category, risk, clip(`${what} ${target}`));
}

function statementRules(st: Token[], k: number, lead: string, add: Add, dynamic: Dynamic): void {
  const word = (i: number) => (st[i]?.kind === 'word' ? (st[i] as Token).value : '');
  if (READ_LEADS.has(lead)) {
    if (lead === 'explain' && !st.some((t) => isWord(t, 'analyze'))) return;
    // SHOW … WHERE f() calls functions too, but `SHOW CREATE TABLE` is no write.
    for (let i = OPAQUE_READS.has(lead) ? st.length : k + 1; i < st.length; i++) {
      const t = st[i] as Token;
      if (t.kind !== 'word') continue;
      if ((t.value === 'share' && isWord(st[i - 1], 'for', 'key')) || (t.value === 'lock' && isWord(st[i + 1], 'in'))) {
        add('db.write', 'low', `${lead.toUpperCase()} … FOR SHARE takes row locks: not a pure read`);
        break;
      }
      if (t.value === 'into' && (isWord(st[i + 1], 'outfile', 'dumpfile') || isLiteral(st[i + 1]))) continue; // file rules below
      if (WRITE_WORDS.has(t.value)) {
        add('db.write', 'low', `${lead.toUpperCase()} with ${t.value.toUpperCase()}: not a pure read`);
        break;
      }
    }
    for (let i = k + 1; i < st.length; i++) {
      const t = st[i] as Token;
      if ((t.kind === 'word' || t.kind === 'ident') && isPunct(st[i + 1], '(') && !isPunct(st[i - 1], '.')) {
        const r = routineName(st, i);
        const name = r?.name ?? t.value;
        if (t.kind === 'word' && NOT_CALLS.has(name)) continue;
        if (!PURE_FUNCTIONS.has(name) && !SIDE_EFFECT_FUNCTIONS.has(name) && !DYNAMIC_SQL_FUNCTIONS.has(name)) add('db.write', 'low', `calls \`${name}()\`, which may change data`);
      } else if (t.kind === 'word' && isPunct(st[i + 1], '.')) {
        const r = routineName(st, i);
        if (r !== undefined && isPunct(st[r.end], '(') && !PURE_FUNCTIONS.has(r.name) && !SIDE_EFFECT_FUNCTIONS.has(r.name) && !DYNAMIC_SQL_FUNCTIONS.has(r.name))
          add('db.write', 'low', `calls \`${r.name}()\`, which may change data`);
        if (r !== undefined) i = r.end - 1;
      }
    }
  } else if (lead === '') {
    if (st.length > 0) add('db.write', 'medium', 'a statement that does not start with a keyword (a procedure call?)');
  } else if (!AST_RATED.has(lead) && lead !== 'copy' && lead !== 'exec' && lead !== 'execute') {
    const what = lead.toUpperCase();
    if (DML_LEADS.has(lead)) add('db.write', 'low', `${what} changes data or session state`);
    else if (DDL_LEADS.has(lead)) add('db.write', 'medium', lead === 'call' ? `CALL runs a procedure` : lead === 'prepare' ? 'PREPARE defines a statement to run later' : `${what} changes the schema`);
    else add('db.write', 'medium', `\`${lead} …\`: a procedure call or a statement not known to only read`);
  }

  // INTO OUTFILE / DUMPFILE / '<path>' (MySQL SELECT, SQLite VACUUM INTO).
  for (let i = k; i < st.length; i++) {
    if (!isWord(st[i], 'into')) continue;
    const target = isWord(st[i + 1], 'outfile', 'dumpfile') ? st[i + 2] : lead !== 'insert' && lead !== 'replace' && lead !== 'merge' ? st[i + 1] : undefined;
    if (isLiteral(target)) fileAccess(`INTO ${isWord(st[i + 1], 'outfile', 'dumpfile') ? word(i + 1).toUpperCase() + ' ' : ''}writes a file on the database server`, 'write', target.value, add);
    else if (isWord(st[i + 1], 'outfile', 'dumpfile')) add('fs.write', 'high', `INTO ${word(i + 1).toUpperCase()} writes a file on the database server`);
  }

  switch (lead) {
    case 'load': {
      // LOAD DATA [LOCAL] INFILE '<path>' / LOAD XML … INFILE
      const at = st.findIndex((t) => isWord(t, 'infile'));
      if (at !== -1) {
        const path = st[at + 1];
        if (isLiteral(path)) fileAccess('LOAD … INFILE reads a file', 'read', path.value, add);
        else add('fs.read', 'high', 'LOAD … INFILE reads a file');
      }
      return;
    }
    case 'copy': {
      // COPY … TO STDOUT is the one read; anything else loads or writes
      let copyToClient = false;
      let depth = 0;
      for (let i = k + 1; i < st.length; i++) {
        if (isPunct(st[i], '(')) depth++;
        else if (isPunct(st[i], ')')) depth--;
        if (depth !== 0 || !isWord(st[i], 'from', 'to')) continue;
        const direction = word(i);
        if (isWord(st[i + 1], 'program'))
          add(
            'exec.remote_code',
            'high',
            `COPY … ${direction.toUpperCase()} PROGRAM runs an operating-system command on the database server${isLiteral(st[i + 2]) ? `: ${clip((st[i + 2] as Token).value)}` : ''}`,
          );
        else if (isLiteral(st[i + 1])) fileAccess(`COPY … ${direction.toUpperCase()} a file on the database server`, direction === 'from' ? 'read' : 'write', (st[i + 1] as Token).value, add);
        else if (direction === 'from' && !isWord(st[i + 1], 'stdin')) add('fs.read', 'high', 'COPY … FROM a source the analyzer cannot see');
        else if (direction === 'to' && !isWord(st[i + 1], 'stdout')) add('fs.write', 'high', 'COPY … TO a target the analyzer cannot see');
        copyToClient = direction === 'to' && isWord(st[i + 1], 'stdout');
        break;
      }
      if (!copyToClient) add('db.write', 'low', 'COPY statement: not a read');
      return;
    }
    case 'bulk': {
      const at = st.findIndex((t) => isWord(t, 'from'));
      if (at !== -1 && isLiteral(st[at + 1])) fileAccess('BULK INSERT reads a file', 'read', (st[at + 1] as Token).value, add);
      else add('fs.read', 'high', 'BULK INSERT reads a file');
      return;
    }
    case 'backup':
      add('fs.write', 'high', 'BACKUP writes a file on the database server');
      return;
    case 'restore':
      add('db.destructive', 'high', 'RESTORE overwrites a database');
      return;
    case 'attach': {
      const path = isWord(st[k + 1], 'database') ? st[k + 2] : st[k + 1];
      if (isLiteral(path)) fileAccess('ATTACH opens or creates a database file', 'write', path.value, add);
      else add('fs.write', 'high', 'ATTACH opens or creates a database file');
      return;
    }
    case 'kill':
      add('proc.kill', 'high', 'KILL ends another session');
      return;
    case 'shutdown':
      add('service.control', 'high', 'SHUTDOWN stops the database server');
      return;
    case 'reconfigure':
      add('service.control', 'high', 'RECONFIGURE applies a server configuration change');
      return;
    case 'do':
      add('exec.interpreter', 'high', 'DO runs a procedural code block the analyzer does not model');
      return;
    case 'alter':
      if (isWord(st[k + 1], 'system')) add('service.control', 'high', 'ALTER SYSTEM changes the server configuration');
      return;
    case 'create': {
      const at = st.findIndex((t) => isWord(t, 'language'));
      const language = at === -1 ? undefined : st[at + 1];
      if (language !== undefined && (language.kind === 'word' || language.kind === 'ident' || language.kind === 'string') && UNTRUSTED_LANGUAGES.has(language.value.toLowerCase())) {
        add('exec.remote_code', 'high', `CREATE … LANGUAGE ${language.value}: code that runs with the database server's operating-system rights`);
      }
      return;
    }
    case 'exec':
    case 'execute':
      execRules(st, k, add, dynamic);
      return;
    case 'prepare': {
      // MySQL PREPARE s FROM '<sql>' | @var; PostgreSQL PREPARE s [(types)] AS <statement>
      const from = st.findIndex((t) => isWord(t, 'from'));
      const as = st.findIndex((t) => isWord(t, 'as'));
      if (from !== -1 && (as === -1 || from < as)) dynamic('PREPARE … FROM', literalConcat(st, from + 1, st.length));
      return;
    }
    default:
      return;
  }
}

function execRules(st: Token[], k: number, add: Add, dynamic: Dynamic): void {
  const what = (st[k] as Token).value.toUpperCase();
  let i = k + 1;
  if (isWord(st[i], 'immediate')) {
    dynamic(`${what} IMMEDIATE`, literalConcat(st, i + 1, nextKeyword(st, i + 1)));
    return;
  }
  if (isPunct(st[i], '(')) {
    const close = closing(st, i);
    dynamic(`${what}(…)`, literalConcat(st, i + 1, close));
    return;
  }
  // EXEC @status = name …; EXEC @sql; EXEC name …
  if (st[i]?.kind === 'var' && isPunct(st[i + 1], '=')) i += 2;
  else if (st[i]?.kind === 'var') {
    dynamic(what, undefined);
    return;
  }
  const r = routineName(st, i);
  if (r?.name === 'sp_executesql') {
    const arg = st[r.end];
    dynamic(`${what} sp_executesql`, isLiteral(arg) ? literalConcat(st, r.end, nextComma(st, r.end)) : undefined);
  } else if (r !== undefined) add('db.write', 'medium', `${what} runs procedure \`${r.name}\``);
  else dynamic(what, isLiteral(st[i]) ? literalConcat(st, i, nextKeyword(st, i)) : undefined);
}

function nextKeyword(st: Token[], from: number): number {
  const at = st.findIndex((t, j) => j >= from && isWord(t, 'using', 'into'));
  return at === -1 ? st.length : at;
}

function nextComma(st: Token[], from: number): number {
  const at = st.findIndex((t, j) => j >= from && isPunct(t, ','));
  return at === -1 ? st.length : at;
}

/** Procedures and functions that reach outside the database, wherever they appear (bare `xp_cmdshell 'whoami'` runs it). */
function routineRules(st: Token[], add: Add, dynamic: Dynamic): void {
  for (let i = 0; i < st.length; i++) {
    const t = st[i] as Token;
    if (t.kind !== 'word' && t.kind !== 'ident') continue;
    if (isPunct(st[i - 1], '.')) continue;
    const r = routineName(st, i);
    if (r === undefined) continue;
    if (DYNAMIC_SQL_FUNCTIONS.has(r.name) && isPunct(st[r.end], '(')) {
      // query_to_xml('<sql>', …) runs its first argument
      const arg = st[r.end + 1];
      dynamic(`\`${r.name}()\``, isLiteral(arg) ? literalConcat(st, r.end + 1, nextComma(st, r.end + 1)) : undefined);
    }
    const procedure = SIDE_EFFECT_PROCEDURES.get(r.name);
    const fn = isPunct(st[r.end], '(') ? SIDE_EFFECT_FUNCTIONS.get(r.name) : undefined;
    const found = procedure ?? fn ?? (isPunct(st[r.end], '(') && /^pg_ls_/.test(r.name) ? SIDE_EFFECT_FUNCTIONS.get('pg_ls_dir') : undefined);
    if (found !== undefined) {
      // The path is the first literal among the next few tokens (bounded: no rescans of long input).
      const pathToken = found.path === undefined ? undefined : st.slice(r.end, r.end + 8).find(isLiteral);
      const evidence = `\`${r.name}\` ${found.what}`;
      if (pathToken !== undefined && found.path !== undefined) fileAccess(evidence, found.path, pathToken.value, add, found.category, found.risk);
      else add(found.category, found.risk, evidence);
      if (found.write === true) add('db.write', 'low', evidence);
    }
    i = r.end - 1;
  }
}

/**
 * A file the database server reads or writes: at least `high` (the path is the server's, not
 * the agent's workspace), plus what the path analyzer says of the path (secrets, startup
 * files, `authorized_keys`).
 */
function fileAccess(evidence: string, access: 'read' | 'write' | 'delete', path: string, add: Add, category?: Category, risk: Risk = 'high'): void {
  add(category ?? (access === 'read' ? 'fs.read' : access === 'write' ? 'fs.write' : 'fs.delete'), risk, `${evidence}: ${clip(path)}`);
  const p = analyzePath(path.startsWith('/') || path.startsWith('~') ? path : '/' + path, { access });
  for (const f of p.findings) if (f.risk !== 'low') add(f.category, f.risk, f.evidence);
}

// ---------------------------------------------------------------------------------------
// MongoDB shell snippets (only when no SQL grammar reads the text).

const MONGO =
  /\bdb(\.getSiblingDB\([^)]*\))?\.([\w$]+|getCollection\([^)]*\))?\.?(dropDatabase|drop|deleteMany|remove|updateMany|findOneAndDelete|deleteOne|dropIndexes|renameCollection)\s*\(([^)]*)\)/g;
/** Methods that only read (collections, cursors, the database handle). */
const MONGO_READS = new Set(
  `find findOne aggregate count countDocuments estimatedDocumentCount distinct getIndexes getIndexKeys getIndexSpecs stats explain
  getCollection getCollectionNames getCollectionInfos listCollections getSiblingDB getName getMongo getDB hello isMaster
  serverStatus version dataSize totalSize storageSize totalIndexSize watch limit sort skip project projection batchSize hint
  comment maxTimeMS collation readConcern readPref allowDiskUse toArray pretty forEach map hasNext next itcount size min max
  returnKey showRecordId tailable noCursorTimeout getShardDistribution printShardingStatus isCapped latencyStats ObjectId
  ISODate Date NumberLong NumberInt NumberDecimal UUID print printjson log`
    .split(/\s+/)
    .filter((w) => w !== ''),
);

function mongo(query: string, add: Add, statements: string[]): boolean {
  if (!/\bdb\./.test(query)) return false;
  let found = false;
  for (const m of query.matchAll(MONGO)) {
    found = true;
    const op = m[3] ?? '';
    const arg = (m[4] ?? '').replace(/\s+/g, '');
    statements.push(op);
    if (op === 'dropDatabase') add('db.destructive', 'critical', `db.dropDatabase()`);
    else if (op === 'drop' || op === 'dropIndexes') add('db.destructive', 'high', clip(m[0]));
    else if ((op === 'deleteMany' || op === 'remove' || op === 'updateMany') && (arg === '' || arg === '{}' || arg.startsWith('{},')))
      add('db.destructive', 'high', `${clip(m[0])} matches every document`);
  }
  if (!found && /\bdb\.[\w$.]+\s*\(/.test(query)) {
    statements.push('mongo');
    found = true;
  }
  if (!found) return false;
  // What is not known to read counts as a write (insertOne, updateOne, createIndex, runCommand, …).
  for (const m of query.matchAll(/\.\s*([A-Za-z_$][\w$]*)\s*\(/g)) {
    const method = m[1] ?? '';
    if (!MONGO_READS.has(method) && !/^drop(Database|Indexes)?$/.test(method)) add('db.write', 'low', `MongoDB \`${method}()\` may change data`);
  }
  if (/\$(out|merge)\b/.test(query)) add('db.write', 'low', 'MongoDB aggregation writes with `$out`/`$merge`');
  return true;
}

/** Fallback when no grammar parses the text: look for the dangerous keywords. */
function keywords(query: string, add: Add): void {
  const q = query.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ');
  if (/\bdrop\s+(database|schema)\b/i.test(q)) add('db.destructive', 'critical', clip(/\bdrop\s+\w+\s+\S+/i.exec(q)?.[0] ?? 'DROP'));
  else if (/\bdrop\s+(table|view|index|user|role)\b/i.test(q)) add('db.destructive', 'high', clip(/\bdrop\s+\w+\s+\S+/i.exec(q)?.[0] ?? 'DROP'));
  if (/\btruncate\b/i.test(q)) add('db.destructive', 'high', 'TRUNCATE');
  if (/\bdelete\s+from\b/i.test(q) && !/\bwhere\b/i.test(q)) add('db.destructive', 'high', 'DELETE without WHERE');
  if (/\bupdate\s+\S+\s+set\b/i.test(q) && !/\bwhere\b/i.test(q)) add('db.destructive', 'high', 'UPDATE without WHERE');
  if (/\b(grant|revoke)\b/i.test(q)) add('priv.escalate', 'high', 'GRANT/REVOKE');
  if (/\balter\s+table\b[\s\S]*\bdrop\b/i.test(q)) add('db.destructive', 'high', 'ALTER TABLE … DROP');
}
