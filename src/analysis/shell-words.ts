/**
 * Turns tree-sitter word nodes into the strings bash would pass to a program: quotes
 * removed, `$'…'` and backslash escapes decoded, `~` and known variables expanded, brace
 * expansion applied. A word whose value depends on something the analyzer cannot know
 * (an unknown variable, a command substitution, `${x:0:1}`) comes back as not literal, so
 * a command name built that way is reported as obfuscated instead of guessed at.
 */

import type { Node } from 'web-tree-sitter';

/** One resolved word (possibly several after brace expansion). */
export interface Word {
  /** The values bash would produce; one unless brace expansion applied. */
  values: string[];
  /** False when some part of the word is not known statically. */
  literal: boolean;
  /** True when an unquoted `*`, `?` or `[…]` remains (a glob the shell expands). */
  glob: boolean;
  /**
   * Per value, the glob pattern bash would match (quoted metacharacters escaped with `\`),
   * set only when `glob` is true.
   */
  patterns?: string[];
  /** The source text of the word. */
  raw: string;
  /** Outputs of the command and process substitutions inside the word. */
  subs: SubOutput[];
  /** Names of the unknown variables the word uses. */
  unknownVars: string[];
  /** True when the word uses `$IFS`, a classic filter-evasion trick. */
  ifs: boolean;
}

/** What a command produces on stdout, as far as the analyzer can tell. */
export interface SubOutput {
  /** Downloaded from the network. */
  download?: boolean;
  /** Decoded (base64, hex, …): opaque to the analyzer. */
  decoded?: boolean;
  /** Secret material (keys, credentials, environment dumps). */
  secret?: boolean;
  /** The exact text, when the analyzer can compute it (echo, printf, heredocs). */
  text?: string;
  /** The output is a list of paths under this directory (find, ls). */
  pathsUnder?: string;
  /** The output is the bytes of this program file (`cat /bin/sh`), so a file it fills is that program. */
  program?: string;
  /** The output of a shell running commands from its stdin: sent to a socket, a reverse shell. */
  shell?: boolean;
}

/** What word resolution needs from the analyzer: variables, home and substitutions. */
export interface WordScope {
  home: string;
  cwd: string | undefined;
  lookup(name: string): string | undefined;
  /** Analyzes a `$(…)`, `` `…` `` or `<(…)` node and says what it outputs. */
  substitute(node: Node): SubOutput;
  /** Reports a node kind inside a word that the resolver does not model. */
  unknownNode(node: Node): void;
}

// Private-use code points mark unquoted brace and glob characters, so quoted ones are inert.
const LBRACE = '\uE000';
const RBRACE = '\uE001';
const COMMA = '\uE002';
const STAR = '\uE003';
const QMARK = '\uE004';
const LBRACKET = '\uE005';
const MAX_EXPANSIONS = 256;

interface Acc {
  out: string;
  literal: boolean;
  subs: SubOutput[];
  unknownVars: string[];
  ifs: boolean;
}

/**
 * Removes backslash-newline line continuations outside single quotes, as bash does before
 * parsing; tree-sitter-bash would otherwise split `rm -r\<newline>f` into two words.
 */
export function joinContinuations(source: string): string {
  if (!source.includes('\\\n') && !source.includes('\\\r\n')) return source;
  let out = '';
  let single = false;
  let double = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    if (single) {
      if (c === "'") single = false;
      out += c;
      continue;
    }
    if (c === '\\') {
      const next = source[i + 1];
      if (next === '\n') {
        i++;
        continue;
      }
      if (next === '\r' && source[i + 2] === '\n') {
        i += 2;
        continue;
      }
      out += c + (next ?? '');
      i++;
      continue;
    }
    if (c === "'" && !double) single = true;
    else if (c === '"') double = !double;
    out += c;
  }
  return out;
}

/**
 * Resolves one argument node.
 *
 * @example resolveWord(node /* r''m *\/, scope).values // ['rm']
 */
