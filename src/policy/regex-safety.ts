/**
 * Regular expressions that cannot hang the process.
 *
 * Policy regexes (the `regex` matcher and CEL `matches()`) run on RE2 (`re2js`, a pure
 * JavaScript port), which matches in time linear in the input whatever the pattern: no
 * pattern a policy author (or an attacker who can edit policy) writes can turn one request
 * into a denial of service. `compilePolicyRegex` compiles one; what RE2 cannot run in linear
 * time (back-references, lookaround) is a load error.
 *
 * Bastion's own patterns (the scanners' secret, personal-data and injection rules) run on
 * JavaScript's backtracking engine, for lookbehind and speed. `checkRegex` is the structural
 * check a test runs over every one of them, in the spirit of `safe-regex`; it rejects
 * - nested quantifiers (star height above one): `(a+)+`, `(\w*\s?)*`, `(?:x{2,})+`;
 * - a repeated group with alternatives, at any depth inside it, that can start with the same
 *   character: `(a|a)*`, `(\w|\d)+`, `(\s|\W)*`, `(?:(?:a|a))*`, `((a|aa))*`;
 * - two unbounded quantifiers in a row (only optional atoms between) over characters that
 *   overlap, which backtrack polynomially: `\s*\s*x`, `.*.*=`, `[a-z]+[a-z]+!`, `\s*,?\s+`;
 * - back-references, and patterns longer than 1,000 characters.
 * Overlap is decided exactly over the Basic Multilingual Plane by testing each atom (a
 * character, escape, class or `.`) on every code unit; groups and anchors count as
 * overlapping everything. It errs on the side of rejecting.
 */

import { RE2JS } from 're2js';

export type RegexCheck = { ok: true; regex: RegExp } | { ok: false; message: string };

/** A policy regex compiled for RE2: `test` finds the pattern anywhere in the value. */
export type PolicyRegex = { ok: true; test: (value: string) => boolean } | { ok: false; message: string };

const MAX_LENGTH = 1000;

/**
 * Compiles a policy pattern (RE2 syntax, as CEL specifies for `matches()`) for linear-time
 * matching. Unanchored: write `^…$` to match the whole value.
 *
 * @example compilePolicyRegex('^(a+)+$') // { ok: true, test } — linear, so nothing to reject
 * @example compilePolicyRegex('(a)\\1') // { ok: false, message: 'RE2 cannot compile it: … back-references …' }
 */
export function compilePolicyRegex(pattern: string): PolicyRegex {
  if (pattern.length > MAX_LENGTH) return { ok: false, message: `pattern is longer than ${MAX_LENGTH} characters` };
  if (/\\[1-9]|\\k</.test(pattern)) return { ok: false, message: 'back-references are not supported (RE2 matches in linear time and has none)' };
  if (/\(\?<?[=!]/.test(pattern)) return { ok: false, message: 'lookahead and lookbehind are not supported (RE2 matches in linear time and has none)' };
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    return { ok: false, message: `invalid RE2 regular expression: ${(err as Error).message.replace(/^error parsing regexp: /, '')}` };
  }
  return { ok: true, test: (value) => re.test(value) };
}

/**
 * Compiles `pattern` (with optional flags) for JavaScript's engine after checking it cannot
 * backtrack catastrophically.
 *
 * @example checkRegex('^(a+)+$') // { ok: false, message: 'nested quantifiers …' }
 */
export function checkRegex(pattern: string, flags = ''): RegexCheck {
  if (pattern.length > MAX_LENGTH) return { ok: false, message: `pattern is longer than ${MAX_LENGTH} characters` };
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, flags);
  } catch (err) {
    return { ok: false, message: `invalid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}` };
  }
  if (/\\[1-9]|\\k</.test(pattern)) return { ok: false, message: 'back-references are not allowed (they can make matching take exponential time)' };
  const problem = analyze(pattern, flags.replace(/[gyd]/g, ''));
  if (problem) return { ok: false, message: problem };
  return { ok: true, regex };
}

