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

import * as z from 'zod';
import { bastionError, quote, type BastionError } from './errors.js';
import type { Result } from './result.js';
import { isRisk, RISKS } from './risk.js';
import { isPlainObject, jsonObject, schemaProblems, strictObject, unknownFieldMessage } from './schema.js';

const riskSchema = z.enum(RISKS, { error: (iss) => `unknown risk ${quote(iss.input)} (expected low, medium, high or critical)` });
const nonEmpty = (message: string) => z.string({ error: message }).min(1, { error: message });
// A JSON object whose members are free-form: checked as a mapping, not copied member by
// member (a record schema would, at several times the cost, on every decision).
const object = jsonObject('must be an object');
const declaredRisks = ['danger_level', 'risk'] as const;

/** Who asks, from a verified identity. */
export const PrincipalSchema = strictObject(
  {
    /** The principal's id (a user or an agent), as policies name it with `user:<id>`. */
    id: nonEmpty('must be a non-empty string'),
    /** The groups the principal belongs to, as policies name them with `group:<name>` (default: none). */
    groups: z.array(z.string({ error: 'must be a list of strings' }), { error: 'must be a list of strings' }).default(() => []),
    /** Whether the principal's device passed its compliance check, for conditions on `principal.deviceCompliant`. */
    deviceCompliant: z.boolean({ error: 'must be true or false' }).exactOptional(),
    /** Further facts about the principal, for conditions on `principal.attributes.*`. */
    attributes: object.exactOptional(),
  },
  { what: 'in a principal', notObject: 'is required: an object with `id` and `groups`' },
);

/**
 * One proposed tool call, as it arrives (JSON): the schema of `validateRequest`, and the
 * source of the `ActionRequest` shape. The structural rules Zod cannot state (plain data, no
 * `__proto__`, depth, finite numbers, well-formed strings) are checked before it runs.
 */
export const ActionRequestSchema = strictObject(
  {
    /** Who asks. */
    principal: PrincipalSchema,
    /** The tool or capability name, e.g. `sys:execute`, `shell.execute`, `jira_add_comment`. */
    action: nonEmpty('is required: a non-empty string such as `shell.execute`'),
    /** What the action acts on, for rules' `resources` globs. */
    resource: nonEmpty('must be a non-empty string').exactOptional(),
    /** Where the action runs, for rules' `environments` globs (e.g. `production`). */
    environment: nonEmpty('must be a non-empty string').exactOptional(),
    /** The tool's arguments, read by the analyzers and by conditions on `args.*`. */
    args: object.exactOptional(),
    /**
     * Free-form facts about the call, for conditions on `context.*`. A declared risk may hide
     * here (`danger_level`, `risk`: ZYX and Control Zero style).
     */
    context: object
      .superRefine((context, ctx) => {
        for (const key of declaredRisks) {
          const v = context[key];
          if (v !== undefined && !isRisk(v)) ctx.addIssue({ code: 'custom', path: [key], message: `unknown risk ${quote(v)} (expected low, medium, high or critical)` });
        }
      })
      .exactOptional(),
    /** Declared risk; the effective risk is the maximum of this and the analyzed risk. */
    risk: riskSchema.exactOptional(),
    /** Set when the agent retries an action that a human approved. */
    approvalId: nonEmpty('must be a non-empty string').exactOptional(),
    /** Groups the calls of one agent task (taint, audit); generated when left out. */
    traceId: nonEmpty('must be a non-empty string').exactOptional(),
  },
  { what: 'in an action request', notObject: 'an action request must be a JSON object' },
);

/** Who asks, as validated (`groups` filled in). */
export type Principal = z.output<typeof PrincipalSchema>;
/** One proposed tool call, as validated: what every stage of the pipeline reads. */
export type ActionRequest = z.output<typeof ActionRequestSchema>;
/** An action request as a caller may write it (`groups` may be left out). */
export type ActionRequestInput = z.input<typeof ActionRequestSchema>;

const REQUEST_FIELDS: readonly string[] = Object.keys(ActionRequestSchema.shape);
const UNKNOWN_REQUEST_FIELD = `in an action request (expected one of ${REQUEST_FIELDS.join(', ')})`;

/**
 * How deep objects and arrays may nest in a request: the request object is level 0, `args`,
 * `context` and `principal` are level 1. Real tool arguments are a few levels deep; the limit
 * keeps every recursive reader (analyzers, scanners, redaction, the audit encoder) far from
 * the stack's end.
 */
export const MAX_REQUEST_DEPTH = 64;

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
    let item: unknown;
    try {
      // JSON.parse makes `__proto__` an ordinary member, but copying it anywhere by
      // assignment (`out[key] = …`) replaces the copy's prototype instead.
      if (key === '__proto__') throw new NotPlainData('key `__proto__` is not allowed');
      if (!isWellFormed(key)) throw new NotPlainData('key holds a lone surrogate, which has no UTF-8 encoding');
      if (!('value' in d)) throw new NotPlainData('is a getter or setter, not plain data');
      item = d.value === undefined ? undefined : plainCopy(d.value, depth + 1);
    } catch (err) {
      // The path is built only on the way out of a failure: a valid request pays nothing for it.
      if (err instanceof NotPlainData) err.segments.unshift(pathSegment(key));
      throw err;
    }
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
  if (!isPlainObject(raw)) return { ok: false, errors: [bastionError('REQUEST_INVALID', `${where}: an action request must be a JSON object`)] };
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
      err(key, unknownFieldMessage(wellFormed(key), UNKNOWN_REQUEST_FIELD));
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

  const parsed = ActionRequestSchema.safeParse(r);
  if (!parsed.success) {
    for (const p of schemaProblems(parsed.error.issues, 'REQUEST_INVALID')) err(fieldPath(p.path.map(pathSegment)), p.message);
    return { ok: false, errors };
  }
  // The values are the frozen copies made above; freeze the containers Zod made around them.
  const request = parsed.data;
  Object.freeze(request.principal.groups);
  if (request.principal.attributes !== undefined) Object.freeze(request.principal.attributes);
  Object.freeze(request.principal);
  if (request.args !== undefined) Object.freeze(request.args);
  if (request.context !== undefined) Object.freeze(request.context);
  return { ok: true, value: request };
}
