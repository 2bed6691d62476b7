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
 *
 * A case may script the trace before its request: `results: [{ action, text }]` are tool
 * results inspected first (as `inspectResult`), so flow rules are tested in files too.
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import * as z from 'zod';
import { canonicalJson } from '../core/canonical-json.js';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import { validateRequest } from '../core/request.js';
import { RISKS } from '../core/risk.js';
import { isPlainObject, schemaErrors, schemaProblems, strictObject, unionBranchIssues } from '../core/schema.js';
import { EFFECTS, type ApprovalRequirement, type Decision, type DecisionError, type Obligation } from '../core/types.js';
import { yamlLocator } from '../core/yaml-position.js';
import type { KillSwitchState } from './model.js';

/** What the runner decides through: a gateway (the production path) or anything shaped like one. */
export interface DecisionSurface {
  decide(request: unknown): Promise<Decision>;
  /** Inspects a tool result of a trace (a case's `results`); a gateway has it. */
  inspectResult?(input: { traceId: string; action: string; text: string; source?: string }): Promise<unknown>;
  close(): Promise<void>;
}

// ---- the schema of a test file -----------------------------------------------------------
// Messages name no field: the error says `field \`tests[0].expect.risk\`: …` in front of them.

/** `message` for a wrong value; a missing (required) one `is required: <what it must be>`. */
const orRequired = (message: string) => (iss: { input?: unknown }) => (iss.input === undefined ? `is required: ${message.replace(/^must be /, '')}` : message);
const nonEmpty = (message: string) => z.string({ error: orRequired(message) }).min(1, { error: message });
const bool = z.boolean({ error: orRequired('must be true or false') });
const STRING_LIST = 'must be a list of non-empty strings';
const stringList = () => z.array(nonEmpty('must be a non-empty string'), { error: STRING_LIST });
/** A subset expectation: an empty list would check nothing. */
const subsetList = () => stringList().min(1, { error: 'must name at least one entry (an empty list checks nothing)' });

/** Kill-switch fields a file or a case sets; those left out keep their value (off, empty). */
const KillSwitchSchema = strictObject(
  {
    all_write_tools_disabled: bool.exactOptional(),
    read_only_mode: bool.exactOptional(),
    disabled_connectors: stringList().exactOptional(),
    disabled_users: stringList().exactOptional(),
    disabled_workflows: stringList().exactOptional(),
    reason: z.string({ error: 'must be a string' }).exactOptional(),
  },
  { what: 'in a kill switch', notObject: 'must be a mapping of kill-switch fields such as `{ read_only_mode: true }`' },
);
// INVARIANT: the schema names every kill-switch field, and yields a change the runner can apply.
const _killSwitchFields: Record<keyof KillSwitchState, unknown> = KillSwitchSchema.shape;
const _killSwitchChange: (k: z.output<typeof KillSwitchSchema>) => Partial<KillSwitchState> = (k) => k;
void _killSwitchFields;
void _killSwitchChange;

const ERROR_SHAPE = {
  code: nonEmpty('must be a non-empty string').exactOptional(),
  policy: nonEmpty('must be a non-empty string').exactOptional(),
  rule: nonEmpty('must be a non-empty string').exactOptional(),
  /** A substring the error's message must contain. */
  messageContains: nonEmpty('must be a non-empty string').exactOptional(),
};
const ERROR_FIELDS = Object.keys(ERROR_SHAPE).join(', ');

/** One expected decision error; every field named must agree, fields left out are not checked. */
const ExpectedErrorSchema = strictObject(ERROR_SHAPE, { what: 'in an expected error', notObject: `must be a mapping with any of ${ERROR_FIELDS}` }).refine((e) => Object.keys(e).length > 0, {
  error: `is empty: name at least one of ${ERROR_FIELDS}`,
  when: (payload) => payload.issues.length === 0,
});

