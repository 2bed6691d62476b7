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

// A lone surrogate has no UTF-8 encoding; RFC 8785 section 3.2.2.2 requires rejecting it.
// In `u` mode a well-formed pair is one code point, so only lone halves match.
const LONE_SURROGATE = /\p{Cs}/u;

class CanonicalizeFailure extends Error {
  constructor(readonly detail: CanonicalJsonError) {
    super(detail.message);
  }
}

function serialize(value: unknown, path: string, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      if (LONE_SURROGATE.test(value)) throw new CanonicalizeFailure({ path, message: 'string holds a lone surrogate' });
      // JSON.stringify escapes exactly what RFC 8785 escapes (ECMAScript's QuoteJSONString).
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalizeFailure({ path, message: `number \`${String(value)}\` is not finite` });
      // ECMAScript's Number::toString is the number serialization RFC 8785 adopts; -0 becomes 0.
      return Object.is(value, -0) ? '0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (seen.has(value)) throw new CanonicalizeFailure({ path, message: 'value is cyclic' });
      seen.add(value);
      let out: string;
      if (Array.isArray(value)) {
        const parts: string[] = [];
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          parts.push(item === undefined ? 'null' : serialize(item, `${path}[${i}]`, seen));
        }
        out = '[' + parts.join(',') + ']';
      } else {
        const proto = Object.getPrototypeOf(value) as unknown;
        if (proto !== Object.prototype && proto !== null) {
          if (value instanceof Date) {
            seen.delete(value);
            return serialize(value.toISOString(), path, seen);
          }
          throw new CanonicalizeFailure({ path, message: 'value is not plain JSON data' });
        }
        // Default sort compares UTF-16 code units, which is the order RFC 8785 prescribes.
        const keys = Object.keys(value).sort();
        const parts: string[] = [];
        for (const key of keys) {
          const item = (value as Record<string, unknown>)[key];
          if (item === undefined) continue;
          parts.push(serialize(key, path, seen) + ':' + serialize(item, `${path}.${key}`, seen));
        }
        out = '{' + parts.join(',') + '}';
      }
      seen.delete(value);
      return out;
    }
    default:
      throw new CanonicalizeFailure({ path, message: `${typeof value} is not JSON data` });
  }
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
    return ok(serialize(value, '$', new Set()));
  } catch (err) {
    if (err instanceof CanonicalizeFailure) return fail(err.detail);
    if (err instanceof RangeError) return fail({ path: '$', message: 'value is nested too deeply' });
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
    for (const key of Object.keys(value).sort()) {
      const item = value[key];
      if (item === undefined) continue;
      members.push([key, serialize(key, '$', new Set()) + ':' + serialize(item, `$.${key}`, new Set())]);
    }
    return ok(members);
  } catch (err) {
    if (err instanceof CanonicalizeFailure) return fail(err.detail);
    if (err instanceof RangeError) return fail({ path: '$', message: 'value is nested too deeply' });
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
