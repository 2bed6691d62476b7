/**
 * Encoded runs for the secret scanner: base64 (standard and URL-safe, across line breaks) and
 * hex runs that decode to text, which the scanner reads again, and base64 that decodes to a
 * private key's DER structure (a PEM body without its `-----BEGIN` line).
 *
 * INVARIANT: bounded: a run shorter than {@link MIN_RUN} is not decoded, a decoded run must be
 * at least 90 % printable to be read as text (counted on the bytes, before any string is
 * built), and the scanner reads decoded text at most {@link MAX_DEPTH} levels deep. Decoding
 * shrinks a run (to 3/4 for base64, 1/2 for hex), so the text read at all levels together is
 * less than three times the input.
 */

/** Fewest characters in a run worth decoding (base64 of 15 bytes; the shortest keys are 20). */
export const MIN_RUN = 20;
/** Levels of decoding (base64 inside hex inside base64 is three). */
export const MAX_DEPTH = 3;

/** Hex bytes with a separator between them (`41 4b 49 …`, `41:4b:49:…`). */
const SEPARATED_HEX_RUN = /(?<![0-9A-Fa-f])[0-9A-Fa-f]{2}(?:[ :][0-9A-Fa-f]{2}){9,}(?![0-9A-Fa-f])/g;

/** Hex digits and the separators of {@link SEPARATED_HEX_RUN}. */
const HEX_OR_SEPARATOR = new Uint8Array(65536);
for (const c of '0123456789abcdefABCDEF :') HEX_OR_SEPARATOR[c.charCodeAt(0)] = 1;
/** Shortest separated run: ten bytes and nine separators. */
const MIN_SEPARATED = 29;

/**
 * {@link SEPARATED_HEX_RUN} matches, probed like {@link base64Runs}: the pattern runs only over
 * stretches of hex digits and separators long enough to hold one.
 */
function separatedHexRuns(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let covered = 0;
  const inSet = (i: number): boolean => HEX_OR_SEPARATOR[text.charCodeAt(i)] === 1;
  for (let probe = MIN_SEPARATED - 1; probe < text.length; probe += MIN_SEPARATED) {
    if (probe < covered || !inSet(probe)) continue;
    let start = probe;
    while (start > 0 && inSet(start - 1)) start--;
    let end = probe + 1;
    while (inSet(end)) end++;
    covered = end;
    if (end - start < MIN_SEPARATED) continue;
    // One character of context each side, for the pattern's boundaries.
    const from = Math.max(0, start - 1);
    const stretch = text.slice(from, end + 1);
    SEPARATED_HEX_RUN.lastIndex = 0;
    for (let m = SEPARATED_HEX_RUN.exec(stretch); m !== null; m = SEPARATED_HEX_RUN.exec(stretch)) out.push({ start: from + m.index, end: from + m.index + m[0].length });
  }
  return out;
}

/**
 * Base64 (standard and URL-safe) characters; hex digits are among them. Indexed by any UTF-16
 * code unit, as out-of-range reads of a typed array take V8's slow path.
 */
const B64 = new Uint8Array(65536);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-') B64[c.charCodeAt(0)] = 1;
const isB64 = (text: string, i: number): boolean => B64[text.charCodeAt(i)] === 1;

/** Length of a line break at `i` (`\n` or `\r\n`) followed by at least 4 run characters, else 0. */
function continuation(text: string, i: number): number {
  const nl = text.charCodeAt(i) === 13 && text.charCodeAt(i + 1) === 10 ? 2 : text.charCodeAt(i) === 10 ? 1 : 0;
  if (nl === 0) return 0;
  for (let k = 0; k < 4; k++) if (!isB64(text, i + nl + k)) return 0;
  return nl;
}

/**
 * Runs of at least {@link MIN_RUN} base64 characters (with `=` padding, continued over line
 * breaks as PEM bodies are). Found by probing every MIN_RUN-th character, as any run that long
 * covers a probe, and measuring the run there: the text is touched at a twentieth of its
 * characters plus the runs themselves, not matched at every offset by a pattern.
 */
