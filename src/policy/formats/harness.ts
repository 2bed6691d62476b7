/**
 * Harness config YAML (seed 004): `policy_engine{approval_required_for,
 * restricted_data_classes, environment_gates}`, `tools{name: {actions, classification,
 * scope, requires_approval}}`, plus `runtime` and `audit` blocks (accepted; `audit` is read
 * by the audit log's settings).
 *
 * Translation, per tool:
 * - a classification listed in `restricted_data_classes` is denied to anyone outside the
 *   `security-admin` group (the seed's clearance rule);
 * - `scope` (`project-key:SEC-*`, `repo:org/infra-*`, `account:dev-env,region:us-east-1`) is
 *   enforced: each `key:pattern` must match `args.<key>` (also as snake_case or camelCase)
 *   or a resource written `key:value`; otherwise the request is denied;
 * - an operation (`context.operation` or `args.operation`) outside the tool's `actions` is
 *   denied;
 * - `requires_approval`, or an action listed in `approval_required_for`, needs approval;
 * Environment gates: in a gated environment only `allowed_tools` run, and
 * `requires_human_approval` turns every allowed tool call there into `require_approval`.
 */

import { API_VERSION, type NativeActionMeta, type NativeRule } from '../model.js';
import { Checker, environmentAbsent, environmentIs, type TranslateResult } from './common.js';
import { isPlainObject } from '../../core/schema.js';

export const HARNESS_REASONS = {
  notRegistered: 'tool is not registered',
  restricted: 'data classification is restricted for this principal',
  scope: 'request is outside the tool scope',
  operation: 'operation is not declared for this tool',
  approval: 'tool requires approval',
  actionApproval: 'action requires approval',
  gateApproval: 'environment requires human approval',
  allowed: 'allowed by tool registry',
} as const;

const CLEARANCE_GROUP = 'security-admin';
const TOP_FIELDS = ['runtime', 'policy_engine', 'audit', 'tools', 'name', 'description'];
const ENGINE_FIELDS = ['approval_required_for', 'restricted_data_classes', 'environment_gates'];
const GATE_FIELDS = ['requires_human_approval', 'allowed_tools'];
const TOOL_FIELDS = ['actions', 'classification', 'scope', 'requires_approval', 'description'];

export function isHarness(doc: unknown): boolean {
  return isPlainObject(doc) && doc['apiVersion'] === undefined && (isPlainObject(doc['policy_engine']) || isPlainObject(doc['runtime']));
}

function scopeConditions(scope: string, at: (string | number)[], c: Checker): unknown[] {
  const out: unknown[] = [];
  for (const part of scope
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const colon = part.indexOf(':');
    if (colon <= 0 || colon === part.length - 1) {
      c.fail(at, `scope entry \`${part}\` must be \`key:pattern\``);
      continue;
    }
    const key = part.slice(0, colon);
    const pattern = part.slice(colon + 1);
    const snake = key.replace(/-/g, '_');
    const camel = key.replace(/[-_]([a-z])/g, (_m, ch: string) => ch.toUpperCase());
    const keys = [...new Set([key, snake, camel])];
    // INVARIANT: every alias the request carries must match, and at least one must be
    // there. One matching alias must not vouch for another naming a different project.
    out.push({
      all: [
        { any: [...keys.map((k) => ({ field: `args.${k}`, exists: true })), ...keys.map((k) => ({ field: 'resource', glob: `${k}:*` }))] },
        ...keys.map((k) => ({
          any: [
            { field: `args.${k}`, exists: false },
            { field: `args.${k}`, glob: pattern },
          ],
        })),
        ...keys.map((k) => ({ any: [{ not: { field: 'resource', glob: `${k}:*` } }, { field: 'resource', glob: `${k}:${pattern}` }] })),
      ],
    });
  }
  return out;
}

