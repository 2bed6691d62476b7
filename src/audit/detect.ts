/**
 * Sigma detections over Bastion's OCSF export: parses Sigma rules (detection rules and
 * `event_count` correlation rules) from YAML text, fills their `%placeholders%` from the
 * configuration, and runs them over OCSF API Activity events, one event at a time. Pure: no
 * files, no clock; the caller reads the rule files and the log (`bastion audit detect`).
 *
 * Supported (anything else in a rule is an error naming the file, the rule and the field):
 * - selections as maps (fields AND, list values OR), lists of maps (OR), keyword lists;
 * - modifiers `contains`, `startswith`, `endswith`, `all`, `re` (with `i`, `m`, `s`),
 *   `cidr`, `exists`, `expand`, `cased`, `gt`, `gte`, `lt`, `lte`;
 * - conditions with `and`, `or`, `not`, parentheses, `1 of x*`, `all of x*`, `1 of them`;
 * - correlation `type: event_count` with `rules`, `group-by`, `timespan`, `condition: {gte|gt}`
 *   and `generate`.
 *
 * Business hours: Sigma has no time-of-day condition. The detector adds one field to each
 * event before matching, `unmapped.business_hours` (true or false, from the configured hours,
 * days and time zone); a rule says `unmapped.business_hours: false`.
 */

import { BlockList, isIP } from 'node:net';
import { LineCounter, parseAllDocuments } from 'yaml';
import * as z from 'zod';
import type { Result } from '../core/result.js';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import { yamlLocator } from '../core/yaml-position.js';
import { OCSF_VERSION } from './export.js';

export const SIGMA_LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type SigmaLevel = (typeof SIGMA_LEVELS)[number];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const text = (what: string) => z.string({ error: `must be ${what}` }).min(1, { error: `must be ${what}` });
const texts = (what: string) => z.array(z.string({ error: `must be a list of ${what}` }), { error: `must be a list of ${what}` });

/** The attributes every Sigma document (detection or correlation) may carry; others pass (Sigma allows custom attributes). */
const CommonSchema = {
  title: text('a non-empty string'),
  id: z.string({ error: 'must be a UUID' }).regex(UUID, { error: 'must be a UUID' }).exactOptional(),
  name: text('a non-empty string (the name correlation rules refer to)').exactOptional(),
  status: z.enum(['stable', 'test', 'experimental', 'deprecated', 'unsupported'], { error: 'must be stable, test, experimental, deprecated or unsupported' }).exactOptional(),
  description: z.string({ error: 'must be a string' }).exactOptional(),
  author: z.string({ error: 'must be a string' }).exactOptional(),
  date: z.union([z.string(), z.date()], { error: 'must be a date such as 2026-05-01' }).exactOptional(),
  modified: z.union([z.string(), z.date()], { error: 'must be a date such as 2026-05-01' }).exactOptional(),
  references: texts('strings').exactOptional(),
  tags: texts('tags').exactOptional(),
  falsepositives: z.union([z.string(), texts('strings')], { error: 'must be a string or a list of strings' }).exactOptional(),
  fields: texts('field names').exactOptional(),
  level: z.enum(SIGMA_LEVELS, { error: 'must be informational, low, medium, high or critical' }).exactOptional(),
};

const DetectionDocSchema = z.looseObject({
  ...CommonSchema,
  logsource: z.looseObject(
    { product: z.string().exactOptional(), service: z.string().exactOptional(), category: z.string().exactOptional() },
    { error: 'must be a mapping such as `{ product: bastion, service: audit }`' },
  ),
  detection: z.looseObject(
    { condition: z.union([text('a condition'), z.array(text('a condition')).min(1)], { error: 'must be a condition such as `selection and not filter`' }) },
    { error: 'must be a mapping of searches and a `condition`' },
  ),
});

const CorrelationDocSchema = z.looseObject({
  ...CommonSchema,
  correlation: z.strictObject(
    {
      type: z.literal('event_count', { error: 'only `event_count` is supported' }),
      rules: z.union([text('a rule name or id'), z.array(text('a rule name or id')).min(1, { error: 'must name at least one rule' })], { error: 'must be a rule name or id, or a list of them' }),
      'group-by': z.union([text('a field name'), z.array(text('a field name'))], { error: 'must be a field name or a list of them' }).exactOptional(),
      timespan: z.string({ error: 'must be a duration such as `10m`' }).regex(/^\d+[smhdwMy]$/, { error: 'must be a duration such as `30s`, `10m`, `1h` or `1d`' }),
      condition: z.strictObject(
        {
          gte: z.int({ error: 'must be a whole number' }).min(1, { error: 'must be at least 1' }).exactOptional(),
          gt: z.int({ error: 'must be a whole number' }).min(0, { error: 'must be at least 0' }).exactOptional(),
        },
        { error: (iss) => (iss.code === 'unrecognized_keys' ? 'only `gte` and `gt` are supported' : 'must be a mapping such as `{ gte: 5 }`') },
      ),
      generate: z.boolean({ error: 'must be true or false' }).exactOptional(),
    },
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys' ? `unknown field ${quote(iss.keys[0])} in \`correlation\` (expected type, rules, group-by, timespan, condition, generate)` : 'must be a mapping',
    },
  ),
});

