/**
 * Validates an action request arriving from outside (a JSON body, a file, stdin, a library
 * caller). Unknown fields are rejected: a misspelt `enviroment` must not silently skip an
 * environment gate.
 *
 * The request is also copied into fresh, frozen, plain JSON data, and everything downstream
 * (analyzers, policy, audit, the guarded tool) sees only that copy. Each value is read once,
 * so a getter or a later mutation by the caller cannot change what was decided, and the copy
 * holds nothing the audit encoder (RFC 8785) refuses: the outcome is the same with the audit
 * log on or off.
 */

import { bastionError, quote, type BastionError } from './errors.js';
import type { Result } from './result.js';
import { isRisk } from './risk.js';
import type { ActionRequest, Principal } from './types.js';

const REQUEST_FIELDS = ['principal', 'action', 'resource', 'environment', 'args', 'context', 'risk', 'approvalId', 'traceId'];
const PRINCIPAL_FIELDS = ['id', 'groups', 'deviceCompliant', 'attributes'];

/**
 * How deep objects and arrays may nest in a request: the request object is level 0, `args`,
 * `context` and `principal` are level 1. Real tool arguments are a few levels deep; the limit
 * keeps every recursive reader (analyzers, scanners, redaction, the audit encoder) far from
 * the stack's end.
 */
export const MAX_REQUEST_DEPTH = 64;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// INVARIANT: a lone surrogate has no UTF-8 encoding; the audit encoder refuses it.
function isWellFormed(value: string): boolean {
  return (value as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** Escapes lone surrogates as `\udxxx` text, so a message quoting user input can be logged. */
function wellFormed(text: string): string {
  return isWellFormed(text) ? text : text.replace(/[\ud800-\udfff]/gu, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** One step of a field path: `.name`, or `["odd name"]` when the key is not an identifier. */
export function pathSegment(key: string | number): string {
  if (typeof key === 'number') return `[${key}]`;
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Joins path segments under a top-level field: `args` + `.a` + `[0]` → `args.a[0]`. */
export function fieldPath(segments: readonly string[]): string {
  const [first = '', ...rest] = segments;
  return (first.startsWith('.') ? first.slice(1) : first) + rest.join('');
}

class NotPlainData extends Error {
  /** Path segments, innermost last, filled in as the failure unwinds. */
  readonly segments: string[] = [];
}

function describe(value: object): string {
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name} object` : 'an object with a custom prototype';
}

function within<T>(segment: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof NotPlainData) err.segments.unshift(segment);
    throw err;
  }
}

/**
 * Copies a value into frozen plain JSON data, reading each member once through its property
 * descriptor (so a getter never runs, and a proxy's `get` trap is never asked). Throws
 * `NotPlainData` for anything JSON cannot carry or the audit log cannot encode.
 */
function plainCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      if (!isWellFormed(value)) throw new NotPlainData('string holds a lone surrogate, which has no UTF-8 encoding');
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new NotPlainData(`number ${quote(String(value))} is not finite (beyond the range of a double, such as \`1e400\`)`);
      return value;
    case 'boolean':
      return value;
    case 'object':
      if (value === null) return null;
      break;
    default:
      throw new NotPlainData(`${typeof value} is not JSON data`);
  }
  if (depth > MAX_REQUEST_DEPTH) throw new NotPlainData(`nests objects or arrays more than ${MAX_REQUEST_DEPTH} levels deep`);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) throw new NotPlainData(`${describe(value)} is not plain JSON data`);
    const length = value.length;
    const out: unknown[] = [];
    for (let i = 0; i < length; i++) {
      const d = Object.getOwnPropertyDescriptor(value, i);
      try {
        if (d === undefined) throw new NotPlainData('is a hole in the array, not JSON data');
        if (!('value' in d)) throw new NotPlainData('is a getter or setter, not plain data');
        if (d.value === undefined) throw new NotPlainData('undefined is not JSON data');
        out.push(typeof d.value === 'string' && isWellFormed(d.value) ? d.value : plainCopy(d.value, depth + 1));
      } catch (err) {
        if (err instanceof NotPlainData) err.segments.unshift(`[${i}]`);
        throw err;
      }
    }
    return Object.freeze(out);
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) throw new NotPlainData(`${describe(value)} is not plain JSON data`);
  const out: Record<string, unknown> = {};
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key === 'symbol') throw new NotPlainData(`has a symbol key ${quote(String(key))}, which JSON cannot carry`);
    const d = Object.getOwnPropertyDescriptor(value, key);
    if (d === undefined || !d.enumerable) continue;
    const item = within(pathSegment(key), () => {
      // JSON.parse makes `__proto__` an ordinary member, but copying it anywhere by
      // assignment (`out[key] = …`) replaces the copy's prototype instead.
      if (key === '__proto__') throw new NotPlainData('key `__proto__` is not allowed');
      if (!isWellFormed(key)) throw new NotPlainData('key holds a lone surrogate, which has no UTF-8 encoding');
      if (!('value' in d)) throw new NotPlainData('is a getter or setter, not plain data');
      return d.value === undefined ? undefined : plainCopy(d.value, depth + 1);
    });
    // As in JSON.stringify, a member whose value is undefined is absent.
    if (item !== undefined) out[key] = item;
  }
  return Object.freeze(out);
}

