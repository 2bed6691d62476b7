/**
 * The native policy schema (`apiVersion: bastion/v1`) in Zod: the one definition that the
 * loader validates with, that the `NativePolicy` types are inferred from, and that
 * `docs/policy.schema.json` is generated from (`npm run schema`, scripts/generate-schema.mjs).
 *
 * Conditions (`when`) are described here in full, for the JSON Schema and for the types, but
 * the loader leaves judging them to `conditions.ts`, which compiles them and reports a bad
 * matcher, glob, regex or CEL expression in its own precise words; the schema corpus test
 * (test/policy/schema.test.ts) keeps both judging documents alike.
 */

import * as z from 'zod';
import { AnalyzerConfigSchema } from '../analysis/index.js';
import { CATEGORIES } from '../core/categories.js';
import { compileGlob } from '../core/glob.js';
import { RISKS } from '../core/risk.js';
import { isPlainObject, issueParams, schemaProblems, strictObject } from '../core/schema.js';
import { EFFECTS } from '../core/types.js';
import { API_VERSION, CONTENT_MODES } from './model.js';
import { parseDuration, type Problem } from './native.js';

/** The roots a matcher's `field` may start with. */
export const FIELD_ROOTS = ['principal', 'action', 'resource', 'environment', 'args', 'context', 'analysis', 'risk', 'declaredRisk'] as const;

const str = (field: string) => z.string({ error: `\`${field}\` must be a string` });
const nonEmpty = (field: string) => z.string({ error: `\`${field}\` must be a non-empty string` }).min(1, { error: `\`${field}\` must be a non-empty string` });
const bool = (field: string) => z.boolean({ error: `\`${field}\` must be true or false` });

/** A non-empty list of non-empty strings; a bad element is named by its index. */
function stringList(field: string, required?: string) {
  const message = `\`${field}\` must be a non-empty list of non-empty strings`;
  const item = z.string({ error: message }).min(1, { error: message });
  return z.array(item, { error: (iss) => (iss.input === undefined && required !== undefined ? required : message) }).min(1, { error: message });
}

export const RiskSchema = z.enum(RISKS, { error: '`risk` must be low, medium, high or critical' }).meta({ id: 'risk', description: 'A risk level: low < medium < high < critical.' });

export const EffectSchema = z
  .enum(EFFECTS, {
    error: (iss) => (iss.input === undefined ? '`effect` is required (allow, deny or require_approval)' : `unknown effect \`${String(iss.input)}\` (expected allow, deny or require_approval)`),
  })
  .meta({ id: 'effect', description: 'What a matching rule does: `deny` beats `require_approval` beats `allow`.' });

const contentMode = (field: string, description: string) =>
  z.enum(CONTENT_MODES, { error: `\`${field}\` must be block, redact or allow` }).meta({ description: `${description} \`block\` withholds (denies), \`redact\` masks it, \`allow\` lets it through.` });

// ---- conditions ------------------------------------------------------------------------

const bound = (description: string) => z.union([z.number(), RiskSchema]).meta({ description: `${description} A number, or a risk level compared by rank.` });
const globs = z.union([z.string().min(1), z.array(z.string().min(1))]);