/** What a rule says about itself: the part a match reports. */
export interface SigmaRuleInfo {
  file: string;
  title: string;
  id?: string;
  name?: string;
  level: SigmaLevel;
  description?: string;
  tags: string[];
}

type Matcher = (event: Record<string, unknown>) => boolean;

/** A parsed detection rule, not yet bound to placeholder values. */
export interface SigmaDetectionRule extends SigmaRuleInfo {
  kind: 'detection';
  /** `%name%` placeholders the rule uses (with `|expand`). */
  placeholders: string[];
  /** Binds the placeholders; an error names the rule and field. */
  compile(values: Readonly<Record<string, readonly string[]>>): Result<Matcher, BastionError>;
}

/** A parsed `event_count` correlation rule. */
export interface SigmaCorrelationRule extends SigmaRuleInfo {
  kind: 'correlation';
  rules: string[];
  groupBy: string[];
  timespanMs: number;
  /** The count at which it fires (`gte: N`, or `gt: N` as N + 1). */
  threshold: number;
  generate: boolean;
}

export type SigmaRule = SigmaDetectionRule | SigmaCorrelationRule;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, M: 2_592_000_000, y: 31_536_000_000 };

/**
 * Parses the Sigma documents of one file (several separated by `---`). Every problem names
 * the file, line, rule and field.
 *
 * @example
 * const r = parseSigmaRules(readFileSync(file, 'utf8'), 'detections/blocked-tool-call.yml');
 * if (r.ok) console.log(r.value[0]?.title);
 */
export function parseSigmaRules(source: string, file: string): Result<SigmaRule[], BastionError> {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(source, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const at = (pos?: { line: number; column: number }) => `while loading ${quote(file)}: ${pos ? `line ${pos.line}, column ${pos.column}: ` : ''}`;
  const fail = (message: string, pos?: { line: number; column: number }, field?: string): Result<SigmaRule[], BastionError> => ({
    ok: false,
    errors: [bastionError('DETECTION_INVALID', `${at(pos)}${message}`, { file, ...(pos ? { line: pos.line, column: pos.column } : {}), ...(field !== undefined ? { field } : {}) })],
  });
  if (!Array.isArray(docs)) return fail('no Sigma rule in the file');
  const rules: SigmaRule[] = [];
  for (const [index, doc] of docs.entries()) {
    const syntax = doc.errors[0];
    if (syntax !== undefined) {
      const pos = lineCounter.linePos(syntax.pos[0]);
      return fail(syntax.message.split('\n')[0] ?? 'cannot parse', { line: pos.line, column: pos.col });
    }
    let raw: unknown;
    try {
      raw = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      return fail((err as Error).message.split('\n')[0] ?? 'cannot parse');
    }
    if (raw === null || raw === undefined) continue; // an empty document (a trailing `---`)
    const locate = yamlLocator(doc, lineCounter);
    const label = docs.length > 1 ? `document ${index + 1}: ` : '';
    if (typeof raw !== 'object' || Array.isArray(raw)) return fail(`${label}a Sigma rule must be a mapping`, locate([]));
    const record = raw as Record<string, unknown>;
    const isCorrelation = 'correlation' in record;
    if (!isCorrelation && !('detection' in record)) return fail(`${label}a Sigma rule needs \`detection\` (or \`correlation\`)`, locate([]));
    const parsed = (isCorrelation ? CorrelationDocSchema : DetectionDocSchema).safeParse(record);
    if (!parsed.success) {
      const issue = parsed.error.issues[0] as z.core.$ZodIssue;
      const path = issue.path.map((k) => (typeof k === 'number' ? k : String(k)));
      const field = path.join('.');
      const title = typeof record['title'] === 'string' ? `rule ${quote(record['title'])}: ` : '';
      const given = path.reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<string | number, unknown>)[k] : undefined), record);
      const message = given === undefined && issue.code !== 'unrecognized_keys' ? 'is required' : issue.message;
      return fail(`${label}${title}field ${quote(field)}: ${message}`, locate(path), field);
    }
    const data = parsed.data as z.output<typeof DetectionDocSchema> & z.output<typeof CorrelationDocSchema>;
    const info: SigmaRuleInfo = {
      file,
      title: data.title,
      level: data.level ?? 'medium',
      tags: data.tags ?? [],
      ...(data.id !== undefined ? { id: data.id } : {}),
      ...(data.name !== undefined ? { name: data.name } : {}),
      ...(data.description !== undefined ? { description: data.description } : {}),
    };
    const where = (field: string, path: (string | number)[], atKey = false) => ({ prefix: `${label}rule ${quote(data.title)}: field ${quote(field)}: `, pos: locate(path, atKey), field });
    if (isCorrelation) {
      const c = data.correlation;
      const span = /^(\d+)([a-zA-Z])$/.exec(c.timespan) as RegExpExecArray;
      rules.push({
        ...info,
        kind: 'correlation',
        rules: Array.isArray(c.rules) ? c.rules : [c.rules],
        groupBy: c['group-by'] === undefined ? [] : Array.isArray(c['group-by']) ? c['group-by'] : [c['group-by']],
        timespanMs: Number(span[1]) * (UNIT_MS[span[2] as string] as number),
        threshold: c.condition.gte ?? (c.condition.gt !== undefined ? c.condition.gt + 1 : Number.NaN),
        generate: c.generate ?? false,
      });
      if (c.condition.gte === undefined && c.condition.gt === undefined) {
        const w = where('correlation.condition', ['correlation', 'condition']);
        return fail(`${w.prefix}must be a mapping such as \`{ gte: 5 }\``, w.pos, w.field);
      }
      continue;
    }
    const built = buildDetection(data.detection as Record<string, unknown>, where);
    if (!built.ok) {
      const e = built.problem;
      return fail(`${e.prefix}${e.message}`, e.pos, e.field);
    }
    const { searches, condition, placeholders } = built;
    rules.push({
      ...info,
      kind: 'detection',
      placeholders,
      compile(values) {
        const bound = new Map<string, Matcher>();
        for (const [name, search] of searches) {
          const m = search(values);
          if (typeof m === 'string')
            return { ok: false, errors: [bastionError('DETECTION_INVALID', `${at()}rule ${quote(data.title)}: field ${quote(`detection.${name}`)}: ${m}`, { file, field: `detection.${name}` })] };
          bound.set(name, m);
        }
        return { ok: true, value: condition(bound) };
      },
    });
  }
  if (rules.length === 0) return fail('no Sigma rule in the file');
  return { ok: true, value: rules };
}

