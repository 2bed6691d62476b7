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

import { randomUUID } from 'node:crypto';
import type { TaintStore } from '../analysis/index.js';
import { createApprovalService, type ApprovalEvent, type ApprovalService, type ApprovalSettings, type ApprovalStore } from '../approvals/index.js';
import { decisionEvent, type AuditEventInput, type AuditLog } from '../audit/index.js';
import { createMemoryApprovalStore, createMemoryTaintStore, openSqliteStores, type StateStores } from '../storage/index.js';
import { validateRequest } from '../core/request.js';
import type { ActionRequest, Decision } from '../core/types.js';
import { fail, ok, type Result } from '../core/result.js';
import { BastionException, bastionError, quote, type BastionError } from '../core/errors.js';
import { isPlainObject } from '../core/schema.js';
import { createMemoryKillSwitchStore, type KillSwitchStore } from '../killswitch/index.js';
import { analyzerOf, decide as engineDecide, factsFor, invalidRequestDecision, loadPolicySet, type BaselineOptions, type KillSwitchState, type PolicyInput, type PolicySet } from '../policy/index.js';
import { detectInjection, redactValue, validateOutput, type OutputMode, type ScanFinding } from '../scan/index.js';

/** Where the gateway's state lives. Each store left out is a fresh one in memory. */
export interface GatewayStores {
  /** The kill switch's state; a persistent store keeps operators' switches across restarts. */
  killSwitch?: KillSwitchStore;
  /** Traces that read untrusted content scoring as an attack. */
  taint?: TaintStore;
  /** Approvals between the decision that asks for one and the retry that uses it. */
  approvals?: ApprovalStore;
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
  /** Default approver groups (`[bastion-approvers]`) and expiry (900 s), notifications. */
  approvals?: GatewayApprovalOptions;
}

export interface ResultInspection {
  /** The text to hand to the agent: redacted, withheld (`block`) or unchanged. */
  text: string;
  action: OutputMode;
  findings: ScanFinding[];
  injection: { score: number; attack: boolean; techniques: string[] };
}