/** A field and exactly one operator (the JSON Schema says so with min/maxProperties 2). */
export const MatcherSchema = z
  .strictObject({
    field: z
      .string()
      .regex(new RegExp(`^(${FIELD_ROOTS.join('|')})(\\.[^.]+)*$`))
      .meta({ description: `A dotted path starting with ${FIELD_ROOTS.join(', ')} (\`args.channel\`, \`analysis.categories\`, \`principal.groups\`).` }),
    equals: z.unknown().meta({ description: 'The field equals this value (same JSON type, else a condition error; mappings compare by content, whatever the key order).' }).exactOptional(),
    notEquals: z.unknown().meta({ description: 'The field does not equal this value (an absent field counts as not equal).' }).exactOptional(),
    in: z
      .array(z.unknown())
      .meta({ description: 'The field is one of these values; a list-valued field must be a non-empty subset (some elements listed and some not is a condition error).' })
      .exactOptional(),
    notIn: z.array(z.unknown()).meta({ description: 'The field is not `in` these values (an absent field is not).' }).exactOptional(),
    glob: globs.meta({ description: 'The field is a string matching this glob (or one of these globs).' }).exactOptional(),
    regex: z
      .string()
      .meta({
        description:
          'The field is a string in which this regular expression (RE2 syntax, matched in linear time, unanchored unless you write ^ and $) finds a match. Back-references and lookaround are rejected.',
      })
      .exactOptional(),
    gt: bound('Greater than a number, or (with a risk level) a higher risk.').exactOptional(),
    gte: bound('Greater than or equal to a number or a risk level.').exactOptional(),
    lt: bound('Less than a number or a risk level.').exactOptional(),
    lte: bound('Less than or equal to a number or a risk level.').exactOptional(),
    contains: z.unknown().meta({ description: 'A string field contains this substring (case-sensitive), or a list field contains this element.' }).exactOptional(),
    containsAny: z.array(z.unknown()).min(1).meta({ description: 'The field contains at least one of these (substrings of a string, elements of a list).' }).exactOptional(),
    containsAll: z.array(z.unknown()).min(1).meta({ description: 'The field contains every one of these.' }).exactOptional(),
    exists: z.boolean().meta({ description: '`true`: the field is present, not null and not an empty list; `false`: the opposite.' }).exactOptional(),
  })
  .refine((m) => Object.keys(m).filter((k) => k !== 'field').length === 1, { message: 'a matcher takes exactly one operator' })
  .meta({ id: 'matcher', description: 'A field and exactly one operator.' });

export type NativeCondition = z.infer<typeof MatcherSchema> | { all: NativeCondition[] } | { any: NativeCondition[] } | { not: NativeCondition } | { cel: string };

export const ConditionSchema: z.ZodType<NativeCondition> = z
  .union([
    MatcherSchema,
    z
      .strictObject({
        get all() {
          return z.array(ConditionSchema).min(1).meta({ description: 'A non-empty list of conditions.' });
        },
      })
      .meta({ id: 'all', description: 'Holds when every listed condition holds.' }),
    z
      .strictObject({
        get any() {
          return z.array(ConditionSchema).min(1).meta({ description: 'A non-empty list of conditions.' });
        },
      })
      .meta({ id: 'any', description: 'Holds when at least one listed condition holds.' }),
    z
      .strictObject({
        get not() {
          return ConditionSchema.meta({ description: 'One condition (not a list).' });
        },
      })
      .meta({ id: 'not', description: 'Holds when the inner condition does not hold.' }),
    z
      .strictObject({
        cel: z.string().regex(/\S/).meta({ description: 'The expression, e.g. `args.amount > 1000.0 && !("finance-leads" in principal.groups)`.' }),
      })
      .meta({
        id: 'cel',
        description:
          'A CEL expression that must return a boolean. Variables: principal, action, resource, environment, args, context, analysis, risk, declaredRisk. JSON numbers are doubles: write `1000.0` in arithmetic.',
      }),
  ])
  .meta({ id: 'condition', description: 'A matcher (`field` and one operator), a combinator (`all`, `any`, `not`) or a CEL expression (`cel`).' });

// ---- rules, approvals, actions, the policy -----------------------------------------------

export const ApprovalSchema = strictObject(
  {
    groups: stringList('groups').meta({ description: 'Groups whose members may approve.' }).exactOptional(),
    quorum: z
      .int({ error: '`quorum` must be a whole number of at least 1' })
      .min(1, { error: '`quorum` must be a whole number of at least 1' })
      .meta({ description: 'How many distinct approvers are needed. Default 1.' })
      .exactOptional(),
    expiresIn: z
      .union([z.int().min(1), z.string().regex(/^[0-9]*[1-9][0-9]*(s|m|h|d)$/)], { error: '`expiresIn` must be a positive number of seconds or a duration such as `30m`, `4h`, `7d`' })
      .refine((v) => parseDuration(v) !== undefined, { error: '`expiresIn` must be a positive number of seconds or a duration such as `30m`, `4h`, `7d`' })
      .meta({ description: 'How long the approval request stays valid: seconds, or a duration such as `30s`, `15m`, `4h`, `7d`.' })
      .exactOptional(),
    changeTicket: bool('changeTicket').meta({ description: 'The approval must carry a change ticket. Default false.' }).exactOptional(),
    rollbackPlan: bool('rollbackPlan').meta({ description: 'The approval must carry a rollback plan. Default false.' }).exactOptional(),
  },
  { what: 'in an approval', notObject: '`approval` must be a mapping' },
).meta({ id: 'approval', description: 'The requirements of a `require_approval` rule, returned as `approvalRequirements` in the decision.' });

