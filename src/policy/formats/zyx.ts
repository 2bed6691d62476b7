/**
 * ZYX tool policy YAML (seed 002): `kill_switch{…}` and `tools{name: {risk, allowed_groups,
 * write, approval_required, approval_groups, allowed_accounts, allowed_channels,
 * production_allowed, change_ticket_required, rollback_plan_required}}`.
 *
 * The seed's checks become deny rules in the seed's order, so the first failing check gives
 * the seed's reason verbatim: kill switch (evaluated before any rule), `tool is not defined
 * in policy` (the policy's default reason), `user does not belong to an allowed group`,
 * `device is not compliant`; then Bastion's additions the seed's fields imply but its code
 * never enforced (accounts, channels, production); then `authorized`, or a
 * `require_approval` rule carrying approver groups, change ticket and rollback plan.
 */

import { isRisk, type Risk } from '../../core/risk.js';
import { API_VERSION, EMPTY_KILL_SWITCH, type KillSwitchState, type NativeActionMeta, type NativeRule } from '../model.js';
import { Checker, environmentAbsent, environmentIs, type TranslateResult } from './common.js';
import { isPlainObject } from '../../core/schema.js';

export const ZYX_REASONS = {
  notDefined: 'tool is not defined in policy',
  group: 'user does not belong to an allowed group',
  device: 'device is not compliant',
  account: 'account is not allowed for this tool',
  channel: 'channel is not allowed for this tool',
  production: 'tool is not allowed in production',
  productionUnknown: 'tool is not allowed in production (the request names no environment)',
  approval: 'approval required by tool policy',
  authorized: 'authorized',
} as const;

const POLICY_FIELDS = ['version', 'name', 'description', 'kill_switch', 'tools'];
const KILL_SWITCH_FIELDS = ['all_write_tools_disabled', 'read_only_mode', 'disabled_connectors', 'disabled_users', 'disabled_workflows', 'reason'];
const TOOL_FIELDS = [
  'risk',
  'description',
  'allowed_groups',
  'write',
  'approval_required',
  'approval_groups',
  'allowed_accounts',
  'allowed_channels',
  'production_allowed',
  'change_ticket_required',
  'rollback_plan_required',
];

export function isZyx(doc: unknown): boolean {
  if (!isPlainObject(doc) || doc['apiVersion'] !== undefined) return false;
  if (isPlainObject(doc['kill_switch'])) return true;
  const tools = doc['tools'];
  return isPlainObject(tools) && Object.values(tools).some((t) => isPlainObject(t) && ('allowed_groups' in t || 'write' in t || 'approval_groups' in t));
}

