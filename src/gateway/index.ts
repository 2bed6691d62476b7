/**
 * The gateway: the one decision pipeline every surface calls (library, CLI, HTTP, proxies),
 * as a short composition of stages:
 *
 *   validate the request → snapshot state (kill switch, the trace's taint) → facts (the set's
 *   analyzers + content scanners) → the pure engine → audit (durable before the answer)
 *
 * The engine (`policy/engine.ts`) decides everything, built-in policies included (kill
 * switch, baseline, secrets in arguments); nothing here edits a decision after it returns.
 * State lives behind ports (`KillSwitchStore`, `TaintStore`, `ApprovalStore`; in memory unless
 * the caller passes stores), so the same gateway runs on shared stores across replicas.
 *
 * Approvals (the approvals stage's service): a request naming `approvalId` is looked up and
 * bound to this call before the engine runs; after it, a `require_approval` decision gets its
 * approval created (or keeps the pending one it named) and an allow by an approval uses it
 * once. Attaching the approval is the one thing added to a decision here; the engine decides.
 */

import { deepFreeze } from '../core/freeze.js';
import { obligedTimeoutSeconds } from '../core/obligations.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { appendTaint, traceDownloads, type TaintEntry, type TaintStore } from '../analysis/index.js';
import { createApprovalService, type ApprovalEvent, type ApprovalService, type ApprovalSettings, type ApprovalStore } from '../approvals/index.js';
import { decisionEvent, type AuditEventInput, type AuditLog } from '../audit/index.js';
import { createMemoryApprovalStore, createMemoryTaintStore, openSqliteStores, type StateStores } from '../storage/local.js';
import { validateRequest } from '../core/request.js';
import type { ActionRequest, Decision, Facts, TaintRecord, WouldBlock } from '../core/types.js';
import { fail, ok, type Result } from '../core/result.js';
import { BastionException, bastionError, quote, type BastionError } from '../core/errors.js';
import { isPlainObject } from '../core/schema.js';
import { createMemoryKillSwitchStore, type KillSwitchStore } from '../killswitch/index.js';
import type { LimitStore } from '../limits/index.js';
import { createMemoryLimitStore } from '../storage/local.js';
import { GatewayLimits, type LimitStoreFailMode } from './limits.js';
import {
  analyzerOf,
  combineKillSwitch,
  decide as engineDecide,
  factsFor,
  invalidRequestDecision,
  loadPolicySet,
  type BaselineOptions,
  type DecisionState,
  type KillSwitchState,
  type PolicyInput,
  type PolicySet,
} from '../policy/index.js';
import { classify, detectInjection, redactValue, validateOutput, type ClassifierOptions, type ClassifierVerdict, type OutputMode, type ScanFinding } from '../scan/index.js';

/** Where the gateway's state lives. Each store left out is a fresh one in memory. */
export interface GatewayStores {
  /** The kill switch's state; a persistent store keeps operators' switches across restarts. */
  killSwitch?: KillSwitchStore;
  /** Traces that read untrusted content scoring as an attack. */
  taint?: TaintStore;
  /** Rate-limit and budget counters for the `limits` declared in policy. */
  limits?: LimitStore;
  /** Approvals between the decision that asks for one and the retry that uses it. */
  approvals?: ApprovalStore;
}

/** How the limits declared in policy behave when their store fails. */
export interface GatewayLimitOptions {
  /**
   * Rate limits when the limit store fails: `closed` (default) refuses the call, `open` lets
   * it through, audited as `limits.fail_open` and counted (`gateway.failOpenCount()`).
   * Budgets always fail closed.
   */
  onStoreError?: LimitStoreFailMode;
  /** Told of each call let through while the limit store failed (the service counts it in `/metrics`). */
  onFailOpen?: (limit: string) => void;
}

/** The kill switch as `GET /v1/kill-switch` answers it: the effective state and both sources. */
export interface KillSwitchStatus extends KillSwitchState {
  sources: {
    /** What operators set (`PUT /v1/kill-switch`, `bastion kill-switch set`), persisted in the store. */
    runtime: KillSwitchState & { version: number; updatedAt: string | null };
    /** What the policy files' `kill_switch` blocks declare (null when none does). */
    policy: KillSwitchState | null;
  };
}

/** Model usage reported after a call, spent from the `tokens` budgets that apply. */
export interface UsageReport {
  /** The trace of the allowed decision (its principal and action are used), or … */
  traceId?: string;
  /** … the principal directly. */
  principal?: ActionRequest['principal'];
  /** The action; default the traced decision's. */
  action?: string;
  /** Tokens used (a whole number ≥ 0). */
  tokens: number;
}

/** How approvals are made when a rule does not say, and who hears of them. */
export interface GatewayApprovalOptions extends Partial<ApprovalSettings> {
  /**
   * Default true: a `require_approval` decision opens an approval and a retry's `approvalId`
   * is looked up and used. False for dry evaluations (`bastion check`, `bastion test`): the
   * decision only, no approval state written.
   */
  enabled?: boolean;
  /** Told of every approval transition (the notifier's queue); must not block. */
  notify?: (event: ApprovalEvent) => void;
  /** The clock of approvals (tests); default `Date.now`. */
  now?: () => number;
}

