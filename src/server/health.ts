/**
 * `/health`'s readiness checks: each probe is a cheap read of one dependency (the kill-switch
 * store's `get()`, the audit log's head) under a short timeout. A probe that fails or does
 * not answer in time makes the service not ready, named in the answer; its error goes to the
 * log, not into the public answer (it may hold paths or driver text).
 */

/** One dependency `/health` checks. */
export interface HealthProbe {
  /** Named in `/health`'s `checks` and `failed`, e.g. `auditLog`. */
  name: string;
  /** Resolves when the dependency is usable; rejects (or takes longer than the timeout) when not. */
  check(): Promise<unknown>;
  /**
   * What a failure makes the service: `failed` (the default: not ready, 503) or `degraded`
   * (still ready, 200, listed in `degraded`), for a dependency whose loss has a documented
   * fail mode and that every replica shares (taking one out of the load balancer helps nothing).
   */
  onFailure?: 'failed' | 'degraded';
}

/** A probe's outcome as `/health` reports it. */
export type ProbeOutcome = { status: 'ok'; ms: number } | { status: 'failed' | 'degraded'; error: string; ms: number };

/** How long one probe may take: a store that hangs must not hang `/health` (load balancers time out too). */
export const PROBE_TIMEOUT_MS = 1000;

/**
 * Runs every probe at once, each bounded by `timeoutMs`; `onError` hears each failure's real error.
 *
 * @example const outcomes = await runProbes([{ name: 'auditLog', check: () => log.size() }]);
 */
export async function runProbes(probes: readonly HealthProbe[], timeoutMs = PROBE_TIMEOUT_MS, onError: (name: string, err: unknown) => void = () => {}): Promise<Record<string, ProbeOutcome>> {
  const outcomes = await Promise.all(
    probes.map(async (probe): Promise<[string, ProbeOutcome]> => {
      const started = performance.now();
      const ms = () => Math.round((performance.now() - started) * 100) / 100;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
        timer.unref();
      });
      try {
        const r = await Promise.race([Promise.resolve().then(() => probe.check()), timeout]);
        if (r === 'timeout') return [probe.name, { status: probe.onFailure ?? 'failed', error: `did not answer within ${timeoutMs} ms`, ms: ms() }];
        return [probe.name, { status: 'ok', ms: ms() }];
      } catch (err) {
        onError(probe.name, err);
        return [probe.name, { status: probe.onFailure ?? 'failed', error: 'not usable (the error is in the service log)', ms: ms() }];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(outcomes);
}
