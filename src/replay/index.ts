/**
 * The replay stage: recorded decisions decided again against a candidate policy set
 * (`bastion replay`), to see what a policy change would change before it is in force.
 */

export { replay, requestFromEvent } from './replay.js';
export type { ReplayChange, ReplayOptions, ReplayOutcome, ReplayReport } from './replay.js';
