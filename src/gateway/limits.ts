/**
 * The limits declared in policy, turned into verdicts for one call before the pure engine
 * runs (store operations are async; the engine only reads the verdicts). Also the token
 * spending of `gateway.recordUsage()`.
 *
 * Order, stopping at the first refusal: concurrency caps (in this process), then rate limits
 * (GCRA in the limit store), then budgets. A refused rate limit costs nothing, but a rate
 * limit taken before a later limit refuses stays taken (as two separate limiters would).
 *
 * Fail modes when the limit store fails (rejects, or answers an error): rate limits follow
 * `onStoreError` (`closed`, the default: refused; `open`: allowed, audited as
 * `limits.fail_open` and counted); budgets always fail closed.
 */

import { createHash } from 'node:crypto';
import type { ActionRequest, Effect } from '../core/types.js';
import type { LimitStore } from '../limits/index.js';
import type { CompiledLimit, LimitVerdict, PolicySet } from '../policy/index.js';

export type LimitStoreFailMode = 'closed' | 'open';

/** A fail-open: a rate limit let a call through because the limit store failed. */
export interface LimitFailOpen {
  limit: string;
  error: string;
}

export interface LimitCheck {
  verdicts: LimitVerdict[];
  failOpen: LimitFailOpen[];
  /** Frees the concurrency slots this call holds (idempotent). */
  release(): void;
}

const MAX_KEY = 512;
const NOTHING: LimitCheck = Object.freeze({ verdicts: [], failOpen: [], release: () => undefined }) as LimitCheck;

/** Stable reasons of the limits' refusals. */
export const LIMIT_REASONS = {
  rate: 'rate limit exceeded',
  concurrency: 'concurrency limit reached',
  budget: 'budget exhausted',
  storeUnavailable: 'limit store unavailable',
} as const;

