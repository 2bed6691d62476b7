/**
 * The kill switch's port: where its state lives. The consumer (the gateway) reads a snapshot
 * before every decision and writes changes through `update`, which applies a change
 * atomically, so two operators switching different keys at once both take effect.
 *
 * Adapters: in memory (`createMemoryKillSwitchStore`), SQLite (in the data directory), and
 * PostgreSQL in a later issue; every adapter passes `test/storage/kill-switch.contract.ts`.
 */

import type { KillSwitchState } from './state.js';
import { applyKillSwitchChange, EMPTY_KILL_SWITCH } from './state.js';

export interface KillSwitchStore {
  /** The current state; the empty state (all off) when nothing was ever stored. */
  get(): Promise<KillSwitchState>;
  /** Applies a change atomically (fields left out keep their value); resolves to the new state. */
  update(change: Partial<KillSwitchState>): Promise<KillSwitchState>;
  close(): Promise<void>;
}

/** A kill-switch store in process memory: state is lost when the process ends. */
export function createMemoryKillSwitchStore(initial: Partial<KillSwitchState> = {}): KillSwitchStore {
  let state = applyKillSwitchChange(EMPTY_KILL_SWITCH, initial);
  return {
    get: async () => applyKillSwitchChange(state, {}),
    async update(change) {
      state = applyKillSwitchChange(state, change);
      return applyKillSwitchChange(state, {});
    },
    close: async () => undefined,
  };
}