const OBLIGATIONS_MESSAGE = '`obligations` must be a list of mappings, each with a `type`';

export const ObligationSchema = z
  .looseObject(
    {
      type: z
        .string({ error: OBLIGATIONS_MESSAGE })
        .min(1, { error: OBLIGATIONS_MESSAGE })
        .meta({ description: 'What the executing surface must do, e.g. `sandbox`, `timeout`, `redact_output`, `rate_limit`.' }),
    },
    { error: OBLIGATIONS_MESSAGE },
  )
  .meta({ id: 'obligation', description: 'An obligation: a `type` and any parameters, e.g. `{ type: timeout, seconds: 60 }`.' });

/** `when`: one condition or a list; the loader checks only that it is one of those shapes. */
export const WhenSchema = z
  .union([ConditionSchema, z.array(ConditionSchema)], { error: '`when` must be a condition or a list of conditions' })
  .meta({ description: 'Conditions, all of which must hold: one condition or a list of them. An empty list always holds.' });

export const RuleSchema = strictObject(
  {
    id: nonEmpty('id').meta({ description: 'Unique within the policy.' }),
    effect: EffectSchema.meta({ description: '`allow`, `deny` or `require_approval` (a conditional permit: granted once approved).' }),
    description: str('description').meta({ description: 'Free text for people.' }).exactOptional(),
    reason: str('reason')
      .meta({ description: 'The reason reported when this rule decides. Default: `allowed by <policy>/<id>`, `denied by <policy>/<id>` or `approval required by <policy>/<id>`.' })
      .exactOptional(),
    principals: stringList('principals')
      .meta({ description: 'Who the rule applies to: `*` (anyone, the default), `group:<name>`, `user:<id>` or a plain principal id. Exact names, no globs.' })
      .exactOptional(),
    actions: stringList('actions', '`actions` is required (use `["*"]` for every action)').meta({ description: 'Action names or globs (`shell.*`, `sys:*`, `*` for every action). Required.' }),
    resources: stringList('resources').meta({ description: 'Resource globs. When set (and not containing `*`), a request without a resource does not match.' }).exactOptional(),
    environments: stringList('environments')
      .meta({ description: 'Environment globs (`production`, `stag*`). When set (and not containing `*`), a request without an environment does not match.' })
      .exactOptional(),
    when: WhenSchema.exactOptional(),
    approval: ApprovalSchema.meta({ description: 'What the approval must satisfy. Only on a `require_approval` rule.' }).exactOptional(),
    obligations: z
      .array(ObligationSchema, { error: OBLIGATIONS_MESSAGE })
      .meta({ description: 'What an allow or an approval carries (sandbox, timeout, …), returned in the decision for the executing surface. Not on a `deny` rule.' })
      .exactOptional(),
  },
  { what: 'in a rule', notObject: 'a rule must be a mapping' },
)
  .superRefine(
    (rule, ctx) => {
      // Runs whatever else is wrong with the rule, so both problems are reported at once.
      const raw = rule as Record<string, unknown>;
      if (raw['approval'] !== undefined && raw['effect'] !== 'require_approval')
        ctx.addIssue({ code: 'custom', path: ['approval'], message: '`approval` is only allowed on a `require_approval` rule' });
      if (Array.isArray(raw['obligations']) && raw['effect'] === 'deny') ctx.addIssue({ code: 'custom', path: ['obligations'], message: 'a `deny` rule carries no obligations' });
    },
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value) },
  )
  .meta({ id: 'rule', description: 'One rule: whom and what it targets, its conditions and its effect.' });