function base64Runs(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let covered = 0;
  for (let probe = MIN_RUN - 1; probe < text.length; probe += MIN_RUN) {
    if (probe < covered || !isB64(text, probe)) continue;
    let start = probe;
    while (start > 0 && isB64(text, start - 1)) start--;
    let end = probe + 1;
    while (isB64(text, end)) end++;
    if (end - start < MIN_RUN) continue;
    // Padding, then further lines of the same body.
    for (;;) {
      while (text.charCodeAt(end) === 61 && end - start > 0) end++;
      const nl = continuation(text, end);
      if (nl === 0) break;
      end += nl;
      while (isB64(text, end)) end++;
    }
    out.push({ start, end });
    covered = end;
  }
  return out;
}

export interface EncodedRun {
  start: number;
  end: number;
  encoding: 'base64' | 'hex';
  /** The decoded text, when the run decodes to text. */
  text?: string;
  /** True when the run decodes to a private key's DER or OpenSSH structure. */
  privateKey?: boolean;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as a string of the same code units (faster than `Buffer#toString('latin1')` for the many short runs). */
function latin1(bytes: Uint8Array): string {
  let out = '';
  for (let at = 0; at < bytes.length; at += 8192) out += String.fromCharCode(...bytes.subarray(at, at + 8192));
  return out;
}

/**
 * The decoded bytes as text when they are valid UTF-8 and at least 90 % printable (random
 * bytes, hashes and images fail; checked before any string is built).
 */
function asText(bytes: Uint8Array): string | undefined {
  if (bytes.length < 12) return undefined;
  let printable = 0;
  let high = 0;
  // Bytes neither printable nor UTF-8: once the rest cannot reach 90 %, the count below fails.
  let other = 0;
  const minKept = 0.9 * bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if ((c >= 0x20 && c < 0x7f) || c === 0x09 || c === 0x0a || c === 0x0d) printable++;
    else if (c < 0x80) {
      if (bytes.length - ++other < minKept) return undefined;
    } else {
      // A UTF-8 sequence: a lead byte and its continuation bytes (checked here, as a decoder
      // that throws on random bytes costs more than the whole count).
      const more = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
      if (more < 0) return undefined;
      for (let k = 1; k <= more; k++) {
        const n = bytes[i + k];
        if (n === undefined || n < 0x80 || n > 0xbf) return undefined;
      }
      high += more + 1;
      i += more;
    }
  }
  if (printable + high < 0.9 * bytes.length) return undefined;
  if (high === 0) return latin1(bytes);
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** One DER element: tag, where its content starts and how long it is. */
interface Tlv {
  tag: number;
  at: number;
  length: number;
}

function readTlv(bytes: Uint8Array, offset: number): Tlv | undefined {
  const tag = bytes[offset];
  let first = bytes[offset + 1];
  if (tag === undefined || first === undefined) return undefined;
  let at = offset + 2;
  let length = first;
  if (first >= 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 3) return undefined;
    length = 0;
    for (let k = 0; k < count; k++) {
      first = bytes[at + k];
      if (first === undefined) return undefined;
      length = length * 256 + first;
    }
    at += count;
  }
  return { tag, at, length };
}

