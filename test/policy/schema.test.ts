/**
 * docs/policy.schema.json is generated from the native policy schema (src/policy/schema.ts,
 * `npm run schema`): the committed file must equal what the generator writes, and the Zod
 * schema, the generated JSON Schema and the loader must judge a corpus of documents alike, as
 * well as every native example (under examples/native and in docs/policy.md).
 *
 * No JSON Schema package is installed, so a small checker for the keywords the generated
 * schema uses lives here; a test makes sure the schema uses no keyword the checker ignores.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { MATCH_OPERATORS } from '../../src/policy/conditions.js';
import { policyJsonSchema, policySchemaText } from '../../src/policy/json-schema.js';
import { loadPolicySet } from '../../src/policy/load.js';
import { NativePolicySchema, SCHEMA_OPERATORS } from '../../src/policy/schema.js';

type Schema = Record<string, unknown>;

const root = new URL('../..', import.meta.url).pathname;
const committed = readFileSync(join(root, 'docs/policy.schema.json'), 'utf8');
const schema = JSON.parse(committed) as Schema;
const defs = schema['$defs'] as Record<string, Schema>;

/** Keywords the checker below enforces, and annotations it may ignore. */
const ENFORCED = [
  'type',
  'required',
  'properties',
  'additionalProperties',
  'propertyNames',
  'enum',
  'const',
  'items',
  'minItems',
  'minLength',
  'minimum',
  'maximum',
  'pattern',
  'minProperties',
  'maxProperties',
  'anyOf',
  'allOf',
  'if',
  'then',
  '$ref',
];
const ANNOTATIONS = ['$schema', '$id', 'title', 'description', '$defs'];

function typeOf(v: unknown): string[] {
  if (v === null) return ['null'];
  if (Array.isArray(v)) return ['array'];
  if (typeof v === 'number') return Number.isInteger(v) ? ['number', 'integer'] : ['number'];
  return [typeof v];
}

function resolveRef(ref: string): Schema {
  const m = /^#\/\$defs\/([A-Za-z]+)$/.exec(ref);
  const target = m ? defs[m[1] as string] : undefined;
  if (!target) throw new Error(`unresolved $ref ${ref}`);
  return target;
}

/** Validates `value` against `s`; returns the problems as `path: message` strings. */
function check(s: Schema, value: unknown, path = '$'): string[] {
  const out: string[] = [];
  if (typeof s['$ref'] === 'string') out.push(...check(resolveRef(s['$ref']), value, path));
  if (s['type'] !== undefined && !typeOf(value).includes(s['type'] as string)) return [...out, `${path}: expected ${String(s['type'])}`];
  if (s['const'] !== undefined && value !== s['const']) out.push(`${path}: expected ${JSON.stringify(s['const'])}`);
  if (Array.isArray(s['enum']) && !(s['enum'] as unknown[]).includes(value)) out.push(`${path}: not one of ${JSON.stringify(s['enum'])}`);
  if (typeof value === 'string') {
    if (typeof s['minLength'] === 'number' && value.length < s['minLength']) out.push(`${path}: too short`);
    if (typeof s['pattern'] === 'string' && !new RegExp(s['pattern'], 'u').test(value)) out.push(`${path}: does not match ${s['pattern']}`);
  }
  if (typeof value === 'number' && typeof s['minimum'] === 'number' && value < s['minimum']) out.push(`${path}: below ${s['minimum']}`);
  if (typeof value === 'number' && typeof s['maximum'] === 'number' && value > s['maximum']) out.push(`${path}: above ${s['maximum']}`);
  if (Array.isArray(value)) {
    if (typeof s['minItems'] === 'number' && value.length < s['minItems']) out.push(`${path}: fewer than ${s['minItems']} items`);
    if (s['items'] !== undefined) value.forEach((item, i) => out.push(...check(s['items'] as Schema, item, `${path}[${i}]`)));
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    for (const r of (s['required'] as string[] | undefined) ?? []) if (!(r in obj)) out.push(`${path}: missing ${r}`);
    if (typeof s['minProperties'] === 'number' && keys.length < s['minProperties']) out.push(`${path}: too few properties`);
    if (typeof s['maxProperties'] === 'number' && keys.length > s['maxProperties']) out.push(`${path}: too many properties`);
    const props = (s['properties'] as Record<string, Schema> | undefined) ?? {};
    for (const k of keys) {
      if (s['propertyNames'] !== undefined) out.push(...check(s['propertyNames'] as Schema, k, `${path}.${k} (name)`));
      if (props[k] !== undefined) out.push(...check(props[k], obj[k], `${path}.${k}`));
      else if (s['additionalProperties'] === false) out.push(`${path}: unknown property ${k}`);
      else if (typeof s['additionalProperties'] === 'object') out.push(...check(s['additionalProperties'] as Schema, obj[k], `${path}.${k}`));
    }
  }
  if (Array.isArray(s['anyOf']) && !(s['anyOf'] as Schema[]).some((alt) => check(alt, value, path).length === 0)) out.push(`${path}: matches none of the anyOf alternatives`);
  for (const part of (s['allOf'] as Schema[] | undefined) ?? []) out.push(...check(part, value, path));
  if (s['if'] !== undefined && check(s['if'] as Schema, value, path).length === 0 && s['then'] !== undefined) out.push(...check(s['then'] as Schema, value, path));
  return out;
}

