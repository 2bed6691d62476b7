/**
 * RFC 8785 (JSON Canonicalization Scheme) serialization. Two parties that hold the same
 * event must derive the same bytes, so the audit trail hashes this form and never
 * `JSON.stringify`'s insertion-ordered output.
 */

import type { Result } from './result.js';
import { fail, ok } from './result.js';

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

// Thrown by the fast path when an object needs what JSON.stringify cannot give: a key that
// V8 enumerates before the others (array indexes such as "10") or one that assigning would
// not create (`__proto__`). The string builder above handles those.
const SLOW_PATH = Symbol('slow path');

function isIndexLike(key: string): boolean {
  const c = key.charCodeAt(0);
  return c >= 48 && c <= 57 && /^(?:0|[1-9]\d{0,9})$/.test(key) && Number(key) < 4294967295;
}

/**
 * Copies a JSON value into fresh plain data with every object's keys inserted in RFC 8785
 * order, checking it the way `serialize` does. JSON.stringify then prints exactly the
 * canonical form: it escapes strings as RFC 8785 does, formats numbers with the same
 * Number::toString (-0 included), and keeps insertion order for keys that are not array
 * indexes. The copy is read once, so getters or later mutation cannot slip in unchecked
 * values, and it makes far less garbage than building the text from pieces.
 */
function plainCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      if (!isWellFormed(value)) throw new CanonicalizeFailure('string holds a lone surrogate');
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalizeFailure(`number \`${String(value)}\` is not finite`);
      return value;
    case 'boolean':
      return value;
    case 'object': {
      if (value === null) return null;
      if (depth > MAX_DEPTH) throw new CanonicalizeFailure('value is cyclic or nested too deeply');
      if (Array.isArray(value)) {
        const out: unknown[] = [];
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          try {
            out.push(item === undefined ? null : plainCopy(item, depth + 1));
          } catch (err) {
            if (err instanceof CanonicalizeFailure) err.segments.unshift(`[${i}]`);
            throw err;
          }
        }
        return out;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        if (value instanceof Date) {
          if (Number.isNaN(value.getTime())) throw new CanonicalizeFailure('date is invalid');
          return value.toISOString();
        }
        throw new CanonicalizeFailure('value is not plain JSON data');
      }
      return copyObject(value as Record<string, unknown>, sortedKeys(value), depth);
    }
    default:
      throw new CanonicalizeFailure(`${typeof value} is not JSON data`);
  }
}

/** Copies `keys` of `value` (of `extra` where it has them) in that order, checked. */
function copyObject(value: Record<string, unknown>, keys: readonly string[], depth: number, extra?: Record<string, unknown>, mark?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (key === mark) {
      out[key] = 0;
      continue;
    }
    const item = extra !== undefined && Object.hasOwn(extra, key) ? extra[key] : value[key];
    if (item === undefined) continue;
    if (key === '__proto__' || isIndexLike(key)) throw SLOW_PATH;
    try {
      if (!isWellFormed(key)) throw new CanonicalizeFailure('string holds a lone surrogate');
      out[key] = plainCopy(item, depth + 1);
    } catch (err) {
      if (err instanceof CanonicalizeFailure) err.segments.unshift(`.${key}`);
      throw err;
    }
  }
  return out;
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
    try {
      return ok(JSON.stringify(plainCopy(value, 0)));
    } catch (err) {
      if (err !== SLOW_PATH) throw err;
      return ok(serialize(value, 0));
    }
  } catch (err) {
    if (err instanceof CanonicalizeFailure) return fail(err.detail);
    throw err;
  }
}

/** An event's canonical JSON split around its `seq` value: `prefix + seq + suffix`. */
export interface SplitCanonical {
  prefix: string;
  suffix: string;
}

/**
 * Canonicalizes an object together with late scalar members (`extra`, overriding members
 * of the same name), split around the value of `at`, which must be one of `extra`'s keys:
 * the audit log fills in `seq` only when the event is committed, by concatenation.
 *
 * @example
 * const parts = canonicalSplit({ type: 'decision' }, { seq: 0, v: 1 }, 'seq');
 * parts.value.prefix + 7 + parts.value.suffix // '{"seq":7,"type":"decision","v":1}'
 */
export function canonicalSplit(value: Record<string, unknown>, extra: Record<string, string | number>, at: string): Result<SplitCanonical, CanonicalJsonError> {
  if (!Object.hasOwn(extra, at)) throw new Error(`canonicalSplit: \`${at}\` is not one of the late members`);
  try {
    // Merge the sorted member names of both, `extra` winning.
    const keys = sortedKeys(value);
    const extras = sortedKeys(extra);
    const merged: string[] = [];
    let i = 0;
    let j = 0;
    while (i < keys.length || j < extras.length) {
      const a = keys[i];
      const b = extras[j];
      if (b === undefined || (a !== undefined && a < b)) {
        merged.push(a as string);
        i++;
      } else {
        if (a === b) i++;
        merged.push(b);
        j++;
      }
    }
    try {
      if (scalarsAfter(value, extra, merged, at)) {
        // One serialization with 0 in the split member. Only scalars with plain names follow
        // it, and none of those can contain `"at":0` (an unescaped quote ends a string, and
        // only a name is followed by a colon), so its last occurrence is the member itself.
        const text = JSON.stringify(copyObject(value, merged, 0, extra, at));
        const marker = quoteString(at) + ':0';
        const found = text.lastIndexOf(marker);
        return ok({ prefix: text.slice(0, found + marker.length - 1), suffix: text.slice(found + marker.length) });
      }
      const head = JSON.stringify(
        copyObject(
          value,
          merged.filter((key) => key < at),
          0,
          extra,
        ),
      );
      const tail = JSON.stringify(
        copyObject(
          value,
          merged.filter((key) => key > at),
          0,
          extra,
        ),
      );
      return ok(joinSplit(head, tail, at));
    } catch (err) {
      if (err !== SLOW_PATH) throw err;
    }
    const source = (key: string): unknown => (Object.hasOwn(extra, key) ? extra[key] : value[key]);
    const head = serialize(
      nullProtoObject(
        source,
        merged.filter((key) => key < at),
      ),
      0,
    );
    const tail = serialize(
      nullProtoObject(
        source,
        merged.filter((key) => key > at),
      ),
      0,
    );
    return ok(joinSplit(head, tail, at));
  } catch (err) {
    if (err instanceof CanonicalizeFailure) return fail(err.detail);
    throw err;
  }
}

function scalarsAfter(value: Record<string, unknown>, extra: Record<string, unknown>, keys: readonly string[], at: string): boolean {
  for (const key of keys) {
    if (key <= at) continue;
    const item = Object.hasOwn(extra, key) ? extra[key] : value[key];
    if ((typeof item === 'object' && item !== null) || key.includes('"') || key.includes('\\')) return false;
  }
  return true;
}

/** `{head members,"at":` and `,tail members}` from the two halves serialized apart. */
function joinSplit(head: string, tail: string, at: string): SplitCanonical {
  return {
    prefix: (head === '{}' ? '{' : head.slice(0, -1) + ',') + quoteString(at) + ':',
    suffix: tail === '{}' ? '}' : ',' + tail.slice(1),
  };
}

// Assigning `__proto__` to a null-prototype object makes an ordinary member.
function nullProtoObject(source: (key: string) => unknown, keys: readonly string[]): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of keys) out[key] = source(key);
  return out;
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
  const extras = Object.keys(extra)
    .sort()
    .map((key): [string, string] => [key, JSON.stringify(key) + ':' + JSON.stringify(extra[key])]);
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
