/**
 * Policy test files, in the spirit of `opa test`: every policy ships with its tests. A test
 * file (`*.test.yaml`) names its policies and lists cases, each a request and what the
 * decision must be: its effect, reason, risk, categories, matched rules, errors,
 * obligations and approval requirements (see `PolicyTestCase['expect']`; lists are exact,
 * the `…Includes`/`…Include` forms are subsets):
 *
 *   policies: [tool_policies.yaml]        # relative to this file
 *   tests:
 *     - description: the engineer may read Jira
 *       request: { principal: { id: e, groups: [grp-ai-devops-readonly], deviceCompliant: true }, action: jira_read }
 *       expect: { decision: allow, reason: authorized, matched: [tool_policies/jira_read/allow] }
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { validateRequest } from '../core/request.js';
import { isRisk } from '../core/risk.js';
import { canonicalJson } from '../core/canonical-json.js';
import { EFFECTS, type ApprovalRequirement, type Decision, type DecisionError, type Obligation } from '../core/types.js';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import type { KillSwitchState } from './model.js';

/** One expected decision error; every field named must agree, fields left out are not checked. */
/** What the runner decides through: a gateway (the production path) or anything shaped like one. */
export interface DecisionSurface {
  decide(request: unknown): Promise<Decision>;
  close(): Promise<void>;
}

export interface ExpectedError {
  code?: string;
  policy?: string;
  rule?: string;
  /** A substring the error's message must contain. */
  messageContains?: string;
}

export interface PolicyTestCase {
  description: string;
  request: unknown;
  killSwitch?: Partial<KillSwitchState>;
  expect: {
    decision?: Decision['decision'];
    reason?: string;
    /** A substring the reason must contain, for reasons that name dynamic parts. */
    reasonContains?: string;
    risk?: Decision['risk'];
    /** The decision's categories, exactly (as a set). */
    categories?: string[];
    /** Categories the decision must include (others may be present). */
    categoriesInclude?: string[];
    /** The matched rules as `policy/rule`, exactly and in the decision's order. */
    matched?: string[];
    /** `policy/rule` names that must be among the matched rules (others may be present). */
    matchedIncludes?: string[];
    /**
     * `true`: the decision reports errors; `false`: it reports none; a list: exactly that
     * many errors, the n-th agreeing with the n-th entry.
     */
    errors?: boolean | ExpectedError[];
    /** The decision's obligations, exactly and in order (each compared deeply). */
    obligations?: Obligation[];
    /** The decision's approval requirements, exactly and in order (`[]`: none). */
    approval?: ApprovalRequirement[];
  };
}

export interface PolicyTestFile {
  file: string;
  policies: string[];
  baseline: boolean;
  killSwitch?: Partial<KillSwitchState>;
  tests: PolicyTestCase[];
}

export interface CaseOutcome {
  file: string;
  description: string;
  passed: boolean;
  failures: string[];
  decision: Decision;
}

const FILE_FIELDS = ['policies', 'baseline', 'killSwitch', 'tests', 'description'];
const CASE_FIELDS = ['description', 'request', 'killSwitch', 'expect'];
/** Every expectation a case may name, in the order `bastion test --help` lists them. */
export const EXPECT_FIELDS = ['decision', 'reason', 'reasonContains', 'risk', 'categories', 'categoriesInclude', 'matched', 'matchedIncludes', 'errors', 'obligations', 'approval'] as const;
const ERROR_FIELDS = ['code', 'policy', 'rule', 'messageContains'] as const;

/** The gateway's reason for a request that fails validation. */
const INVALID_REQUEST = 'request is invalid';

function isStringList(v: unknown): boolean {
  return Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== '');
}

