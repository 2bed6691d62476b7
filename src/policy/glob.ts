/**
 * Glob patterns for actions, resources, environments and argument values: `*` matches any
 * run of characters (including `:`, `.` and `/`), `?` one character, `[abc]` / `[!a-z]` a
 * class, `\` escapes the next character. Compiled once to an anchored RegExp.
 */

export type GlobResult = { ok: true; test: (value: string) => boolean; literal: string | undefined; prefix: string } | { ok: false; message: string };

const SPECIAL = /[*?[\\]/;

/**
 * Compiles a glob. `literal` is set when the pattern has no wildcard (so callers can index
 * it); `prefix` is the literal text before the first wildcard.
 *
 * @example compileGlob('sys:*') // { ok: true, test: (v) => v.startsWith('sys:'), prefix: 'sys:', literal: undefined }
 */
export function compileGlob(pattern: string): GlobResult {
  if (pattern === '') return { ok: false, message: 'empty pattern' };
  if (!SPECIAL.test(pattern)) return { ok: true, test: (v) => v === pattern, literal: pattern, prefix: pattern };
  if (pattern === '*') return { ok: true, test: () => true, literal: undefined, prefix: '' };
  let source = '^';
  let prefix = '';
  let literalSoFar = true;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return { ok: false, message: 'pattern ends with a lone backslash' };
      source += escapeRegex(next);
      if (literalSoFar) prefix += next;
      i++;
    } else if (c === '*') {
      // Collapse runs of stars: `**` means the same as `*` and must not backtrack twice.
      while (pattern[i + 1] === '*') i++;
      source += '[\\s\\S]*';
      literalSoFar = false;
    } else if (c === '?') {
      source += '[\\s\\S]';
      literalSoFar = false;
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) return { ok: false, message: 'unclosed `[` in pattern' };
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      if (body === '') return { ok: false, message: 'empty character class in pattern' };
      source += '[' + (negate ? '^' : '') + body.replace(/[\\\]^]/g, (m) => '\\' + m) + ']';
      literalSoFar = false;
      i = close;
    } else {
      source += escapeRegex(c);
      if (literalSoFar) prefix += c;
    }
  }
  source += '$';
  let re: RegExp;
  try {
    re = new RegExp(source, 's');
  } catch {
    return { ok: false, message: 'malformed character class in pattern' };
  }
  return { ok: true, test: (v) => re.test(v), literal: undefined, prefix };
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