/** The first `max` elements inside a constructed element (a truncated body keeps what it has). */
function children(bytes: Uint8Array, parent: Tlv, max: number): Tlv[] {
  const out: Tlv[] = [];
  const end = Math.min(bytes.length, parent.at + parent.length);
  let offset = parent.at;
  while (out.length < max && offset < end) {
    const child = readTlv(bytes, offset);
    if (child === undefined) break;
    out.push(child);
    offset = child.at + child.length;
  }
  return out;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const OID = 0x06;
/** 1.2.840.113549.1.5 (PKCS #5 PBES) and 1.2.840.113549.1.12 (PKCS #12 PBE), DER-encoded. */
const PBE_OID_PREFIXES = [
  [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05],
  [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c],
];
const OPENSSH_MAGIC = Array.from('openssh-key-v1\0', (c) => c.charCodeAt(0));

function startsWith(bytes: Uint8Array, at: number, prefix: readonly number[]): boolean {
  return prefix.every((b, k) => bytes[at + k] === b);
}

/**
 * True for the DER of a private key: PKCS #1 (RSA, DSA: a version 0 and integers), PKCS #8
 * (version, algorithm, octet string), SEC 1 (EC: version 1, octet string), encrypted PKCS #8
 * (a PBES or PKCS #12 algorithm, octet string), and the OpenSSH key format. Certificates,
 * public keys, requests and signatures have other shapes (a SEQUENCE or OID first).
 */
export function isPrivateKeyDer(bytes: Uint8Array): boolean {
  if (startsWith(bytes, 0, OPENSSH_MAGIC)) return true;
  const outer = readTlv(bytes, 0);
  if (outer === undefined || outer.tag !== SEQUENCE) return false;
  const [a, b, c] = children(bytes, outer, 3);
  if (a === undefined || b === undefined) return false;
  if (a.tag === INTEGER && a.length === 1) {
    const version = bytes[a.at];
    if (version === 0 && b.tag === INTEGER) return c?.tag === INTEGER && b.length >= 64;
    if ((version === 0 || version === 1) && b.tag === SEQUENCE) return c?.tag === OCTET_STRING;
    if (version === 1 && b.tag === OCTET_STRING) return b.length >= 16;
    return false;
  }
  if (a.tag === SEQUENCE && b.tag === OCTET_STRING) {
    const alg = readTlv(bytes, a.at);
    return alg !== undefined && alg.tag === OID && PBE_OID_PREFIXES.some((p) => startsWith(bytes, alg.at, p));
  }
  return false;
}

const HEX_ONLY = /^[0-9A-Fa-f]+$/;
const HEX_SEPARATED = /^[0-9A-Fa-f \t:]+$/;

/** Node's base64 decoder takes both alphabets and skips line breaks, so a run decodes as it is. */
function decodeRun(run: string): { encoding: 'base64' | 'hex'; bytes: Uint8Array } {
  if (run.length % 2 === 0 && HEX_ONLY.test(run)) return { encoding: 'hex', bytes: Buffer.from(run, 'hex') };
  if ((run.includes(' ') || run.includes(':') || run.includes('\t')) && HEX_SEPARATED.test(run)) return { encoding: 'hex', bytes: Buffer.from(run.replace(/[ \t:]/g, ''), 'hex') };
  return { encoding: 'base64', bytes: Buffer.from(run, 'base64') };
}

/**
 * The runs of a text that decode to text or to a private key, outside the spans already
 * reported (`covered`, sorted by start).
 *
 * @example encodedRuns('QUtJQVo3VlEzWEtQTDJNNE41VFI=', [])[0]?.text // 'AKIAZ7VQ3XKPL2M4N5TR'
 */
export function encodedRuns(text: string, covered: readonly { start: number; end: number }[]): EncodedRun[] {
  const out: EncodedRun[] = [];
  const candidates = [...base64Runs(text), ...separatedHexRuns(text)];
  candidates.sort((x, y) => x.start - y.start);
  let last = -1;
  let j = 0;
  for (const c of candidates) {
    if (c.start < last) continue;
    // Both lists are sorted by start: one sweep skips the runs inside a reported span.
    while (j < covered.length && (covered[j] as { end: number }).end <= c.start) j++;
    const f = covered[j];
    if (f !== undefined && f.start < c.end) continue;
    const { encoding, bytes } = decodeRun(text.slice(c.start, c.end));
    const decoded = asText(bytes);
    if (decoded !== undefined) out.push({ ...c, encoding, text: decoded });
    else if (encoding === 'base64' && bytes.length >= 40 && isPrivateKeyDer(bytes)) out.push({ ...c, encoding, privateKey: true });
    else continue;
    last = c.end;
  }
  return out;
}