export function resolveWord(node: Node, scope: WordScope): Word {
  const acc: Acc = { out: '', literal: true, subs: [], unknownVars: [], ifs: false };
  piece(node, scope, acc, true);
  const values = acc.literal ? expandBraces(acc.out) : [acc.out];
  const glob = acc.out.includes(STAR) || acc.out.includes(QMARK) || hasBracket(acc.out);
  const word: Word = {
    values: values.map(restore),
    literal: acc.literal,
    glob,
    raw: node.text,
    subs: acc.subs,
    unknownVars: acc.unknownVars,
    ifs: acc.ifs,
  };
  if (glob && acc.literal) word.patterns = values.map(toPattern);
  return word;
}

/** An unquoted `[` with a `]` after it: a bracket expression bash matches against files. */
function hasBracket(s: string): boolean {
  const open = s.indexOf(LBRACKET);
  return open >= 0 && s.indexOf(']', open + 2) > 0;
}

function restore(s: string): string {
  return s.replace(/[\uE000-\uE005]/g, (c) => ({ [LBRACE]: '{', [RBRACE]: '}', [COMMA]: ',', [STAR]: '*', [QMARK]: '?', [LBRACKET]: '[' })[c] ?? c);
}

/** The marked string as a bash glob pattern: unquoted metacharacters live, quoted ones escaped. */
function toPattern(s: string): string {
  let out = '';
  for (const c of s) {
    if (c === STAR) out += '*';
    else if (c === QMARK) out += '?';
    else if (c === LBRACKET) out += '[';
    else if (c === LBRACE || c === RBRACE || c === COMMA) out += restore(c);
    else if (c === '*' || c === '?' || c === '[' || c === '\\') out += '\\' + c;
    else out += c;
  }
  return out;
}

function piece(node: Node, scope: WordScope, acc: Acc, first: boolean): void {
  switch (node.type) {
    case 'word':
    case 'number':
    case 'variable_name':
    case 'special_variable_name':
    case 'test_operator':
    case 'regex':
    case 'extglob_pattern':
      unquoted(node.text, scope, acc, first);
      return;
    case 'raw_string':
      acc.out += node.text.slice(1, -1);
      return;
    case 'ansi_c_string':
      acc.out += decodeAnsiC(node.text.slice(2, -1));
      return;
    case 'string':
    case 'translated_string':
      for (const child of node.children) {
        if (child === null) continue;
        if (child.type === 'string_content') acc.out += unescapeDouble(child.text);
        else if (child.type === '"' || child.type === '$"' || child.type === '$') {
          if (child.type === '$') acc.out += '$';
        } else piece(child, scope, acc, false);
      }
      return;
    case 'concatenation': {
      let i = 0;
      for (const child of node.children) {
        if (child !== null) piece(child, scope, acc, first && i === 0);
        i++;
      }
      return;
    }
    case 'brace_expression': {
      // {1..3}: expand numerically here, it never contains quotes.
      acc.out += node.text.replace(/[{},*?]/g, (c) => ({ '{': LBRACE, '}': RBRACE, ',': COMMA, '*': STAR, '?': QMARK })[c] ?? c);
      return;
    }
    case 'simple_expansion':
    case 'expansion':
      expansion(node, scope, acc);
      return;
    case 'command_substitution':
    case 'process_substitution':
      acc.literal = false;
      acc.out += node.text;
      acc.subs.push(scope.substitute(node));
      return;
    case 'arithmetic_expansion':
      acc.literal = false;
      acc.out += node.text;
      for (const child of node.descendantsOfType(['command_substitution'])) if (child) acc.subs.push(scope.substitute(child));
      return;
    default:
      scope.unknownNode(node);
      acc.literal = false;
      acc.out += node.text;
  }
}

