/**
 * The in-memory kill-switch store. It lives in the kill switch stage (it does no I/O and is
 * the gateway's default); it is re-exported here so every in-memory adapter sits in one place.
 */

export { createMemoryKillSwitchStore } from '../../killswitch/index.js';