interface Frame {
  /** Some atom inside carries an unbounded (or large) quantifier. */
  hasQuantifier: boolean;
  /** Some alternation inside (this group's or a nested one's) has overlapping alternatives. */
  overlap: boolean;
  alternatives: string[];
  current: string;
  /** The atoms under unbounded quantifiers since the last atom that must match. */
  pending: string[];
}

const frame = (): Frame => ({ hasQuantifier: false, overlap: false, alternatives: [], current: '', pending: [] });

/** Walks the pattern keeping a stack of groups; returns a problem description or undefined. */
function analyze(pattern: string, flags: string): string | undefined {
  const stack: Frame[] = [frame()];
  let i = 0;
  // The atom just read (its text, or `(` for a group) and, for a group, its frame.
  let lastAtom: string | undefined;
  let lastGroup: Frame | undefined;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    const top = stack[stack.length - 1] as Frame;
    const quant = quantifierAt(pattern, i);
    if (quant > 0) {
      const q = pattern.slice(i, i + quant);
      if (lastAtom === undefined) return undefined; // the RegExp constructor already accepted it
      const unbounded = isUnboundedOrLarge(q);
      if (lastGroup && unbounded) {
        if (lastGroup.hasQuantifier) return 'nested quantifiers: a quantified group contains a quantifier (catastrophic backtracking)';
        if (lastGroup.overlap) return 'a quantified group has alternatives that can match the same text (catastrophic backtracking)';
      }
      if (unbounded) {
        const atom = lastAtom;
        if (top.pending.some((p) => mayOverlap(p, atom, flags))) {
          return 'two unbounded quantifiers in a row over characters that overlap (polynomial backtracking)';
        }
        top.hasQuantifier = true;
        top.pending.push(atom);
      } else if (!isOptional(q)) top.pending = [];
      top.current += q;
      i += quant;
      lastAtom = undefined;
      lastGroup = undefined;
      continue;
    }
    // An atom not followed by a quantifier ends any run of unbounded quantifiers.
    if (lastAtom !== undefined) top.pending = [];
    lastAtom = undefined;
    lastGroup = undefined;
    if (c === '(') {
      let skip = 1;
      if (pattern.startsWith('(?<=', i) || pattern.startsWith('(?<!', i)) skip = 4;
      else if (pattern.startsWith('(?:', i) || pattern.startsWith('(?=', i) || pattern.startsWith('(?!', i)) skip = 3;
      else if (pattern.startsWith('(?<', i)) skip = pattern.indexOf('>', i) - i + 1;
      stack.push(frame());
      i += skip;
      continue;
    }
    if (c === ')') {
      const closed = stack.pop();
      if (!closed || stack.length === 0) return 'unbalanced parentheses';
      closed.alternatives.push(closed.current);
      if (overlapping(closed.alternatives, flags)) closed.overlap = true;
      const parent = stack[stack.length - 1] as Frame;
      parent.current += '(' + closed.alternatives.join('|') + ')';
      if (closed.hasQuantifier) parent.hasQuantifier = true;
      if (closed.overlap) parent.overlap = true;
      lastGroup = closed;
      lastAtom = '(';
      i++;
      continue;
    }
    if (c === '|') {
      top.alternatives.push(top.current);
      top.current = '';
      top.pending = [];
      i++;
      continue;
    }
    const len = atomLength(pattern, i);
    const atom = pattern.slice(i, i + len);
    top.current += atom;
    lastAtom = c === '^' || c === '$' ? undefined : atom;
    if (lastAtom === undefined) top.pending = [];
    i += len;
  }
  return undefined;
}

