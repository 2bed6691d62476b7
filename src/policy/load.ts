/**
 * Loads policies from files, directories or in-memory documents, detects each document's
 * format by its shape (or takes it as declared), translates it into the native model,
 * validates and compiles the whole set. Every error names the file, line, column and field:
 *
 *   while loading `x.yaml`: line 7, column 13: rule `block-rm`: unknown effect `denny` …
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { Result } from '../core/result.js';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import { fieldName, isPlainObject } from '../core/schema.js';
import { yamlLocator, type Locate } from '../core/yaml-position.js';
import { compilePolicySet, type CompileInput } from './compile.js';
import { isCapFence, translateCapFence } from './formats/capfence.js';
import type { TranslateResult } from './formats/common.js';
import { isControlZero, translateControlZero } from './formats/control-zero.js';
import { isHarness, translateHarness } from './formats/harness.js';
import { isZyx, translateZyx } from './formats/zyx.js';
import type { BaselineOptions, NativePolicy, PolicyFormat, PolicySet } from './model.js';
import type { Problem } from './native.js';
import { validateNative } from './schema.js';

/**
 * A path to a file or directory, or a document given in memory: as text or parsed, with the
 * name messages use (`source`), or a bare parsed document, named `<document N>` (its place
 * in the list, from 1).
 */
export type PolicyInput = string | { source: string; text: string } | { source: string; document: unknown } | Record<string, unknown>;

/** A `{source, text}` or `{source, document}` wrapper, as opposed to a bare document. */
function isWrapped(input: object): input is { source: string; text: string } | { source: string; document: unknown } {
  const r = input as Record<string, unknown>;
  const keys = Object.keys(r);
  return typeof r['source'] === 'string' && keys.length === 2 && (typeof r['text'] === 'string' || 'document' in r);
}

export interface LoadOptions {
  baseline?: BaselineOptions;
  /** Skip detection: every document is in this format. */
  format?: PolicyFormat;
  /** Resolve relative paths against this directory (default: the process's cwd). */
  cwd?: string;
}

/** Compared case-insensitively: `P.YAML` is a policy file too, never skipped without a word. */
const POLICY_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
/** Policy test files live beside policies; loading a directory skips them. */
const TEST_FILE = /\.test\.(ya?ml|json)$/i;
/**
 * How deep a policy document may nest. Real policies stay far below it (a rule's `when`
 * with a few `all`/`any`/`not` levels); beyond it, compiling or evaluating could overflow
 * the stack.
 */
export const MAX_POLICY_DEPTH = 64;

interface SourceDoc {
  source: string;
  value: unknown;
  /** Maps a path in the document to a position; undefined for in-memory objects. */
  locate: Locate | undefined;
}

/** Lists policy files under a directory, recursively, in name order. */
function listPolicyFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listPolicyFiles(full));
    else if (POLICY_EXTENSIONS.has(extname(entry.name).toLowerCase()) && !TEST_FILE.test(entry.name)) out.push(full);
  }
  return out;
}

function where(source: string, pos?: { line: number; column: number }): string {
  return `while loading ${quote(source)}: ` + (pos ? `line ${pos.line}, column ${pos.column}: ` : '');
}

/** A parser's stack overflow, said as what it means for the document. */
function parseMessage(err: { message: string }): string {
  return /maximum call stack size exceeded/i.test(err.message) ? `the document nests too deeply (at most ${MAX_POLICY_DEPTH} levels)` : (err.message.split('\n')[0] ?? '');
}

/**
 * Checks a parsed document's values: nesting within `MAX_POLICY_DEPTH`, and every number
 * exactly representable (an integer beyond 2^53 such as `9007199254740993` would silently
 * become another number). Walks iteratively, so a deep in-memory document cannot overflow.
 */
