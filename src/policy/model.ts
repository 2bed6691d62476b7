/**
 * The native policy model (`apiVersion: bastion/v1`): what every format is translated into,
 * and the compiled, indexed form the evaluator runs.
 */

import type * as z from 'zod';
import type { Effect, Obligation } from '../core/types.js';
import type { Predicate } from './conditions.js';
import type { ActionMetaSchema, ApprovalSchema, FlowRuleSchema, LimitSchema, NativePolicySchema, RuleSchema } from './schema.js';

export const API_VERSION = 'bastion/v1' as const;

/** Output validation modes: withhold the text, redact the secrets in it, or let it through. */
export const CONTENT_MODES = ['block', 'redact', 'allow'] as const;

/*
 * The native document types come from the schema (src/policy/schema.ts): what the loader
 * accepts is, by construction, what these types say. Input types: a document as written
 * (the analyzers block may give one string where a list is meant).
 */
export type NativePolicy = z.input<typeof NativePolicySchema>;
export type NativeRule = z.input<typeof RuleSchema>;
export type NativeApproval = z.input<typeof ApprovalSchema>;
export type NativeActionMeta = z.input<typeof ActionMetaSchema>;
export type NativeLimit = z.input<typeof LimitSchema>;
export type NativeFlowRule = z.input<typeof FlowRuleSchema>;

/** Output validation: withhold the text, redact the secrets in it, or let it through. */
export type ContentMode = (typeof CONTENT_MODES)[number];

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

/**
 * A limit declared in policy, compiled: which calls it counts, what its key is made of and
 * its one bound. The gateway turns it into a `LimitVerdict` per call (store operations are
 * async, so they happen before the pure engine runs).
 */
export interface CompiledLimit {
  name: string;
  /** The policy that declares it. */
  policy: string;
  per: 'principal' | 'action' | 'principal+action';
  /** Whether the limit counts this call (action glob and principal). */
  applies(action: string, principal: { id: string; groups?: readonly string[] | undefined }): boolean;
  rate?: { perPeriod: number; periodMs: number; burst: number };
  concurrency?: number;
  budget?: { unit: 'calls' | 'tokens'; amount: number; windowMs: number };
}

/**
 * A flow rule, compiled: what it waits for in the trace's taint and which later calls it
 * holds. Its `policy`, `id`, `effect`, `reason` and `approval` are those of a rule, so an
 * enforcing one takes part in combining exactly as a rule does.
 */
export interface CompiledFlowRule {
  policy: string;
  id: string;
  after: 'untrusted' | 'attack';
  effect: 'deny' | 'require_approval';
  reason: string;
  mode: 'enforce' | 'shadow';
  /** Global order, after every ordinary rule. */
  rank: number;
  anyPrincipal: boolean;
  users: ReadonlySet<string>;
  groups: ReadonlySet<string>;
  /** Undefined: every action. */
  actionTest: ((action: string) => boolean) | undefined;
  /** Undefined: any call; else a call showing one of these. */
  categories: ReadonlySet<string> | undefined;
  writes: boolean;
  approval: NativeApproval | undefined;
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
  /** Kill-switch state declared by policy files (the ZYX format carries one), combined: either can disable. */
  killSwitch: KillSwitchState | undefined;
  /** Limits declared by the policies, in evaluation order (policy priority, then order in the file). */
  limits: CompiledLimit[];
  /** Flow rules declared by the policies, in evaluation order (policy priority, then order in the file). */
  flow: CompiledFlowRule[];
  /** Analyzer configuration blocks, in policy order. */
  analyzers: unknown[];
  /** Candidate rules for an action, in rank order. */
  candidates(action: string): readonly CompiledRule[];
}