export const ActionMetaSchema = strictObject(
  {
    write: bool('write')
      .meta({ description: 'A write tool: denied while `all_write_tools_disabled` or `read_only_mode` is on. Also makes secrets in its arguments block by default.' })
      .exactOptional(),
    connector: str('connector')
      .meta({ description: "The connector this action belongs to, for the kill switch's `disabled_connectors`. Default: the action name up to its first `_`, `.` or `:`." })
      .exactOptional(),
    risk: RiskSchema.meta({ description: 'The least risk this action carries, whatever the analysis finds. Raises the effective risk; never lowers it.' }).exactOptional(),
    secrets: contentMode(
      'secrets',
      "What to do when the call's arguments carry a secret (and the decision is not already deny). Default: `block` for write actions and calls with network egress, else `allow`.",
    ).exactOptional(),
    output: contentMode('output', "What `inspectResult` does when the tool's result carries a secret. Default: `redact`.").exactOptional(),
    untrusted: bool('untrusted')
      .meta({
        description:
          "The action's results are untrusted content (web fetches, email, tickets, MCP servers): `inspectResult` taints the trace with them, and `flow` rules with `after: untrusted` apply to the trace's later calls. Default false.",
      })
      .exactOptional(),
    description: str('description').meta({ description: 'Free text for people.' }).exactOptional(),
  },
  { what: 'in action metadata', notObject: 'action metadata must be a mapping' },
).meta({ id: 'actionMeta', description: 'Metadata for the actions an `actions` key matches.' });

// ---- limits ---------------------------------------------------------------------------

/** What a limit's key is made of: whose calls count together. */
export const LIMIT_KEYS = ['principal', 'action', 'principal+action'] as const;

const DURATION_MESSAGE = (field: string) => `\`${field}\` must be a duration such as \`1s\`, \`1m\`, \`1h\` or \`1d\``;
const duration = (field: string) =>
  z
    .string({ error: DURATION_MESSAGE(field) })
    .regex(/^[0-9]*[1-9][0-9]*(s|m|h|d)$/, { error: DURATION_MESSAGE(field) })
    .refine((v) => parseDuration(v) !== undefined, { error: DURATION_MESSAGE(field) });
const wholeFrom1 = (field: string) => z.int({ error: `\`${field}\` must be a whole number of at least 1` }).min(1, { error: `\`${field}\` must be a whole number of at least 1` });

export const RateSchema = strictObject(
  {
    perPeriod: wholeFrom1('perPeriod').meta({ description: 'Calls allowed per `period` at the steady rate: calls are spaced `period / perPeriod` apart on average.' }),
    period: duration('period').meta({ description: 'The period: `1s`, `1m`, `1h` (any whole number of `s`, `m`, `h` or `d`).' }),
    burst: wholeFrom1('burst').meta({ description: 'Calls allowed at once from idle. Default: `perPeriod`.' }).exactOptional(),
  },
  { what: 'in `rate`', notObject: '`rate` must be a mapping such as `{ perPeriod: 10, period: 1m, burst: 5 }`' },
).meta({
  id: 'rate',
  description:
    'A rate limit (GCRA): `perPeriod` calls per `period` on average, `burst` at once from idle. A refused call costs nothing and is answered 429 with `Retry-After` (seconds until the same call would pass, rounded up).',
});

export const BudgetSchema = strictObject(
  {
    calls: wholeFrom1('calls').meta({ description: 'Allowed calls per window (each allowed decision spends one).' }).exactOptional(),
    tokens: wholeFrom1('tokens')
      .meta({ description: 'Model tokens per window, spent by `gateway.recordUsage()` after the call (with overdraw); calls are refused once the window is spent.' })
      .exactOptional(),
    window: duration('window').meta({ description: 'The window, aligned to the epoch (`1d` resets at midnight UTC on every replica alike).' }),
  },
  { what: 'in `budget`', notObject: '`budget` must be a mapping such as `{ calls: 1000, window: 1d }`' },
)
  .refine((b) => (b.calls === undefined) !== (b.tokens === undefined), { error: '`budget` takes exactly one of `calls` or `tokens`' })
  .meta({ id: 'budget', description: 'A spend budget per fixed window: `calls` or `tokens` (exactly one). Budgets always fail closed when the limit store fails.' });

const LIMIT_KINDS = ['rate', 'concurrency', 'budget'] as const;