function valueProblems(value: unknown): { path: (string | number)[]; message: string; code: 'POLICY_PARSE' | 'POLICY_INVALID' }[] {
  const out: { path: (string | number)[]; message: string; code: 'POLICY_PARSE' | 'POLICY_INVALID' }[] = [];
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: value, path: [] }];
  while (stack.length > 0 && out.length < 10) {
    const { v, path } = stack.pop() as { v: unknown; path: (string | number)[] };
    if (typeof v === 'number') {
      // Non-finite numbers (`.nan`, `.inf`) are refused when the set is hashed (compile.ts).
      if (Number.isInteger(v) && !Number.isSafeInteger(v))
        out.push({ path, message: `integer beyond 2^53 cannot be represented exactly (use at most ${Number.MAX_SAFE_INTEGER}, or a string)`, code: 'POLICY_INVALID' });
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (path.length >= MAX_POLICY_DEPTH) {
      out.push({ path, message: `the document nests too deeply (at most ${MAX_POLICY_DEPTH} levels)`, code: 'POLICY_PARSE' });
      continue;
    }
    const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, x] = entries[i] as [string | number, unknown];
      stack.push({ v: x, path: [...path, k] });
    }
  }
  return out;
}

/** The first byte offset where `bytes` is not well-formed UTF-8, or -1. */
function invalidUtf8At(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] as number;
    const [n, min, max] =
      b < 0x80
        ? [0, 0, 0]
        : b >= 0xc2 && b <= 0xdf
          ? [1, 0x80, 0xbf]
          : b === 0xe0
            ? [2, 0xa0, 0xbf]
            : b === 0xed
              ? [2, 0x80, 0x9f]
              : b >= 0xe1 && b <= 0xef
                ? [2, 0x80, 0xbf]
                : b === 0xf0
                  ? [3, 0x90, 0xbf]
                  : b >= 0xf1 && b <= 0xf3
                    ? [3, 0x80, 0xbf]
                    : b === 0xf4
                      ? [3, 0x80, 0x8f]
                      : [-1, 0, 0];
    if (n < 0) return i;
    // The second byte has the narrowed range (no overlongs, no surrogates, nothing past U+10FFFF).
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? min : 0x80) || c > (k === 1 ? max : 0xbf)) return i;
    }
    i += n + 1;
  }
  return -1;
}

/** Parses YAML or JSON text (JSON is YAML) into documents with position lookup. */
function parseText(source: string, text: string, errors: BastionError[]): SourceDoc[] {
  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false }) as Document.Parsed[];
  } catch (err) {
    errors.push(bastionError('POLICY_PARSE', `${where(source)}${parseMessage(err as Error)}`, { file: source }));
    return [];
  }
  if (!Array.isArray(docs)) docs = [docs];
  const out: SourceDoc[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const pos = lineCounter.linePos(e.pos[0]);
        errors.push(bastionError('POLICY_PARSE', `${where(source, { line: pos.line, column: pos.col })}${parseMessage(e)}`, { file: source, line: pos.line, column: pos.col }));
      }
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      errors.push(bastionError('POLICY_PARSE', `${where(source)}${parseMessage(err as Error)}`, { file: source }));
      continue;
    }
    if (value === null || value === undefined) continue; // an empty document between `---`
    const locate = yamlLocator(doc, lineCounter);
    const problems = valueProblems(value);
    if (problems.length > 0) {
      for (const p of problems) {
        const pos = locate(p.path);
        const field = fieldName(p.path);
        const node = doc.getIn(p.path, true) as { range?: [number, number, number] } | undefined;
        const literal = p.code === 'POLICY_INVALID' && node?.range ? ` \`${text.slice(node.range[0], node.range[1])}\`` : '';
        errors.push(
          bastionError(p.code, `${where(source, pos)}${field ? `field ${quote(field)}: ` : ''}${literal ? p.message.replace(/^integer/, `integer${literal}`) : p.message}`, {
            file: source,
            ...(pos ? { line: pos.line, column: pos.column } : {}),
            ...(field ? { field } : {}),
          }),
        );
      }
      continue;
    }
    out.push({ source, value, locate });
  }
  // INVARIANT: a file that says nothing is an error, never a silent no-op: truncating the
  // file with the deny rules must not quietly drop them on a reload.
  if (out.length === 0 && !docs.some((d) => d.errors.length > 0) && errors.every((e) => e.file !== source)) {
    errors.push(bastionError('POLICY_EMPTY', `${where(source)}the file holds no policy (it is empty or only comments)`, { file: source }));
  }
  return out;
}

