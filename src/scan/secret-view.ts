/**
 * The normalised view of a text that the secret scanner reads besides the text itself: what a
 * reader (or the tool receiving the text) sees once escapes are decoded and invisible
 * characters are gone. A key hidden by `AKIA%5A…`, `AKIA\u200b…`, a soft hyphen, fullwidth
 * letters or `A K I A …` reads as the key here. Each character of the view remembers the span
 * of the original text it came from, so findings (and redaction) cover the original characters.
 *
 * Steps, each linear in the text:
 * 1. escapes: `%XX` runs (as UTF-8), `\xXX`, `\uXXXX`, `\u{…}` and `&#…;` decoded, twice at
 *    most (double encoding);
 * 2. Unicode: format characters (category Cf: zero-width space and joiners, soft hyphen, bidi
 *    controls, tag characters), default-ignorable code points (variation selectors, Hangul
 *    fillers) and combining marks dropped; compatibility forms decomposed (NFKD: fullwidth
 *    `Ａ` is `A`, `ﬁ` is `fi`);
 * 3. spaced-out characters: a run of at least {@link MIN_SPACED} single token characters
 *    separated by blanks (`A K I A Z 7 …`) joined. Ordinary prose has no such runs, and a
 *    joined run is still only reported when a rule matches it.
 */

/** A view and, per view character, the original span `[start[i], end[i])` it comes from. */
export interface SecretView {
  text: string;
  start: Int32Array;
  end: Int32Array;
  /**
   * True when only step 2 changed the text: every ASCII character is kept as it was, so the
   * view holds every match the text has and need not be read besides the text.
   */
  unicodeOnly?: boolean;
}

/** Fewest single characters in a spaced-out run worth joining (the shortest keys are 20). */
export const MIN_SPACED = 12;

const ESCAPE_HINT = /%[0-9A-Fa-f]{2}|\\x[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f{]|&#[0-9xX]/;
const NON_ASCII = /[^\x00-\x7f]/;
const NON_ASCII_RUN = /[^\x00-\x7f]+/g;
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{M}]/u;
const INVISIBLE_ALL = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{M}]/gu;
// INVARIANT: linear: the separator and the token classes are disjoint, so each repetition has
// one way to match; the lookarounds fail at most one repetition back.
const SPACED = /(?<!\S)[A-Za-z0-9+/=_-](?:[ \t\r\n\u00a0]{1,3}[A-Za-z0-9+/=_-]){11,}(?!\S)/g;

/** Builds a view: its text in parts, the spans in typed arrays that grow by doubling. */
class Builder {
  private parts: string[] = [];
  private length = 0;
  private start: Int32Array;
  private end: Int32Array;
  constructor(capacity: number) {
    this.start = new Int32Array(Math.max(16, capacity));
    this.end = new Int32Array(Math.max(16, capacity));
  }
  private reserve(n: number): void {
    if (this.length + n <= this.start.length) return;
    const size = Math.max(this.start.length * 2, this.length + n);
    const start = new Int32Array(size);
    const end = new Int32Array(size);
    start.set(this.start.subarray(0, this.length));
    end.set(this.end.subarray(0, this.length));
    this.start = start;
    this.end = end;
  }
  /** Appends characters that all come from the original span `[s, e)`. */
  push(chars: string, s: number, e: number): void {
    this.reserve(chars.length);
    this.parts.push(chars);
    this.start.fill(s, this.length, this.length + chars.length);
    this.end.fill(e, this.length, this.length + chars.length);
    this.length += chars.length;
  }
  /** Copies `text[from, to)` unchanged, each character keeping its own span. */
  copy(text: string, from: number, to: number, src: SecretView | undefined): void {
    if (to <= from) return;
    this.reserve(to - from);
    this.parts.push(text.slice(from, to));
    if (src !== undefined) {
      this.start.set(src.start.subarray(from, to), this.length);
      this.end.set(src.end.subarray(from, to), this.length);
    } else {
      for (let k = from, at = this.length; k < to; k++, at++) {
        this.start[at] = k;
        this.end[at] = k + 1;
      }
    }
    this.length += to - from;
  }
  finish(): SecretView {
    return { text: this.parts.join(''), start: this.start.subarray(0, this.length), end: this.end.subarray(0, this.length) };
  }
}