export const LimitSchema = strictObject(
  {
    name: nonEmpty('name').meta({ description: 'Unique in the loaded set. A refused call is explained as `{policy: bastion/limits, rule: <name>}`.' }),
    description: str('description').meta({ description: 'Free text for people.' }).exactOptional(),
    actions: stringList('actions').meta({ description: 'Action names or globs the limit counts (default `*`, every action).' }).exactOptional(),
    principals: stringList('principals').meta({ description: 'Whose calls it counts: `*` (anyone, the default), `group:<name>`, `user:<id>` or a plain principal id, as in rules.' }).exactOptional(),
    per: z
      .enum(LIMIT_KEYS, { error: '`per` must be principal, action or principal+action' })
      .meta({ description: 'What is counted separately: each principal (default), each action, or each principal and action pair.' })
      .exactOptional(),
    rate: RateSchema.meta({ description: 'A rate limit: `{ perPeriod, period, burst? }`.' }).exactOptional(),
    concurrency: wholeFrom1('concurrency')
      .meta({
        description:
          'At most this many calls in flight at once, in this gateway process: for `gateway.guard()` from the allow until the guarded function settles; for `decide()` and `POST /v1/decide` while the decision is being made (the gateway cannot see when a caller finishes executing).',
      })
      .exactOptional(),
    budget: BudgetSchema.meta({ description: 'A spend budget: `{ calls | tokens, window }`.' }).exactOptional(),
  },
  { what: 'in a limit', notObject: 'a limit must be a mapping with `name` and one of `rate`, `concurrency` or `budget`' },
)
  .superRefine(
    (limit, ctx) => {
      const kinds = LIMIT_KINDS.filter((k) => (limit as Record<string, unknown>)[k] !== undefined);
      if (kinds.length !== 1) ctx.addIssue({ code: 'custom', path: [], message: `a limit takes exactly one of rate, concurrency or budget${kinds.length > 1 ? ` (got ${kinds.join(', ')})` : ''}` });
    },
    { when: (payload) => isPlainObject(payload.value) },
  )
  .meta({
    id: 'limit',
    description:
      'A limit on the calls policy allows: a rate limit, a concurrency cap or a spend budget (exactly one), for the actions and principals it names. Checked after the rules, on calls they allow (rate limits also on calls held for approval); one refusal denies.',
  });

// ---- flow rules ------------------------------------------------------------------------

/** What a flow rule waits for in the trace: any untrusted result, or a result that scored as an attack. */
export const FLOW_AFTER = ['untrusted', 'attack'] as const;
/** A flow rule enforces, or only reports what it would have done (`wouldBlock`). */
export const FLOW_MODES = ['enforce', 'shadow'] as const;
const FLOW_EFFECTS = ['deny', 'require_approval'] as const;

export const FlowRuleSchema = strictObject(
  {
    id: nonEmpty('id').meta({ description: 'Unique within the policy (among its rules and flow rules). Decisions name it as `<policy>/<id>`.' }),
    description: str('description').meta({ description: 'Free text for people.' }).exactOptional(),
    after: z
      .enum(FLOW_AFTER, {
        error: (iss) => (iss.input === undefined ? '`after` is required (untrusted or attack)' : `unknown \`after\` \`${String(iss.input)}\` (expected untrusted or attack)`),
      })
      .meta({
        description:
          '`untrusted`: after any result of an action declared `untrusted: true` (or any result that scored as an attack) in the same trace; `attack`: after a result that scored as prompt injection.',
      }),
    effect: z
      .enum(FLOW_EFFECTS, {
        error: (iss) => (iss.input === undefined ? '`effect` is required (deny or require_approval)' : `unknown flow effect \`${String(iss.input)}\` (expected deny or require_approval)`),
      })
      .meta({ description: '`deny` or `require_approval`. A flow rule never allows: `require_approval` holds a call some rule allows, and never makes approvable what no rule allows.' }),
    actions: stringList('actions').meta({ description: 'Action names or globs the rule holds (default: every action).' }).exactOptional(),
    categories: z
      .array(z.enum(CATEGORIES, { error: (iss) => `unknown category \`${String(iss.input)}\`` }), { error: '`categories` must be a non-empty list of analysis categories' })
      .min(1, { error: '`categories` must be a non-empty list of analysis categories' })
      .meta({ description: 'The rule holds a call whose analysis shows any of these categories (`net.egress`, `secret.read`, …).' })
      .exactOptional(),
    writes: z
      .literal(true, { error: '`writes` must be true (leave it out for any action)' })
      .meta({ description: '`true`: the rule holds only actions whose metadata says `write: true`.' })
      .exactOptional(),
    principals: stringList('principals').meta({ description: 'Whom it applies to: `*` (the default), `group:<name>`, `user:<id>` or a plain principal id, as in rules.' }).exactOptional(),
    reason: str('reason').meta({ description: 'The reason reported when it decides. Default: `denied by <policy>/<id>` or `approval required by <policy>/<id>`.' }).exactOptional(),
    approval: ApprovalSchema.meta({ description: 'What the approval must satisfy. Only on a `require_approval` flow rule.' }).exactOptional(),
    mode: z
      .enum(FLOW_MODES, { error: (iss) => `unknown mode \`${String(iss.input)}\` (expected enforce or shadow)` })
      .meta({ description: '`enforce` (default) or `shadow`: a shadow rule never changes the decision; it is reported in `wouldBlock`, the audit event and `bastion_would_block_total`.' })
      .exactOptional(),
  },
  { what: 'in a flow rule', notObject: 'a flow rule must be a mapping with `id`, `after` and `effect`' },
)
  .superRefine(
    (rule, ctx) => {
      const raw = rule as Record<string, unknown>;
      if (raw['approval'] !== undefined && raw['effect'] !== 'require_approval')
        ctx.addIssue({ code: 'custom', path: ['approval'], message: '`approval` is only allowed on a `require_approval` flow rule' });
    },
    { when: (payload) => isPlainObject(payload.value) },
  )
  .meta({
    id: 'flowRule',
    description:
      'A flow rule: after untrusted content (or an attack) was read in a trace, deny or hold the calls it names (by action, category, write). Taint per trace is kept by the gateway (`inspectResult`). See docs/flow-rules.md.',
  });

