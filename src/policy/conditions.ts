/**
 * Rule conditions: structured matchers over dotted fields of the evaluation context
 * (`principal.*`, `action`, `resource`, `environment`, `args.*`, `context.*`,
 * `analysis.*`, `risk`), combinators (`all`, `any`, `not`) and a CEL escape hatch.
 * Everything is checked and compiled at load time into plain closures, so evaluation does
 * no parsing and no allocation beyond what a matcher needs.
 */

import { Environment, type ASTNode } from '@marcbachmann/cel-js';
import { isRisk, riskRank } from '../core/risk.js';
import { compileGlob } from '../core/glob.js';
import { isPlainObject } from '../core/schema.js';
import { compilePolicyRegex } from './regex-safety.js';

/** What conditions see. `risk` is the effective risk: max(declared, analyzed). */
export interface EvalContext {
  principal: { id: string; groups: string[]; deviceCompliant?: boolean; attributes?: Record<string, unknown> };
  action: string;
  resource: string | undefined;
  environment: string | undefined;
  args: Record<string, unknown>;
  context: Record<string, unknown>;
  analysis: Record<string, unknown>;
  risk: string;
  declaredRisk: string | undefined;
}

/** A compiled condition; throws `ConditionError` when it cannot be decided. */
export type Predicate = (ctx: EvalContext) => boolean;

export class ConditionError extends Error {}

/** A problem found while compiling, with the path of the offending field. */
export interface ConditionProblem {
  path: (string | number)[];
  message: string;
  code: 'POLICY_INVALID' | 'POLICY_BAD_GLOB' | 'POLICY_BAD_REGEX' | 'POLICY_BAD_CEL';
}

export const MATCH_OPERATORS = ['equals', 'notEquals', 'in', 'notIn', 'glob', 'regex', 'gt', 'gte', 'lt', 'lte', 'contains', 'containsAny', 'containsAll', 'exists'] as const;
export type MatchOperator = (typeof MATCH_OPERATORS)[number];

const OPERATOR_SET: ReadonlySet<string> = new Set(MATCH_OPERATORS);
const ROOTS: ReadonlySet<string> = new Set(['principal', 'action', 'resource', 'environment', 'args', 'context', 'analysis', 'risk', 'declaredRisk']);

/** Reads a dotted path (pre-split) from the context; `undefined` when any step is absent. */
function readPath(ctx: EvalContext, path: readonly string[]): unknown {
  let value: unknown = ctx;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    if (Array.isArray(value)) {
      const index = Number(key);
      value = Number.isInteger(index) ? value[index] : undefined;
    } else {
      if (!Object.hasOwn(value, key)) return undefined;
      value = (value as Record<string, unknown>)[key];
    }
  }
  return value;
}

/** The JSON type of a value, as messages name it. */
function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (isPlainObject(v)) return 'a mapping';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return typeof v;
}

/** Two values of different JSON types: the matcher cannot decide, so it is an error. */
interface Mismatch {
  got: string;
  want: string;
}

/**
 * Compares a field value with an operand value. Mappings compare by content, whatever the
 * key order; lists element by element. `null` against anything else is simply different.
 * Any other difference of type, at any depth, is a `Mismatch`: `"true"` is not `true`, and
 * neither is `[true]` or `1`, so a matcher must not quietly call them different.
 */
function compareValues(v: unknown, o: unknown): boolean | Mismatch {
  if (v === null || o === null) return v === o;
  const tv = typeName(v);
  const to = typeName(o);
  if (tv !== to) return { got: tv, want: to };
  if (Array.isArray(v)) {
    const list = o as unknown[];
    let same = v.length === list.length;
    for (let i = 0; i < Math.min(v.length, list.length); i++) {
      const r = compareValues(v[i], list[i]);
      if (r !== true && r !== false) return r;
      if (!r) same = false;
    }
    return same;
  }
  if (isPlainObject(v)) {
    const map = o as Record<string, unknown>;
    let same = Object.keys(v).length === Object.keys(map).length;
    for (const key of Object.keys(map)) {
      if (!Object.hasOwn(v, key)) {
        same = false;
        continue;
      }
      const r = compareValues(v[key], map[key]);
      if (r !== true && r !== false) return r;
      if (!r) same = false;
    }
    return same;
  }
  return v === o;
}