/** Length of the atom at `i`: an escape (`\d`, `\x41`, `\u{1F600}`, `\p{L}`), a class or one character. */
function atomLength(p: string, i: number): number {
  const c = p[i];
  if (c === '\\') {
    const n = p[i + 1];
    if ((n === 'p' || n === 'P' || n === 'u') && p[i + 2] === '{') {
      const close = p.indexOf('}', i);
      return close < 0 ? 2 : close - i + 1;
    }
    if (n === 'x') return 4;
    if (n === 'u') return 6;
    if (n === 'c') return 3;
    return 2;
  }
  if (c === '[') {
    let j = i + 1;
    if (p[j] === '^') j++;
    if (p[j] === ']') j++;
    while (j < p.length && p[j] !== ']') j += p[j] === '\\' ? 2 : 1;
    return j - i + 1;
  }
  return 1;
}

/** Length of the quantifier at `i` (`*`, `+`, `?`, `{n,m}`, with a lazy `?`), or 0. */
function quantifierAt(p: string, i: number): number {
  const c = p[i];
  let n = 0;
  if (c === '*' || c === '+' || c === '?') n = 1;
  else if (c === '{') {
    const m = /^\{\d+(,\d*)?\}/.exec(p.slice(i));
    if (m) n = m[0].length;
  }
  if (n > 0 && p[i + n] === '?') n++;
  return n;
}

function isUnboundedOrLarge(q: string): boolean {
  if (q.startsWith('*') || q.startsWith('+')) return true;
  const m = /^\{(\d+)(,(\d*))?\}/.exec(q);
  if (!m) return false;
  if (m[2] !== undefined && (m[3] === undefined || m[3] === '')) return true;
  return Number(m[3] ?? m[1]) > 10;
}

/** A quantifier that allows zero repetitions (`?`, `{0,n}`). */
function isOptional(q: string): boolean {
  return q.startsWith('?') || q.startsWith('*') || /^\{0[,}]/.test(q);
}

/** Can two alternatives of one group start with the same character? */
function overlapping(alternatives: string[], flags: string): boolean {
  if (alternatives.length < 2) return false;
  const firsts = alternatives.map(firstAtom);
  for (let a = 0; a < firsts.length; a++) {
    for (let b = a + 1; b < firsts.length; b++) if (mayOverlap(firsts[a] as string, firsts[b] as string, flags)) return true;
  }
  return false;
}

/**
 * The first atom of an alternative, or `(` when it is not one plain atom: an empty
 * alternative, a group, an anchor, or an atom that may repeat zero times.
 */
function firstAtom(alt: string): string {
  if (alt === '' || alt[0] === '(' || alt[0] === '^' || alt[0] === '$') return '(';
  const len = atomLength(alt, 0);
  const next = alt[len];
  if (next === '?' || next === '*' || (next === '{' && /^\{0[,}]/.test(alt.slice(len)))) return '(';
  return alt.slice(0, len);
}

const CHARSETS = new Map<string, Uint8Array | undefined>();

/** Which BMP code units the atom matches (undefined: unknown, so it overlaps everything). */
function charset(atom: string, flags: string): Uint8Array | undefined {
  const key = flags + '\0' + atom;
  if (CHARSETS.has(key)) return CHARSETS.get(key);
  let set: Uint8Array | undefined;
  if (atom !== '(') {
    try {
      const re = new RegExp('^(?:' + atom + ')$', flags);
      set = new Uint8Array(0x10000);
      for (let code = 0; code < 0x10000; code++) if (re.test(String.fromCharCode(code))) set[code] = 1;
    } catch {
      set = undefined;
    }
  }
  CHARSETS.set(key, set);
  return set;
}

function mayOverlap(a: string, b: string, flags: string): boolean {
  const x = charset(a, flags);
  const y = charset(b, flags);
  if (x === undefined || y === undefined) return true;
  // An atom outside the BMP (an astral literal or \p{…} with only astral members) is unknown.
  let xs = false;
  let ys = false;
  for (let code = 0; code < 0x10000; code++) {
    if (x[code] === 1 && y[code] === 1) return true;
    xs ||= x[code] === 1;
    ys ||= y[code] === 1;
  }
  return !xs || !ys;
}
