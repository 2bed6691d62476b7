/**
 * How the kill switch's two sources meet: what policy files declare and the runtime state
 * operators set. Pure, here in the policy stage because the engine applies it (and the
 * engine's imports do no I/O); the gateway uses it for what `GET /v1/kill-switch` shows.
 */

import type { KillSwitchState } from '../killswitch/index.js';

const NONE: Readonly<KillSwitchState> = Object.freeze({
  all_write_tools_disabled: false,
  read_only_mode: false,
  disabled_connectors: [],
  disabled_users: [],
  disabled_workflows: [],
});

/** Whether a state switches anything off. */
export function killSwitchHolds(state: Readonly<KillSwitchState>): boolean {
  return state.all_write_tools_disabled || state.read_only_mode || state.disabled_connectors.length > 0 || state.disabled_users.length > 0 || state.disabled_workflows.length > 0;
}

/**
 * The effective kill switch from its two sources: what policy files declare (a ZYX
 * `kill_switch` block) and the runtime state operators set (`PUT /v1/kill-switch`, `bastion
 * kill-switch set`). Either can disable: the booleans are ORed and the lists united, so an
 * API change never re-enables what a file disables and a file never undoes an API switch.
 * The reason is that of each source that switches something off (the file's first), joined
 * with `; `; when neither does, the runtime reason, else the file's.
 *
 * @example
 * combineKillSwitch({ ...EMPTY_KILL_SWITCH, read_only_mode: true }, { ...EMPTY_KILL_SWITCH, disabled_users: ['intern'] })
 * // { read_only_mode: true, disabled_users: ['intern'], all_write_tools_disabled: false, … }
 */
export function combineKillSwitch(policy: Readonly<KillSwitchState> | undefined, runtime: Readonly<KillSwitchState> | undefined): KillSwitchState {
  const a = policy ?? NONE;
  const b = runtime ?? NONE;
  const union = (x: readonly string[], y: readonly string[]) => [...new Set([...x, ...y])];
  const next: KillSwitchState = {
    all_write_tools_disabled: a.all_write_tools_disabled || b.all_write_tools_disabled,
    read_only_mode: a.read_only_mode || b.read_only_mode,
    disabled_connectors: union(a.disabled_connectors, b.disabled_connectors),
    disabled_users: union(a.disabled_users, b.disabled_users),
    disabled_workflows: union(a.disabled_workflows, b.disabled_workflows),
  };
  const holding = [a, b].filter((s) => killSwitchHolds(s) && s.reason !== undefined && s.reason !== '').map((s) => s.reason as string);
  const reason = holding.length > 0 ? [...new Set(holding)].join('; ') : (b.reason ?? a.reason);
  if (reason !== undefined) next.reason = reason;
  return next;
}
