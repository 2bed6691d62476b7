/**
 * RFC 8785 (JSON Canonicalization Scheme) serialization. Two parties that hold the same
 * event must derive the same bytes, so the audit trail hashes this form and never
 * `JSON.stringify`'s insertion-ordered output.
 */

import type { Result } from '../core/result.js';
import { fail, ok } from '../core/result.js';

/** Why a value cannot be canonicalized, with the JSON path of the offending part. */
export interface CanonicalJsonError {
  path: string;
  message: string;
}

// Deeper than this is treated as a cycle: cheaper than tracking every object visited.
const MAX_DEPTH = 256;

// A lone surrogate has no UTF-8 encoding; RFC 8785 section 3.2.2.2 requires rejecting it.
function isWellFormed(value: string): boolean {
  return (value as unknown as { isWellFormed(): boolean }).isWellFormed();
}

class CanonicalizeFailure extends Error {
  /** Path segments, innermost last, filled in as the failure unwinds (paths cost nothing until then). */
  readonly segments: string[] = [];
  constructor(readonly reason: string) {
    super(reason);
  }
  get detail(): CanonicalJsonError {
    return { path: '$' + this.segments.join(''), message: this.reason };
  }
}

// Characters RFC 8785 escapes; most strings have none and are copied as they are.
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

function quoteString(value: string): string {
  if (!isWellFormed(value)) throw new CanonicalizeFailure('string holds a lone surrogate');
  // JSON.stringify escapes exactly what RFC 8785 escapes (ECMAScript's QuoteJSONString).
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : '"' + value + '"';
}

/**
 * Sorts keys by UTF-16 code units (what `<` compares), the order RFC 8785 prescribes.
 * Insertion sort: objects have few keys, and it avoids the generic comparator's cost.
 */
function sortedKeys(value: object): string[] {
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

function serialize(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return quoteString(value);
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalizeFailure(`number \`${String(value)}\` is not finite`);
      // ECMAScript's Number::toString is the number serialization RFC 8785 adopts; -0 becomes 0.
      return Object.is(value, -0) ? '0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (depth > MAX_DEPTH) throw new CanonicalizeFailure('value is cyclic or nested too deeply');
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          try {
            out += (i > 0 ? ',' : '') + (item === undefined ? 'null' : serialize(item, depth + 1));
          } catch (err) {
            if (err instanceof CanonicalizeFailure) err.segments.unshift(`[${i}]`);
            throw err;
          }
        }
        return out + ']';
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        if (value instanceof Date) return quoteString(value.toISOString());
        throw new CanonicalizeFailure('value is not plain JSON data');
      }
      return serializeObject(value as Record<string, unknown>, depth);
    }
    default:
      throw new CanonicalizeFailure(`${typeof value} is not JSON data`);
  }
}

function serializeObject(value: Record<string, unknown>, depth: number): string {
  const keys = sortedKeys(value);
  let out = '{';
  let first = true;
  for (const key of keys) {
    const item = value[key];
    if (item === undefined) continue;
    try {
      out += (first ? '' : ',') + quoteString(key) + ':' + serialize(item, depth + 1);
    } catch (err) {
      if (err instanceof CanonicalizeFailure) err.segments.unshift(`.${key}`);
      throw err;
    }
    first = false;
  }
  return out + '}';
}

/**
 * Serializes a JSON value in RFC 8785 canonical form: object keys sorted by UTF-16 code
 * units, no whitespace, ECMAScript number formatting. `undefined` object members are left
 * out (as `JSON.stringify` does); non-finite numbers, bigints, functions, cycles and lone
 * surrogates are errors.
 *
 * @example
 * canonicalJson({ b: 1, a: [true, 1e21] }) // { ok: true, value: '{"a":[true,1e+21],"b":1}' }
 */
export function canonicalJson(value: unknown): Result<string, CanonicalJsonError> {
  try {
    return ok(serialize(value, 0));
  } catch (err) {
    if (err instanceof CanonicalizeFailure) return fail(err.detail);
    throw err;
  }
}

/**
 * Canonicalizes each member of an object separately, sorted, as `"key":value` strings, so
 * that members known only later (the log's `seq` and `time`) can be merged in without
 * serializing the whole event again. `joinCanonicalMembers` does the merge.
 *
 * @example
 * const members = canonicalMembers({ type: 'decision' });
 * joinCanonicalMembers(members.value, { seq: 1 }) // '{"seq":1,"type":"decision"}'
 */
export function canonicalMembers(value: Record<string, unknown>): Result<Array<[string, string]>, CanonicalJsonError> {
  try {
    const members: Array<[string, string]> = [];
    for (const key of sortedKeys(value)) {
      const item = value[key];
      if (item === undefined) continue;
      try {
        members.push([key, quoteString(key) + ':' + serialize(item, 1)]);
      } catch (err) {
        if (err instanceof CanonicalizeFailure) err.segments.unshift(`.${key}`);
        throw err;
      }
    }
    return ok(members);
  } catch (err) {
    if (err instanceof CanonicalizeFailure) return fail(err.detail);
    throw err;
  }
}

/** Merges sorted canonical members with extra scalar members into one canonical object. */
export function joinCanonicalMembers(members: ReadonlyArray<[string, string]>, extra: Record<string, string | number>): string {
  const extras = Object.keys(extra).sort().map((key): [string, string] => [key, JSON.stringify(key) + ':' + JSON.stringify(extra[key])]);
  const parts: string[] = [];
  let i = 0;
  let j = 0;
  while (i < members.length || j < extras.length) {
    const a = members[i];
    const b = extras[j];
    if (b === undefined || (a !== undefined && a[0] < b[0])) {
      parts.push((a as [string, string])[1]);
      i++;
    } else {
      if (a !== undefined && a[0] === b[0]) i++; // the extra member wins
      parts.push(b[1]);
      j++;
    }
  }
  return '{' + parts.join(',') + '}';
}