/**
 * Checks a raw value is a well-formed action request and returns it as a frozen plain copy:
 * decide on `value`, and hand `value.args` (not the caller's object) to the tool.
 *
 * Besides the fields, every value must be plain JSON data: no `__proto__` key, no number
 * beyond the double range, no lone surrogate, no getter, class instance, function or symbol,
 * and at most `MAX_REQUEST_DEPTH` levels of nesting.
 *
 * @example validateRequest(JSON.parse(body)) // { ok: true, value: {...} } or { ok: false, errors }
 */
export function validateRequest(raw: unknown, where = 'request'): Result<ActionRequest, BastionError> {
  // Already checked and deeply frozen, so it cannot have changed since: no second copy.
  if (typeof raw === 'object' && raw !== null && VALIDATED.has(raw)) return { ok: true, value: raw as ActionRequest };
  try {
    const checked = check(raw, where);
    if (checked.ok) VALIDATED.add(Object.freeze(checked.value));
    return checked;
  } catch (err) {
    // A proxy trap or a throwing accessor on the caller's object: bad input, never a crash.
    return { ok: false, errors: [bastionError('REQUEST_INVALID', `${where}: cannot be read: ${wellFormed((err as Error)?.message ?? String(err))}`)] };
  }
}

/** Requests this module returned: frozen, deeply, and plain. */
const VALIDATED = new WeakSet<object>();

function check(raw: unknown, where: string): Result<ActionRequest, BastionError> {
  const errors: BastionError[] = [];
  const err = (field: string, message: string) => {
    const name = wellFormed(field);
    errors.push(bastionError('REQUEST_INVALID', `${where}: field ${quote(name)}: ${message}`, { field: name }));
  };
  if (!isObject(raw)) return { ok: false, errors: [bastionError('REQUEST_INVALID', `${where}: an action request must be a JSON object`)] };
  const proto = Object.getPrototypeOf(raw) as unknown;
  if (proto !== Object.prototype && proto !== null) return { ok: false, errors: [bastionError('REQUEST_INVALID', `${where}: an action request must be a plain JSON object, not ${describe(raw)}`)] };

  // Copy each known field once; from here on only the copy is read.
  const r: Record<string, unknown> = {};
  for (const key of Reflect.ownKeys(raw)) {
    if (typeof key === 'symbol') {
      err(String(key), 'symbol keys are not JSON data');
      continue;
    }
    const d = Object.getOwnPropertyDescriptor(raw, key);
    if (d === undefined || !d.enumerable) continue;
    if (!REQUEST_FIELDS.includes(key)) {
      err(key, `unknown field (expected one of ${REQUEST_FIELDS.join(', ')})`);
      continue;
    }
    if (!('value' in d)) {
      err(key, 'is a getter or setter, not plain data');
      continue;
    }
    try {
      r[key] = plainCopy(d.value, 1);
    } catch (e) {
      if (!(e instanceof NotPlainData)) throw e;
      err(fieldPath([key, ...e.segments]), e.message);
    }
  }
  if (errors.length > 0) return { ok: false, errors };

  const p = r['principal'];
  let principal: Principal | undefined;
  if (!isObject(p)) err('principal', 'is required: an object with `id` and `groups`');
  else {
    for (const key of Object.keys(p)) if (!PRINCIPAL_FIELDS.includes(key)) err(`principal${pathSegment(key)}`, `unknown field (expected one of ${PRINCIPAL_FIELDS.join(', ')})`);
    if (typeof p['id'] !== 'string' || p['id'] === '') err('principal.id', 'must be a non-empty string');
    const groups = p['groups'] ?? [];
    if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string')) err('principal.groups', 'must be a list of strings');
    if (p['deviceCompliant'] !== undefined && typeof p['deviceCompliant'] !== 'boolean') err('principal.deviceCompliant', 'must be true or false');
    if (p['attributes'] !== undefined && !isObject(p['attributes'])) err('principal.attributes', 'must be an object');
    principal = { id: p['id'] as string, groups: groups as string[] };
    if (typeof p['deviceCompliant'] === 'boolean') principal.deviceCompliant = p['deviceCompliant'];
    if (isObject(p['attributes'])) principal.attributes = p['attributes'];
    Object.freeze(principal);
  }
  if (typeof r['action'] !== 'string' || r['action'] === '') err('action', 'is required: a non-empty string such as `shell.execute`');
  for (const f of ['resource', 'environment', 'approvalId', 'traceId']) {
    if (r[f] !== undefined && (typeof r[f] !== 'string' || r[f] === '')) err(f, 'must be a non-empty string');
  }
  for (const f of ['args', 'context']) if (r[f] !== undefined && !isObject(r[f])) err(f, 'must be an object');
  if (r['risk'] !== undefined && !isRisk(r['risk'])) err('risk', `unknown risk ${quote(r['risk'])} (expected low, medium, high or critical)`);
  const ctx = r['context'];
  if (isObject(ctx)) {
    for (const f of ['danger_level', 'risk']) {
      if (ctx[f] !== undefined && !isRisk(ctx[f])) err(`context.${f}`, `unknown risk ${quote(ctx[f])} (expected low, medium, high or critical)`);
    }
  }
  if (errors.length > 0 || principal === undefined) return { ok: false, errors };
  const request: ActionRequest = { principal, action: r['action'] as string };
  for (const f of ['resource', 'environment', 'approvalId', 'traceId'] as const) if (typeof r[f] === 'string') request[f] = r[f] as string;
  if (isObject(r['args'])) request.args = r['args'];
  if (isObject(r['context'])) request.context = r['context'];
  if (isRisk(r['risk'])) request.risk = r['risk'];
  return { ok: true, value: request };
}