type Where = (field: string, path: (string | number)[], atKey?: boolean) => { prefix: string; pos: { line: number; column: number } | undefined; field: string };
type Problem = { prefix: string; message: string; pos: { line: number; column: number } | undefined; field: string };
/** A search awaiting placeholder values: a matcher, or a problem (a placeholder's value that is not a CIDR …). */
type Search = (values: Readonly<Record<string, readonly string[]>>) => Matcher | string;

function buildDetection(
  detection: Record<string, unknown>,
  where: Where,
): { ok: true; searches: Map<string, Search>; condition: (bound: Map<string, Matcher>) => Matcher; placeholders: string[] } | { ok: false; problem: Problem } {
  const searches = new Map<string, Search>();
  const placeholders = new Set<string>();
  for (const [name, value] of Object.entries(detection)) {
    if (name === 'condition') continue;
    if (name === 'timeframe') {
      const w = where('detection.timeframe', ['detection', 'timeframe']);
      return { ok: false, problem: { ...w, message: '`timeframe` is not supported: use a correlation rule (`type: event_count`, `timespan`)' } };
    }
    const search = buildSearch(value, ['detection', name], where, placeholders);
    if (typeof search !== 'function') return { ok: false, problem: search };
    searches.set(name, search);
  }
  const raw = detection['condition'] as string | string[];
  const conditions = Array.isArray(raw) ? raw : [raw];
  const parsed: Array<(bound: Map<string, Matcher>) => Matcher> = [];
  for (const [i, text] of conditions.entries()) {
    const path = Array.isArray(raw) ? ['detection', 'condition', i] : ['detection', 'condition'];
    const c = parseCondition(text, [...searches.keys()]);
    if (typeof c === 'string') {
      const w = where('detection.condition', path);
      return { ok: false, problem: { ...w, message: c } };
    }
    parsed.push(c);
  }
  // Several conditions are alternatives (Sigma: a list of conditions is ORed).
  const condition = (bound: Map<string, Matcher>): Matcher => {
    const ms = parsed.map((p) => p(bound));
    return (e) => ms.some((m) => m(e));
  };
  return { ok: true, searches, condition, placeholders: [...placeholders].sort() };
}

const MODIFIERS = new Set(['contains', 'startswith', 'endswith', 'all', 're', 'i', 'm', 's', 'cidr', 'exists', 'expand', 'cased', 'gt', 'gte', 'lt', 'lte']);

type Scalar = string | number | boolean | null;
const isScalar = (v: unknown): v is Scalar => v === null || ['string', 'number', 'boolean'].includes(typeof v);

