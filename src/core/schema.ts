/**
 * The shared pieces of Bastion's schemas (Zod v4): one `isPlainObject`, a strict object
 * whose unknown keys each become a problem of their own, and the converter from Zod issues
 * to problems with a path and a message in Bastion's grammar (lowercase, no final period,
 * user input in backticks). Each boundary (native policies, config, requests, analyzer
 * settings, audit events, policy test files) declares its schema with these and turns the
 * problems into located `BastionError`s in its own words: the policy loader adds the file,
 * line and column, the request validator its `where`.
 *
 * Messages live in the schemas: give every schema an `error` (a string, or a function of the
 * issue), so no Zod default wording ("Invalid input: …") ever reaches a user.
 */

import * as z from 'zod';
import { bastionError, quote, type BastionError, type ErrorCode } from './errors.js';

/** A mapping: an object that is neither null nor an array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A mapping of free-form JSON members (`args`, `context`, attributes): checked to be a
 * mapping, passed through as it is (not rebuilt member by member). Its JSON Schema is
 * `{ "type": "object" }` (`jsonObjectSchema` for a generator's `override`).
 */
export function jsonObject(message: string): z.ZodCustom<Record<string, unknown>, Record<string, unknown>> {
  const schema = z.custom<Record<string, unknown>>(isPlainObject, { error: message });
  JSON_OBJECTS.add(schema);
  return schema;
}

const JSON_OBJECTS = new WeakSet<object>();

/** For `z.toJSONSchema(…, { unrepresentable: 'any', override: jsonObjectSchema })`. */
export function jsonObjectSchema(ctx: { zodSchema: unknown; jsonSchema: Record<string, unknown> }): void {
  if (typeof ctx.zodSchema === 'object' && ctx.zodSchema !== null && JSON_OBJECTS.has(ctx.zodSchema)) ctx.jsonSchema['type'] = 'object';
}

/** One thing wrong with a document, at `path` (keys and indexes from the root). */
export interface SchemaProblem {
  path: (string | number)[];
  message: string;
  code: ErrorCode;
  /** The problem is the key at `path` itself (an unknown field), not its value. */
  atKey?: boolean;
}

/**
 * A strict object: unknown keys are errors, one per key, worded
 * ``unknown field `<key>` <what> (expected one of <fields>)[: <hint>]``. `notObject` is the
 * message when the value is not a mapping at all (or a function of the value, to word a missing
 * one apart from a wrong one). Extend it with `.extend({...})`: the
 * expected fields in the message are those given here.
 *
 * @example strictObject({ id: z.string() }, { what: 'in a rule', notObject: 'a rule must be a mapping' })
 */
export function strictObject<T extends z.core.$ZodLooseShape>(shape: T, words: { what: string; notObject: string | ((input: unknown) => string); hint?: string }): z.ZodObject<T, z.core.$strict> {
  const suffix = `${words.what} (expected one of ${Object.keys(shape).join(', ')})${words.hint === undefined ? '' : `: ${words.hint}`}`;
  const { notObject } = words;
  return z.strictObject(shape, { error: (iss) => (iss.code === 'unrecognized_keys' ? suffix : typeof notObject === 'string' ? notObject : notObject(iss.input)) });
}

/** The message an `unrecognized_keys` problem gets for one key (see `strictObject`). */
export function unknownFieldMessage(key: string, suffix: string): string {
  return `unknown field ${quote(key)}${suffix === '' ? '' : ` ${suffix}`}`;
}

/**
 * A custom issue's error code travels in its `params`: `ctx.addIssue({ code: 'custom',
 * message, params: { code: 'POLICY_BAD_GLOB' } })`.
 */
export function issueParams(code: ErrorCode): { code: ErrorCode } {
  return { code };
}

/**
 * Turns Zod issues into problems: one per issue, and one per key of an `unrecognized_keys`
 * issue (with `atKey`, so a locator can point at the key). Issues whose message is Zod's
 * default are still reported, but say which field they are about via the path.
 *
 * @example
 * const r = schema.safeParse(doc);
 * if (!r.success) for (const p of schemaProblems(r.error.issues, 'CONFIG_INVALID')) …
 */
export function schemaProblems(issues: readonly z.core.$ZodIssue[], code: ErrorCode): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  for (const iss of issues) {
    const path = iss.path.map((k) => (typeof k === 'number' ? k : String(k)));
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys) out.push({ path: [...path, key], message: unknownFieldMessage(key, iss.message), code, atKey: true });
      continue;
    }
    const own = iss.code === 'custom' ? (iss.params as { code?: ErrorCode } | undefined)?.code : undefined;
    out.push({ path, message: iss.message, code: own ?? code });
  }
  return out;
}

/**
 * A field path as messages show it: keys joined with dots, indexes in brackets
 * (`rules[0].effect`, `tools.jira_read.aproval_required`).
 */
export function fieldName(path: readonly (string | number)[]): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out === '' ? k : `.${k}`;
  return out;
}

/**
 * Problems as errors: ``<prefix>field `<path>`: <message>``, carrying `field` and whatever
 * `where` adds (the file, and the line and column a locator found for the path).
 *
 * @example schemaErrors(problems, (p) => ({ prefix: 'request: ' }))
 */
export function schemaErrors(problems: readonly SchemaProblem[], where: (p: SchemaProblem) => { prefix: string; file?: string; line?: number; column?: number }): BastionError[] {
  return problems.map((p) => {
    const field = fieldName(p.path);
    const { prefix, ...at } = where(p);
    return bastionError(p.code, `${prefix}${field === '' ? '' : `field ${quote(field)}: `}${p.message}`, { ...at, ...(field === '' ? {} : { field }) });
  });
}

/** Issues at a branch's root that mean the input was not of that branch's type. */
const ROOT_TYPE_CODES = new Set<string>(['invalid_type', 'invalid_value', 'invalid_union']);

/**
 * A union's failure said precisely: when the input had the root type of exactly one branch
 * (that branch failed only below its root, e.g. a list whose third entry is wrong), the
 * union's issue is replaced by that branch's issues, with the union's path in front; any
 * other union failure keeps the union's own message. Use before `schemaProblems`.
 *
 * @example
 * // z.union([z.boolean(), z.array(Entry)]) given [{ cod: 1 }]: the entry's unknown field, not "must be true, false or a list"
 * schemaProblems(unionBranchIssues(r.error.issues), 'INPUT_INVALID')
 */
export function unionBranchIssues(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const out: z.core.$ZodIssue[] = [];
  for (const iss of issues) {
    if (iss.code !== 'invalid_union') {
      out.push(iss);
      continue;
    }
    const deeper = iss.errors.filter((branch) => branch.length > 0 && !branch.some((b) => b.path.length === 0 && ROOT_TYPE_CODES.has(b.code)));
    const only = deeper[0];
    if (deeper.length !== 1 || only === undefined) {
      out.push(iss);
      continue;
    }
    out.push(...unionBranchIssues(only.map((b) => ({ ...b, path: [...iss.path, ...b.path] }) as z.core.$ZodIssue)));
  }
  return out;
}