function mismatchError(field: string, op: string, m: Mismatch): ConditionError {
  return new ConditionError(`field \`${field}\` is ${m.got} where \`${op}\` expects ${m.want}`);
}

/**
 * Is `v` one of `list`? True when some member equals it; false when none does but some has
 * its type; a `Mismatch` when no member has its type (`"1"` against `[1, 2]`). `null` is a
 * member only of a list that holds `null`.
 */
function memberOf(v: unknown, list: readonly unknown[]): boolean | Mismatch {
  if (v === null) return list.includes(null);
  let mismatch: Mismatch | undefined;
  let sameType = false;
  for (const o of list) {
    if (o === null) continue;
    const r = compareValues(v, o);
    if (r === true) return true;
    if (r === false) sameType = true;
    else mismatch ??= r;
  }
  if (sameType || mismatch === undefined) return false;
  return { got: mismatch.got, want: [...new Set(list.filter((o) => o !== null).map(typeName))].join(' or ') };
}

/**
 * Does `v` contain `x`? A string contains a substring, a list an element (compared as
 * `equals` does). Anything else, or a string against a non-string, is a `Mismatch`; so is a
 * list none of whose elements equals `x` when some element is of another type.
 */
function containsValue(v: unknown, x: unknown): boolean | Mismatch {
  if (typeof v === 'string') return typeof x === 'string' ? v.includes(x) : { got: 'a string', want: `a list (to hold ${typeName(x)})` };
  if (!Array.isArray(v)) return { got: typeName(v), want: 'a string or a list' };
  let mismatch: Mismatch | undefined;
  for (const e of v) {
    const r = compareValues(e, x);
    if (r === true) return true;
    if (r !== false) mismatch ??= { got: `a list holding ${r.got}`, want: `a list of ${r.want}` };
  }
  return mismatch ?? false;
}

/**
 * Compiles one condition (a matcher, a combinator or a CEL expression).
 * Problems are pushed to `problems` with paths relative to `path`.
 */
export function compileCondition(raw: unknown, path: (string | number)[], problems: ConditionProblem[]): Predicate {
  const never: Predicate = () => false;
  if (!isPlainObject(raw)) {
    problems.push({ path, message: 'a condition must be a mapping (`field` with an operator, `all`, `any`, `not` or `cel`)', code: 'POLICY_INVALID' });
    return never;
  }
  const keys = Object.keys(raw);
  if (keys.length === 1 && (keys[0] === 'all' || keys[0] === 'any')) {
    const kind = keys[0];
    const list = raw[kind];
    if (!Array.isArray(list) || list.length === 0) {
      problems.push({ path: [...path, kind], message: `\`${kind}\` takes a non-empty list of conditions`, code: 'POLICY_INVALID' });
      return never;
    }
    const parts = list.map((c, i) => compileCondition(c, [...path, kind, i], problems));
    return kind === 'all' ? (ctx) => parts.every((p) => p(ctx)) : (ctx) => parts.some((p) => p(ctx));
  }
  if (keys.length === 1 && keys[0] === 'not') {
    const inner = compileCondition(raw['not'], [...path, 'not'], problems);
    return (ctx) => !inner(ctx);
  }
  if (keys.includes('cel')) {
    if (keys.length !== 1) {
      problems.push({ path, message: 'a `cel` condition takes no other keys', code: 'POLICY_INVALID' });
      return never;
    }
    return compileCel(raw['cel'], [...path, 'cel'], problems);
  }
  return compileMatcher(raw, path, problems);
}

/**
 * CEL's own `matches()` runs JavaScript's backtracking engine, and cel-js cannot replace a
 * built-in function. So each `x.matches("…")` call is renamed to this function, which runs
 * the same (literal) pattern on RE2, compiled when the policy loads.
 */
const RE2_MATCHES = 'bastionMatchesRe2';
const CEL_BASE = new Environment({ unlistedVariablesAreDyn: true });

function isCelNode(x: unknown): x is ASTNode {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && 'op' in x && 'args' in x && 'range' in x;
}