/** Expectations of the wrong type would fail every run, or never: report them at load. */
function expectationProblems(expect: Record<string, unknown>): string[] {
  const out: string[] = [];
  const e = expect;
  if (e['decision'] !== undefined && !(EFFECTS as readonly unknown[]).includes(e['decision']))
    out.push(`\`expect.decision\` must be allow, deny or require_approval, got ${quote(String(e['decision']))}`);
  for (const f of ['reason', 'reasonContains']) if (e[f] !== undefined && (typeof e[f] !== 'string' || e[f] === '')) out.push(`\`expect.${f}\` must be a non-empty string`);
  if (e['risk'] !== undefined && !isRisk(e['risk'])) out.push(`\`expect.risk\` must be low, medium, high or critical, got ${quote(String(e['risk']))}`);
  for (const f of ['categories', 'categoriesInclude', 'matched', 'matchedIncludes']) if (e[f] !== undefined && !isStringList(e[f])) out.push(`\`expect.${f}\` must be a list of non-empty strings`);
  for (const f of ['categoriesInclude', 'matchedIncludes']) if (Array.isArray(e[f]) && e[f].length === 0) out.push(`\`expect.${f}\` must name at least one entry (an empty list checks nothing)`);
  const errors = e['errors'];
  if (errors !== undefined && typeof errors !== 'boolean') {
    if (!Array.isArray(errors)) out.push('`expect.errors` must be true, false or a list of expected errors');
    else errors.forEach((x, i) => out.push(...expectedErrorProblems(x, `expect.errors[${i}]`)));
  }
  if (e['obligations'] !== undefined && !(Array.isArray(e['obligations']) && e['obligations'].every((o) => isObject(o) && typeof o['type'] === 'string' && o['type'] !== ''))) {
    out.push('`expect.obligations` must be a list of obligations, each a mapping with a `type`');
  }
  if (e['approval'] !== undefined && !(Array.isArray(e['approval']) && e['approval'].every(isObject))) out.push('`expect.approval` must be a list of approval requirements (mappings)');
  return out;
}

