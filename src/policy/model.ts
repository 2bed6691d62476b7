/**
 * The native policy model (`apiVersion: bastion/v1`): what every format is translated into,
 * and the compiled, indexed form the evaluator runs.
 */

import type { Risk } from '../core/risk.js';
import type { Effect, Obligation } from '../core/types.js';
import type { Predicate } from './conditions.js';

export const API_VERSION = 'bastion/v1' as const;

export interface NativeApproval {
  groups?: string[];
  quorum?: number;
  /** Seconds, or a duration string such as `30m`, `4h`, `1d`. */
  expiresIn?: number | string;
  changeTicket?: boolean;
  rollbackPlan?: boolean;
}

export interface NativeRule {
  id: string;
  effect: Effect;
  description?: string;
  /** The reason reported when this rule decides; defaults to a generated, stable string. */
  reason?: string;
  principals?: string[];
  actions: string[];
  resources?: string[];
  environments?: string[];
  when?: unknown[];
  approval?: NativeApproval;
  obligations?: Obligation[];
}

export interface NativeActionMeta {
  /** A write tool: switched off by `all_write_tools_disabled` and `read_only_mode`. */
  write?: boolean;
  /** The connector this action belongs to, for `disabled_connectors`. */
  connector?: string;
  /** The least risk this action carries, whatever the analysis finds (ZYX `risk`). */
  risk?: Risk;
  /** What to do when the call's arguments carry a secret (default: block for writes). */
  secrets?: ContentMode;
  /** What to do when the tool's result carries a secret (default: redact). */
  output?: ContentMode;
  description?: string;
}

/** Output validation: withhold the text, redact the secrets in it, or let it through. */
export type ContentMode = 'block' | 'redact' | 'allow';
export const CONTENT_MODES: readonly ContentMode[] = ['block', 'redact', 'allow'];

export interface NativePolicy {
  apiVersion: typeof API_VERSION;
  kind?: 'Policy';
  name: string;
  description?: string;
  /** Higher first, in evaluation order and in explanations. Default 0. */
  priority?: number;
  /** The reason given when nothing allows an action and this policy ranks highest. */
  defaultReason?: string;
  actions?: Record<string, NativeActionMeta>;
  /** Which arguments each analyzer reads, per action glob (see docs/analysis.md). */
  analyzers?: unknown;
  rules: NativeRule[];
}

export type { KillSwitchState } from '../killswitch/index.js';
export { EMPTY_KILL_SWITCH } from '../killswitch/index.js';
import type { KillSwitchState } from '../killswitch/index.js';

export interface BaselineOptions {
  /** Default true. `false` switches the built-in baseline off explicitly. */
  enabled?: boolean;
}

export interface CompiledRule {
  policy: string;
  id: string;
  effect: Effect;
  reason: string;
  /** Global order: lower runs (and explains) first. */
  rank: number;
  anyPrincipal: boolean;
  users: ReadonlySet<string>;
  groups: ReadonlySet<string>;
  actionTests: ((action: string) => boolean)[];
  /** Literal action names (no wildcard), used by the index. */
  actionLiterals: string[];
  /** Literal prefixes of wildcard action patterns (`sys:` for `sys:*`). */
  actionPrefixes: string[];
  resourceTest: ((resource: string | undefined) => boolean) | undefined;
  environmentTest: ((environment: string | undefined) => boolean) | undefined;
  condition: Predicate | undefined;
  approval: NativeApproval | undefined;
  obligations: Obligation[];
}

export interface CompiledPolicy {
  name: string;
  priority: number;
  source: string;
  format: PolicyFormat;
  native: NativePolicy;
}

export type PolicyFormat = 'native' | 'control-zero' | 'capfence' | 'zyx' | 'harness';

/** A loaded, validated and indexed set of policies. Immutable. */
export interface PolicySet {
  policies: CompiledPolicy[];
  rules: CompiledRule[];
  /** Content hash of the canonical native set: `sha256:<hex>`. */
  version: string;
  baseline: { enabled: boolean };
  defaultReason: string;
  /** Action metadata merged from every policy, by action glob. */
  actionMeta: { test: (action: string) => boolean; pattern: string; meta: NativeActionMeta }[];
  /** Kill-switch state declared by a policy file (the ZYX format carries one). */
  killSwitch: KillSwitchState | undefined;
  /** Analyzer configuration blocks, in policy order. */
  analyzers: unknown[];
  /** Candidate rules for an action, in rank order. */
  candidates(action: string): readonly CompiledRule[];
}
