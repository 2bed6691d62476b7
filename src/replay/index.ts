/**
 * The replay stage: what a policy change would change before it is in force. Recorded
 * decisions decided again against a candidate set (`bastion replay`), and the rules and
 * policy test cases that differ between two sets (`bastion policy diff`).
 */

export { replay, requestFromEvent } from './replay.js';
export type { ReplayChange, ReplayOptions, ReplayOutcome, ReplayReport } from './replay.js';
export { diffPolicies } from './policy-diff.js';
export type { CaseChange, CaseSide, PolicyChange, PolicyDiff, RuleChange } from './policy-diff.js';