function buildSearch(value: unknown, path: (string | number)[], where: Where, placeholders: Set<string>): Search | Problem {
  const field = path.join('.');
  const problem = (message: string, at = path, atKey = false): Problem => ({ ...where(at.join('.'), at, atKey), message });
  if (Array.isArray(value)) {
    if (value.length === 0) return problem('must not be empty');
    if (value.every(isScalar)) {
      // Keywords: any string member of the event contains one of them.
      const words = value.map((v) => String(v).toLowerCase());
      return () => (e) => words.some((w) => someString(e, (s) => s.toLowerCase().includes(w)));
    }
    const parts: Search[] = [];
    for (const [i, item] of value.entries()) {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) return problem('a list of searches must hold only mappings (or only keywords)', [...path, i]);
      const part = buildSearch(item, [...path, i], where, placeholders);
      if (typeof part !== 'function') return part;
      parts.push(part);
    }
    return (values) => {
      const ms: Matcher[] = [];
      for (const p of parts) {
        const m = p(values);
        if (typeof m === 'string') return m;
        ms.push(m);
      }
      return (e) => ms.some((m) => m(e));
    };
  }
  if (typeof value !== 'object' || value === null) return problem(`must be a mapping of fields to values, a list of them or a list of keywords (in \`${field}\`)`);
  const fields: Array<(values: Readonly<Record<string, readonly string[]>>) => Matcher | string> = [];
  for (const [key, expected] of Object.entries(value as Record<string, unknown>)) {
    const [name = '', ...mods] = key.split('|');
    const at = [...path, key];
    for (const mod of mods) if (!MODIFIERS.has(mod)) return problem(`unknown or unsupported modifier ${quote(mod)} (supported: ${[...MODIFIERS].join(', ')})`, at, true);
    if (name === '') return problem('a field name is required before the modifiers', at);
    const list = Array.isArray(expected) ? expected : [expected];
    if (!list.every(isScalar)) return problem('must be a value or a list of values', at);
    if (list.length === 0) return problem('must not be an empty list', at);
    const has = (m: string) => mods.includes(m);
    if (has('exists')) {
      if (list.length !== 1 || typeof list[0] !== 'boolean') return problem('`exists` takes true or false', at);
      const want = list[0];
      fields.push(() => (e) => valuesAt(e, name).length > 0 === want);
      continue;
    }
    if (has('expand')) {
      for (const v of list) if (typeof v === 'string') for (const m of v.matchAll(/%([A-Za-z0-9_.-]+)%/g)) placeholders.add(m[1] as string);
    }
    const compare = ['gt', 'gte', 'lt', 'lte'].filter(has);
    if (compare.length > 1) return problem('use one of `gt`, `gte`, `lt`, `lte`', at);
    if (compare.length === 1 && !list.every((v) => typeof v === 'number')) return problem(`\`${compare[0]}\` takes numbers`, at);
    if (has('re')) {
      for (const v of list) {
        if (typeof v !== 'string') return problem('`re` takes a regular expression (a string)', at);
        if (!has('expand')) {
          try {
            new RegExp(v);
          } catch {
            return problem(`${quote(v)} is not a regular expression`, at);
          }
        }
      }
    }
    if (has('cidr') && !has('expand')) {
      for (const v of list) if (typeof v !== 'string' || cidrBlock([v]) === undefined) return problem(`${quote(v)} is not a CIDR network such as \`10.0.0.0/8\``, at);
    }
    fields.push((values) => {
      let resolved: Scalar[] = list;
      if (has('expand')) {
        const out: Scalar[] = [];
        for (const v of list) {
          if (typeof v !== 'string') out.push(v);
          else out.push(...expandPlaceholders(v, values));
        }
        // INVARIANT: a placeholder configured as an empty list matches nothing (it never widens a search).
        if (out.length === 0) return () => false;
        resolved = out;
      }
      return valueMatcher(name, mods, resolved);
    });
  }
  if (fields.length === 0) return problem('must name at least one field');
  return (values) => {
    const ms: Matcher[] = [];
    for (const f of fields) {
      const m = f(values);
      if (typeof m === 'string') return m;
      ms.push(m);
    }
    return (e) => ms.every((m) => m(e));
  };
}

function expandPlaceholders(value: string, values: Readonly<Record<string, readonly string[]>>): string[] {
  const m = /%([A-Za-z0-9_.-]+)%/.exec(value);
  if (m === null) return [value];
  const head = value.slice(0, m.index);
  const tail = value.slice(m.index + m[0].length);
  const fills = values[m[1] as string] ?? [];
  return fills.flatMap((fill) => expandPlaceholders(tail, values).map((rest) => head + fill + rest));
}