function unquoted(text: string, scope: WordScope, acc: Acc, first: boolean): void {
  let i = 0;
  if (first && text.startsWith('~')) {
    const m = /^~([a-z_][a-z0-9_-]*)?(?=\/|$)/i.exec(text);
    if (m !== null) {
      const user = m[1];
      acc.out += user === undefined ? scope.home : user === 'root' ? '/root' : `/home/${user}`;
      i = m[0].length;
    }
  }
  for (; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\') {
      const next = text[i + 1];
      if (next !== undefined) acc.out += next;
      i++;
    } else if (c === '{') acc.out += LBRACE;
    else if (c === '}') acc.out += RBRACE;
    else if (c === ',') acc.out += COMMA;
    else if (c === '*') acc.out += STAR;
    else if (c === '?') acc.out += QMARK;
    else if (c === '[') acc.out += LBRACKET;
    else acc.out += c;
  }
}

function expansion(node: Node, scope: WordScope, acc: Acc): void {
  const text = node.text;
  const m = /^\$\{?([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])\}?$/.exec(text);
  const name = m?.[1];
  if (name === 'IFS' || text.includes('IFS')) acc.ifs = true;
  if (name !== undefined) {
    const value = scope.lookup(name);
    if (value !== undefined) {
      acc.out += value;
      return;
    }
    acc.unknownVars.push(name);
  } else {
    for (const child of node.descendantsOfType(['command_substitution'])) if (child) acc.subs.push(scope.substitute(child));
  }
  acc.literal = false;
  acc.out += text;
}

function unescapeDouble(text: string): string {
  return text.replace(/\\([$`"\\\n])/g, (_, c: string) => (c === '\n' ? '' : c));
}

/** Decodes the body of a `$'…'` string. */
export function decodeAnsiC(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|[0-7]{1,3}|c.|.)/gs, (_, e: string) => {
    const k = e[0];
    if (k === 'x' || k === 'u' || k === 'U') return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (k !== undefined && k >= '0' && k <= '7') return String.fromCharCode(parseInt(e, 8));
    if (k === 'c') return String.fromCharCode(e.charCodeAt(1) & 0x1f);
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v' };
    return simple[e] ?? e;
  });
}

/** Expands `{a,b}` and `{1..3}` on unquoted (marked) braces, capped at MAX_EXPANSIONS. */
function expandBraces(s: string): string[] {
  const open = s.indexOf(LBRACE);
  if (open < 0) return [s];
  let depth = 0;
  const commas: number[] = [];
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === LBRACE) depth++;
    else if (c === RBRACE) {
      depth--;
      if (depth === 0) {
        const prefix = s.slice(0, open);
        const suffix = s.slice(i + 1);
        const body = s.slice(open + 1, i);
        let alternatives: string[] | undefined;
        if (commas.length > 0) {
          alternatives = [];
          let start = open + 1;
          for (const c2 of [...commas, i]) {
            alternatives.push(s.slice(start, c2));
            start = c2 + 1;
          }
        } else {
          alternatives = sequence(body);
        }
        if (alternatives === undefined) {
          // Not an expansion: keep the braces literally and look further on.
          return expandBraces(prefix + '{' + body + '}' + suffix).map((x) => x);
        }
        const out: string[] = [];
        for (const alt of alternatives) {
          for (const v of expandBraces(prefix + alt + suffix)) {
            out.push(v);
            if (out.length >= MAX_EXPANSIONS) return out;
          }
        }
        return out;
      }
    } else if (c === COMMA && depth === 1) commas.push(i);
  }
  return [s];
}

function sequence(body: string): string[] | undefined {
  const m = /^(-?\d+|[a-zA-Z])\.\.(-?\d+|[a-zA-Z])$/.exec(body);
  if (m === null) return undefined;
  const [a, b] = [m[1] as string, m[2] as string];
  const numeric = /\d/.test(a);
  const from = numeric ? Number(a) : a.charCodeAt(0);
  const to = numeric ? Number(b) : b.charCodeAt(0);
  const out: string[] = [];
  const step = from <= to ? 1 : -1;
  for (let v = from; out.length < MAX_EXPANSIONS; v += step) {
    out.push(numeric ? String(v) : String.fromCharCode(v));
    if (v === to) break;
  }
  return out;
}