const ApprovalRequirementSchema = strictObject(
  {
    policy: nonEmpty('must be a non-empty string'),
    rule: nonEmpty('must be a non-empty string'),
    approverGroups: z.array(z.string({ error: 'must be a string' }), { error: orRequired('must be a list of strings') }),
    quorum: z.int({ error: orRequired('must be a whole number') }),
    expiresInSeconds: z.int({ error: 'must be a whole number' }).exactOptional(),
    changeTicketRequired: bool,
    rollbackPlanRequired: bool,
  },
  { what: 'in an approval requirement', notObject: 'must be an approval requirement (a mapping)' },
);
// INVARIANT: an expected approval requirement has the decision's shape, field for field.
const _approvalShape: (a: z.output<typeof ApprovalRequirementSchema>) => ApprovalRequirement = (a) => a;
const _approvalFields: Record<keyof ApprovalRequirement, unknown> = ApprovalRequirementSchema.shape;
void _approvalShape;
void _approvalFields;

const OBLIGATIONS = 'must be a list of obligations, each a mapping with a `type`';

/** What a case expects of the decision: lists are exact, the `…Includes`/`…Include` forms are subsets. */
const EXPECT_SHAPE = {
  decision: z.enum(EFFECTS, { error: (iss) => `must be allow, deny or require_approval, got ${quote(String(iss.input))}` }).exactOptional(),
  reason: nonEmpty('must be a non-empty string').exactOptional(),
  /** A substring the reason must contain, for reasons that name dynamic parts. */
  reasonContains: nonEmpty('must be a non-empty string').exactOptional(),
  risk: z.enum(RISKS, { error: (iss) => `must be low, medium, high or critical, got ${quote(String(iss.input))}` }).exactOptional(),
  /** The decision's categories, exactly (as a set). */
  categories: stringList().exactOptional(),
  /** Categories the decision must include (others may be present). */
  categoriesInclude: subsetList().exactOptional(),
  /** The matched rules as `policy/rule`, exactly and in the decision's order. */
  matched: stringList().exactOptional(),
  /** `policy/rule` names that must be among the matched rules (others may be present). */
  matchedIncludes: subsetList().exactOptional(),
  /**
   * `true`: the decision reports errors; `false`: it reports none; a list: exactly that
   * many errors, the n-th agreeing with the n-th entry.
   */
  errors: z.union([z.boolean(), z.array(ExpectedErrorSchema)], { error: 'must be true, false or a list of expected errors' }).exactOptional(),
  /** The decision's obligations, exactly and in order (each compared deeply). */
  obligations: z
    .array(z.looseObject({ type: nonEmpty('must be a non-empty string such as `sandbox`') }, { error: 'must be an obligation: a mapping with a `type`' }), { error: OBLIGATIONS })
    .transform((list): Obligation[] => list)
    .exactOptional(),
  /** The decision's approval requirements, exactly and in order (`[]`: none). */
  approval: z.array(ApprovalRequirementSchema, { error: 'must be a list of approval requirements (mappings)' }).exactOptional(),
  /** The shadow flow rules that would have blocked (`wouldBlock`) as `policy/rule`, exactly and in order (`[]`: none). */
  wouldBlock: z.array(nonEmpty('must be a non-empty string'), { error: STRING_LIST }).exactOptional(),
  /** The actions of the results the decision says tainted it (`taintedBy`), exactly and in order (`[]`: none). */
  taintedBy: z.array(nonEmpty('must be a non-empty string'), { error: STRING_LIST }).exactOptional(),
};

/** Every expectation a case may name, in the order `bastion test --help` lists them. */
export const EXPECT_FIELDS = [
  'decision',
  'reason',
  'reasonContains',
  'risk',
  'categories',
  'categoriesInclude',
  'matched',
  'matchedIncludes',
  'errors',
  'obligations',
  'approval',
  'wouldBlock',
  'taintedBy',
] as const;
// INVARIANT: EXPECT_FIELDS names exactly the expectations of the schema.
const _expectFields: [(typeof EXPECT_FIELDS)[number]] extends [keyof typeof EXPECT_SHAPE] ? ([keyof typeof EXPECT_SHAPE] extends [(typeof EXPECT_FIELDS)[number]] ? true : false) : false = true;
void _expectFields;