export interface Gateway {
  /** Decides one action request. Never throws for a bad request: it is denied, with the errors. */
  decide(request: unknown): Promise<Decision>;
  /**
   * Wraps a tool function: each call is decided first and runs only when allowed.
   *
   * @example const run = gateway.guard('shell.execute', exec, { principal }); await run({ command: 'ls' });
   */
  guard<A extends Record<string, unknown>, R>(
    action: string,
    fn: (args: A) => R | Promise<R>,
    defaults: Omit<ActionRequest, 'action' | 'args'>,
  ): (args: A, overrides?: Partial<Omit<ActionRequest, 'action' | 'args'>>) => Promise<R>;
  /**
   * Checks what a tool returned before the agent sees it: secrets redacted or blocked per
   * the action's `output` mode, and untrusted content scored for prompt injection; an
   * attack taints the trace, so later calls in it see `analysis.untrustedContent`.
   */
  inspectResult(input: { traceId: string; action: string; text: string; source?: string }): Promise<ResultInspection>;
  /** The loaded policy set. */
  readonly policySet: PolicySet;
  /** Swaps in a new policy set (the watcher calls this); records a `policy.loaded` event. */
  setPolicySet(set: PolicySet): Promise<void>;
  /**
   * The kill switch as last read from its store (at start, by the last decision or change).
   * Synchronous for the HTTP `GET`; with a store shared by replicas it may trail a change
   * made elsewhere until this gateway's next decision.
   */
  killSwitch(): KillSwitchState;
  /** Changes the kill switch (fields left out keep their value) and records it. */
  setKillSwitch(change: Partial<KillSwitchState>, by: string): Promise<KillSwitchState>;
  readonly auditLog: AuditLog | undefined;
  /** The approvals workflow: list, show, wait on, approve, deny, cancel, sweep expired ones. */
  readonly approvals: ApprovalService;
  close(): Promise<void>;
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

function copyKillSwitch(state: KillSwitchState): KillSwitchState {
  const copy: KillSwitchState = { ...state, disabled_connectors: [...state.disabled_connectors], disabled_users: [...state.disabled_users], disabled_workflows: [...state.disabled_workflows] };
  return copy;
}

/**
 * Creates a gateway. Throws `BastionException` (with every error in `details`) when the
 * options are wrong, the policies do not load or the data directory cannot be opened;
 * `openGateway` is the same as a `Result` (as Zod's `parse` and `safeParse`).
 *
 * At start the kill switch is the store's state with a policy file's `kill_switch` block
 * (ZYX) applied over it, then the `killSwitch` option: with a persistent store, a switch an
 * operator set through the API survives a restart unless a policy file declares that key.
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
  const owned = [
    ...(options.stores?.killSwitch || opened ? [] : [killSwitchStore]),
    ...(options.stores?.taint ? [] : [taintStore]),
    ...(options.stores?.approvals || opened ? [] : [approvalStore]),
    ...(opened ? [opened] : []),
  ];
  const atStart: Partial<KillSwitchState> = { ...(set.killSwitch ?? {}), ...(options.killSwitch ?? {}) };
  let killSwitch = Object.keys(atStart).length > 0 ? await killSwitchStore.update(atStart) : await killSwitchStore.get();
  const audit: AuditLog | undefined = options.auditLog ?? opened?.audit;
  const surface = options.surface ?? 'library';
  const record = async (event: AuditEventInput): Promise<void> => {
    if (audit) await audit.append(event);
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
  const decideRequest = async (raw: unknown): Promise<{ decision: Decision; request?: ActionRequest }> => {
    const current = set;
    const checked = validateRequest(raw);
    // An invalid request gets a fresh trace id: its own may be what is invalid.
    const traceId = (checked.ok ? checked.value.traceId : undefined) ?? randomUUID();
    if (!checked.ok) {
      const decision = invalidRequestDecision(current, checked.errors, traceId);
      await record({ type: 'decision', traceId, decision: 'deny', reason: decision.reason, data: { errors: decision.errors, surface } });
      return { decision };
    }
    const request: ActionRequest = Object.freeze({ ...checked.value, traceId });
    const [state, taint, found] = await Promise.all([killSwitchStore.get(), taintStore.get(traceId), approvalsEnabled ? approvals.check(request, current.version) : undefined]);
    killSwitch = state;
    const facts = { ...factsFor(current, request), taint };
    const engineDecision = engineDecide(current, request, facts, { killSwitch: state, approval: found?.snapshot });
    const decision = !approvalsEnabled ? engineDecision : await approvals.settle(request, engineDecision, found, (approval) => engineDecide(current, request, facts, { killSwitch: state, approval }));
    await record(decisionEvent(request, decision, { redact: (v) => redactValue(v), surface }));
    return { decision, request };
  };
  const decide = async (raw: unknown): Promise<Decision> => (await decideRequest(raw)).decision;

  const gateway: Gateway = {
    decide,
    guard(action, fn, defaults) {
      return async (args, overrides = {}) => {
        const { decision, request } = await decideRequest({ ...defaults, ...overrides, action, args });
        if (decision.decision !== 'allow' || request === undefined) throw new ActionDeniedError(decision);
        // INVARIANT: the tool gets the frozen copy that was decided and audited, never the
        // caller's object, which could change after the check (TOCTOU) or hold getters.
        return await fn(request.args as Parameters<typeof fn>[0]);
      };
    },
    async inspectResult(input) {
      checkInspectInput(input);
      const { traceId, action, text, source } = input;
      const mode = outputMode(set, action);
      const validated = validateOutput(text, mode);
      const injection = detectInjection(text);
      const techniques = [...new Set(injection.techniques.map((t) => t.technique))];
      if (injection.attack) await taintStore.mark(traceId, { score: injection.score, techniques, source: source ?? action });
      await record({
        type: 'validation',
        traceId,
        action,
        data: { mode, outcome: validated.action, secrets: validated.findings.map((f) => f.rule), injectionScore: injection.score, injection: injection.attack, techniques },
      });
      return { text: validated.text, action: validated.action, findings: validated.findings, injection: { score: injection.score, attack: injection.attack, techniques } };
    },
    get policySet() {
      return set;
    },
    async setPolicySet(next) {
      analyzerOf(next); // a set whose analyzers do not parse is refused before it is swapped in
      const previous = set;
      set = next;
      // A kill switch declared in a policy file (ZYX) is operator state: an edit to it in the
      // file is applied on reload and recorded like any other change. Only the keys the edit
      // changed are applied, so an unrelated edit never undoes what an operator switched
      // through the API (`PUT /v1/kill-switch`): the last change of a key wins.
      if (next.killSwitch) {
        const before = previous.killSwitch as Record<string, unknown> | undefined;
        const changed = Object.fromEntries(Object.entries(next.killSwitch).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(before?.[k]))) as Partial<KillSwitchState>;
        if (Object.keys(changed).length > 0) await gateway.setKillSwitch(changed, 'policy file');
      }
      await record({ type: 'policy.loaded', policyVersion: set.version, data: { policies: set.policies.map((p) => ({ name: p.name, format: p.format, source: p.source })), surface } });
    },
    killSwitch: () => copyKillSwitch(killSwitch),
    async setKillSwitch(change, by) {
      killSwitch = await killSwitchStore.update(change);
      await record({ type: 'kill_switch.changed', data: { state: killSwitch, by } });
      if (audit) await audit.checkpoint('kill switch changed');
      return copyKillSwitch(killSwitch);
    },
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

const OPTION_NAMES = ['policies', 'baseline', 'dataDir', 'auditLog', 'durable', 'retentionDays', 'killSwitch', 'stores', 'surface', 'cwd', 'approvals'];

/** A path, a `{source, text}` / `{source, document}` input, or a bare parsed document (a mapping). */
function isPolicyInput(v: unknown): boolean {
  if (typeof v === 'string') return v !== '';
  return isPlainObject(v);
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
    for (const key of Object.keys(s)) if (!['killSwitch', 'taint', 'approvals'].includes(key)) err(`stores.${key}`, 'unknown store (expected killSwitch, taint or approvals)');
    if (s['approvals'] !== undefined && !hasMethods(s['approvals'], ['create', 'get', 'consume', 'close']))
      err('stores.approvals', 'must be an approval store with `create`, `get`, `consume` and `close`');
    if (s['killSwitch'] !== undefined && !hasMethods(s['killSwitch'], ['get', 'update', 'close'])) err('stores.killSwitch', 'must be a kill-switch store with `get`, `update` and `close`');
    if (s['taint'] !== undefined && !hasMethods(s['taint'], ['get', 'mark', 'close'])) err('stores.taint', 'must be a taint store with `get`, `mark` and `close`');
  }
  optional('surface', (v) => typeof v === 'string' && v !== '', 'a non-empty string such as `library`');
  optional('cwd', (v) => typeof v === 'string' && v !== '', 'a directory path');
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