/** Every keyword used anywhere in the schema (inside `properties` only the values count). */
function keywords(s: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(s)) s.forEach((x) => keywords(x, found));
  else if (typeof s === 'object' && s !== null) {
    for (const [k, v] of Object.entries(s)) {
      found.add(k);
      if (k === 'properties' || k === '$defs') Object.values(v as object).forEach((x) => keywords(x, found));
      else if (k !== 'enum' && k !== 'const' && k !== 'required') keywords(v, found);
    }
  }
  return found;
}

describe('docs/policy.schema.json', () => {
  it('is what `npm run schema` generates from the Zod schema (run it after changing src/policy/schema.ts)', () => {
    expect(committed).toBe(policySchemaText(policyJsonSchema()));
  });

  it('uses only keywords the checker enforces', () => {
    const unknown = [...keywords(schema)].filter((k) => !ENFORCED.includes(k) && !ANNOTATIONS.includes(k));
    expect(unknown).toEqual([]);
  });

  it('resolves every $ref', () => {
    const refs = JSON.stringify(schema).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const r of refs) expect(() => resolveRef(r.slice(8, -1))).not.toThrow();
  });

  it('describes the operators conditions.ts compiles', () => {
    expect([...SCHEMA_OPERATORS].sort()).toEqual([...MATCH_OPERATORS].sort());
  });

  it('describes every property', () => {
    const missing: string[] = [];
    const walk = (s: unknown, path: string): void => {
      if (Array.isArray(s)) s.forEach((x, i) => walk(x, `${path}[${i}]`));
      else if (typeof s === 'object' && s !== null) {
        for (const [k, v] of Object.entries(s)) {
          if (k === 'properties') {
            for (const [name, p] of Object.entries(v as Record<string, Schema>)) if (typeof p['description'] !== 'string') missing.push(`${path}.${name}`);
          }
          walk(v, `${path}.${k}`);
        }
      }
    };
    walk(schema, '$');
    expect(missing).toEqual([]);
  });
});

interface SchemaCase {
  description: string;
  valid: boolean;
  document: unknown;
}

const cases = parse(readFileSync(join(root, 'test/fixtures/policy/schema-cases.yaml'), 'utf8')) as SchemaCase[];

describe('the schema and the loader judge documents alike', () => {
  it('has a corpus', () => expect(cases.length).toBeGreaterThanOrEqual(30));
  it.each(cases.map((c) => [c.description, c] as const))('%s', (_d, c) => {
    const loaded = loadPolicySet({ source: 'case.yaml', document: c.document });
    const problems = check(schema, c.document);
    const zod = NativePolicySchema.safeParse(c.document);
    expect(zod.success, `${c.description}: zod ${JSON.stringify(zod.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`))}`).toBe(c.valid);
    expect(loaded.ok, `${c.description}: loader ${loaded.ok ? 'accepted' : JSON.stringify(loaded.errors.map((e) => e.message))}`).toBe(c.valid);
    if (!loaded.ok)
      expect(
        loaded.errors.map((e) => e.code),
        c.description,
      ).not.toContain('POLICY_EMPTY');
    expect(problems.length === 0, `${c.description}: schema ${JSON.stringify(problems)}`).toBe(c.valid);
  });
});

/** Native documents: the example files, and the YAML blocks of docs/policy.md that are policies. */
function nativeExamples(): { source: string; document: unknown }[] {
  const out: { source: string; document: unknown }[] = [];
  const dir = join(root, 'examples/native');
  for (const name of readdirSync(dir).filter((n) => /\.(ya?ml|json)$/.test(n) && !/\.test\./.test(n))) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, name), 'utf8'))) out.push({ source: `examples/native/${name}`, document: doc.toJS() });
  }
  const md = readFileSync(join(root, 'docs/policy.md'), 'utf8');
  let n = 0;
  for (const m of md.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    n++;
    const text = m[1] as string;
    if (/^apiVersion: bastion\/v1$/m.test(text)) out.push({ source: `docs/policy.md yaml block ${n}`, document: parse(text) });
  }
  return out;
}

describe('native examples', () => {
  const examples = nativeExamples();
  it('has examples from examples/native and docs/policy.md', () => {
    expect(examples.filter((e) => e.source.startsWith('examples/')).length).toBeGreaterThanOrEqual(1);
    expect(examples.filter((e) => e.source.startsWith('docs/')).length).toBeGreaterThanOrEqual(5);
  });
  it.each(examples.map((e) => [e.source, e] as const))('%s satisfies the schema and loads', (_s, e) => {
    expect(check(schema, e.document), e.source).toEqual([]);
    expect(NativePolicySchema.safeParse(e.document).success, e.source).toBe(true);
    const loaded = loadPolicySet({ source: e.source, document: e.document });
    expect(loaded.ok ? [] : loaded.errors.map((x) => x.message), e.source).toEqual([]);
  });
});