function readInputs(inputs: PolicyInput[], cwd: string, errors: BastionError[]): SourceDoc[] {
  const docs: SourceDoc[] = [];
  for (const [i, input] of inputs.entries()) {
    if (typeof input !== 'string') {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        errors.push(
          bastionError(
            'POLICY_FORMAT_UNKNOWN',
            `policy input ${i + 1}: expected a path, {source, text}, {source, document} or a policy document, got ${input === null ? 'null' : Array.isArray(input) ? 'a list' : typeof input}`,
          ),
        );
        continue;
      }
      const wrapped = isWrapped(input);
      if (wrapped && 'text' in input) {
        docs.push(...parseText(input.source, input.text, errors));
        continue;
      }
      const source = wrapped ? input.source : `<document ${i + 1}>`;
      const document = wrapped ? (input as { document: unknown }).document : input;
      const problems = valueProblems(document);
      for (const p of problems) {
        const field = fieldName(p.path);
        errors.push(bastionError(p.code, `${where(source)}${field ? `field ${quote(field)}: ` : ''}${p.message}`, { file: source, ...(field ? { field } : {}) }));
      }
      if (problems.length === 0) docs.push({ source, value: document, locate: undefined });
      continue;
    }
    const full = resolve(cwd, input);
    let files: string[];
    try {
      files = statSync(full).isDirectory() ? listPolicyFiles(full) : [full];
    } catch (err) {
      errors.push(bastionError('POLICY_NOT_FOUND', `${where(input)}${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`, { file: input }));
      continue;
    }
    if (files.length === 0) errors.push(bastionError('POLICY_EMPTY', `${where(input)}the directory holds no policy files (.yaml, .yml, .json)`, { file: input }));
    for (const file of files) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (err) {
        errors.push(bastionError('POLICY_NOT_FOUND', `${where(file)}${(err as Error).message}`, { file }));
        continue;
      }
      // Invalid UTF-8 is an error, not silently U+FFFD: the policy would say something else.
      const bad = invalidUtf8At(bytes);
      if (bad >= 0) {
        const line = bytes.subarray(0, bad).filter((b) => b === 0x0a).length + 1;
        errors.push(bastionError('POLICY_PARSE', `${where(file)}line ${line}: the file is not valid UTF-8 (byte ${bad} is 0x${(bytes[bad] as number).toString(16).padStart(2, '0')})`, { file, line }));
        continue;
      }
      const text = bytes.toString('utf8');
      docs.push(...parseText(file, text, errors));
    }
  }
  return docs;
}

/** Detects a document's format by its shape. */
export function detectFormat(doc: unknown): PolicyFormat | undefined {
  if (isPlainObject(doc) && 'apiVersion' in doc) return 'native';
  if (isZyx(doc)) return 'zyx';
  if (isHarness(doc)) return 'harness';
  if (isCapFence(doc)) return 'capfence';
  if (isControlZero(doc)) return 'control-zero';
  return undefined;
}

function translate(format: PolicyFormat, doc: Record<string, unknown>, name: string): TranslateResult {
  switch (format) {
    case 'native':
      return { ok: true, value: { policy: doc as unknown as NativePolicy } };
    case 'control-zero':
      return translateControlZero(doc);
    case 'capfence':
      return translateCapFence(doc, name);
    case 'zyx':
      return translateZyx(doc, name);
    case 'harness':
      return translateHarness(doc, name);
  }
}