function cidrBlock(networks: readonly string[]): BlockList | undefined {
  const block = new BlockList();
  for (const n of networks) {
    const [address = '', bits, more] = n.split('/');
    const family = isIP(address);
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    if (family === 0 || more !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) return undefined;
    block.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return block;
}

/** A Sigma string with `*` and `?` wildcards (`\` escapes) as an anchored regular expression. */
function wildcard(pattern: string, cased: boolean): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '\\' && i + 1 < pattern.length && '*?\\'.includes(pattern.charAt(i + 1))) {
      out += `\\${pattern.charAt(++i)}`;
    } else if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, cased ? '' : 'i');
}

function valueMatcher(name: string, mods: string[], list: readonly Scalar[]): Matcher | string {
  const has = (m: string) => mods.includes(m);
  let tests: Array<(leaf: unknown) => boolean>;
  if (has('cidr')) {
    const blocks = list.map((v) => cidrBlock([String(v)]));
    const bad = list.find((_, i) => blocks[i] === undefined);
    if (bad !== undefined) return `${quote(bad)} is not a CIDR network such as \`10.0.0.0/8\``;
    tests = blocks.map((b) => (leaf) => typeof leaf === 'string' && isIP(leaf) !== 0 && (b as BlockList).check(leaf, isIP(leaf) === 6 ? 'ipv6' : 'ipv4'));
  } else if (has('re')) {
    const flags = (has('i') ? 'i' : '') + (has('m') ? 'm' : '') + (has('s') ? 's' : '');
    const res: RegExp[] = [];
    for (const v of list) {
      try {
        res.push(new RegExp(String(v), flags));
      } catch {
        return `${quote(v)} is not a regular expression`;
      }
    }
    tests = res.map((re) => (leaf) => isScalar(leaf) && leaf !== null && re.test(String(leaf)));
  } else if (['gt', 'gte', 'lt', 'lte'].some(has)) {
    tests = list.map((v) => {
      const n = v as number;
      const cmp = has('gt') ? (x: number) => x > n : has('gte') ? (x: number) => x >= n : has('lt') ? (x: number) => x < n : (x: number) => x <= n;
      return (leaf) => (typeof leaf === 'number' || (typeof leaf === 'string' && leaf.trim() !== '')) && cmp(Number(leaf));
    });
  } else {
    tests = list.map((v) => {
      if (v === null) return (leaf) => leaf === null;
      if (typeof v === 'boolean' || typeof v === 'number') return (leaf) => leaf === v || (typeof leaf === 'string' && leaf === String(v));
      const pattern = has('contains') ? `*${v}*` : has('startswith') ? `${v}*` : has('endswith') ? `*${v}` : v;
      const re = wildcard(pattern, has('cased'));
      return (leaf) => (typeof leaf === 'string' || typeof leaf === 'number' || typeof leaf === 'boolean') && re.test(String(leaf));
    });
  }
  const all = has('all');
  const isNull = list.length === 1 && list[0] === null;
  return (e) => {
    const leaves = valuesAt(e, name);
    // `field: null` holds when the field is absent too.
    if (isNull && leaves.length === 0) return true;
    const one = (t: (leaf: unknown) => boolean) => leaves.some(t);
    return all ? tests.every(one) : tests.some(one);
  };
}

/**
 * The values at a dotted field path: a key with dots in it first, then nested members; lists
 * on the way are searched member by member (`actor.user.groups.name` is every group's name).
 */
export function valuesAt(event: unknown, path: string): unknown[] {
  if (typeof event !== 'object' || event === null) return [];
  const record = event as Record<string, unknown>;
  if (path in record) return flatten(record[path]);
  const parts = path.split('.');
  let current: unknown[] = [event];
  for (const part of parts) {
    const next: unknown[] = [];
    for (const c of current) {
      for (const item of Array.isArray(c) ? c : [c]) {
        if (typeof item === 'object' && item !== null && !Array.isArray(item) && part in item) next.push((item as Record<string, unknown>)[part]);
      }
    }
    current = next;
    if (current.length === 0) return [];
  }
  return current.flatMap(flatten);
}

function flatten(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.flatMap(flatten) : [value];
}

function someString(value: unknown, test: (s: string) => boolean): boolean {
  if (typeof value === 'string') return test(value);
  if (Array.isArray(value)) return value.some((v) => someString(v, test));
  if (typeof value === 'object' && value !== null) return Object.values(value).some((v) => someString(v, test));
  return false;
}

type Node = (bound: Map<string, Matcher>) => Matcher;