export interface GatewayOptions {
  /** Policy files, directories or documents, or an already loaded set. */
  policies: PolicyInput | PolicyInput[] | PolicySet;
  baseline?: BaselineOptions;
  /** Where state lives: the audit log in `DIR/bastion.db`. Without it nothing is recorded. */
  dataDir?: string;
  /** An audit log opened by the caller; takes precedence over `dataDir`. */
  auditLog?: AuditLog;
  /** Default true: a decision is answered only once its audit event is on disk. */
  durable?: boolean;
  /** Audit retention: `auditLog.prune()` removes whole ranges older than this, below a signed checkpoint. */
  retentionDays?: number;
  /**
   * Kill-switch keys applied at start, over what a policy file declared (a ZYX
   * `kill_switch` block) and what the store held.
   */
  killSwitch?: Partial<KillSwitchState>;
  /** State stores (default: in memory). The caller closes the stores it passes. */
  stores?: GatewayStores;
  /** Which surface decides, recorded in audit events (`library`, `cli`, `http`, …). */
  surface?: string;
  /** Resolve relative policy paths against this directory. */
  cwd?: string;
  /** The fail mode of the limits declared in policy. */
  limits?: GatewayLimitOptions;
  /** The clock limits count with (ms since the epoch); default `Date.now`. For tests. */
  now?: () => number;
  /** Default approver groups (`[bastion-approvers]`) and expiry (900 s), notifications. */
  approvals?: GatewayApprovalOptions;
  /**
   * A candidate set decided next to the enforcing one (shadow mode): only the enforcing
   * decision counts; the shadow one is recorded in the decision's audit event (`shadow`)
   * and told to `onShadow`. Loaded with the same baseline and directory as `policies`.
   */
  shadowPolicies?: PolicyInput | PolicyInput[] | PolicySet;
  /** Told of each shadow decision next to the enforcing one (metrics); must not throw. */
  onShadow?: (enforcing: Decision, shadow: ShadowDecision) => void;
  /**
   * An external prompt-injection classifier `inspectResult` asks about every tool result,
   * next to the local detector (see src/scan/classifier.ts for its contract and fail modes).
   */
  injectionClassifier?: ClassifierOptions;
  /** Told of each decision a shadow flow rule would have blocked (`decision.wouldBlock`, metrics). */
  onWouldBlock?: (decision: Decision, wouldBlock: readonly WouldBlock[]) => void;
}

/** What the shadow set decided for a request (recorded as the audit event's `shadow`). */
export interface ShadowDecision {
  decision: Decision['decision'];
  reason: string;
  matched: Array<{ policy: string; rule: string; effect: Decision['decision'] }>;
  policyVersion: string;
  /** Whether it is the enforcing decision (the same effect). */
  agrees: boolean;
}

export interface ResultInspection {
  /** The text to hand to the agent: redacted, withheld (`block`) or unchanged. */
  text: string;
  action: OutputMode;
  findings: ScanFinding[];
  injection: { score: number; attack: boolean; techniques: string[] };
  /** The external classifier's verdict, when one is configured. */
  classifier?: ClassifierVerdict;
  /** Whether the result tainted the trace (an `untrusted` action's result, or an attack). */
  tainted: boolean;
}

export interface Gateway {
  /** Decides one action request. Never throws for a bad request: it is denied, with the errors. */
  decide(request: unknown): Promise<Decision>;
  /**
   * Decides several action requests at once, each exactly as `decide` would, and answers in
   * their order. Their audit events follow that order too (all of one request's events before
   * the next one's), whatever order the decisions finish in, and are committed together (one
   * group commit). Rejects, once every event is appended, when deciding any of them failed.
   *
   * @example const [a, b] = await gateway.decideBatch([{ ...req, action: 'jira_read' }, { ...req, action: 'shell.execute', args }]);
   */
  decideBatch(requests: readonly unknown[]): Promise<Decision[]>;
  /**
   * Wraps a tool function: each call is decided first and runs only when allowed, under the
   * allow's obligations: `redact_arguments` hands the tool the redacted arguments; `timeout`
   * rejects with `ActionTimeoutError` after its seconds and aborts `signal` (a tool that
   * listens stops; JavaScript cannot stop one that does not); `sandbox` cannot be applied to
   * a function, so the call is refused (`ActionDeniedError`, an `execution` event with
   * `ran: false`): commands that need one run through `runCommand` or `bastion exec`.
   *
   * @example const run = gateway.guard('shell.execute', exec, { principal }); await run({ command: 'ls' });
   */
  guard<A extends Record<string, unknown>, R>(
    action: string,
    fn: (args: A, call: GuardedCall) => R | Promise<R>,
    defaults: Omit<ActionRequest, 'action' | 'args'>,
  ): (args: A, overrides?: Partial<Omit<ActionRequest, 'action' | 'args'>>) => Promise<R>;
  /**
   * Checks what a tool returned before the agent sees it: secrets redacted or blocked per
   * the action's `output` mode, and untrusted content scored for prompt injection; an
   * attack taints the trace, so later calls in it see `analysis.untrustedContent`, and a
   * result of an action declared `untrusted` taints it for the policy's `flow` rules.
   * Calls for one trace are serialized: concurrent results never lose taint.
   */
  inspectResult(input: { traceId: string; action: string; text: string; source?: string }): Promise<ResultInspection>;
  /** The loaded policy set. */
  readonly policySet: PolicySet;
  /** The shadow set (`shadowPolicies`), when one is loaded. */
  readonly shadowPolicySet: PolicySet | undefined;
  /** Swaps in a new policy set (the watcher calls this); records a `policy.loaded` event. */
  setPolicySet(set: PolicySet): Promise<void>;
  /**
   * The effective kill switch: the policy files' blocks combined with the runtime state as
   * last read from its store (at start, by the last decision or change); either can disable.
   * With a store shared by replicas it may trail a change made elsewhere until this
   * gateway's next decision; `killSwitchStatus()` reads the store.
   */
  killSwitch(): KillSwitchState;
  /** The effective kill switch and both its sources, read from the store now. */
  killSwitchStatus(): Promise<KillSwitchStatus>;
  /**
   * Changes the runtime kill switch (fields left out keep their value), records a
   * `kill_switch.changed` event naming `by` (the principal id) and the change's `reason`,
   * takes a signed checkpoint, and answers the effective state. It cannot switch back on
   * what a policy file switches off.
   */
  setKillSwitch(change: Partial<KillSwitchState>, by: string, options?: { via?: string }): Promise<KillSwitchState>;
  /**
   * Spends model tokens from the `tokens` budgets that apply (with overdraw: the usage is
   * known only after the call); later calls are refused once a window is spent. Rejects with
   * `REQUEST_INVALID` on a malformed report and `STATE_STORAGE` when the limit store fails.
   *
   * @example await gateway.recordUsage({ traceId: decision.traceId, tokens: 1200 });
   */
  recordUsage(usage: UsageReport): Promise<{ budgets: { name: string; spent: number; remaining: number; exhausted: boolean }[] }>;
  /** How many calls a rate limit let through because the limit store failed (`limits.onStoreError: open`). */
  failOpenCount(): number;
  readonly auditLog: AuditLog | undefined;
  /** The approvals workflow: list, show, wait on, approve, deny, cancel, sweep expired ones. */
  readonly approvals: ApprovalService;
  close(): Promise<void>;
}