function problemToError(doc: SourceDoc, p: Problem, translated: boolean): BastionError {
  // Paths of translated documents refer to the native form; point at the document then.
  const pos = translated ? undefined : doc.locate?.(p.path, p.atKey ?? p.message.includes('unknown field'));
  const field = fieldName(p.path);
  // `rule `x`: field `rules[2].effect`: unknown effect `denny``: the rule (or flow rule) first, then the field.
  const label = /^(?:flow )?rule `[^`]*`: /.exec(p.message)?.[0] ?? '';
  const body = p.message.slice(label.length);
  const message = field ? `${label}field ${quote(field)}: ${body}` : p.message;
  return bastionError(p.code, `${where(doc.source, pos)}${message}`, {
    file: doc.source,
    ...(pos ? { line: pos.line, column: pos.column } : {}),
    ...(field ? { field } : {}),
  });
}

/**
 * Loads, translates, validates and compiles a policy set.
 *
 * @example
 * const r = loadPolicySet(['policies/']);
 * if (!r.ok) for (const e of r.errors) console.error(e.message);
 * else evaluate(r.value, request);
 */
export function loadPolicySet(inputs: PolicyInput | PolicyInput[], options: LoadOptions = {}): Result<PolicySet, BastionError> {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  const errors: BastionError[] = [];
  if (list.length === 0) return { ok: false, errors: [bastionError('POLICY_EMPTY', 'no policy given: name at least one policy file or directory')] };
  const docs = readInputs(list, options.cwd ?? process.cwd(), errors);
  const compileInputs: CompileInput[] = [];
  const docOf: { doc: SourceDoc; translated: boolean }[] = [];
  let emptyPolicies = 0;
  for (const doc of docs) {
    const format = options.format ?? detectFormat(doc.value);
    if (format === undefined) {
      errors.push(
        bastionError(
          'POLICY_FORMAT_UNKNOWN',
          `${where(doc.source, doc.locate?.([]))}not a known policy format (native needs \`apiVersion: bastion/v1\`; Control Zero has \`name\` and \`rules\`; CapFence has \`deny\`/\`require_approval\`/\`allow\` lists of \`capability\`; ZYX has \`tools\` with \`allowed_groups\`; harness has \`policy_engine\`)`,
          { file: doc.source },
        ),
      );
      continue;
    }
    if (!isPlainObject(doc.value)) {
      errors.push(bastionError('POLICY_INVALID', `${where(doc.source)}a policy must be a mapping`, { file: doc.source }));
      continue;
    }
    const name = basename(doc.source).replace(/\.(ya?ml|json)$/i, '');
    const t = translate(format, doc.value, name);
    if (!t.ok) {
      for (const p of t.problems) errors.push(problemToError(doc, p, false));
      continue;
    }
    const translated = format !== 'native';
    const shape = validateNative(t.value.policy);
    if (shape.length > 0) {
      // For a translated document the problem paths point into the source where the
      // adapter kept the shape (Control Zero rules), so try the source position first.
      // In document order (the schema reports a mapping's unknown keys after its fields).
      const located = shape.map((p) => problemToError(doc, p, translated && format !== 'control-zero'));
      errors.push(
        ...located
          .map((e, i) => ({ e, i }))
          .sort((a, b) => (a.e.line ?? 0) - (b.e.line ?? 0) || (a.e.column ?? 0) - (b.e.column ?? 0) || a.i - b.i)
          .map((x) => x.e),
      );
      continue;
    }
    const policy = t.value.policy;
    if (policy.rules.length === 0 && Object.keys(policy.actions ?? {}).length === 0 && policy.analyzers === undefined && (policy.limits ?? []).length === 0 && !t.value.killSwitch) {
      // A policy that decides nothing and declares nothing is a truncated or unfinished
      // file, not a choice; a metadata-only policy (`actions`, `analyzers`) stays valid.
      errors.push(
        bastionError('POLICY_EMPTY', `${where(doc.source, doc.locate?.(['rules']))}policy ${quote(policy.name)} has no rules and declares no actions, analyzers or kill switch`, { file: doc.source }),
      );
      emptyPolicies++;
      continue;
    }
    compileInputs.push({ policy, source: doc.source, format, ...(t.value.killSwitch ? { killSwitch: t.value.killSwitch } : {}) });
    docOf.push({ doc, translated: translated && format !== 'control-zero' });
  }
  if (emptyPolicies > 0 && compileInputs.every((c) => c.policy.rules.length === 0)) errors.push(bastionError('POLICY_EMPTY', 'the policy set has no rules: every action would be denied'));
  if (errors.length > 0) return { ok: false, errors };
  const { set, problems } = compilePolicySet(compileInputs, options.baseline ? { baseline: options.baseline } : {});
  for (const { input, problem } of problems) {
    const d = docOf[input] as (typeof docOf)[number];
    errors.push(problemToError(d.doc, problem, d.translated));
  }
  // Policy names identify rules in decisions and audit events: two policies with one name
  // would make an explanation ambiguous.
  const names = new Map<string, string>();
  for (const p of set.policies) {
    const prev = names.get(p.name);
    if (prev !== undefined) errors.push(bastionError('POLICY_INVALID', `${where(p.source)}policy name ${quote(p.name)} is already used by ${quote(prev)}`, { file: p.source }));
    names.set(p.name, p.source);
  }
  if (errors.length > 0) return { ok: false, errors };
  if (set.rules.length === 0) return { ok: false, errors: [bastionError('POLICY_EMPTY', 'the policy set has no rules: every action would be denied')] };
  return { ok: true, value: set };
}