/** Original span of the characters `[from, to)` of `src` (a view or the text itself). */
function spanOf(src: SecretView | undefined, from: number, to: number): [number, number] {
  if (src === undefined) return [from, to];
  return [src.start[from] as number, src.end[to - 1] as number];
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

const ESCAPES = /(?:%[0-9A-Fa-f]{2})+|\\x([0-9A-Fa-f]{2})|\\u(?:([0-9A-Fa-f]{4})|\{([0-9A-Fa-f]{1,6})\})|&#(?:[xX]([0-9A-Fa-f]{1,6})|([0-9]{1,7}));/g;

/** The character(s) one escape stands for; undefined when it stands for no code point. */
function unescapeMatch(m: RegExpExecArray): string | undefined {
  const [whole, x, u4, ux, hx, dec] = m;
  if (whole.startsWith('%')) {
    const bytes = Uint8Array.from({ length: whole.length / 3 }, (_, k) => parseInt(whole.slice(3 * k + 1, 3 * k + 3), 16));
    try {
      return UTF8.decode(bytes);
    } catch {
      return Buffer.from(bytes).toString('latin1');
    }
  }
  const cp = x !== undefined ? parseInt(x, 16) : (u4 ?? ux ?? hx) !== undefined ? parseInt((u4 ?? ux ?? hx) as string, 16) : parseInt(dec as string, 10);
  return cp <= 0x10ffff ? String.fromCodePoint(cp) : undefined;
}

/** One round of escape decoding; undefined when nothing was decoded. */
function decodeEscapes(text: string, src: SecretView | undefined): SecretView | undefined {
  if (!ESCAPE_HINT.test(text)) return undefined;
  const b = new Builder(text.length);
  let changed = false;
  let cursor = 0;
  ESCAPES.lastIndex = 0;
  for (let m = ESCAPES.exec(text); m !== null; m = ESCAPES.exec(text)) {
    const decoded = unescapeMatch(m);
    if (decoded === undefined) continue;
    b.copy(text, cursor, m.index, src);
    const [s, e] = spanOf(src, m.index, m.index + m[0].length);
    b.push(decoded, s, e);
    changed = true;
    cursor = m.index + m[0].length;
  }
  if (!changed) return undefined;
  b.copy(text, cursor, text.length, src);
  return b.finish();
}

/**
 * For each BMP code unit, 1 when the secret view changes it (dropped or decomposed), built on
 * the first text with non-ASCII characters. Surrogates are looked at as code points.
 */
let changing: Uint8Array | undefined;
function changingTable(): Uint8Array {
  if (changing !== undefined) return changing;
  const table = new Uint8Array(65536);
  for (let c = 0x80; c < 65536; c++) {
    if (c >= 0xd800 && c < 0xe000) {
      table[c] = 1;
      continue;
    }
    const ch = String.fromCharCode(c);
    if (INVISIBLE.test(ch) || ch.normalize('NFKD') !== ch) table[c] = 1;
  }
  return (changing = table);
}

/** What the view makes of one code point, cached per BMP code unit. */
const folded: (string | undefined)[] = [];
function fold(cp: string): string {
  return cp.normalize('NFKD').replace(INVISIBLE_ALL, '');
}

/** Invisible characters dropped, compatibility forms decomposed; undefined when unchanged. */
function normaliseUnicode(text: string, src: SecretView | undefined): SecretView | undefined {
  if (!NON_ASCII.test(text)) return undefined;
  const table = changingTable();
  const b = new Builder(text.length);
  let changed = false;
  let cursor = 0;
  const n = text.length;
  // The ASCII stretches between non-ASCII characters are skipped by a native search.
  NON_ASCII_RUN.lastIndex = 0;
  for (let m = NON_ASCII_RUN.exec(text); m !== null; m = NON_ASCII_RUN.exec(text)) {
    const runEnd = m.index + m[0].length;
    for (let i = Math.max(m.index, cursor); i < runEnd; i++) {
      const c = text.charCodeAt(i);
      if (table[c] === 0) continue;
      // A character the view changes: the stretch before it is copied whole.
      b.copy(text, cursor, i, src);
      const cp = String.fromCodePoint(text.codePointAt(i) as number);
      const [s, e] = spanOf(src, i, i + cp.length);
      const out = cp.length === 1 ? (folded[c] ??= fold(cp)) : fold(cp);
      if (out !== cp) changed = true;
      if (out !== '') b.push(out, s, e);
      i += cp.length - 1;
      cursor = i + 1;
    }
  }
  if (!changed) return undefined;
  b.copy(text, cursor, n, src);
  return b.finish();
}

/** Spaced-out runs joined; undefined when there is none. */
function joinSpaced(text: string, src: SecretView | undefined): SecretView | undefined {
  SPACED.lastIndex = 0;
  if (!SPACED.test(text)) return undefined;
  const b = new Builder(text.length);
  let cursor = 0;
  SPACED.lastIndex = 0;
  for (let m = SPACED.exec(text); m !== null; m = SPACED.exec(text)) {
    b.copy(text, cursor, m.index, src);
    for (let k = m.index; k < m.index + m[0].length; k++) if (!/\s/.test(text[k] as string)) b.copy(text, k, k + 1, src);
    cursor = m.index + m[0].length;
  }
  b.copy(text, cursor, text.length, src);
  return b.finish();
}

/**
 * The normalised view of a text, or undefined when it reads the same as the text (all ASCII,
 * no escapes, no spaced-out run: most texts, decided by three native searches).
 *
 * @example secretView('AKIA\u200bZ7VQ3XKPL2M4N5TR')?.text // 'AKIAZ7VQ3XKPL2M4N5TR'
 */
export function secretView(text: string): SecretView | undefined {
  let view: SecretView | undefined;
  for (let round = 0; round < 2; round++) {
    const next = decodeEscapes(view?.text ?? text, view);
    if (next === undefined) break;
    view = next;
  }
  const escaped = view !== undefined;
  view = normaliseUnicode(view?.text ?? text, view) ?? view;
  const unicode = view !== undefined && !escaped;
  const joined = joinSpaced(view?.text ?? text, view);
  if (joined !== undefined) return joined;
  if (view !== undefined && unicode) view.unicodeOnly = true;
  return view;
}