const AnalyzersSchema = AnalyzerConfigSchema.meta({ id: 'analyzers' });

export const NativePolicySchema = strictObject(
  {
    apiVersion: z
      .literal(API_VERSION, { error: `\`apiVersion\` must be \`${API_VERSION}\`` })
      .meta({ description: 'The format version. Its presence marks the document as native; it must be `bastion/v1`.' }),
    kind: z.literal('Policy', { error: '`kind` must be `Policy`' }).meta({ description: 'Optional; when present it must be `Policy`.' }).exactOptional(),
    name: nonEmpty('name').meta({ description: "The policy's name, unique in the loaded set. Decisions name matched rules as `<name>/<rule id>`." }),
    description: str('description').meta({ description: 'Free text for people; not used by the engine.' }).exactOptional(),
    priority: z
      .number({ error: '`priority` must be a number' })
      .meta({ description: 'Evaluation and explanation order: higher first, default 0, ties in load order. Priority never lets an allow beat a deny.' })
      .exactOptional(),
    defaultReason: str('defaultReason')
      .meta({ description: 'The reason of the default deny (no rule allows the action) when this is the highest-priority policy that sets one. Default: `no rule allows this action`.' })
      .exactOptional(),
    actions: z
      .record(z.string(), ActionMetaSchema, { error: '`actions` must map action names to their metadata' })
      .superRefine(
        (actions, ctx) => {
          for (const name of Object.keys(actions as object)) {
            const glob = compileGlob(name);
            if (!glob.ok) ctx.addIssue({ code: 'custom', path: [name], message: `invalid glob \`${name}\`: ${glob.message}`, params: issueParams('POLICY_BAD_GLOB') });
          }
        },
        { when: (payload) => typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value) },
      )
      .meta({
        description: 'Metadata per action name or action glob (`deploy.*`): write tools for the kill switch, connector, least risk, and what to do with secrets in arguments and results.',
      })
      .exactOptional(),
    analyzers: AnalyzersSchema.meta({
      description: 'Which arguments each analyzer reads, per action glob, plus path roots and URL lists. Checked when the policy loads, with the rest of the document.',
    }).exactOptional(),
    rules: z
      .array(RuleSchema, { error: '`rules` must be a list' })
      .superRefine(
        (rules, ctx) => {
          const seen = new Map<string, number>();
          (rules as unknown[]).forEach((rule, i) => {
            const id = typeof rule === 'object' && rule !== null ? (rule as Record<string, unknown>)['id'] : undefined;
            if (typeof id !== 'string' || id === '') return;
            const first = seen.get(id);
            if (first !== undefined)
              ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate rule id \`${id}\` (first used by rule ${first + 1})`, params: issueParams('POLICY_DUPLICATE_RULE') });
            else seen.set(id, i);
          });
        },
        { when: (payload) => Array.isArray(payload.value) },
      )
      .meta({ description: 'The rules, in evaluation order within this policy.' }),
    limits: z
      .array(LimitSchema, { error: '`limits` must be a list of limits' })
      .superRefine(
        (limits, ctx) => {
          const seen = new Map<string, number>();
          (limits as unknown[]).forEach((limit, i) => {
            const name = isPlainObject(limit) ? limit['name'] : undefined;
            if (typeof name !== 'string' || name === '') return;
            const first = seen.get(name);
            if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate limit name \`${name}\` (first used by limit ${first + 1})` });
            else seen.set(name, i);
          });
        },
        { when: (payload) => Array.isArray(payload.value) },
      )
      .meta({ description: 'Rate limits, concurrency caps and budgets on the calls this policy set allows. See docs/policy.md#limits.' })
      .exactOptional(),
    flow: z
      .array(FlowRuleSchema, { error: '`flow` must be a list of flow rules' })
      .superRefine(
        (flow, ctx) => {
          const seen = new Map<string, number>();
          (flow as unknown[]).forEach((rule, i) => {
            const id = isPlainObject(rule) ? rule['id'] : undefined;
            if (typeof id !== 'string' || id === '') return;
            const first = seen.get(id);
            if (first !== undefined)
              ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate flow rule id \`${id}\` (first used by flow rule ${first + 1})`, params: issueParams('POLICY_DUPLICATE_RULE') });
            else seen.set(id, i);
          });
        },
        { when: (payload) => Array.isArray(payload.value) },
      )
      .meta({ description: 'Flow rules: what the trace may no longer do after it read untrusted content or an attack. See docs/flow-rules.md.' })
      .exactOptional(),
  },
  { what: 'in a policy', notObject: 'a policy must be a mapping' },
).meta({
  title: 'Bastion native policy (apiVersion bastion/v1)',
  description:
    'A named, prioritized list of rules. Unknown fields are rejected by the loader, so they are rejected here too. Globs, regular expressions (catastrophic backtracking) and CEL expressions are checked by `bastion policy validate`, not by this schema. See docs/policy.md.',
});