/** What a guarded tool is told besides its arguments. */
export interface GuardedCall {
  /** The decision that allowed the call (its obligations, trace id, reason). */
  decision: Decision;
  /** Aborted when a `timeout` obligation's time is up. */
  signal: AbortSignal;
}

/** Thrown by a guarded function whose run outlasted the `timeout` obligation of its allow. */
export class ActionTimeoutError extends Error {
  readonly decision: Decision;
  readonly seconds: number;
  constructor(decision: Decision, seconds: number) {
    super(`timed out: \`${decision.traceId}\` ran past the ${seconds} s its allow (${decision.reason}) gives it`);
    this.name = 'ActionTimeoutError';
    this.decision = decision;
    this.seconds = seconds;
  }
}

/** Why guard() cannot run an allowed call: an obligation it cannot apply to a function. */
function unmetObligation(decision: Decision): string | undefined {
  if (decision.obligations.some((o) => o.type === 'sandbox')) {
    return 'the allow requires a sandbox, which guard() cannot give a function (run commands through runCommand or `bastion exec`)';
  }
  return undefined;
}

/** Runs `run`, rejecting with `ActionTimeoutError` (and aborting its signal) once `seconds` pass. */
async function withinTimeout<R>(decision: Decision, seconds: number | undefined, run: (signal: AbortSignal) => R | Promise<R>): Promise<R> {
  const controller = new AbortController();
  if (seconds === undefined) return run(controller.signal);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new ActionTimeoutError(decision, seconds);
      controller.abort(error);
      reject(error);
    }, seconds * 1000);
  });
  try {
    return await Promise.race([Promise.resolve().then(() => run(controller.signal)), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Thrown by a guarded function when its call is not allowed. */
export class ActionDeniedError extends Error {
  readonly decision: Decision;
  constructor(decision: Decision) {
    super(`${decision.decision === 'require_approval' ? 'approval required' : 'denied'}: ${decision.reason}`);
    this.name = 'ActionDeniedError';
    this.decision = decision;
  }
}

/**
 * `inspectResult`'s input is the caller's (a proxy's), not an agent's: a wrong shape is
 * misuse and throws. `text` is a tool's output and may hold anything a string can; the names
 * go into the audit log, which cannot encode a lone surrogate.
 */
function checkInspectInput(input: unknown): void {
  const fail = (message: string): never => {
    throw new BastionException(bastionError('REQUEST_INVALID', `inspectResult: ${message}`));
  };
  if (typeof input !== 'object' || input === null) fail('expects { traceId, action, text, source? }');
  const r = input as Record<string, unknown>;
  for (const field of ['traceId', 'action', 'text', 'source'] as const) {
    const v = r[field];
    if (v === undefined && field === 'source') continue;
    if (typeof v !== 'string') fail(`field \`${field}\` must be a string`);
    if (field !== 'text' && (v === '' || !(v as unknown as { isWellFormed(): boolean }).isWellFormed())) fail(`field \`${field}\` must be a non-empty string without lone surrogates`);
  }
}

function outputMode(set: PolicySet, action: string): OutputMode {
  for (const m of set.actionMeta) {
    const mode = m.meta.output;
    if (mode !== undefined && m.test(action)) return mode;
  }
  return 'redact';
}

function isUntrusted(set: PolicySet, action: string): boolean {
  for (const m of set.actionMeta) {
    const untrusted = m.meta.untrusted;
    if (untrusted !== undefined && m.test(action)) return untrusted;
  }
  return false;
}

function copyKillSwitch(state: KillSwitchState): KillSwitchState {
  const copy: KillSwitchState = { ...state, disabled_connectors: [...state.disabled_connectors], disabled_users: [...state.disabled_users], disabled_workflows: [...state.disabled_workflows] };
  return copy;
}

/**
 * Creates a gateway. Throws `BastionException` (with every error in `details`) when the
 * options are wrong, the policies do not load or the data directory cannot be opened;
 * `openGateway` is the same as a `Result` (as Zod's `parse` and `safeParse`).
 *
 * The kill switch has two sources that combine (either can disable): the policy files'
 * `kill_switch` blocks (ZYX), read from the set and never written to the store, and the
 * runtime state in the store (what operators set; it survives a restart with a persistent
 * store). The `killSwitch` option is applied to the runtime state at start.
 *
 * @example
 * const gateway = await createGateway({ policies: ['policies/'], dataDir: '.bastion' });
 * const d = await gateway.decide({ principal: { id: 'ops-agent', groups: ['sre'] }, action: 'shell.execute', args: { command: 'df -h' } });
 */
export async function openGateway(options: GatewayOptions): Promise<Result<Gateway, BastionError>> {
  try {
    return ok(await createGateway(options));
  } catch (err) {
    if (err instanceof BastionException) return fail(...err.details);
    throw err;
  }
}

/** Like `openGateway`, throwing the errors as one `BastionException`. */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const invalid = checkOptions(options);
  if (invalid.length > 0) throw new BastionException(invalid);
  let set: PolicySet;
  if (isPolicySet(options.policies)) set = options.policies;
  else {
    const loaded = loadPolicySet(options.policies, { ...(options.baseline ? { baseline: options.baseline } : {}), ...(options.cwd ? { cwd: options.cwd } : {}) });
    if (!loaded.ok) throw new BastionException(loaded.errors);
    set = loaded.value;
  }
  analyzerOf(set); // fails here, not at the first decision, on analyzer blocks that do not parse
  let shadowSet: PolicySet | undefined;
  if (options.shadowPolicies !== undefined) {
    if (isPolicySet(options.shadowPolicies)) shadowSet = options.shadowPolicies;
    else {
      const loaded = loadPolicySet(options.shadowPolicies, { ...(options.baseline ? { baseline: options.baseline } : {}), ...(options.cwd ? { cwd: options.cwd } : {}) });
      if (!loaded.ok) throw new BastionException(loaded.errors.map((e) => ({ ...e, message: `shadow policies: ${e.message}` })));
      shadowSet = loaded.value;
    }
    analyzerOf(shadowSet);
  }

  // A data directory holds the audit log and the kill switch (SQLite, `DIR/bastion.db`);
  // stores passed in take precedence, and are the caller's to close.
  let opened: StateStores | undefined;
  if (options.dataDir !== undefined && options.auditLog === undefined) {
    const result = await openSqliteStores(options.dataDir, {
      durable: options.durable ?? true,
      ...(options.retentionDays !== undefined ? { retentionDays: options.retentionDays } : {}),
    });
    if (!result.ok) throw new BastionException(result.errors);
    opened = result.value;
  }
  const killSwitchStore = options.stores?.killSwitch ?? opened?.killSwitch ?? createMemoryKillSwitchStore();
  const taintStore = options.stores?.taint ?? createMemoryTaintStore();
  const approvalStore = options.stores?.approvals ?? opened?.approvals ?? createMemoryApprovalStore();
  const limitStore = options.stores?.limits ?? opened?.limits ?? createMemoryLimitStore();
  const owned = [
    ...(options.stores?.killSwitch || opened ? [] : [killSwitchStore]),
    ...(options.stores?.taint ? [] : [taintStore]),
    ...(options.stores?.limits || opened ? [] : [limitStore]),
    ...(options.stores?.approvals || opened ? [] : [approvalStore]),
    ...(opened ? [opened] : []),
  ];
  // INVARIANT: the runtime state is only the operators'; the files' blocks are never written
  // into it, so a file can never undo an API switch, nor an API change re-enable a file's.
  let runtime = await killSwitchStore.get();
  const audit: AuditLog | undefined = options.auditLog ?? opened?.audit;
  const surface = options.surface ?? 'library';
  /**
   * The events of one request of a batch, held while the batch decides so they can be
   * appended in request order. Anything recorded for it after the batch appended (a late
   * callback that inherited the async context) goes to the log directly.
   */
  interface BatchEntry {
    events: AuditEventInput[];
    holding: boolean;
  }
  const batchEntry = new AsyncLocalStorage<BatchEntry>();
  const record = async (event: AuditEventInput): Promise<void> => {
    if (!audit) return;
    const entry = batchEntry.getStore();
    if (entry?.holding) {
      entry.events.push(event);
      return;
    }
    await audit.append(event);
  };
  const limits = new GatewayLimits(limitStore, options.limits?.onStoreError ?? 'closed', options.now ?? Date.now);
  /** Principal and action of recent allowed traces, for `recordUsage({ traceId })`. */
  const traces = new Map<string, { principal: ActionRequest['principal']; action: string }>();
  /** The taint update in flight per trace: the next one for a trace waits for it. */
  const tainting = new Map<string, Promise<unknown>>();
  const addTaint = (traceId: string, entry: TaintEntry): Promise<TaintRecord> => {
    const previous = tainting.get(traceId) ?? Promise.resolve();
    // INVARIANT: one trace's updates run one after another in this process (a store with
    // `append` is atomic across processes too), so concurrent results never lose taint.
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        if (taintStore.append) return taintStore.append(traceId, entry);
        const record = appendTaint(await taintStore.get(traceId), entry);
        await taintStore.mark(traceId, record);
        return record;
      });
    tainting.set(traceId, next);
    const forget = () => {
      if (tainting.get(traceId) === next) tainting.delete(traceId);
    };
    next.then(forget, forget);
    return next;
  };
  await record({ type: 'policy.loaded', policyVersion: set.version, data: { policies: set.policies.map((p) => ({ name: p.name, format: p.format, source: p.source })), surface } });
  const { notify, now, enabled: approvalsEnabled = true, ...approvalSettings } = options.approvals ?? {};
  const approvals = createApprovalService({
    store: approvalStore,
    settings: approvalSettings,
    record,
    redact: (v) => redactValue(v),
    ...(notify ? { notify } : {}),
    ...(now ? { now } : {}),
  });

  // Returns the validated, frozen copy that was decided along with the decision, so guard()
  // runs the tool on exactly what was decided and recorded.
  const decideRequest = async (raw: unknown): Promise<{ decision: Decision; request?: ActionRequest; release: () => void }> => {
    const current = set;
    const checked = validateRequest(raw);
    // An invalid request gets a fresh trace id: its own may be what is invalid.
    const traceId = (checked.ok ? checked.value.traceId : undefined) ?? randomUUID();
    if (!checked.ok) {
      const decision = invalidRequestDecision(current, checked.errors, traceId);
      await record({ type: 'decision', traceId, decision: 'deny', reason: decision.reason, data: { errors: decision.errors, surface } });
      return { decision, release: () => undefined };
    }
    const request: ActionRequest = Object.freeze({ ...checked.value, traceId });
    // A trace id made here is new: nothing can have tainted it yet, so its store is not read.
    const named = checked.value.traceId !== undefined;
    const [state, taint, found] = await Promise.all([killSwitchStore.get(), named ? taintStore.get(traceId) : undefined, approvalsEnabled ? approvals.check(request, current.version) : undefined]);
    runtime = state;
    const downloaded = traceDownloads(taint);
    const facts = { ...factsFor(current, request, downloaded.length > 0 ? { downloaded } : {}), taint };
    const snapshot = { killSwitch: state, approval: found?.snapshot };
    let decision = engineDecide(current, request, facts, snapshot);
    // Limits count only what the rules let through: the engine decides once without them,
    // the verdicts are taken from the store, and the engine decides again with them (it is
    // pure, so the rules' part of both decisions is the same).
    const checkedLimits = await limits.check(current, request, decision.decision);
    try {
      for (const f of checkedLimits.failOpen) {
        await record({
          type: 'limits.fail_open',
          traceId,
          principal: { id: request.principal.id, groups: [...request.principal.groups] },
          action: request.action,
          data: { limit: f.limit, error: f.error, onStoreError: 'open', surface },
        });
        try {
          options.limits?.onFailOpen?.(f.limit);
        } catch {
          // INVARIANT: a listener's failure never changes the decision.
        }
      }
      const verdicts = checkedLimits.verdicts.length > 0 ? { limits: checkedLimits.verdicts } : {};
      if (checkedLimits.verdicts.length > 0) decision = engineDecide(current, request, facts, { ...snapshot, ...verdicts });
      // The approval named by the request is consumed only by a decision that allows by it;
      // a call that needs one gets it created here (bound to this exact call).
      if (approvalsEnabled) decision = await approvals.settle(request, decision, found, (approval) => engineDecide(current, request, facts, { ...snapshot, ...verdicts, approval }));
      const shadow = shadowSet === undefined ? undefined : shadowDecision(shadowSet, current, request, facts, { ...snapshot, ...verdicts }, decision, downloaded);
      // INVARIANT: the files an allowed call downloads are on the trace's record before the
      // allow is recorded or answered, so the call that runs one (even from another process) sees it.
      const downloads = facts.analysis['downloads'];
      if (decision.decision === 'allow' && Array.isArray(downloads) && downloads.length > 0) {
        const at = new Date(options.now ? options.now() : Date.now()).toISOString();
        await addTaint(traceId, { kind: 'download', action: request.action, paths: downloads as string[], at });
      }
      await record(decisionEvent(request, decision, { redact: (v) => redactValue(v), surface, ...(shadow ? { shadow } : {}) }));
      if (decision.wouldBlock !== undefined) {
        try {
          options.onWouldBlock?.(decision, decision.wouldBlock);
        } catch {
          // INVARIANT: a listener's failure never changes the decision.
        }
      }
      if (shadow) {
        try {
          options.onShadow?.(decision, shadow);
        } catch {
          // INVARIANT: a listener's failure never changes the decision.
        }
      }
    } catch (err) {
      checkedLimits.release();
      throw err;
    }
    if (decision.decision === 'allow' && current.limits.some((l) => l.budget?.unit === 'tokens')) {
      if (traces.size >= 10_000) traces.delete(traces.keys().next().value as string);
      traces.set(traceId, { principal: request.principal, action: request.action });
    }
    return { decision, request, release: checkedLimits.release };
  };
  const decide = async (raw: unknown): Promise<Decision> => {
    const { decision, release } = await decideRequest(raw);
    // A decision alone holds no concurrency slot past its answer: the gateway cannot see
    // when the caller finishes executing (guard() holds it for the function's run).
    release();
    return decision;
  };
  const decideBatch = async (requests: readonly unknown[]): Promise<Decision[]> => {
    if (!Array.isArray(requests)) throw new BastionException(bastionError('REQUEST_INVALID', 'decideBatch: expects a list of action requests'));
    const entries: BatchEntry[] = requests.map(() => ({ events: [], holding: true }));
    // Decided concurrently (store reads overlap); each entry's events are held meanwhile.
    const settled = await Promise.allSettled(requests.map((raw, i) => batchEntry.run(entries[i] as BatchEntry, () => decide(raw))));
    // INVARIANT: every event recorded is appended, a failed entry's too (an approval it
    // consumed must be on record), in request order, each append called before the next:
    // the log numbers them in call order and commits them in one group.
    const appends: Promise<unknown>[] = [];
    for (const entry of entries) {
      entry.holding = false;
      if (audit) for (const event of entry.events) appends.push(audit.append(event));
    }
    const appended = await Promise.allSettled(appends);
    const failure = [...settled, ...appended].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<Decision>).value);
  };
  const effective = (): KillSwitchState => combineKillSwitch(set.killSwitch, runtime);
  const setKillSwitch = async (change: Partial<KillSwitchState>, by: string, opts: { via?: string } = {}): Promise<KillSwitchState> => {
    runtime = await killSwitchStore.update(change);
    await record({
      type: 'kill_switch.changed',
      data: { by, via: opts.via ?? surface, reason: change.reason ?? null, change: { ...change }, state: effective(), runtime, policy: set.killSwitch ?? null },
    });
    if (audit) await audit.checkpoint('kill switch changed');
    return effective();
  };
  if (options.killSwitch !== undefined && Object.keys(options.killSwitch).length > 0) await setKillSwitch(options.killSwitch, 'gateway options', { via: 'options' });

  const gateway: Gateway = {
    decide,
    decideBatch,
    guard(action, fn, defaults) {
      return async (args, overrides = {}) => {
        const { decision, request, release } = await decideRequest({ ...defaults, ...overrides, action, args });
        try {
          if (decision.decision !== 'allow' || request === undefined) throw new ActionDeniedError(decision);
          const unmet = unmetObligation(decision);
          if (unmet !== undefined) {
            // INVARIANT: an allow whose obligations cannot be met does not run; the log says why.
            await record({
              type: 'execution',
              traceId: decision.traceId,
              principal: { id: request.principal.id, groups: [...request.principal.groups] },
              action: request.action,
              surface,
              decision: 'deny',
              data: { ran: false, refused: unmet, obligations: decision.obligations.map((o) => ({ ...o })) },
            });
            throw new ActionDeniedError({ ...decision, decision: 'deny', reason: unmet });
          }
          // INVARIANT: the tool gets the frozen copy that was decided and audited, never the
          // caller's object, which could change after the check (TOCTOU) or hold getters.
          const decided = request.args;
          const toolArgs = decided !== undefined && decision.obligations.some((o) => o.type === 'redact_arguments') ? deepFreeze(redactValue(decided)) : decided;
          return await withinTimeout(decision, obligedTimeoutSeconds(decision.obligations), (signal) => fn(toolArgs as Parameters<typeof fn>[0], { decision, signal }));
        } finally {
          // A concurrency slot is held from the allow until the guarded function settles.
          release();
        }
      };
    },
    async inspectResult(input) {
      checkInspectInput(input);
      const { traceId, action, text, source } = input;
      const mode = outputMode(set, action);
      const validated = validateOutput(text, mode);
      const local = detectInjection(text);
      const classifier = options.injectionClassifier === undefined ? undefined : await classify(options.injectionClassifier, { text, action, ...(source !== undefined ? { source } : {}) });
      // INVARIANT: the classifier only adds suspicion: an attack by either is an attack.
      const attack = local.attack || classifier?.attack === true;
      const score = Math.max(local.score, classifier?.status === 'ok' ? classifier.score : 0);
      const techniques: string[] = [...new Set(local.techniques.map((t) => t.technique))];
      if (classifier?.attack === true) techniques.push(classifier.status === 'ok' ? 'external-classifier' : 'external-classifier-unavailable');
      const untrusted = isUntrusted(set, action);
      const tainted = attack || untrusted;
      let seq: number | undefined;
      if (tainted) {
        const at = new Date(options.now ? options.now() : Date.now()).toISOString();
        const marked = await addTaint(traceId, { action, source: source ?? action, attack, score, techniques, at });
        seq = marked.sources?.[marked.sources.length - 1]?.seq;
      }
      await record({
        type: 'validation',
        traceId,
        action,
        data: {
          mode,
          outcome: validated.action,
          secrets: validated.findings.map((f) => f.rule),
          injectionScore: score,
          injection: attack,
          techniques,
          ...(untrusted ? { untrusted: true } : {}),
          ...(seq !== undefined ? { taintSeq: seq } : {}),
          ...(classifier !== undefined ? { classifier } : {}),
        },
      });
      return {
        text: validated.text,
        action: validated.action,
        findings: validated.findings,
        injection: { score, attack, techniques },
        tainted,
        ...(classifier !== undefined ? { classifier } : {}),
      };
    },
    get shadowPolicySet() {
      return shadowSet;
    },
    get policySet() {
      return set;
    },
    async setPolicySet(next) {
      analyzerOf(next); // a set whose analyzers do not parse is refused before it is swapped in
      const previous = set;
      set = next;
      // A kill switch declared in a policy file (ZYX) is one of the two sources: an edit to
      // it applies with the new set, never touches the runtime state (what operators set
      // through the API stays as they set it), and is recorded like any other change.
      if (JSON.stringify(next.killSwitch ?? null) !== JSON.stringify(previous.killSwitch ?? null)) {
        await record({
          type: 'kill_switch.changed',
          data: { by: 'policy file', via: 'policy', reason: next.killSwitch?.reason ?? null, state: effective(), runtime, policy: next.killSwitch ?? null },
        });
        if (audit) await audit.checkpoint('kill switch changed');
      }
      await record({ type: 'policy.loaded', policyVersion: set.version, data: { policies: set.policies.map((p) => ({ name: p.name, format: p.format, source: p.source })), surface } });
    },
    killSwitch: () => copyKillSwitch(effective()),
    async killSwitchStatus() {
      const snap = await killSwitchStore.snapshot();
      runtime = snap.state;
      return {
        ...effective(),
        sources: {
          runtime: { ...copyKillSwitch(snap.state), version: snap.version, updatedAt: snap.updatedAt === null ? null : new Date(snap.updatedAt).toISOString() },
          policy: set.killSwitch ? copyKillSwitch(set.killSwitch) : null,
        },
      };
    },
    setKillSwitch,
    async recordUsage(usage) {
      const report = checkUsage(usage);
      const traced = report.traceId !== undefined ? traces.get(report.traceId) : undefined;
      if (report.traceId !== undefined && traced === undefined && report.principal === undefined) {
        throw new BastionException(
          bastionError('REQUEST_INVALID', `recordUsage: no recent allowed decision has trace id ${quote(report.traceId)}: pass \`principal\` and \`action\``, { field: 'traceId' }),
        );
      }
      const principal = report.principal ?? (traced as { principal: ActionRequest['principal'] }).principal;
      const action = report.action ?? traced?.action;
      if (action === undefined) throw new BastionException(bastionError('REQUEST_INVALID', 'recordUsage: field `action` is required with `principal`', { field: 'action' }));
      try {
        return { budgets: await limits.spendTokens(set, principal, action, report.tokens) };
      } catch (err) {
        if (err instanceof BastionException) throw err;
        throw new BastionException(bastionError('STATE_STORAGE', `recordUsage: the limit store failed: ${(err as Error).message}`));
      }
    },
    failOpenCount: () => limits.failOpenCount(),
    get auditLog() {
      return audit;
    },
    approvals,
    async close() {
      approvals.close();
      for (const store of owned) await store.close();
    },
  };
  return gateway;
}