/** Every call node of the expression, depth first. */
function celCalls(node: unknown, out: ASTNode[] = []): ASTNode[] {
  if (Array.isArray(node)) for (const x of node) celCalls(x, out);
  else if (isCelNode(node)) {
    if (node.op === 'call' || node.op === 'rcall') out.push(node);
    if (typeof node.args === 'object') celCalls(node.args, out);
  }
  return out;
}

function compileCel(expr: unknown, path: (string | number)[], problems: ConditionProblem[]): Predicate {
  const never: Predicate = () => false;
  if (typeof expr !== 'string' || expr.trim() === '') {
    problems.push({ path, message: '`cel` takes a non-empty expression string', code: 'POLICY_BAD_CEL' });
    return never;
  }
  let ast: ASTNode;
  try {
    ast = CEL_BASE.parse(expr).ast;
  } catch (err) {
    problems.push({ path, message: `CEL expression does not compile: ${firstLine(err)}`, code: 'POLICY_BAD_CEL' });
    return never;
  }
  const patterns = new Map<string, (value: string) => boolean>();
  const renames: number[] = [];
  for (const call of celCalls(ast)) {
    const name = call.op === 'call' || call.op === 'rcall' ? call.args[0] : '';
    if (name === RE2_MATCHES || (name === 'matches' && call.op === 'call')) {
      problems.push({ path, message: `CEL \`${name}()\` is not available here: write \`value.matches("pattern")\``, code: 'POLICY_BAD_CEL' });
      return never;
    }
    if (name !== 'matches' || call.op !== 'rcall') continue;
    const [, receiver, callArgs] = call.args;
    const pattern = callArgs.length === 1 && callArgs[0]?.op === 'value' ? callArgs[0].args : undefined;
    if (typeof pattern !== 'string') {
      problems.push({ path, message: 'CEL `matches()` takes a string literal pattern, compiled for RE2 when the policy loads', code: 'POLICY_BAD_CEL' });
      return never;
    }
    const compiled = compilePolicyRegex(pattern);
    if (!compiled.ok) {
      problems.push({ path, message: `CEL \`matches()\` pattern \`${pattern}\` rejected: ${compiled.message}`, code: 'POLICY_BAD_REGEX' });
      return never;
    }
    patterns.set(pattern, compiled.test);
    const dot = /^\s*\.\s*matches\b/.exec(expr.slice(receiver.range.end));
    if (!dot) {
      problems.push({ path, message: 'CEL `matches()`: write the call as `value.matches("pattern")`, without a comment before `matches`', code: 'POLICY_BAD_CEL' });
      return never;
    }
    renames.push(receiver.range.end + dot[0].length - 'matches'.length);
  }
  let source = expr;
  for (const at of renames.sort((a, b) => b - a)) source = source.slice(0, at) + RE2_MATCHES + source.slice(at + 'matches'.length);
  let program: (vars: Record<string, unknown>) => unknown;
  try {
    const env = CEL_BASE.clone();
    env.registerFunction(`string.${RE2_MATCHES}(string): bool`, (value: string, pattern: string) => {
      const test = patterns.get(pattern);
      // INVARIANT: every pattern is a literal compiled above; anything else is a bug.
      if (!test) throw new Error(`pattern \`${pattern}\` was not compiled at load`);
      return test(value);
    });
    program = env.parse(source) as unknown as (vars: Record<string, unknown>) => unknown;
  } catch (err) {
    problems.push({ path, message: `CEL expression does not compile: ${firstLine(err)}`, code: 'POLICY_BAD_CEL' });
    return never;
  }
  return (ctx) => {
    let result: unknown;
    try {
      // Absent optional parts are CEL null (`environment == null`), not unknown variables.
      result = program({ ...ctx, resource: ctx.resource ?? null, environment: ctx.environment ?? null, declaredRisk: ctx.declaredRisk ?? null });
    } catch (err) {
      throw new ConditionError(`CEL expression failed: ${firstLine(err).replaceAll(RE2_MATCHES, 'matches')}`);
    }
    if (typeof result !== 'boolean') throw new ConditionError(`CEL expression returned ${typeof result}, not a boolean`);
    return result;
  };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

function compileMatcher(raw: Record<string, unknown>, path: (string | number)[], problems: ConditionProblem[]): Predicate {
  const never: Predicate = () => false;
  const field = raw['field'];
  if (typeof field !== 'string' || field === '') {
    problems.push({ path: [...path, 'field'], message: 'a matcher needs `field`, a dotted path such as `args.channel`', code: 'POLICY_INVALID' });
    return never;
  }
  const segments = field.split('.');
  if (!ROOTS.has(segments[0] as string) || segments.some((s) => s === '')) {
    problems.push({
      path: [...path, 'field'],
      message: `unknown field \`${field}\`: a field starts with principal, action, resource, environment, args, context, analysis, risk or declaredRisk`,
      code: 'POLICY_INVALID',
    });
    return never;
  }
  const ops = Object.keys(raw).filter((k) => k !== 'field');
  const unknown = ops.filter((k) => !OPERATOR_SET.has(k));
  if (unknown.length > 0) {
    problems.push({ path: [...path, unknown[0] as string], message: `unknown operator \`${unknown[0]}\` (expected one of ${MATCH_OPERATORS.join(', ')})`, code: 'POLICY_INVALID' });
    return never;
  }
  if (ops.length !== 1) {
    problems.push({ path, message: `a matcher takes exactly one operator, found ${ops.length === 0 ? 'none' : ops.join(', ')}`, code: 'POLICY_INVALID' });
    return never;
  }
  const op = ops[0] as MatchOperator;
  const operand = raw[op];
  const at = [...path, op];
  const get = (ctx: EvalContext) => readPath(ctx, segments);

  // INVARIANT: a value of a type the operator cannot judge throws `ConditionError`, as `gt`
  // does: a deny rule then matches and an allow rule does not. `null` counts as absent,
  // except for `in`/`notIn` lists that name `null`.
  const decided = (r: boolean | Mismatch): boolean => {
    if (r === true || r === false) return r;
    throw mismatchError(field, op, r);
  };
  switch (op) {
    case 'equals':
      return (ctx) => {
        const v = get(ctx);
        return v !== undefined && decided(compareValues(v, operand));
      };
    case 'notEquals':
      return (ctx) => {
        const v = get(ctx);
        return v === undefined || !decided(compareValues(v, operand));
      };
    case 'in':
    case 'notIn': {
      if (!Array.isArray(operand)) {
        problems.push({ path: at, message: `\`${op}\` takes a list`, code: 'POLICY_INVALID' });
        return never;
      }
      const list: readonly unknown[] = operand;
      const test = (v: unknown): boolean => {
        if (!Array.isArray(v) || list.some((o) => Array.isArray(o) && compareValues(v, o) === true)) return decided(memberOf(v, list));
        // A list-valued field: `in` holds when every element is listed (a subset). Read
        // "any element is listed" instead, and it would differ exactly when some are and some
        // are not; that case is an error, so neither reading can fail open.
        if (v.length === 0) return false;
        let inside = 0;
        v.forEach((e, i) => {
          const r = memberOf(e, list);
          if (r !== true && r !== false) throw new ConditionError(`field \`${field}\`: element ${i} is ${r.got} where \`${op}\` expects ${r.want}`);
          if (r) inside++;
        });
        if (inside === v.length) return true;
        if (inside === 0) return false;
        throw new ConditionError(`field \`${field}\` is a list with ${inside} of its ${v.length} elements listed: \`${op}\` cannot decide`);
      };
      // An absent field is not one of the values: `notIn` holds, as `notEquals` does.
      return op === 'in'
        ? (ctx) => {
            const v = get(ctx);
            return v !== undefined && test(v);
          }
        : (ctx) => {
            const v = get(ctx);
            return v === undefined || !test(v);
          };
    }
    case 'glob': {
      const patterns = Array.isArray(operand) ? operand : [operand];
      const tests: { pattern: string; test: (v: string) => boolean; folded: ((v: string) => boolean) | undefined }[] = [];
      patterns.forEach((p, i) => {
        if (typeof p !== 'string') {
          problems.push({ path: Array.isArray(operand) ? [...at, i] : at, message: '`glob` takes a pattern string or a list of them', code: 'POLICY_BAD_GLOB' });
          return;
        }
        const g = compileGlob(p);
        if (!g.ok) problems.push({ path: Array.isArray(operand) ? [...at, i] : at, message: `invalid glob \`${p}\`: ${g.message}`, code: 'POLICY_BAD_GLOB' });
        else {
          const folded = compileGlob(p.toLowerCase());
          tests.push({ pattern: p, test: g.test, folded: folded.ok ? folded.test : undefined });
        }
      });
      return (ctx) => {
        const v = get(ctx);
        if (v === undefined || v === null) return false;
        if (typeof v !== 'string') throw new ConditionError(`field \`${field}\` is ${typeName(v)} where \`glob\` expects a string`);
        if (tests.some((t) => t.test(v))) return true;
        // Globs match case-sensitively, but paths and host names are often read without
        // case (`PROD.ENV` is `prod.env` on macOS and Windows). When only a case-blind
        // reading matches, the matcher cannot tell which was meant: an error, so a deny
        // matches and an allow does not.
        const lower = v.toLowerCase();
        const blind = tests.find((t) => t.folded?.(lower));
        if (blind) throw new ConditionError(`field \`${field}\` matches glob \`${blind.pattern}\` only when case is ignored`);
        return false;
      };
    }
    case 'regex': {
      if (typeof operand !== 'string') {
        problems.push({ path: at, message: '`regex` takes a pattern string', code: 'POLICY_BAD_REGEX' });
        return never;
      }
      const compiled = compilePolicyRegex(operand);
      if (!compiled.ok) {
        problems.push({ path: at, message: `regex \`${operand}\` rejected: ${compiled.message}`, code: 'POLICY_BAD_REGEX' });
        return never;
      }
      const re = compiled.test;
      return (ctx) => {
        const v = get(ctx);
        if (v === undefined || v === null) return false;
        if (typeof v !== 'string') throw new ConditionError(`field \`${field}\` is ${typeName(v)} where \`regex\` expects a string`);
        return re(v);
      };
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const byRisk = isRisk(operand);
      if (!byRisk && (typeof operand !== 'number' || !Number.isFinite(operand))) {
        problems.push({ path: at, message: `\`${op}\` takes a number or a risk level (low, medium, high, critical)`, code: 'POLICY_INVALID' });
        return never;
      }
      const bound = byRisk ? riskRank(operand) : (operand as number);
      const cmp = op === 'gt' ? (a: number) => a > bound : op === 'gte' ? (a: number) => a >= bound : op === 'lt' ? (a: number) => a < bound : (a: number) => a <= bound;
      return (ctx) => {
        const v = get(ctx);
        if (v === undefined) return false;
        if (byRisk) {
          if (!isRisk(v)) throw new ConditionError(`field \`${field}\` is not a risk level`);
          return cmp(riskRank(v));
        }
        if (typeof v !== 'number') throw new ConditionError(`field \`${field}\` is not a number`);
        return cmp(v);
      };
    }
    case 'contains':
      return (ctx) => {
        const v = get(ctx);
        return v !== undefined && v !== null && decided(containsValue(v, operand));
      };
    case 'containsAny':
    case 'containsAll': {
      if (!Array.isArray(operand) || operand.length === 0) {
        problems.push({ path: at, message: `\`${op}\` takes a non-empty list`, code: 'POLICY_INVALID' });
        return never;
      }
      const wanted: readonly unknown[] = operand;
      // Three-valued: an element that cannot be judged is an error only when the answer
      // depends on it (`containsAny` with no hit, `containsAll` with no miss).
      return (ctx) => {
        const v = get(ctx);
        if (v === undefined || v === null) return false;
        let undecided: Mismatch | undefined;
        for (const x of wanted) {
          const r = containsValue(v, x);
          if (r === (op === 'containsAny')) return r;
          if (r !== true && r !== false) undecided ??= r;
        }
        if (undecided) throw mismatchError(field, op, undecided);
        return op === 'containsAll';
      };
    }
    case 'exists': {
      if (typeof operand !== 'boolean') {
        problems.push({ path: at, message: '`exists` takes true or false', code: 'POLICY_INVALID' });
        return never;
      }
      // An empty list counts as absent: `analysis.secrets: exists` means "some were found".
      const present = (v: unknown) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
      return operand ? (ctx) => present(get(ctx)) : (ctx) => !present(get(ctx));
    }
  }
}