function expectedErrorProblems(x: unknown, at: string): string[] {
  if (!isObject(x)) return [`\`${at}\` must be a mapping with any of ${ERROR_FIELDS.join(', ')}`];
  const out: string[] = [];
  for (const k of Object.keys(x)) if (!(ERROR_FIELDS as readonly string[]).includes(k)) out.push(`\`${at}\`: unknown field \`${k}\` (expected one of ${ERROR_FIELDS.join(', ')})`);
  for (const k of ERROR_FIELDS) if (x[k] !== undefined && (typeof x[k] !== 'string' || x[k] === '')) out.push(`\`${at}.${k}\` must be a non-empty string`);
  if (Object.keys(x).length === 0) out.push(`\`${at}\` is empty: name at least one of ${ERROR_FIELDS.join(', ')}`);
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Lists test files under the given paths (`*.test.yaml`, `*.test.yml`, `*.test.json`). */
export function findTestFiles(paths: string[], cwd = process.cwd()): { files: string[]; errors: BastionError[] } {
  const files: string[] = [];
  const errors: BastionError[] = [];
  const walk = (p: string): void => {
    for (const e of readdirSync(p, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(p, e.name);
      if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') walk(full);
      else if (/\.test\.(ya?ml|json)$/.test(e.name)) files.push(full);
    }
  };
  for (const p of paths) {
    const full = resolve(cwd, p);
    try {
      if (statSync(full).isDirectory()) walk(full);
      else files.push(full);
    } catch {
      errors.push(bastionError('INPUT_INVALID', `${quote(p)}: no such file or directory`));
    }
  }
  return { files, errors };
}

/** Reads and checks one test file. */
export function readTestFile(file: string): { ok: true; value: PolicyTestFile } | { ok: false; errors: BastionError[] } {
  const errors: BastionError[] = [];
  const fail = (msg: string) => errors.push(bastionError('INPUT_INVALID', `while loading ${quote(file)}: ${msg}`, { file }));
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'), { uniqueKeys: true });
  } catch (err) {
    fail((err as Error).message.split('\n')[0] ?? 'cannot parse');
    return { ok: false, errors };
  }
  if (!isObject(raw)) {
    fail('a test file must be a mapping with `policies` and `tests`');
    return { ok: false, errors };
  }
  for (const k of Object.keys(raw)) if (!FILE_FIELDS.includes(k)) fail(`unknown field \`${k}\` (expected one of ${FILE_FIELDS.join(', ')})`);
  const policies = raw['policies'] ?? ['.'];
  if (!Array.isArray(policies) || policies.some((p) => typeof p !== 'string')) fail('`policies` must be a list of paths relative to the test file');
  if (raw['baseline'] !== undefined && typeof raw['baseline'] !== 'boolean') fail('`baseline` must be true or false');
  const tests = raw['tests'];
  if (!Array.isArray(tests) || tests.length === 0) fail('`tests` must be a non-empty list');
  else {
    tests.forEach((t, i) => {
      const at = `test ${i + 1}`;
      if (!isObject(t)) {
        fail(`${at}: must be a mapping`);
        return;
      }
      for (const k of Object.keys(t)) if (!CASE_FIELDS.includes(k)) fail(`${at}: unknown field \`${k}\``);
      if (typeof t['description'] !== 'string' || t['description'] === '') fail(`${at}: \`description\` is required`);
      const named = typeof t['description'] === 'string' && t['description'] !== '' ? `${at} (${quote(t['description'])})` : at;
      const expect = t['expect'];
      if (!isObject(expect)) fail(`${named}: \`expect\` is required`);
      else {
        for (const k of Object.keys(expect)) if (!(EXPECT_FIELDS as readonly string[]).includes(k)) fail(`${named}: unknown expectation \`${k}\` (expected one of ${EXPECT_FIELDS.join(', ')})`);
        // A case that expects nothing passes whatever happens: it cannot fail, so it tests nothing.
        if (Object.keys(expect).length === 0) fail(`${named}: \`expect\` is empty: name at least one of ${EXPECT_FIELDS.join(', ')}`);
        expectationProblems(expect).forEach((m) => fail(`${named}: ${m}`));
      }
      // INVARIANT: an invalid request is denied as `request is invalid`, which would satisfy
      // most deny expectations by accident (a misspelt `actoin`). Only a case that says it
      // tests an invalid request may carry one.
      const checked = validateRequest(t['request'], 'request');
      if (!checked.ok && !(isObject(expect) && expect['reason'] === INVALID_REQUEST)) {
        fail(`${named}: the request is invalid (${checked.errors.map((e) => e.message).join('; ')}); a case that tests an invalid request says \`expect: { reason: ${INVALID_REQUEST} }\``);
      }
    });
  }
  if (errors.length > 0) return { ok: false, errors };
  const dir = dirname(file);
  return {
    ok: true,
    value: {
      file,
      policies: (policies as string[]).map((p) => resolve(dir, p)),
      baseline: raw['baseline'] !== false,
      ...(isObject(raw['killSwitch']) ? { killSwitch: raw['killSwitch'] as Partial<KillSwitchState> } : {}),
      tests: tests as PolicyTestCase[],
    },
  };
}

/** A decision error as the runner compares it: the fields an expectation may name. */
type ComparableError = Pick<DecisionError, 'policy' | 'rule' | 'code' | 'message'>;

function normalizeError(e: DecisionError): ComparableError {
  return { policy: e.policy, rule: e.rule, code: e.code, message: e.message };
}

function describeError(e: ComparableError): string {
  // Messages already quote their user input; quoting them again would garble the backticks.
  const where = [e.code, e.policy !== undefined ? `${e.policy}/${e.rule ?? ''}` : undefined].filter((x) => x !== undefined).join(' ');
  return where === '' ? e.message : `${where}: ${e.message}`;
}

/** What differs between one actual error and the expected one (empty when it agrees). */
function errorMismatch(actual: ComparableError, want: ExpectedError): string[] {
  const out: string[] = [];
  for (const k of ['code', 'policy', 'rule'] as const) {
    const w = want[k];
    if (w !== undefined && actual[k] !== w) out.push(`${k} ${quote(w)}, got ${actual[k] === undefined ? 'none' : quote(actual[k])}`);
  }
  if (want.messageContains !== undefined && !actual.message.includes(want.messageContains)) out.push(`a message containing ${quote(want.messageContains)}, got: ${actual.message}`);
  return out;
}

/** Order-insensitive deep equality for JSON values (obligations, approval requirements). */
function sameJson(a: unknown, b: unknown): boolean {
  const ca = canonicalJson(a);
  const cb = canonicalJson(b);
  return ca.ok && cb.ok && ca.value === cb.value;
}

const list = (xs: readonly string[]): string => `[${xs.join(', ')}]`;
const json = (v: unknown): string => JSON.stringify(v);

/**
 * Compares a decision with a case's expectations; returns what differs (empty: the case passes).
 *
 * @example
 * checkExpectations(decision, { decision: 'deny', matched: ['ops/block-rm'] })
 * // [] or e.g. ['expected matched rules [ops/block-rm], got [ops/block-rm, bastion/baseline/deny-critical]']
 */
export function checkExpectations(decision: Decision, expect: PolicyTestCase['expect']): string[] {
  const out: string[] = [];
  if (expect.decision !== undefined && decision.decision !== expect.decision) out.push(`expected decision ${expect.decision}, got ${decision.decision} (${quote(decision.reason)})`);
  if (expect.reason !== undefined && decision.reason !== expect.reason) out.push(`expected reason ${quote(expect.reason)}, got ${quote(decision.reason)}`);
  if (expect.reasonContains !== undefined && !decision.reason.includes(expect.reasonContains))
    out.push(`expected the reason to contain ${quote(expect.reasonContains)}, got ${quote(decision.reason)}`);
  if (expect.risk !== undefined && decision.risk !== expect.risk) out.push(`expected risk ${expect.risk}, got ${decision.risk}`);

  const categories: readonly string[] = decision.categories;
  if (expect.categories !== undefined) {
    const want = [...new Set(expect.categories)].sort();
    const got = [...new Set(categories)].sort();
    if (want.join('\n') !== got.join('\n')) out.push(`expected categories ${list(want)}, got ${list(got)}`);
  }
  for (const c of expect.categoriesInclude ?? []) if (!categories.includes(c)) out.push(`expected category ${c}, got ${list(categories)}`);

  const matched = decision.matched.map((m) => `${m.policy}/${m.rule}`);
  if (expect.matched !== undefined && matched.join('\n') !== expect.matched.join('\n')) out.push(`expected matched rules ${list(expect.matched)}, got ${list(matched)}`);
  for (const m of expect.matchedIncludes ?? []) if (!matched.includes(m)) out.push(`expected matched rule ${m}, got ${list(matched)}`);

  const errors = decision.errors.map(normalizeError);
  if (typeof expect.errors === 'boolean') {
    if (errors.length > 0 !== expect.errors) out.push(expect.errors ? 'expected errors, got none' : `expected no errors, got ${errors.map(describeError).join('; ')}`);
  } else if (expect.errors !== undefined) {
    const want = expect.errors;
    if (errors.length !== want.length)
      out.push(`expected ${want.length} error${want.length === 1 ? '' : 's'}, got ${errors.length}${errors.length > 0 ? `: ${errors.map(describeError).join('; ')}` : ''}`);
    else {
      want.forEach((w, i) => {
        const actual = errors[i] as ComparableError;
        const diff = errorMismatch(actual, w);
        if (diff.length > 0) out.push(`error ${i + 1}: expected ${diff.join(' and ')}`);
      });
    }
  }

  if (expect.obligations !== undefined && !sameJson(decision.obligations, expect.obligations)) out.push(`expected obligations ${json(expect.obligations)}, got ${json(decision.obligations)}`);
  if (expect.approval !== undefined && !sameJson(decision.approvalRequirements ?? [], expect.approval))
    out.push(`expected approval requirements ${json(expect.approval)}, got ${json(decision.approvalRequirements ?? [])}`);
  return out;
}

/**
 * Runs one test file's cases through a gateway (so analyzers and scanners take part, as in
 * production). `makeGateway` builds a gateway for the file's policies and a kill switch.
 */
export async function runTestFile(
  file: PolicyTestFile,
  makeGateway: (policies: string[], baseline: boolean, killSwitch?: Partial<KillSwitchState>) => Promise<DecisionSurface>,
): Promise<CaseOutcome[]> {
  const outcomes: CaseOutcome[] = [];
  const shared = await makeGateway(file.policies, file.baseline, file.killSwitch);
  try {
    for (const t of file.tests) {
      const gateway = t.killSwitch ? await makeGateway(file.policies, file.baseline, { ...file.killSwitch, ...t.killSwitch }) : shared;
      try {
        const decision = await gateway.decide(t.request);
        const failures = checkExpectations(decision, t.expect);
        outcomes.push({ file: file.file, description: t.description, passed: failures.length === 0, failures, decision });
      } finally {
        if (gateway !== shared) await gateway.close();
      }
    }
  } finally {
    await shared.close();
  }
  return outcomes;
}
