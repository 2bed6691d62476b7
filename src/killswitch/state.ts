/**
 * The kill switch's state: operator switches that override every policy (the ZYX seed's keys).
 */

export interface KillSwitchState {
  all_write_tools_disabled: boolean;
  read_only_mode: boolean;
  disabled_connectors: string[];
  disabled_users: string[];
  disabled_workflows: string[];
  reason?: string;
}

export const EMPTY_KILL_SWITCH: Readonly<KillSwitchState> = Object.freeze({
  all_write_tools_disabled: false,
  read_only_mode: false,
  disabled_connectors: [],
  disabled_users: [],
  disabled_workflows: [],
});

/** Applies a change (fields left out keep their value) to a state, returning a fresh copy. */
export function applyKillSwitchChange(state: Readonly<KillSwitchState>, change: Partial<KillSwitchState>): KillSwitchState {
  const next: KillSwitchState = {
    all_write_tools_disabled: change.all_write_tools_disabled ?? state.all_write_tools_disabled,
    read_only_mode: change.read_only_mode ?? state.read_only_mode,
    disabled_connectors: [...(change.disabled_connectors ?? state.disabled_connectors)],
    disabled_users: [...(change.disabled_users ?? state.disabled_users)],
    disabled_workflows: [...(change.disabled_workflows ?? state.disabled_workflows)],
  };
  const reason = 'reason' in change ? change.reason : state.reason;
  if (reason !== undefined) next.reason = reason;
  return next;
}
