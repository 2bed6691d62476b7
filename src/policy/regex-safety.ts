/**
 * Rejects regular expressions that can backtrack catastrophically before a policy that
 * carries them is ever evaluated. JavaScript's engine backtracks, so `(a+)+$` on a long run
 * of `a`s never finishes: a policy author (or an attacker who can edit policy) must not be
 * able to turn one request into a denial of service.
 *
 * The check is structural, in the spirit of `safe-regex` and RE2's restrictions: it parses
 * the pattern and rejects
 * - nested quantifiers (star height above one): `(a+)+`, `(\w*\s?)*`, `(?:x{2,})+`;
 * - a quantified group whose alternatives can match the same text: `(a|a)*`, `(\w|\d)+`;
 * - back-references (they make matching NP-hard), lookbehind with quantifiers;
 * - patterns longer than 1,000 characters.
 * It errs on the side of rejecting: a rejected pattern can always be rewritten.
 */

export type RegexCheck = { ok: true; regex: RegExp } | { ok: false; message: string };

const MAX_LENGTH = 1000;

/**
 * Compiles `pattern` (with optional flags) after checking it cannot backtrack
 * catastrophically.
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
  const problem = analyze(pattern);
  if (problem) return { ok: false, message: problem };
  return { ok: true, regex };
}

/** Walks the pattern keeping a stack of groups; returns a problem description or undefined. */
function analyze(pattern: string): string | undefined {
  // Each frame: does the group contain a quantifier, and its alternatives' texts.
  const stack: { hasQuantifier: boolean; alternatives: string[]; current: string }[] = [
    { hasQuantifier: false, alternatives: [], current: '' },
  ];
  let i = 0;
  let lastAtomQuantifiable = false;
  let lastGroup: { hasQuantifier: boolean; alternatives: string[] } | undefined;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    const top = stack[stack.length - 1] as (typeof stack)[number];
    if (c === '\\') {
      top.current += pattern.slice(i, i + 2);
      i += 2;
      lastAtomQuantifiable = true;
      lastGroup = undefined;
      continue;
    }
    if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '^') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : 1;
      top.current += pattern.slice(i, j + 1);
      i = j + 1;
      lastAtomQuantifiable = true;
      lastGroup = undefined;
      continue;
    }
    if (c === '(') {
      let skip = 1;
      if (pattern.startsWith('(?<=', i) || pattern.startsWith('(?<!', i)) skip = 4;
      else if (pattern.startsWith('(?:', i) || pattern.startsWith('(?=', i) || pattern.startsWith('(?!', i)) skip = 3;
      else if (pattern.startsWith('(?<', i)) skip = pattern.indexOf('>', i) - i + 1;
      stack.push({ hasQuantifier: false, alternatives: [], current: '' });
      i += skip;
      lastAtomQuantifiable = false;
      continue;
    }
    if (c === ')') {
      const frame = stack.pop();
      if (!frame || stack.length === 0) return 'unbalanced parentheses';
      frame.alternatives.push(frame.current);
      const parent = stack[stack.length - 1] as (typeof stack)[number];
      parent.current += '(' + frame.alternatives.join('|') + ')';
      if (frame.hasQuantifier) parent.hasQuantifier = true;
      lastGroup = frame;
      lastAtomQuantifiable = true;
      i++;
      continue;
    }
    if (c === '|') {
      top.alternatives.push(top.current);
      top.current = '';
      lastAtomQuantifiable = false;
      i++;
      continue;
    }
    const quant = quantifierAt(pattern, i);
    if (quant > 0) {
      if (!lastAtomQuantifiable) return undefined; // the RegExp constructor already accepted it
      const unbounded = isUnboundedOrLarge(pattern.slice(i, i + quant));
      if (lastGroup && unbounded) {
        if (lastGroup.hasQuantifier) return 'nested quantifiers: a quantified group contains a quantifier (catastrophic backtracking)';
        if (overlapping(lastGroup.alternatives)) return 'a quantified group has alternatives that can match the same text (catastrophic backtracking)';
      }
      if (unbounded) top.hasQuantifier = true;
      top.current += pattern.slice(i, i + quant);
      i += quant;
      lastAtomQuantifiable = false;
      lastGroup = undefined;
      continue;
    }
    top.current += c;
    lastAtomQuantifiable = c !== '^' && c !== '$';
    lastGroup = undefined;
    i++;
  }
  return undefined;
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

/** Alternatives that share a first character class (roughly) can match the same text. */
function overlapping(alternatives: string[]): boolean {
  if (alternatives.length < 2) return false;
  const firsts = alternatives.map(firstClass);
  for (let a = 0; a < firsts.length; a++) {
    for (let b = a + 1; b < firsts.length; b++) {
      const x = firsts[a] as string;
      const y = firsts[b] as string;
      if (x === '*' || y === '*' || x === y) return true;
      if (classContains(x, y) || classContains(y, x)) return true;
    }
  }
  return false;
}

const WORD = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;

function firstClass(alt: string): string {
  if (alt === '') return '';
  if (alt.startsWith('\\')) return alt.slice(0, 2);
  if (alt.startsWith('[') || alt.startsWith('(') || alt.startsWith('.')) return '*';
  return alt[0] as string;
}

function classContains(outer: string, inner: string): boolean {
  if (outer === '\\w') return inner === '\\d' || (inner.length === 1 && WORD.test(inner));
  if (outer === '\\d') return inner.length === 1 && DIGIT.test(inner);
  if (outer === '\\S') return inner !== '\\s' && inner !== ' ';
  if (outer === '\\s') return inner === ' ' || inner === '\\t';
  return false;
}
