/**
 * Reads an action request's JSON text strictly, for the CLI's input and the HTTP body.
 * `JSON.parse` alone is lenient where a security gateway must not be: it keeps the last of
 * two equal keys (`{"command":"rm -rf /","command":"ls"}` is decided as `ls`, while a tool
 * that keeps the first runs `rm -rf /`), and Node's decoder turns invalid UTF-8 into U+FFFD
 * without a word. Both are parser differentials, so both are errors here.
 */

import { bastionError, quote, type BastionError } from './errors.js';
import type { Result } from './result.js';
import { fieldPath, pathSegment } from './request.js';

// ignoreBOM keeps a byte order mark in the text, so JSON.parse refuses it as before.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes UTF-8 bytes, refusing invalid sequences (overlong forms, surrogates, truncation)
 * with the offset of the first bad byte.
 *
 * @example decodeUtf8(Buffer.from([0x7b, 0xff]), 'request body') // { ok: false, errors: [… byte 1 …] }
 */
export function decodeUtf8(bytes: Uint8Array, where: string): Result<string, BastionError> {
  try {
    return { ok: true, value: STRICT_UTF8.decode(bytes) };
  } catch {
    const at = firstInvalidByte(bytes);
    return { ok: false, errors: [bastionError('REQUEST_INVALID', `${where} is not valid UTF-8: invalid byte sequence at byte ${at}`)] };
  }
}

/** The offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
function firstInvalidByte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}

/**
 * Parses a request's JSON (bytes are decoded strictly first) and refuses duplicate keys,
 * naming the field. `where` starts the messages: `input`, `request body`.
 *
 * @example parseRequestJson('{"action":"a","action":"b"}', 'input') // { ok: false, errors: [… field `action`: duplicate key …] }
 */
export function parseRequestJson(input: Uint8Array | string, where: string): Result<unknown, BastionError> {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    const decoded = decodeUtf8(input, where);
    if (!decoded.ok) return decoded;
    text = decoded.value;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, errors: [bastionError('REQUEST_INVALID', `${where} is not valid JSON: ${(err as Error).message}`)] };
  }
  const problem = findAmbiguity(text);
  if (problem !== undefined) {
    const field = fieldPath(problem.segments);
    return { ok: false, errors: [bastionError('REQUEST_INVALID', `${where}: field ${quote(field)}: ${problem.message}`, { field })] };
  }
  return { ok: true, value };
}

interface Frame {
  /** Keys seen so far in an object; undefined for an array. */
  keys: Set<string> | undefined;
  /** The current member's key (objects) or index (arrays). */
  at: string | number;
  expectKey: boolean;
}

/**
 * Scans JSON text that `JSON.parse` accepted for what readers disagree on: an object with two
 * equal keys (compared after unescaping, so `"a"` and `"\u0061"` are equal), and an integer
 * beyond 2^53, which a double rounds (`9007199254740993` reads as `…992`, while a tool with
 * exact integers acts on the written value). Iterative: the depth of the input costs heap,
 * not stack.
 */
function findAmbiguity(text: string): { message: string; segments: string[] } | undefined {
  const stack: Frame[] = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (c === 0x22) {
      let j = i + 1;
      for (let d = text.charCodeAt(j); d !== 0x22; d = text.charCodeAt(j)) j += d === 0x5c ? 2 : 1;
      if (top?.keys !== undefined && top.expectKey) {
        const token = text.slice(i, j + 1);
        const key = token.includes('\\') ? (JSON.parse(token) as string) : token.slice(1, -1);
        if (top.keys.has(key))
          return { message: `duplicate key ${quote(key)} (JSON readers disagree on which one wins)`, segments: [...stack.slice(0, -1).map((f) => pathSegment(f.at)), pathSegment(key)] };
        top.keys.add(key);
        top.at = key;
        top.expectKey = false;
      }
      i = j;
    } else if ((c >= 0x30 && c <= 0x39) || c === 0x2d) {
      let j = i + 1;
      let integer = true;
      for (let d = text.charCodeAt(j); (d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d; d = text.charCodeAt(++j)) {
        if (d === 0x2e || d === 0x65 || d === 0x45) integer = false;
      }
      // Sixteen digits or more may pass 2^53 (9007199254740992); fewer never do.
      if (integer && j - i >= 16 && !Number.isSafeInteger(Number(text.slice(i, j)))) {
        return { message: `integer ${quote(text.slice(i, j))} is beyond 2^53 and cannot be read exactly (send it as a string)`, segments: stack.map((f) => pathSegment(f.at)) };
      }
      i = j - 1;
    } else if (c === 0x7b) stack.push({ keys: new Set(), at: '', expectKey: true });
    else if (c === 0x5b) stack.push({ keys: undefined, at: 0, expectKey: false });
    else if (c === 0x7d || c === 0x5d) stack.pop();
    else if (c === 0x2c && top !== undefined) {
      if (top.keys !== undefined) top.expectKey = true;
      else top.at = (top.at as number) + 1;
    }
  }
  return undefined;
}
