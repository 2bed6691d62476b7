/**
 * Whether any call of an action by a principal could be allowed: the question an MCP
 * `tools/list` asks before it shows a tool. It is read from the set alone, with no arguments,
 * so it over-approximates on purpose: a rule's condition (which may read `args.*`, the
 * analysis or the risk) is taken as satisfiable. Listing is a courtesy; every call is still
 * decided in full by the engine, with its arguments.
 *
 * An action is unreachable (hidden) when
 * - the kill switch disables the principal or the action's connector, or all writes / read-only
 *   mode holds and the action's metadata declares it a write;
 * - a deny rule without a condition targets the principal (and the environment given) for it;
 * - no allow or require_approval rule targets the principal for it (default deny);
 * - the baseline is on and the action's metadata declares risk `critical`.
 *
 * Pure: no I/O, like the engine.
 */

import { riskRank } from '../core/risk.js';
import type { Principal } from '../core/request.js';
import { connectorOf } from './engine.js';
import { combineKillSwitch } from './kill-switch.js';
import type { CompiledRule, KillSwitchState, PolicySet } from './model.js';

export interface ReachQuery {
  principal: Principal;
  action: string;
  environment?: string;
  resource?: string;
}

export interface Reachability {
  possible: boolean;
  /** Why not (a stable string), or the first rule that could permit it. */
  reason: string;
  /** The rule that decides the answer, when one does. */
  rule?: { policy: string; rule: string };
}

function targets(rule: CompiledRule, q: ReachQuery): boolean {
  const groups = q.principal.groups ?? [];
  if (!rule.anyPrincipal && !rule.users.has(q.principal.id) && !groups.some((g) => rule.groups.has(g))) return false;
  if (rule.resourceTest && !rule.resourceTest(q.resource)) return false;
  if (rule.environmentTest && !rule.environmentTest(q.environment)) return false;
  return true;
}

/**
 * Could some call of `query.action` by `query.principal` be allowed (possibly after an approval)?
 *
 * @example couldAllow(set, { principal: { id: 'intern-1', groups: ['intern'] }, action: 'shell.execute' }).possible // false
 */
export function couldAllow(set: PolicySet, query: ReachQuery, killSwitch?: KillSwitchState): Reachability {
  const state = killSwitch === undefined ? set.killSwitch : combineKillSwitch(set.killSwitch, killSwitch);
  if (state !== undefined) {
    if (state.disabled_users.includes(query.principal.id)) return { possible: false, reason: 'the kill switch disables this principal' };
    const connector = connectorOf(set, query.action);
    if (state.disabled_connectors.some((c) => c === query.action || c === connector)) return { possible: false, reason: 'the kill switch disables this connector' };
    if ((state.all_write_tools_disabled || state.read_only_mode) && set.actionMeta.some((m) => m.meta.write === true && m.test(query.action))) {
      return { possible: false, reason: 'the kill switch disables write tools' };
    }
  }
  if (set.baseline.enabled && set.actionMeta.some((m) => m.meta.risk !== undefined && riskRank(m.meta.risk) >= riskRank('critical') && m.test(query.action))) {
    return { possible: false, reason: 'the action is declared critical and the baseline denies critical risk' };
  }
  let permit: CompiledRule | undefined;
  for (const rule of set.candidates(query.action)) {
    if (!targets(rule, query)) continue;
    if (rule.effect === 'deny' && rule.condition === undefined) return { possible: false, reason: rule.reason, rule: { policy: rule.policy, rule: rule.id } };
    if (rule.effect !== 'deny') permit ??= rule;
  }
  if (permit === undefined) return { possible: false, reason: set.defaultReason };
  return { possible: true, reason: permit.reason, rule: { policy: permit.policy, rule: permit.id } };
}
