/**
 * Rule conditions: structured matchers over dotted fields of the evaluation context
 * (`principal.*`, `action`, `resource`, `environment`, `args.*`, `context.*`,
 * `analysis.*`, `risk`), combinators (`all`, `any`, `not`) and a CEL escape hatch.
 * Everything is checked and compiled at load time into plain closures, so evaluation does
 * no parsing and no allocation beyond what a matcher needs.
 */

import { parse as parseCel } from '@marcbachmann/cel-js';
import { isRisk, riskRank } from '../core/risk.js';
import { compileGlob } from './glob.js';
import { checkRegex } from './regex-safety.js';

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

export const MATCH_OPERATORS = [
  'equals',
  'notEquals',
  'in',
  'notIn',
  'glob',
  'regex',
  'gt',
  'gte',
  'lt',
  'lte',
  'contains',
  'containsAny',
  'containsAll',
  'exists',
] as const;
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

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || typeof a !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
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

function compileCel(expr: unknown, path: (string | number)[], problems: ConditionProblem[]): Predicate {
  if (typeof expr !== 'string' || expr.trim() === '') {
    problems.push({ path, message: '`cel` takes a non-empty expression string', code: 'POLICY_BAD_CEL' });
    return () => false;
  }
  // CEL's `matches()` runs JavaScript regexes: every pattern must pass the same safety check
  // as a `regex` matcher, so only string literals are allowed as patterns.
  for (const m of expr.matchAll(/\bmatches\s*\(/g)) {
    const rest = expr.slice((m.index ?? 0) + m[0].length);
    const literal = /^\s*(?:[^,()]+,\s*)?(?:r?"((?:[^"\\]|\\.)*)"|r?'((?:[^'\\]|\\.)*)')\s*\)/.exec(rest) ?? /^\s*(?:r?"((?:[^"\\]|\\.)*)"|r?'((?:[^'\\]|\\.)*)')\s*\)/.exec(rest);
    if (!literal) {
      problems.push({ path, message: 'CEL `matches()` takes a string literal pattern here, so it can be checked for catastrophic backtracking', code: 'POLICY_BAD_CEL' });
      return () => false;
    }
    const pattern = (literal[1] ?? literal[2] ?? '').replace(/\\\\/g, '\\');
    const checked = checkRegex(pattern);
    if (!checked.ok) {
      problems.push({ path, message: `CEL \`matches()\` pattern \`${pattern}\` rejected: ${checked.message}`, code: 'POLICY_BAD_REGEX' });
      return () => false;
    }
  }
  let program: (vars: Record<string, unknown>) => unknown;
  try {
    program = parseCel(expr) as unknown as (vars: Record<string, unknown>) => unknown;
  } catch (err) {
    problems.push({ path, message: `CEL expression does not compile: ${firstLine(err)}`, code: 'POLICY_BAD_CEL' });
    return () => false;
  }
  return (ctx) => {
    let result: unknown;
    try {
      // Absent optional parts are CEL null (`environment == null`), not unknown variables.
      result = program({ ...ctx, resource: ctx.resource ?? null, environment: ctx.environment ?? null, declaredRisk: ctx.declaredRisk ?? null });
    } catch (err) {
      throw new ConditionError(`CEL expression failed: ${firstLine(err)}`);
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

  switch (op) {
    case 'equals':
      return (ctx) => sameValue(get(ctx), operand);
    case 'notEquals':
      return (ctx) => !sameValue(get(ctx), operand);
    case 'in':
    case 'notIn': {
      if (!Array.isArray(operand)) {
        problems.push({ path: at, message: `\`${op}\` takes a list`, code: 'POLICY_INVALID' });
        return never;
      }
      const scalars = new Set(operand.filter((v) => typeof v !== 'object'));
      const objects = operand.filter((v) => typeof v === 'object' && v !== null);
      const member = (v: unknown) => scalars.has(v) || objects.some((o) => sameValue(o, v));
      // For a list-valued field, `in` means every element is in the list (a subset).
      const test = (v: unknown) => (Array.isArray(v) ? v.length > 0 && v.every(member) : member(v));
      return op === 'in' ? (ctx) => test(get(ctx)) : (ctx) => { const v = get(ctx); return v !== undefined && !test(v); };
    }
    case 'glob': {
      const patterns = Array.isArray(operand) ? operand : [operand];
      const tests: ((v: string) => boolean)[] = [];
      patterns.forEach((p, i) => {
        if (typeof p !== 'string') {
          problems.push({ path: Array.isArray(operand) ? [...at, i] : at, message: '`glob` takes a pattern string or a list of them', code: 'POLICY_BAD_GLOB' });
          return;
        }
        const g = compileGlob(p);
        if (!g.ok) problems.push({ path: Array.isArray(operand) ? [...at, i] : at, message: `invalid glob \`${p}\`: ${g.message}`, code: 'POLICY_BAD_GLOB' });
        else tests.push(g.test);
      });
      return (ctx) => {
        const v = get(ctx);
        return typeof v === 'string' && tests.some((t) => t(v));
      };
    }
    case 'regex': {
      if (typeof operand !== 'string') {
        problems.push({ path: at, message: '`regex` takes a pattern string', code: 'POLICY_BAD_REGEX' });
        return never;
      }
      const checked = checkRegex(operand, 'u');
      if (!checked.ok) {
        problems.push({ path: at, message: `regex \`${operand}\` rejected: ${checked.message}`, code: 'POLICY_BAD_REGEX' });
        return never;
      }
      const re = checked.regex;
      return (ctx) => {
        const v = get(ctx);
        return typeof v === 'string' && re.test(v);
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
        if (typeof v === 'string') return typeof operand === 'string' && v.includes(operand);
        if (Array.isArray(v)) return v.some((x) => sameValue(x, operand));
        return false;
      };
    case 'containsAny':
    case 'containsAll': {
      if (!Array.isArray(operand) || operand.length === 0) {
        problems.push({ path: at, message: `\`${op}\` takes a non-empty list`, code: 'POLICY_INVALID' });
        return never;
      }
      const has = (v: unknown, x: unknown) => (typeof v === 'string' ? typeof x === 'string' && v.includes(x) : Array.isArray(v) && v.some((y) => sameValue(y, x)));
      return op === 'containsAny' ? (ctx) => { const v = get(ctx); return operand.some((x) => has(v, x)); } : (ctx) => { const v = get(ctx); return operand.every((x) => has(v, x)); };
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