const OPTION_NAMES = [
  'policies',
  'baseline',
  'dataDir',
  'auditLog',
  'durable',
  'retentionDays',
  'killSwitch',
  'stores',
  'surface',
  'cwd',
  'limits',
  'now',
  'approvals',
  'shadowPolicies',
  'onShadow',
  'injectionClassifier',
  'onWouldBlock',
];

/**
 * The shadow set's decision for a request the enforcing set just decided. The facts are the
 * enforcing set's when both sets analyze alike (the same analyzer blocks), else the shadow
 * set's own; state is the same snapshot. A shadow set that throws is a shadow deny: shadow
 * mode never changes, delays past its own work, or fails the enforcing decision.
 */
function shadowDecision(shadow: PolicySet, current: PolicySet, request: ActionRequest, facts: Facts, state: DecisionState, enforcing: Decision, downloaded: readonly string[]): ShadowDecision {
  let d: Decision;
  try {
    const sameAnalyzers = JSON.stringify(shadow.analyzers) === JSON.stringify(current.analyzers);
    d = engineDecide(
      shadow,
      request,
      sameAnalyzers ? facts : { ...factsFor(shadow, request, downloaded.length > 0 ? { downloaded } : {}), ...(facts.taint !== undefined ? { taint: facts.taint } : {}) },
      state,
    );
  } catch (err) {
    return { decision: 'deny', reason: `the shadow set failed: ${(err as Error).message}`, matched: [], policyVersion: shadow.version, agrees: enforcing.decision === 'deny' };
  }
  return {
    decision: d.decision,
    reason: d.reason,
    matched: d.matched.map((m) => ({ policy: m.policy, rule: m.rule, effect: m.effect })),
    policyVersion: d.policyVersion,
    agrees: d.decision === enforcing.decision,
  };
}

