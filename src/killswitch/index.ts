/**
 * The kill switch stage: operator state that overrides policy, its port and the strict
 * parser of a change (the body of `PUT /v1/kill-switch`).
 */

export type { KillSwitchState } from './state.js';
export { EMPTY_KILL_SWITCH, applyKillSwitchChange } from './state.js';
export type { KillSwitchListener, KillSwitchSnapshot, KillSwitchStore } from './store.js';
export { KillSwitchListeners, checkKillSwitchChange, copySnapshot, createMemoryKillSwitchStore } from './store.js';
export { parseKillSwitchChange } from './change.js';
