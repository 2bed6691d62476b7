/**
 * Guarded shell execution: decide, then run an allowed command in the bubblewrap sandbox
 * with a time limit, an output cap, redacted output and an audited outcome
 * (`bastion exec`, `runCommand`). This file is the whole public face of src/exec.
 */

export { runCommand } from './run-command.js';
export type { CommandOutcome, RunCommandOptions, SandboxReport } from './run-command.js';
export { bubblewrapArgs, findBubblewrap, probeBubblewrap } from './sandbox.js';
export type { SandboxSpec } from './sandbox.js';