export function translateZyx(doc: Record<string, unknown>, fallbackName: string): TranslateResult {
  const c = new Checker();
  c.fields(doc, POLICY_FIELDS, [], 'a ZYX tool policy');
  let killSwitch: KillSwitchState | undefined;
  const ks = doc['kill_switch'];
  if (ks !== undefined && ks !== null) {
    if (!isPlainObject(ks)) c.fail(['kill_switch'], '`kill_switch` must be a mapping');
    else {
      c.fields(ks, KILL_SWITCH_FIELDS, ['kill_switch'], '`kill_switch`');
      killSwitch = {
        ...EMPTY_KILL_SWITCH,
        all_write_tools_disabled: c.bool(ks['all_write_tools_disabled'], ['kill_switch', 'all_write_tools_disabled'], 'all_write_tools_disabled', false),
        read_only_mode: c.bool(ks['read_only_mode'], ['kill_switch', 'read_only_mode'], 'read_only_mode', false),
        disabled_connectors: c.strings(ks['disabled_connectors'], ['kill_switch', 'disabled_connectors'], 'disabled_connectors'),
        disabled_users: c.strings(ks['disabled_users'], ['kill_switch', 'disabled_users'], 'disabled_users'),
        disabled_workflows: c.strings(ks['disabled_workflows'], ['kill_switch', 'disabled_workflows'], 'disabled_workflows'),
        ...(typeof ks['reason'] === 'string' ? { reason: ks['reason'] } : {}),
      };
    }
  }
  const tools = doc['tools'];
  const rules: NativeRule[] = [];
  const actions: Record<string, NativeActionMeta> = {};
  if (!isPlainObject(tools)) c.fail(['tools'], '`tools` must map tool names to their policy');
  else {
    for (const [name, raw] of Object.entries(tools)) {
      const at = ['tools', name];
      if (!isPlainObject(raw)) {
        c.fail(at, 'a tool policy must be a mapping');
        continue;
      }
      c.fields(raw, TOOL_FIELDS, at, `tool \`${name}\``);
      const risk = raw['risk'];
      if (risk !== undefined && !isRisk(risk)) c.fail([...at, 'risk'], '`risk` must be low, medium, high or critical');
      const write = c.bool(raw['write'], [...at, 'write'], 'write', false);
      actions[name] = { write, ...(isRisk(risk) ? { risk: risk as Risk } : {}) };
      const groups = c.strings(raw['allowed_groups'], [...at, 'allowed_groups'], 'allowed_groups');
      const accounts = raw['allowed_accounts'] === undefined ? undefined : c.strings(raw['allowed_accounts'], [...at, 'allowed_accounts'], 'allowed_accounts');
      const channels = raw['allowed_channels'] === undefined ? undefined : c.strings(raw['allowed_channels'], [...at, 'allowed_channels'], 'allowed_channels');
      const productionAllowed = c.bool(raw['production_allowed'], [...at, 'production_allowed'], 'production_allowed', true);
      const approvalRequired = c.bool(raw['approval_required'], [...at, 'approval_required'], 'approval_required', false);
      const approvalGroups = c.strings(raw['approval_groups'], [...at, 'approval_groups'], 'approval_groups');
      const changeTicket = c.bool(raw['change_ticket_required'], [...at, 'change_ticket_required'], 'change_ticket_required', false);
      const rollbackPlan = c.bool(raw['rollback_plan_required'], [...at, 'rollback_plan_required'], 'rollback_plan_required', false);

      const deny = (id: string, reason: string, when: unknown[], extra: Partial<NativeRule> = {}): void => {
        rules.push({ id: `${name}/${id}`, effect: 'deny', reason, actions: [name], when, ...extra });
      };
      // With no allowed group nobody may use the tool, as in the seed (empty intersection).
      deny('allowed-groups', ZYX_REASONS.group, groups.length > 0 ? [{ not: { field: 'principal.groups', containsAny: groups } }] : []);
      deny('device-compliance', ZYX_REASONS.device, [{ not: { field: 'principal.deviceCompliant', equals: true } }]);
      if (accounts) deny('allowed-accounts', ZYX_REASONS.account, [{ not: { field: 'args.account', in: accounts } }]);
      if (channels) deny('allowed-channels', ZYX_REASONS.channel, [{ not: { field: 'args.channel', in: channels } }]);
      if (!productionAllowed) {
        // Environment names are compared trimmed and lower-cased (`PROD`, `Production `), and
        // a request that names no environment may be production: fail closed.
        deny('production', ZYX_REASONS.production, [environmentIs('production', false)]);
        deny('production-no-environment', ZYX_REASONS.productionUnknown, [environmentAbsent()]);
      }
      if (approvalRequired) {
        rules.push({
          id: `${name}/approval`,
          effect: 'require_approval',
          reason: ZYX_REASONS.approval,
          actions: [name],
          approval: { ...(approvalGroups.length > 0 ? { groups: approvalGroups } : {}), changeTicket, rollbackPlan },
        });
      } else {
        rules.push({ id: `${name}/allow`, effect: 'allow', reason: ZYX_REASONS.authorized, actions: [name] });
      }
    }
  }
  const name = typeof doc['name'] === 'string' ? doc['name'] : fallbackName;
  const version = doc['version'];
  const policy = {
    apiVersion: API_VERSION,
    name,
    description: `ZYX tool policy${version !== undefined ? ` version ${String(version)}` : ''}`,
    defaultReason: ZYX_REASONS.notDefined,
    actions,
    rules,
  };
  return c.result(policy, killSwitch);
}
