/**
 * A small SQL lexer for the SQL analyzer: splits a query into words, quoted identifiers,
 * strings, numbers, variables and punctuation, skipping comments. It exists for the facts a
 * grammar cannot be trusted with: MySQL executable comments (`/*! DROP DATABASE x *\/` runs on
 * MySQL), string and comment boundaries that differ between dialects (`'a\'` ends after the
 * backslash in PostgreSQL, not in MySQL; `#` starts a comment in MySQL only; PostgreSQL nests
 * block comments), and calls and statements that the permissive grammars misread.
 *
 * `readingsOf()` returns each distinct way a server may read the text, rewritten (comments
 * blanked, backslashes doubled where they are not escapes) so that node-sql-parser reads it
 * the same way; the analyzer analyzes every reading.
 */

export type TokenKind = 'word' | 'ident' | 'string' | 'number' | 'var' | 'punct';

export interface Token {
  kind: TokenKind;
  /** Words lowercased, identifiers and strings unquoted, anything else as written. */
  value: string;
  /** True for a double-quoted token, a string in MySQL and an identifier elsewhere. */
  doubleQuoted?: boolean;
}

export interface Lexed {
  tokens: Token[];
  /** The text with executable-comment markers blanked, for the grammar. */
  text: string;
  /** True when some string held a backslash (the two escape conventions may then differ). */
  backslash: boolean;
  /** True when the text had a MySQL or MariaDB executable comment. */
  executable: boolean;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$#\u0080-\uffff]/;

/** How a dialect family reads quotes and comments. */
export type SqlDialect = 'mysql' | 'standard';

/**
 * Lexes SQL the way one dialect family does. `mysql`: a backslash escapes the next character
 * in quoted text, `#` and `-- ` start line comments, block comments do not nest, and the body
 * of `/*! … *\/` is code. `standard` (PostgreSQL, SQLite, T-SQL): only `E'…'` strings know
 * backslash escapes, block comments nest, `/*! … *\/` is a comment. Comments are blanked in the
 * returned text, and in `standard` mode backslashes in plain strings are doubled, so that the
 * grammar (which always honours backslash escapes) sees the same boundaries.
 *
 * @example lex('/*!50000 DROP DATABASE prod *\/', 'mysql').tokens[0].value // 'drop'
 */
export function lex(sql: string, dialect: SqlDialect): Lexed {
  const mysql = dialect === 'mysql';
  const tokens: Token[] = [];
  let out = '';
  let i = 0;
  let inExecutable = false;
  let executable = false;
  let backslash = false;
  const n = sql.length;
  const blank = (text: string) => text.replace(/[^\n]/g, ' ');
  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      out += c;
      i++;
    } else if ((c === '-' && next === '-' && (!mysql || i + 2 >= n || /\s/.test(sql[i + 2] as string))) || (c === '#' && mysql)) {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      out += blank(sql.slice(i, stop));
      i = stop;
    } else if (c === '/' && next === '*') {
      const marker = mysql ? /^\/\*M?!\d{0,6}/.exec(sql.slice(i, i + 10)) : null;
      if (marker !== null && !inExecutable) {
        // INVARIANT: the body of an executable comment is code, whatever version it names.
        executable = true;
        inExecutable = true;
        out += blank(marker[0]);
        i += marker[0].length;
      } else {
        const stop = commentEnd(sql, i, !mysql);
        out += blank(sql.slice(i, stop));
        i = stop;
      }
    } else if (c === '*' && next === '/' && inExecutable) {
      inExecutable = false;
      out += '  ';
      i += 2;
    } else if (c === "'" || ((c === 'E' || c === 'e') && next === "'" && !WORD_PART.test(sql[i - 1] ?? ' '))) {
      const escapes = mysql || c !== "'";
      const start = c === "'" ? i : i + 1;
      const r = quoted(sql, start, "'", escapes);
      if (sql.slice(start, r.end).includes('\\')) backslash = true;
      tokens.push({ kind: 'string', value: r.value });
      const raw = sql.slice(i, r.end);
      out += escapes ? raw : raw.replace(/\\/g, '\\\\');
      i = r.end;
    } else if (c === '"') {
      const r = quoted(sql, i, '"', mysql);
      tokens.push({ kind: 'ident', value: r.value, doubleQuoted: true });
      out += sql.slice(i, r.end);
      i = r.end;
    } else if (c === '`') {
      const r = quoted(sql, i, '`', false);
      tokens.push({ kind: 'ident', value: r.value });
      out += sql.slice(i, r.end);
      i = r.end;
    } else if (c === '[' && /^\[[^\]\n]*\]/.test(sql.slice(i, i + 130)) && !/[\w\])]\s*$/.test(sql.slice(Math.max(0, i - 1), i))) {
      const end = sql.indexOf(']', i);
      tokens.push({ kind: 'ident', value: sql.slice(i + 1, end) });
      out += sql.slice(i, end + 1);
      i = end + 1;
    } else if (c === '$' && /^\$([A-Za-z_]\w*)?\$/.test(sql.slice(i, i + 66))) {
      const tag = (/^\$([A-Za-z_]\w*)?\$/.exec(sql.slice(i, i + 66)) as RegExpExecArray)[0];
      const end = sql.indexOf(tag, i + tag.length);
      const stop = end === -1 ? n : end + tag.length;
      tokens.push({ kind: 'string', value: sql.slice(i + tag.length, end === -1 ? n : end) });
      out += sql.slice(i, stop);
      i = stop;
    } else if ((c === '@' || c === '$' || c === ':') && next !== undefined && /[\w@]/.test(next) && !(c === ':' && sql[i - 1] === ':')) {
      let j = i + 1;
      while (j < n && /[\w@$#.]/.test(sql[j] as string)) j++;
      tokens.push({ kind: 'var', value: sql.slice(i, j) });
      out += sql.slice(i, j);
      i = j;
    } else if (/[0-9]/.test(c) || (c === '.' && next !== undefined && /[0-9]/.test(next))) {
      let j = i + 1;
      while (j < n && /[0-9A-Za-z_.]/.test(sql[j] as string)) j++;
      tokens.push({ kind: 'number', value: sql.slice(i, j) });
      out += sql.slice(i, j);
      i = j;
    } else if (WORD_START.test(c)) {
      let j = i + 1;
      while (j < n && WORD_PART.test(sql[j] as string)) j++;
      const word = sql.slice(i, j);
      if (/^u$/i.test(word) && sql[j] === '&' && sql[j + 1] === '"') {
        // U&"\0070g_read_file": a PostgreSQL identifier with Unicode escapes
        const r = quoted(sql, j + 1, '"', false);
        tokens.push({ kind: 'ident', value: unicodeEscapes(r.value) });
        out += sql.slice(i, r.end);
        i = r.end;
        continue;
      }
      // N'…', X'…', B'…', U&'…' are strings with a prefix: let the string branch take the quote.
      if (sql[j] === "'" && /^(n|x|b|u&?)$/i.test(word)) {
        out += word;
        i = j;
        continue;
      }
      tokens.push({ kind: 'word', value: word.toLowerCase() });
      out += word;
      i = j;
    } else {
      tokens.push({ kind: 'punct', value: c });
      out += c;
      i++;
    }
  }
  return { tokens, text: out, backslash, executable };
}