const ExpectSchema = strictObject(EXPECT_SHAPE, { what: 'in `expect`', notObject: (input) => orRequired('must be a mapping of expectations such as `{ decision: deny }`')({ input }) })
  // A case that expects nothing passes whatever happens: it cannot fail, so it tests nothing.
  .refine((e) => Object.keys(e).length > 0, { error: `is empty: name at least one of ${EXPECT_FIELDS.join(', ')}`, when: (payload) => payload.issues.length === 0 });

/** The gateway's reason for a request that fails validation. */
const INVALID_REQUEST = 'request is invalid';

/** A tool result earlier in the case's trace, inspected (`inspectResult`) before the request is decided. */
const PriorResultSchema = strictObject(
  {
    action: nonEmpty('must be a non-empty string: the action whose result this is'),
    text: z.string({ error: orRequired('must be a string: what the tool returned') }),
    source: nonEmpty('must be a non-empty string').exactOptional(),
  },
  { what: 'in a result', notObject: 'must be a mapping with `action` and `text`' },
);

const TestCaseSchema = strictObject(
  {
    description: nonEmpty('must be a non-empty string naming the case'),
    /**
     * Tool results earlier in the trace, oldest first: each is inspected as the gateway's
     * `inspectResult` would (taint, flow rules) before the request is decided in the same trace.
     */
    results: z.array(PriorResultSchema, { error: 'must be a list of results, each `{ action, text }`' }).min(1, { error: 'must list at least one result (leave it out for none)' }).exactOptional(),
    /** The action request, as a caller sends it (checked with `validateRequest` at load). */
    request: z.unknown(),
    /** Kill-switch fields for this case, over the file's. */
    killSwitch: KillSwitchSchema.exactOptional(),
    expect: ExpectSchema,
  },
  { what: 'in a test case', notObject: 'a test case must be a mapping with `description`, `request` and `expect`' },
).superRefine(
  (t, ctx) => {
    // INVARIANT: an invalid request is denied as `request is invalid`, which would satisfy
    // most deny expectations by accident (a misspelt `actoin`). Only a case that says it
    // tests an invalid request may carry one. Runs whatever else is wrong with the case.
    const raw = t as Record<string, unknown>;
    const expect = raw['expect'];
    const checked = validateRequest(raw['request'], 'request');
    if (!checked.ok && !(isPlainObject(expect) && expect['reason'] === INVALID_REQUEST)) {
      ctx.addIssue({
        code: 'custom',
        path: ['request'],
        message: `the request is invalid (${checked.errors.map((e) => e.message).join('; ')}); a case that tests an invalid request says \`expect: { reason: ${INVALID_REQUEST} }\``,
      });
    }
  },
  { when: (payload) => isPlainObject(payload.value) },
);

const TestFileSchema = strictObject(
  {
    description: z.string({ error: 'must be a string' }).exactOptional(),
    /** Policy files or directories, relative to the test file (default: its directory). */
    policies: z.array(z.string({ error: 'must be a list of paths relative to the test file' }), { error: 'must be a list of paths relative to the test file' }).default(() => ['.']),
    /** Whether Bastion's baseline policy takes part (default true). */
    baseline: bool.default(true),
    /** Kill-switch fields for every case of the file. */
    killSwitch: KillSwitchSchema.exactOptional(),
    tests: z.array(TestCaseSchema, { error: orRequired('must be a non-empty list of test cases') }).min(1, { error: 'must be a non-empty list of test cases' }),
  },
  { what: 'in a test file', notObject: 'a test file must be a mapping with `policies` and `tests`' },
);

/** One expected decision error; every field named must agree, fields left out are not checked. */
export type ExpectedError = z.output<typeof ExpectedErrorSchema>;

/** One case: a request and what the decision must be. */
export type PolicyTestCase = z.output<typeof TestCaseSchema>;

/** A loaded test file: its path, its policies resolved against its directory, its cases. */
export type PolicyTestFile = Omit<z.output<typeof TestFileSchema>, 'description'> & { file: string };