/** Parses a Sigma condition: `a and not (b or c)`, `1 of selection_*`, `all of them`. */
function parseCondition(source: string, names: string[]): Node | string {
  if (source.includes('|')) return 'aggregations (`| count() …`) are not supported: use a correlation rule (`type: event_count`)';
  const tokens = source.match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const peek = () => tokens[i]?.toLowerCase();
  const expectName = (name: string): Node | string =>
    names.includes(name) ? (b) => b.get(name) as Matcher : `unknown search ${quote(name)} (the detection has ${names.map((n) => quote(n)).join(', ')})`;
  const matching = (pattern: string): string[] | string => {
    // Sigma: `them` leaves out the searches whose names start with `_`.
    if (pattern === 'them') return names.filter((n) => !n.startsWith('_'));
    const re = wildcard(pattern, true);
    const found = names.filter((n) => re.test(n));
    return found.length > 0 ? found : `no search matches ${quote(pattern)}`;
  };
  const primary = (): Node | string => {
    const t = tokens[i];
    if (t === undefined) return 'the condition ends too early';
    if (t === '(') {
      i++;
      const inner = or();
      if (typeof inner === 'string') return inner;
      if (tokens[i] !== ')') return 'a `(` is not closed';
      i++;
      return inner;
    }
    if (t === ')') return 'an unexpected `)`';
    const lower = t.toLowerCase();
    if ((lower === '1' || lower === 'all' || lower === 'any') && tokens[i + 1]?.toLowerCase() === 'of') {
      const target = tokens[i + 2];
      if (target === undefined) return `\`${t} of\` needs a search name or pattern`;
      i += 3;
      const found = matching(target);
      if (typeof found === 'string') return found;
      return lower === 'all'
        ? (b) => {
            const ms = found.map((n) => b.get(n) as Matcher);
            return (e) => ms.every((m) => m(e));
          }
        : (b) => {
            const ms = found.map((n) => b.get(n) as Matcher);
            return (e) => ms.some((m) => m(e));
          };
    }
    if (['and', 'or', 'not', 'of'].includes(lower)) return `an unexpected ${quote(t)}`;
    i++;
    return expectName(t);
  };
  const not = (): Node | string => {
    if (peek() === 'not') {
      i++;
      const inner = not();
      if (typeof inner === 'string') return inner;
      return (b) => {
        const m = inner(b);
        return (e) => !m(e);
      };
    }
    return primary();
  };
  const binary = (word: string, next: () => Node | string, combine: (a: boolean, b: () => boolean) => boolean) => (): Node | string => {
    let left = next();
    while (typeof left !== 'string' && peek() === word) {
      i++;
      const right = next();
      if (typeof right === 'string') return right;
      const l = left;
      left = (b) => {
        const lm = l(b);
        const rm = right(b);
        return (e) => combine(lm(e), () => rm(e));
      };
    }
    return left;
  };
  const and = binary('and', not, (a, b) => a && b());
  const or = binary('or', and, (a, b) => a || b());
  const node = or();
  if (typeof node === 'string') return node;
  if (i < tokens.length) return `an unexpected ${quote(tokens[i])}`;
  return node;
}

/** When the working day is, for `unmapped.business_hours`. */
export interface BusinessHours {
  /** `HH:MM`, inclusive. */
  start: string;
  /** `HH:MM`, exclusive. */
  end: string;
  /** An IANA time zone such as `Europe/Stockholm`. */
  timezone: string;
  /** `mon` … `sun`. */
  days: readonly string[];
}

export const DEFAULT_BUSINESS_HOURS: BusinessHours = { start: '08:00', end: '18:00', timezone: 'UTC', days: ['mon', 'tue', 'wed', 'thu', 'fri'] };

/**
 * Whether an instant falls in business hours, in their time zone.
 *
 * @example inBusinessHours(Date.parse('2026-05-04T09:00:00Z'), DEFAULT_BUSINESS_HOURS) // true (a Monday)
 */
export function inBusinessHours(timeMs: number, hours: BusinessHours): boolean {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: hours.timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(timeMs));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = get('weekday').toLowerCase().slice(0, 3);
  const hhmm = `${get('hour').padStart(2, '0')}:${get('minute').padStart(2, '0')}`;
  return hours.days.includes(day) && hhmm >= hours.start && hhmm < hours.end;
}

/** One rule that fired: on one event, or (a correlation) on the events of one group within its timespan. */
export interface DetectionMatch {
  rule: SigmaRuleInfo;
  kind: 'detection' | 'correlation';
  /** The events' sequence numbers, oldest first. */
  seqs: number[];
  /** ISO time of the first and the last event. */
  firstTime: string;
  time: string;
  principal?: string;
  action?: string;
  /** A correlation's group-by values. */
  group?: Record<string, unknown>;
}

export interface DetectorOptions {
  /** Placeholder values: `service_accounts`, `expected_networks`, `approvers`, or any a rule uses. */
  placeholders?: Readonly<Record<string, readonly string[]>>;
  businessHours?: BusinessHours;
}

/** A rule that was not run, and why (a placeholder it uses has no value). */
export interface SkippedRule {
  rule: SigmaRuleInfo;
  reason: string;
}