/** A path, a `{source, text}` / `{source, document}` input, or a bare parsed document (a mapping). */
function isPolicyInput(v: unknown): boolean {
  if (typeof v === 'string') return v !== '';
  return isPlainObject(v);
}

/** Checks a usage report (the proxy's, not an agent's: a wrong shape is misuse and throws). */
function checkUsage(usage: unknown): UsageReport & { principal?: ActionRequest['principal'] } {
  const fail = (field: string, message: string): never => {
    throw new BastionException(bastionError('REQUEST_INVALID', `recordUsage: field ${quote(field)}: ${message}`, { field }));
  };
  if (!isPlainObject(usage)) throw new BastionException(bastionError('REQUEST_INVALID', 'recordUsage: expects { traceId | principal, action?, tokens }'));
  const u = usage as Record<string, unknown>;
  for (const key of Object.keys(u)) if (!['traceId', 'principal', 'action', 'tokens'].includes(key)) fail(key, 'unknown field (expected traceId, principal, action, tokens)');
  const tokens = u['tokens'];
  if (typeof tokens !== 'number' || !Number.isSafeInteger(tokens) || tokens < 0) fail('tokens', `must be a whole number from 0, got ${quote(tokens)}`);
  if (u['traceId'] !== undefined && (typeof u['traceId'] !== 'string' || u['traceId'] === '')) fail('traceId', 'must be a non-empty string');
  if (u['action'] !== undefined && (typeof u['action'] !== 'string' || u['action'] === '')) fail('action', 'must be a non-empty string');
  if (u['traceId'] === undefined && u['principal'] === undefined) fail('principal', 'give `traceId` or `principal`');
  let principal: ActionRequest['principal'] | undefined;
  if (u['principal'] !== undefined) {
    const checked = validateRequest({ principal: u['principal'], action: 'usage' });
    if (!checked.ok) fail('principal', checked.errors.map((e) => e.message).join('; '));
    else principal = checked.value.principal;
  }
  return {
    tokens: tokens as number,
    ...(typeof u['traceId'] === 'string' ? { traceId: u['traceId'] } : {}),
    ...(principal ? { principal } : {}),
    ...(typeof u['action'] === 'string' ? { action: u['action'] } : {}),
  };
}

