/**
 * The service's Prometheus metrics (prom-client), one registry per application: two apps in
 * one process (tests, a library embedding Bastion) never share or double-register a metric,
 * and nothing is put in prom-client's global default registry.
 *
 * What is counted where: decisions and their latency by the surface that answers them (the
 * HTTP routes call `decision()`), audit appends by a wrapper around the audit log
 * (`timeAuditAppends`), kill-switch state and pending approvals read from their stores when
 * `/metrics` is scraped, and fail-open events by whichever part let a call through because a
 * dependency was down (`failOpen(dependency)`): a fail-open is never silent; refused logins
 * by the surface that refused them (`identityRefusal(reason)`).
 */

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ApprovalStore } from '../approvals/index.js';
import type { Effect } from '../core/types.js';
import { IDENTITY_REFUSAL_REASONS, type IdentityRefusalReason } from '../identity/index.js';

/** The kill-switch keys reported by `bastion_kill_switch_active{key}`. */
export const KILL_SWITCH_KEYS = ['all_write_tools_disabled', 'read_only_mode', 'disabled_connectors', 'disabled_users', 'disabled_workflows'] as const;

/** Where the gauges read their values when `/metrics` is scraped. */
export interface MetricsSources {
  /** The kill switch's state (its store's `get()`). */
  killSwitch?: () => Promise<Readonly<Record<(typeof KILL_SWITCH_KEYS)[number], boolean | readonly string[]>>>;
  /** How many approvals are pending now. */
  pendingApprovals?: () => Promise<number>;
  /** Resolves when the limit store answers, rejects when it does not (absent: always up, as a store in the data directory's file). */
  limitStore?: () => Promise<void>;
}

export interface MetricsOptions {
  sources?: MetricsSources;
  /** Default true: Node's process metrics (CPU, memory, event loop lag, GC, handles). */
  processMetrics?: boolean;
}

export interface Metrics {
  /** This application's registry. */
  readonly registry: Registry;
  /** The exposition format's content type (`text/plain; version=0.0.4; charset=utf-8`). */
  readonly contentType: string;
  /** Counts one decision and its latency, from receiving the request to having the audited answer. */
  decision(effect: Effect, seconds: number): void;
  /** Records how long one audit append took (until the event was durable). */
  auditAppend(seconds: number): void;
  /**
   * Counts one call let through although `dependency` was unavailable (a limit store, a
   * notification target): `bastion_fail_open_total{dependency}`.
   *
   * @example metrics.failOpen('limit store');
   */
  failOpen(dependency: string): void;
  /**
   * Counts one shadow decision next to the enforcing one (shadow mode):
   * `bastion_shadow_decisions_total{enforcing, shadow, agreement}`.
   */
  shadowDecision(enforcing: Effect, shadow: Effect): void;
  /**
   * Counts one decision a shadow flow rule would have blocked: `bastion_would_block_total{policy, rule}`.
   *
   * @example metrics.wouldBlock('platform-agents', 'shadow-secret-reads-after-untrusted');
   */
  wouldBlock(policy: string, rule: string): void;
  /**
   * Counts one request refused by the authenticator (a 401): `bastion_identity_refusals_total{reason}`.
   *
   * @example metrics.identityRefusal('expired');
   */
  identityRefusal(reason: IdentityRefusalReason): void;
  /** The metrics in the text exposition format. */
  render(): Promise<string>;
}

/** Latency buckets in seconds: 0.25 ms to 2.5 s, dense where a decision normally lands. */
const LATENCY_BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Pending approvals are counted a page at a time up to this many; more are reported as this many. */
const MAX_COUNTED_PENDING = 100_000;

