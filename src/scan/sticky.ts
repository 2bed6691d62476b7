/**
 * Running a pattern only where a match can begin: the scanners find candidate start
 * positions cheaply (keyword hits, labels) and try a sticky copy of the pattern there, instead
 * of searching the whole text.
 */

/** The pattern as a sticky (`y`) regex, without `g`. */
export function sticky(pattern: RegExp): RegExp {
  return new RegExp(pattern.source, pattern.flags.replace('g', '') + 'y');
}

/**
 * The pattern's matches starting at the given positions, left to right and without overlap:
 * what `text.matchAll` finds when every place a match can start is among `starts`. `starts` is
 * sorted in place.
 */
export function matchesAt(text: string, pattern: RegExp, starts: number[]): RegExpExecArray[] {
  starts.sort((a, b) => a - b);
  const out: RegExpExecArray[] = [];
  let lastEnd = 0;
  let previous = -1;
  for (const start of starts) {
    if (start === previous || start < lastEnd) continue;
    previous = start;
    pattern.lastIndex = start;
    const m = pattern.exec(text);
    if (m === null) continue;
    out.push(m);
    // An empty match must still move past its start, as matchAll does.
    lastEnd = start + Math.max(1, m[0].length);
  }
  return out;
}