/** Decodes `\XXXX` and `\+XXXXXX` (PostgreSQL's default `UESCAPE`). */
function unicodeEscapes(text: string): string {
  return text.replace(/\\(?:\+([0-9A-Fa-f]{6})|([0-9A-Fa-f]{4})|\\)/g, (m, long: string | undefined, short: string | undefined) => {
    const hex = long ?? short;
    if (hex === undefined) return '\\';
    const code = parseInt(hex, 16);
    return code <= 0x10ffff ? String.fromCodePoint(code) : m;
  });
}

/** The index after the block comment that opens at `start` (nested when `nests`), or the end. */
function commentEnd(sql: string, start: number, nests: boolean): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth = nests ? depth + 1 : 1;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      i += 2;
      if (--depth === 0) return i;
    } else i++;
  }
  return sql.length;
}

function quoted(sql: string, start: number, quote: string, escapes: boolean): { value: string; end: number } {
  let value = '';
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (escapes && c === '\\' && i + 1 < sql.length) {
      value += sql[i + 1];
      i += 2;
    } else if (c === quote && sql[i + 1] === quote) {
      value += quote;
      i += 2;
    } else if (c === quote) {
      return { value, end: i + 1 };
    } else {
      value += c;
      i++;
    }
  }
  return { value, end: sql.length };
}

/**
 * Each distinct reading of the text: MySQL's and the standard one (PostgreSQL and the rest),
 * or just one when both read it alike.
 */
export function readingsOf(sql: string): Lexed[] {
  const mysql = lex(sql, 'mysql');
  const standard = lex(sql, 'standard');
  return standard.text === mysql.text ? [mysql] : [mysql, standard];
}

/** Splits tokens into statements at `;`. */
export function splitStatements(tokens: Token[]): Token[][] {
  const out: Token[][] = [[]];
  for (const t of tokens) {
    if (t.kind === 'punct' && t.value === ';') out.push([]);
    else (out[out.length - 1] as Token[]).push(t);
  }
  return out.filter((s) => s.length > 0);
}