export function translateHarness(doc: Record<string, unknown>, fallbackName: string): TranslateResult {
  const c = new Checker();
  c.fields(doc, TOP_FIELDS, [], 'a harness config');
  const engine = isPlainObject(doc['policy_engine']) ? doc['policy_engine'] : {};
  if (doc['policy_engine'] !== undefined && !isPlainObject(doc['policy_engine'])) c.fail(['policy_engine'], '`policy_engine` must be a mapping');
  c.fields(engine, ENGINE_FIELDS, ['policy_engine'], '`policy_engine`');
  const approvalFor = c.strings(engine['approval_required_for'], ['policy_engine', 'approval_required_for'], 'approval_required_for');
  const restricted = c.strings(engine['restricted_data_classes'], ['policy_engine', 'restricted_data_classes'], 'restricted_data_classes');
  const rules: NativeRule[] = [];
  const actions: Record<string, NativeActionMeta> = {};

  const gates = engine['environment_gates'];
  const gateApproval: { env: string; tools: string[] | undefined }[] = [];
  const gateDenials: { env: string; others: () => unknown[] }[] = [];
  if (gates !== undefined) {
    if (!isPlainObject(gates)) c.fail(['policy_engine', 'environment_gates'], '`environment_gates` must map environments to gates');
    else {
      for (const [env, gate] of Object.entries(gates)) {
        const at = ['policy_engine', 'environment_gates', env];
        if (!isPlainObject(gate)) {
          c.fail(at, 'a gate must be a mapping');
          continue;
        }
        c.fields(gate, GATE_FIELDS, at, `gate \`${env}\``);
        if (env.trim() === '') c.fail(at, 'an environment name must not be empty');
        const allowed = gate['allowed_tools'] === undefined ? undefined : c.strings(gate['allowed_tools'], [...at, 'allowed_tools'], 'allowed_tools');
        if (allowed) {
          // Fresh objects per rule: shared ones would print as YAML anchors in `policy import`.
          const others = (): unknown[] => (allowed.length > 0 ? [{ not: { field: 'action', in: [...allowed] } }] : []);
          rules.push({
            id: `gate/${env}/allowed-tools`,
            effect: 'deny',
            reason: `tool is not allowed in environment \`${env}\``,
            actions: ['*'],
            when: [environmentIs(env, false), ...others()],
          });
          gateDenials.push({ env, others });
        }
        if (c.bool(gate['requires_human_approval'], [...at, 'requires_human_approval'], 'requires_human_approval', false)) gateApproval.push({ env, tools: allowed });
      }
    }
  }

  const gateRules = rules.length;
  const tools = doc['tools'];
  const toolNames: string[] = [];
  if (!isPlainObject(tools)) c.fail(['tools'], '`tools` must map tool names to their capabilities');
  else {
    for (const [name, raw] of Object.entries(tools)) {
      const at = ['tools', name];
      if (!isPlainObject(raw)) {
        c.fail(at, 'a tool must be a mapping');
        continue;
      }
      toolNames.push(name);
      c.fields(raw, TOOL_FIELDS, at, `tool \`${name}\``);
      const ops = c.strings(raw['actions'], [...at, 'actions'], 'actions');
      const classification = raw['classification'];
      if (classification !== undefined && typeof classification !== 'string') c.fail([...at, 'classification'], '`classification` must be a string');
      const scope = raw['scope'];
      if (scope !== undefined && typeof scope !== 'string') c.fail([...at, 'scope'], '`scope` must be a string such as `project-key:SEC-*`');
      actions[name] = { write: ops.some((o) => o !== 'read') };
      if (typeof classification === 'string' && restricted.includes(classification)) {
        rules.push({
          id: `${name}/restricted-class`,
          effect: 'deny',
          reason: HARNESS_REASONS.restricted,
          actions: [name],
          when: [{ not: { field: 'principal.groups', contains: CLEARANCE_GROUP } }],
        });
      }
      if (typeof scope === 'string') {
        rules.push({ id: `${name}/scope`, effect: 'deny', reason: HARNESS_REASONS.scope, actions: [name], when: [{ not: { all: scopeConditions(scope, [...at, 'scope'], c) } }] });
      }
      if (ops.length > 0) {
        rules.push({
          id: `${name}/operation`,
          effect: 'deny',
          reason: HARNESS_REASONS.operation,
          actions: [name],
          when: [
            {
              any: [
                {
                  all: [
                    { field: 'context.operation', exists: true },
                    { field: 'context.operation', notIn: [...ops] },
                  ],
                },
                {
                  all: [
                    { field: 'args.operation', exists: true },
                    { field: 'args.operation', notIn: [...ops] },
                  ],
                },
              ],
            },
          ],
        });
      }
      const requires = c.bool(raw['requires_approval'], [...at, 'requires_approval'], 'requires_approval', false);
      if (requires) rules.push({ id: `${name}/approval`, effect: 'require_approval', reason: HARNESS_REASONS.approval, actions: [name] });
      else if (ops.some((o) => approvalFor.includes(o))) rules.push({ id: `${name}/action-approval`, effect: 'require_approval', reason: HARNESS_REASONS.actionApproval, actions: [name] });
      else rules.push({ id: `${name}/allow`, effect: 'allow', reason: HARNESS_REASONS.allowed, actions: [name] });
    }
  }
  for (const { env, tools: allowed } of gateApproval) {
    const names = allowed ?? toolNames;
    if (names.length === 0) continue;
    rules.push({ id: `gate/${env}/approval`, effect: 'require_approval', reason: HARNESS_REASONS.gateApproval, actions: [...names], when: [environmentIs(env, true)] });
  }
  // A request that names no environment meets every gate (fail closed). Only registered
  // tools need this rule: any other tool is denied as not registered anyway, with that reason.
  if (toolNames.length > 0) {
    const noEnvironment = gateDenials.map(
      ({ env, others }): NativeRule => ({
        id: `gate/${env}/allowed-tools-no-environment`,
        effect: 'deny',
        reason: `tool is not allowed in environment \`${env}\` (the request names no environment, so every gate applies)`,
        actions: [...toolNames],
        when: [environmentAbsent(), ...others()],
      }),
    );
    rules.splice(gateRules, 0, ...noEnvironment);
  }
  const policy = {
    apiVersion: API_VERSION,
    name: typeof doc['name'] === 'string' ? doc['name'] : fallbackName,
    ...(typeof doc['description'] === 'string' ? { description: doc['description'] } : {}),
    defaultReason: HARNESS_REASONS.notRegistered,
    actions,
    rules,
  };
  return c.result(policy);
}