/** The key a limit counts this call under: the limit's name and whose calls count together. */
export function limitKey(limit: CompiledLimit, principalId: string, action: string): string {
  const part = limit.per === 'principal' ? `p:${principalId}` : limit.per === 'action' ? `a:${action}` : `pa:${JSON.stringify([principalId, action])}`;
  const key = `${JSON.stringify(limit.name)}|${part}`;
  // Principal ids and action names are the caller's: a long pair is hashed, never cut (two
  // long keys must not collide).
  return key.length <= MAX_KEY ? key : `h:${createHash('sha256').update(key).digest('hex')}`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Limits of a gateway: the in-process concurrency counters, the store and its fail mode.
 */
export class GatewayLimits {
  private readonly inFlight = new Map<string, number>();
  private failOpens = 0;

  constructor(
    private readonly store: LimitStore,
    private readonly onStoreError: LimitStoreFailMode,
    private readonly now: () => number,
  ) {}

  /** How many calls a rate limit let through because the limit store failed (`onStoreError: open`). */
  failOpenCount(): number {
    return this.failOpens;
  }

  /**
   * The verdicts for one call whose rules outcome (without limits) is `effect`. A deny
   * counts against nothing; a call held for approval counts against rate limits only; an
   * allow against every limit that applies.
   */
  async check(set: PolicySet, request: ActionRequest, effect: Effect): Promise<LimitCheck> {
    if (effect === 'deny' || set.limits.length === 0) return NOTHING;
    const applicable = set.limits.filter((l) => l.applies(request.action, request.principal));
    if (applicable.length === 0) return NOTHING;
    const verdicts: LimitVerdict[] = [];
    const failOpen: LimitFailOpen[] = [];
    const held: string[] = [];
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      for (const key of held) {
        const n = (this.inFlight.get(key) ?? 1) - 1;
        if (n <= 0) this.inFlight.delete(key);
        else this.inFlight.set(key, n);
      }
    };
    const refuse = (verdict: LimitVerdict): LimitCheck => {
      verdicts.push(verdict);
      release();
      return { verdicts, failOpen, release };
    };
    const key = (l: CompiledLimit) => limitKey(l, request.principal.id, request.action);

    if (effect === 'allow') {
      for (const l of applicable) {
        if (l.concurrency === undefined) continue;
        const k = key(l);
        const n = this.inFlight.get(k) ?? 0;
        if (n >= l.concurrency) return refuse({ name: l.name, allowed: false, kind: 'concurrency', reason: `${LIMIT_REASONS.concurrency}: \`${l.name}\``, retryAfterMs: 1000 });
        this.inFlight.set(k, n + 1);
        held.push(k);
        verdicts.push({ name: l.name, allowed: true, kind: 'concurrency' });
      }
    }

    const now = this.now();
    for (const l of applicable) {
      if (l.rate === undefined) continue;
      let error: string | undefined;
      try {
        const taken = await this.store.take(key(l), l.rate, now);
        if (taken.ok) {
          if (!taken.value.allowed) return refuse({ name: l.name, allowed: false, kind: 'rate', reason: `${LIMIT_REASONS.rate}: \`${l.name}\``, retryAfterMs: taken.value.retryAfterMs });
          verdicts.push({ name: l.name, allowed: true, kind: 'rate' });
          continue;
        }
        error = taken.errors.map((e) => e.message).join('; ');
      } catch (err) {
        error = message(err);
      }
      if (this.onStoreError === 'closed') return refuse({ name: l.name, allowed: false, kind: 'rate', reason: `${LIMIT_REASONS.storeUnavailable}: \`${l.name}\``, retryAfterMs: 1000 });
      // INVARIANT: a fail-open is never silent: the caller audits each one, and it is counted.
      this.failOpens++;
      failOpen.push({ limit: l.name, error });
      verdicts.push({ name: l.name, allowed: true, kind: 'rate' });
    }

    if (effect === 'allow') {
      for (const l of applicable) {
        const b = l.budget;
        if (b === undefined) continue;
        try {
          // A call spends one from a calls budget; a tokens budget is only asked (its tokens
          // are spent by recordUsage, after the call): it refuses once the window is spent.
          const spent = await this.store.spend(key(l), b.unit === 'calls' ? 1 : 0, b.amount, b.windowMs, now);
          if (!spent.ok) throw new Error(spent.errors.map((e) => e.message).join('; '));
          const allowed = b.unit === 'calls' ? spent.value.allowed : spent.value.remaining > 0;
          if (!allowed) return refuse({ name: l.name, allowed: false, kind: 'budget', reason: `${LIMIT_REASONS.budget}: \`${l.name}\``, retryAfterMs: spent.value.resetAfterMs });
          verdicts.push({ name: l.name, allowed: true, kind: 'budget' });
        } catch {
          // Budgets always fail closed: a spend that cannot be counted is not allowed.
          return refuse({ name: l.name, allowed: false, kind: 'budget', reason: `${LIMIT_REASONS.storeUnavailable}: \`${l.name}\``, retryAfterMs: 1000 });
        }
      }
    }
    return { verdicts, failOpen, release };
  }

  /**
   * Spends `tokens` from every tokens budget that applies to the principal and action, with
   * overdraw (the usage is known only after the call). Rejects when the store fails.
   */
  async spendTokens(set: PolicySet, principal: ActionRequest['principal'], action: string, tokens: number): Promise<{ name: string; spent: number; remaining: number; exhausted: boolean }[]> {
    const now = this.now();
    const out: { name: string; spent: number; remaining: number; exhausted: boolean }[] = [];
    for (const l of set.limits) {
      if (l.budget?.unit !== 'tokens' || !l.applies(action, principal)) continue;
      const r = await this.store.spend(limitKey(l, principal.id, action), tokens, l.budget.amount, l.budget.windowMs, now, { overdraw: true });
      if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
      out.push({ name: l.name, spent: r.value.spent, remaining: r.value.remaining, exhausted: r.value.remaining <= 0 });
    }
    return out;
  }
}