export interface CaseOutcome {
  file: string;
  description: string;
  passed: boolean;
  failures: string[];
  decision: Decision;
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

/**
 * Reads and checks one test file. Every problem names the file and, where it can, the line,
 * column, case and field:
 *
 *   while loading `x.test.yaml`: line 9, column 15: test 2 (`reads jira`): field `tests[1].expect.risk`: must be low, medium, high or critical, got `hihg`
 */
export function readTestFile(file: string): { ok: true; value: PolicyTestFile } | { ok: false; errors: BastionError[] } {
  const at = (pos?: { line: number; column: number }) => `while loading ${quote(file)}: ${pos ? `line ${pos.line}, column ${pos.column}: ` : ''}`;
  const fail = (message: string, pos?: { line: number; column: number }) => ({
    ok: false as const,
    errors: [bastionError('INPUT_INVALID', `${at(pos)}${message}`, { file, ...(pos ? { line: pos.line, column: pos.column } : {}) })],
  });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return fail(e.code === 'ENOENT' ? 'no such file' : (e.message.split('\n')[0] ?? 'cannot read'));
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
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
  const parsed = TestFileSchema.safeParse(raw);
  if (!parsed.success) {
    const locate = yamlLocator(doc, lineCounter);
    const tests = isPlainObject(raw) && Array.isArray(raw['tests']) ? (raw['tests'] as unknown[]) : [];
    const problems = schemaProblems(unionBranchIssues(parsed.error.issues), 'INPUT_INVALID');
    const errors = schemaErrors(problems, (p) => {
      const pos = p.path.length > 0 ? locate(p.path, p.atKey) : undefined;
      return { prefix: `${at(pos)}${caseName(p.path, tests)}`, file, ...(pos ? { line: pos.line, column: pos.column } : {}) };
    });
    // In document order (the schema reports a mapping's unknown keys after its fields).
    return { ok: false, errors: errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0)) };
  }
  const { description: _description, ...value } = parsed.data;
  const dir = dirname(file);
  return { ok: true, value: { ...value, file, policies: value.policies.map((p) => resolve(dir, p)) } };
}

/** ``test 2 (`reads jira`): `` for a problem inside a case (its place from 1, and its description). */
function caseName(path: readonly (string | number)[], tests: readonly unknown[]): string {
  const [top, index] = path;
  if (top !== 'tests' || typeof index !== 'number') return '';
  const t = tests[index];
  const description = isPlainObject(t) ? t['description'] : undefined;
  return typeof description === 'string' && description !== '' ? `test ${index + 1} (${quote(description)}): ` : `test ${index + 1}: `;
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
  const wouldBlock = (decision.wouldBlock ?? []).map((w) => `${w.policy}/${w.rule}`);
  if (expect.wouldBlock !== undefined && wouldBlock.join('\n') !== expect.wouldBlock.join('\n')) out.push(`expected would-block rules ${list(expect.wouldBlock)}, got ${list(wouldBlock)}`);
  const tainted = (decision.taintedBy ?? []).map((t) => t.action);
  if (expect.taintedBy !== undefined && tainted.join('\n') !== expect.taintedBy.join('\n')) out.push(`expected tainted by ${list(expect.taintedBy)}, got ${list(tainted)}`);

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
    for (const [i, t] of file.tests.entries()) {
      const gateway = t.killSwitch ? await makeGateway(file.policies, file.baseline, { ...file.killSwitch, ...t.killSwitch }) : shared;
      try {
        let request = t.request;
        if (t.results !== undefined) {
          // The case's own trace, so one case's taint never reaches another.
          const own = isPlainObject(request) && typeof request['traceId'] === 'string' ? request['traceId'] : `bastion-test:${file.file}:${i + 1}`;
          request = { ...(request as Record<string, unknown>), traceId: own };
          if (gateway.inspectResult === undefined) throw new Error('the decision surface cannot inspect results (a case with `results` needs a gateway)');
          for (const r of t.results) await gateway.inspectResult({ traceId: own, action: r.action, text: r.text, ...(r.source !== undefined ? { source: r.source } : {}) });
        }
        const decision = await gateway.decide(request);
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