/** The operators the schema describes; a test keeps them equal to `conditions.ts`'s. */
export const SCHEMA_OPERATORS = Object.keys(MatcherSchema.shape).filter((k) => k !== 'field');

/**
 * Checks the shape of a native policy document. Returns the problems found; when there are
 * none, the document may be used as a `NativePolicy`. Problems inside a rule carry the rule's
 * id (``rule `block-rm`: …``). Conditions, globs in rules and regexes are checked later, when
 * the rules are compiled.
 *
 * @example validateNative({ apiVersion: 'bastion/v1', name: 'p', rules: [] }) // []
 */
export function validateNative(doc: unknown): Problem[] {
  const parsed = NativePolicySchema.safeParse(doc);
  if (parsed.success) return [];
  const rules = isPlainObject(doc) && Array.isArray(doc['rules']) ? (doc['rules'] as unknown[]) : [];
  const out: Problem[] = [];
  for (const p of schemaProblems(parsed.error.issues, 'POLICY_INVALID')) {
    const [top, index, field] = p.path;
    if (top === 'flow' && typeof index === 'number') {
      const flow = isPlainObject(doc) && Array.isArray(doc['flow']) ? (doc['flow'] as unknown[]) : [];
      const rule = flow[index];
      const id = isPlainObject(rule) ? rule['id'] : undefined;
      if (typeof id === 'string' && id !== '' && p.path.length > 2) p.message = `flow rule \`${id}\`: ${p.message}`;
    }
    if (top === 'rules' && typeof index === 'number') {
      // INVARIANT: conditions are judged once, by conditions.ts, in its own words; the
      // schema's verdict on them is dropped here, unless `when` is not even a condition or
      // a list (which conditions.ts never sees). The corpus test keeps both in step.
      if (field === 'when') {
        const when = (rules[index] as Record<string, unknown>)['when'];
        if (p.path.length > 3 || Array.isArray(when) || isPlainObject(when)) continue;
      }
      const rule = rules[index];
      const id = isPlainObject(rule) ? rule['id'] : undefined;
      if (typeof id === 'string' && id !== '' && p.path.length > 2) p.message = `rule \`${id}\`: ${p.message}`;
    }
    out.push(p);
  }
  return out;
}