/**
 * Checks the options a library caller passed (JavaScript callers have no compiler to do it):
 * a misspelt `dataDir` must not silently turn the audit log off.
 */
function checkOptions(options: unknown): BastionError[] {
  const errors: BastionError[] = [];
  const err = (field: string, message: string) => errors.push(bastionError('CONFIG_INVALID', `createGateway: option ${quote(field)}: ${message}`, { field }));
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return [bastionError('CONFIG_INVALID', "createGateway: the options must be an object such as `{ policies: ['policies/'] }`")];
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!OPTION_NAMES.includes(key)) err(key, `unknown option (expected one of ${OPTION_NAMES.join(', ')})`);
  const policies = o['policies'];
  if (policies === undefined || policies === null) err('policies', 'is required: policy paths, `{ source, text }` or `{ source, document }` inputs, policy documents, or a loaded policy set');
  else if (!isPolicySet(policies)) {
    const list: unknown[] = Array.isArray(policies) ? policies : [policies];
    list.forEach((input, i) => {
      if (!isPolicyInput(input))
        err(
          Array.isArray(policies) ? `policies[${i}]` : 'policies',
          `must be a path, \`{ source, text }\`, \`{ source, document }\` or a policy document, got ${quote(input === undefined ? 'undefined' : input)}`,
        );
    });
  }
  const optional = (field: string, ok: (v: unknown) => boolean, expected: string) => {
    if (o[field] !== undefined && !ok(o[field])) err(field, `must be ${expected}`);
  };
  optional('baseline', isPlainObject, 'an object such as `{ enabled: false }`');
  optional('dataDir', (v) => typeof v === 'string' && v !== '', 'a non-empty directory path');
  optional('auditLog', (v) => isPlainObject(v) && typeof (v as { append?: unknown }).append === 'function', 'an audit log opened with `openAuditLog` or `openSqliteAuditLog`');
  optional('durable', (v) => typeof v === 'boolean', 'true or false');
  optional('retentionDays', (v) => typeof v === 'number' && Number.isFinite(v) && v > 0, 'a positive number of days');
  optional('killSwitch', isPlainObject, 'an object of kill-switch fields');
  optional('stores', isPlainObject, 'an object such as `{ killSwitch, taint }`');
  const stores = o['stores'];
  if (isPlainObject(stores)) {
    const s = stores as Record<string, unknown>;
    const hasMethods = (v: unknown, names: string[]) => isPlainObject(v) && names.every((n) => typeof (v as Record<string, unknown>)[n] === 'function');
    for (const key of Object.keys(s)) if (!['killSwitch', 'taint', 'limits', 'approvals'].includes(key)) err(`stores.${key}`, 'unknown store (expected killSwitch, taint, limits or approvals)');
    if (s['limits'] !== undefined && !hasMethods(s['limits'], ['take', 'spend', 'close'])) err('stores.limits', 'must be a limit store with `take`, `spend` and `close`');
    if (s['approvals'] !== undefined && !hasMethods(s['approvals'], ['create', 'get', 'consume', 'close']))
      err('stores.approvals', 'must be an approval store with `create`, `get`, `consume` and `close`');
    if (s['killSwitch'] !== undefined && !hasMethods(s['killSwitch'], ['get', 'update', 'close'])) err('stores.killSwitch', 'must be a kill-switch store with `get`, `update` and `close`');
    if (s['taint'] !== undefined && !hasMethods(s['taint'], ['get', 'mark', 'close'])) err('stores.taint', 'must be a taint store with `get`, `mark` and `close`');
  }
  optional('surface', (v) => typeof v === 'string' && v !== '', 'a non-empty string such as `library`');
  optional('cwd', (v) => typeof v === 'string' && v !== '', 'a directory path');
  optional('now', (v) => typeof v === 'function', 'a function answering the time in ms');
  optional('onWouldBlock', (v) => typeof v === 'function', 'a function');
  optional('limits', isPlainObject, 'an object such as `{ onStoreError: closed }`');
  const lim = o['limits'];
  if (isPlainObject(lim)) {
    for (const key of Object.keys(lim)) if (key !== 'onStoreError' && key !== 'onFailOpen') err(`limits.${key}`, 'unknown option (expected onStoreError, onFailOpen)');
    const listener = (lim as Record<string, unknown>)['onFailOpen'];
    if (listener !== undefined && typeof listener !== 'function') err('limits.onFailOpen', 'must be a function');
    const mode = (lim as Record<string, unknown>)['onStoreError'];
    if (mode !== undefined && mode !== 'closed' && mode !== 'open') err('limits.onStoreError', `must be \`closed\` or \`open\`, got ${quote(mode)}`);
  }
  optional('approvals', isPlainObject, "an object such as `{ defaultApproverGroups: ['bastion-approvers'], defaultExpirySeconds: 900 }`");
  const a = o['approvals'];
  if (isPlainObject(a)) {
    const ap = a as Record<string, unknown>;
    for (const key of Object.keys(ap))
      if (!['enabled', 'defaultApproverGroups', 'defaultExpirySeconds', 'notify', 'now'].includes(key))
        err(`approvals.${key}`, 'unknown option (expected enabled, defaultApproverGroups, defaultExpirySeconds, notify, now)');
    if (ap['enabled'] !== undefined && typeof ap['enabled'] !== 'boolean') err('approvals.enabled', 'must be true or false');
    const groups = ap['defaultApproverGroups'];
    if (groups !== undefined && !(Array.isArray(groups) && groups.length > 0 && groups.every((g) => typeof g === 'string' && g !== '')))
      err('approvals.defaultApproverGroups', 'must be a non-empty list of group names');
    const expiry = ap['defaultExpirySeconds'];
    if (expiry !== undefined && !(typeof expiry === 'number' && Number.isSafeInteger(expiry) && expiry > 0)) err('approvals.defaultExpirySeconds', 'must be a whole number of seconds from 1');
    for (const fn of ['notify', 'now'] as const) if (ap[fn] !== undefined && typeof ap[fn] !== 'function') err(`approvals.${fn}`, 'must be a function');
  }
  return errors;
}

function isPolicySet(v: unknown): v is PolicySet {
  return typeof v === 'object' && v !== null && 'candidates' in v && 'version' in v;
}

export { ActionRuntime, ActionEvent } from './action-runtime.js';
export type { ActionEventFields, Verdict } from './action-runtime.js';
export { decideAndWait, awaitApproval, approvalRefusal } from './await-approval.js';
export type { AwaitedDecision, AwaitApprovalOptions, ApprovalOutcome } from './await-approval.js';