/**
 * Creates the metrics of one application, with their own registry.
 *
 * @example
 * const metrics = createMetrics({ sources: { killSwitch: () => store.get() } });
 * metrics.decision('allow', 0.0012);
 * const text = await metrics.render(); // '# HELP bastion_decisions_total …'
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const sources = options.sources ?? {};
  const decisions = new Counter({ name: 'bastion_decisions_total', help: 'Decisions answered, by effect.', labelNames: ['effect'] as const, registers: [registry] });
  // Zero for every effect from the start, so a rate() over a fresh process has a series to read.
  for (const effect of ['allow', 'deny', 'require_approval'] as const) decisions.inc({ effect }, 0);
  const decisionDuration = new Histogram({
    name: 'bastion_decision_duration_seconds',
    help: 'Time from receiving an action request to its audited decision.',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const auditDuration = new Histogram({
    name: 'bastion_audit_append_duration_seconds',
    help: 'Time one audit append took until its event was committed (durable when the log is).',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const failOpen = new Counter({
    name: 'bastion_fail_open_total',
    help: 'Calls let through although a dependency was unavailable, by dependency.',
    labelNames: ['dependency'] as const,
    registers: [registry],
  });
  const shadow = new Counter({
    name: 'bastion_shadow_decisions_total',
    help: 'Decisions of the shadow policy set, by the enforcing and the shadow effect and whether they agree.',
    labelNames: ['enforcing', 'shadow', 'agreement'] as const,
    registers: [registry],
  });
  const wouldBlock = new Counter({
    name: 'bastion_would_block_total',
    help: 'Decisions a shadow flow rule would have denied or held (the decision was not changed), by policy and rule.',
    labelNames: ['policy', 'rule'] as const,
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'bastion_identity_refusals_total',
    help: 'Requests refused because the caller could not be identified (401), by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  // Every reason from the start: an alert on rate(...{reason="bad_signature"}) has a series at once.
  for (const reason of IDENTITY_REFUSAL_REASONS) refusals.inc({ reason }, 0);
  new Gauge({
    name: 'bastion_kill_switch_active',
    help: 'Whether a kill-switch key is on (1) or off (0); a list key is on when it names anything. No samples when the store cannot be read.',
    labelNames: ['key'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!sources.killSwitch) return;
      try {
        const state = await sources.killSwitch();
        for (const key of KILL_SWITCH_KEYS) {
          const v = state[key];
          this.set({ key }, (typeof v === 'boolean' ? v : v.length > 0) ? 1 : 0);
        }
      } catch {
        // INVARIANT: an unreadable kill switch is reported as no samples, never as "off".
      }
    },
  });
  new Gauge({
    name: 'bastion_approvals_pending',
    help: 'Approvals waiting for a human decision. No sample when the store cannot be read.',
    registers: [registry],
    async collect() {
      this.reset();
      if (!sources.pendingApprovals) return;
      try {
        this.set(Math.min(await sources.pendingApprovals(), MAX_COUNTED_PENDING));
      } catch {
        // No sample rather than a wrong zero.
      }
    },
  });
  new Gauge({
    name: 'bastion_limit_store_up',
    help: 'Whether the limit store answers (1) or not (0). While 0, rate limits follow limits.onStoreError and budgets refuse.',
    registers: [registry],
    async collect() {
      if (!sources.limitStore) return this.set(1);
      try {
        await sources.limitStore();
        this.set(1);
      } catch {
        this.set(0);
      }
    },
  });
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

  return {
    registry,
    contentType: registry.contentType,
    decision(effect, seconds) {
      decisions.inc({ effect });
      decisionDuration.observe(seconds);
    },
    auditAppend(seconds) {
      auditDuration.observe(seconds);
    },
    failOpen(dependency) {
      failOpen.inc({ dependency });
    },
    shadowDecision(enforcing, shadowEffect) {
      shadow.inc({ enforcing, shadow: shadowEffect, agreement: enforcing === shadowEffect ? 'agree' : 'disagree' });
    },
    wouldBlock(policy, rule) {
      wouldBlock.inc({ policy, rule });
    },
    identityRefusal(reason) {
      refusals.inc({ reason });
    },
    render: () => registry.metrics(),
  };
}

/** What `timeAuditAppends` needs of an audit log. */
interface Appending<E, R> {
  append(event: E): Promise<R>;
}

/**
 * The same audit log with every `append` timed into `bastion_audit_append_duration_seconds`
 * (failed appends too: a slow failure is what an operator needs to see). Every other member
 * is the log's own.
 *
 * @example const log = timeAuditAppends(stores.audit, metrics);
 */
export function timeAuditAppends<L extends Appending<E, R>, E, R>(log: L, metrics: Pick<Metrics, 'auditAppend'>): L {
  const append = async (event: E): Promise<R> => {
    const started = process.hrtime.bigint();
    try {
      return await log.append(event);
    } finally {
      metrics.auditAppend(Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
  return new Proxy(log, {
    get(target, property) {
      if (property === 'append') return append;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Counts pending approvals a page at a time (`list({status: 'pending'})`), up to 100,000.
 *
 * @example createMetrics({ sources: { pendingApprovals: () => countPending(stores.approvals) } });
 */
export async function countPending(store: Pick<ApprovalStore, 'list'>): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  const now = Date.now();
  do {
    const page = await store.list({ status: 'pending', limit: 1000, ...(cursor === undefined ? {} : { cursor }) }, now);
    if (!page.ok) throw new Error(page.errors.map((e) => e.message).join('; '));
    count += page.value.records.length;
    cursor = page.value.nextCursor;
  } while (cursor !== undefined && count < MAX_COUNTED_PENDING);
  return count;
}