export interface Detector {
  /** Rules skipped because a placeholder they use is not configured. */
  skipped: SkippedRule[];
  /** Rules that run. */
  active: SigmaRuleInfo[];
  /** Feeds one OCSF event (events in time order); returns the matches it completes. */
  push(event: Record<string, unknown>): DetectionMatch[];
}

const first = (event: Record<string, unknown>, path: string): string | undefined => {
  const v = valuesAt(event, path)[0];
  return v === undefined || v === null ? undefined : String(v);
};

/**
 * Binds rules to their placeholder values and returns a detector that takes OCSF events one at
 * a time. A rule whose placeholder has no value is skipped (listed in `skipped`), never run
 * with an empty list; a correlation naming a rule that is not given is an error.
 *
 * @example
 * const d = createDetector(rules, { placeholders: { service_accounts: ['svc-agent'] } });
 * if (d.ok) for (const e of events) console.log(d.value.push(toOcsf(e)));
 */
export function createDetector(rules: readonly SigmaRule[], options: DetectorOptions = {}): Result<Detector, BastionError> {
  const values = options.placeholders ?? {};
  const hours = options.businessHours ?? DEFAULT_BUSINESS_HOURS;
  const skipped: SkippedRule[] = [];
  const errors: BastionError[] = [];
  const detections: Array<{ rule: SigmaDetectionRule; match: Matcher; emit: boolean; correlations: Correlation[] }> = [];
  const seen = new Map<string, SigmaRule>();
  for (const rule of rules) {
    for (const key of [rule.id, rule.name]) {
      if (key === undefined) continue;
      const other = seen.get(key);
      if (other !== undefined && other !== rule) {
        const field = key === rule.id ? 'id' : 'name';
        errors.push(
          bastionError(
            'DETECTION_INVALID',
            `while loading ${quote(rule.file)}: rule ${quote(rule.title)}: field \`${field}\`: ${quote(key)} is also the ${field} of rule ${quote(other.title)} in ${quote(other.file)}`,
            { file: rule.file, field },
          ),
        );
      }
      seen.set(key, rule);
    }
  }
  for (const rule of rules) {
    if (rule.kind !== 'detection') continue;
    const missing = rule.placeholders.filter((p) => values[p] === undefined);
    if (missing.length > 0) {
      skipped.push({ rule: info(rule), reason: `placeholder${missing.length > 1 ? 's' : ''} ${missing.map((m) => `%${m}%`).join(', ')} not configured` });
      continue;
    }
    const compiled = rule.compile(values);
    if (!compiled.ok) errors.push(...compiled.errors);
    else detections.push({ rule, match: compiled.value, emit: true, correlations: [] });
  }
  interface Correlation {
    rule: SigmaCorrelationRule;
    windows: Map<string, Array<{ seq: number; time: number; event: Record<string, unknown> }>>;
  }
  const correlations: Correlation[] = [];
  for (const rule of rules) {
    if (rule.kind !== 'correlation') continue;
    const refs: typeof detections = [];
    let skip: string | undefined;
    for (const ref of rule.rules) {
      const found = detections.find((d) => d.rule.name === ref || d.rule.id === ref);
      if (found) refs.push(found);
      else if (skipped.some((s) => s.rule.name === ref || s.rule.id === ref)) skip = `it uses rule ${quote(ref)}, which is skipped`;
      else
        errors.push(
          bastionError('DETECTION_INVALID', `while loading ${quote(rule.file)}: rule ${quote(rule.title)}: field \`correlation.rules\`: no rule has the name or id ${quote(ref)}`, {
            file: rule.file,
            field: 'correlation.rules',
          }),
        );
    }
    if (skip !== undefined) {
      skipped.push({ rule: info(rule), reason: skip });
      continue;
    }
    const c: Correlation = { rule, windows: new Map() };
    correlations.push(c);
    for (const r of refs) {
      r.correlations.push(c);
      // Sigma: a rule a correlation refers to reports no matches of its own unless `generate: true`.
      if (!rule.generate) r.emit = false;
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const active = [...detections.map((d) => info(d.rule)), ...correlations.map((c) => info(c.rule))];
  const push = (raw: Record<string, unknown>): DetectionMatch[] => {
    const time = typeof raw['time'] === 'number' ? raw['time'] : Number.NaN;
    const event = { ...raw, unmapped: { ...(raw['unmapped'] as Record<string, unknown> | undefined), business_hours: Number.isFinite(time) ? inBusinessHours(time, hours) : false } };
    const seq = Number(valuesAt(event, 'metadata.sequence')[0] ?? 0);
    const out: DetectionMatch[] = [];
    const fired = new Set<Correlation>();
    for (const d of detections) {
      if (!d.match(event)) continue;
      if (d.emit) out.push(matchOf(d.rule, 'detection', [{ seq, time, event }]));
      for (const c of d.correlations) {
        // One event counts once per correlation, however many of its rules it matches.
        if (fired.has(c)) continue;
        fired.add(c);
        const groupValues = c.rule.groupBy.map((f) => first(event, f) ?? null);
        const key = JSON.stringify(groupValues);
        const window = (c.windows.get(key) ?? []).filter((w) => time - w.time < c.rule.timespanMs);
        window.push({ seq, time, event });
        if (window.length >= c.rule.threshold) {
          const m = matchOf(c.rule, 'correlation', window);
          m.group = Object.fromEntries(c.rule.groupBy.map((f, i) => [f, groupValues[i]]));
          out.push(m);
          // Fires once per burst: the next match needs `threshold` new events.
          c.windows.delete(key);
        } else c.windows.set(key, window);
      }
    }
    return out;
  };
  return { ok: true, value: { skipped, active, push } };
}

function info(rule: SigmaRule): SigmaRuleInfo {
  const { file, title, level, tags } = rule;
  return {
    file,
    title,
    level,
    tags,
    ...(rule.id !== undefined ? { id: rule.id } : {}),
    ...(rule.name !== undefined ? { name: rule.name } : {}),
    ...(rule.description !== undefined ? { description: rule.description } : {}),
  };
}

function matchOf(rule: SigmaRule, kind: DetectionMatch['kind'], events: Array<{ seq: number; time: number; event: Record<string, unknown> }>): DetectionMatch {
  const last = events[events.length - 1] as { time: number; event: Record<string, unknown> };
  const iso = (t: number) => (Number.isFinite(t) ? new Date(t).toISOString() : '');
  const principal = first(last.event, 'actor.user.uid');
  const action = first(last.event, 'api.operation');
  return {
    rule: info(rule),
    kind,
    seqs: events.map((e) => e.seq),
    firstTime: iso(events[0]?.time ?? Number.NaN),
    time: iso(last.time),
    ...(principal !== undefined ? { principal } : {}),
    ...(action !== undefined ? { action } : {}),
  };
}

const SEVERITY: Record<SigmaLevel, [number, string]> = { informational: [1, 'Informational'], low: [2, 'Low'], medium: [3, 'Medium'], high: [4, 'High'], critical: [5, 'Critical'] };

/**
 * A match as an OCSF Detection Finding (class 2004), for a SIEM next to the API Activity
 * events it refers to (`finding_info.related_events[].uid` is their `metadata.uid`).
 *
 * @example toDetectionFinding(match, { logId }).class_uid // 2004
 */
export function toDetectionFinding(match: DetectionMatch, meta: { logId?: string; productVersion?: string } = {}): Record<string, unknown> {
  const [severityId, severity] = SEVERITY[match.rule.level];
  const uidOf = (seq: number) => (meta.logId ? `${meta.logId}:${seq}` : String(seq));
  const ruleUid = match.rule.id ?? match.rule.name ?? match.rule.title;
  const lastSeq = match.seqs[match.seqs.length - 1] ?? 0;
  return {
    class_uid: 2004,
    class_name: 'Detection Finding',
    category_uid: 2,
    category_name: 'Findings',
    activity_id: 1,
    activity_name: 'Create',
    type_uid: 200401,
    type_name: 'Detection Finding: Create',
    time: Date.parse(match.time),
    severity_id: severityId,
    severity,
    status_id: 1,
    status: 'New',
    message: match.rule.title,
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'Bastion', vendor_name: 'Bastion', ...(meta.productVersion ? { version: meta.productVersion } : {}) },
      log_name: 'bastion-detections',
      uid: `${ruleUid}:${uidOf(lastSeq)}`,
    },
    finding_info: {
      uid: `${ruleUid}:${uidOf(lastSeq)}`,
      title: match.rule.title,
      ...(match.rule.description !== undefined ? { desc: match.rule.description.trim() } : {}),
      types: [match.kind === 'correlation' ? 'Sigma correlation' : 'Sigma'],
      analytic: { uid: ruleUid, name: match.rule.title, type_id: match.kind === 'correlation' ? 3 : 1, type: match.kind === 'correlation' ? 'Statistical' : 'Rule' },
      first_seen_time: Date.parse(match.firstTime),
      last_seen_time: Date.parse(match.time),
      related_events: match.seqs.map((seq) => ({ uid: uidOf(seq) })),
    },
    ...(match.principal !== undefined ? { actor: { user: { uid: match.principal, name: match.principal } } } : {}),
    unmapped: {
      rule_file: match.rule.file,
      level: match.rule.level,
      seqs: match.seqs,
      ...(match.action !== undefined ? { action: match.action } : {}),
      ...(match.group !== undefined ? { group: match.group } : {}),
      ...(match.rule.tags.length > 0 ? { tags: match.rule.tags } : {}),
    },
  };
}
