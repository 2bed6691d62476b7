/**
 * The SIEM sink: ships audit events in batches over HTTP(S), in Splunk HEC form or as plain
 * JSON, each batch carrying the latest signed checkpoint so checkpoints leave the machine.
 * Delivery is at least once: the cursor (last seq acknowledged by the receiver) is stored in
 * the audit file itself and only moves after a 2xx, so a restart resumes where it stopped.
 */

import type { Result } from '../core/result.js';
import { fail, ok } from '../core/result.js';
import type { BastionError } from '../core/errors.js';
import { BastionException, bastionError, quote } from '../core/errors.js';
import type { ExportFormat } from './export.js';
import { exportLine } from './export.js';
import type { Checkpoint } from './checkpoint.js';
import type { AuditLog } from './log.js';

export interface SiemSinkOptions {
  log: AuditLog;
  /** The collector, e.g. `https://splunk.example:8088/services/collector/event`. */
  url: string;
  /** `splunk-hec`: newline-separated HEC events; `json`: one `{logId, checkpoint, events[]}` document. */
  format: 'splunk-hec' | 'json';
  /** How each event is mapped; default OCSF. */
  eventFormat?: ExportFormat;
  /** Sent as `Authorization: Splunk <token>` (HEC) or `Bearer <token>` (JSON). */
  token?: string;
  headers?: Record<string, string>;
  /** Cursor name in the audit file; default `siem:<url>`. */
  name?: string;
  /** Events per batch; default 500. */
  batchSize?: number;
  /** Pause between polls when caught up; default 1000 ms. */
  intervalMs?: number;
  /** Backoff for failed batches: base, cap and attempts per flush (default unlimited). */
  retry?: { baseMs?: number; maxMs?: number; maxAttempts?: number };
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
  /** For tests and custom transports; default the global `fetch`. */
  fetch?: typeof fetch;
}

export interface SiemFlushReport {
  delivered: number;
  batches: number;
  /** Requests that failed and were retried. */
  retries: number;
  cursor: number;
}

export interface SiemSink {
  /** Polls and ships in the background until `stop()`. */
  start(): void;
  /** Ships everything not yet acknowledged, retrying; resolves when caught up. */
  flush(): Promise<SiemFlushReport>;
  /** Stops polling and any retry wait; resolves once the sink is idle. */
  stop(): Promise<void>;
  /** Last seq the receiver acknowledged (read from the store). */
  cursor(): Promise<number>;
  /** The last delivery error, cleared by a success. */
  lastError(): string | undefined;
}

class Stopped extends Error {}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Stopped());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    // A sink must never be the reason a finished process stays alive.
    timer.unref();
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Stopped());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Creates a SIEM sink over an open audit log.
 *
 * @example
 * const sink = createSiemSink({ log, url: 'https://splunk:8088/services/collector/event', format: 'splunk-hec', token });
 * if (sink.ok) sink.value.start();
 */
export function createSiemSink(options: SiemSinkOptions): Result<SiemSink, BastionError> {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    return fail(bastionError('CONFIG_INVALID', `siem sink: url ${quote(options.url)} is not a URL`));
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return fail(bastionError('CONFIG_INVALID', `siem sink: url ${quote(options.url)} is not http or https`));
  if (options.format !== 'splunk-hec' && options.format !== 'json') return fail(bastionError('CONFIG_INVALID', `siem sink: unknown format ${quote(options.format)}`));
  const batchSize = options.batchSize ?? 500;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) return fail(bastionError('CONFIG_INVALID', 'siem sink: batchSize must be a positive whole number'));

  const log = options.log;
  const name = options.name ?? `siem:${url.origin}${url.pathname}`;
  const eventFormat = options.eventFormat ?? 'ocsf';
  const doFetch = options.fetch ?? fetch;
  const baseMs = options.retry?.baseMs ?? 200;
  const maxMs = options.retry?.maxMs ?? 30_000;
  const maxAttempts = options.retry?.maxAttempts ?? Number.POSITIVE_INFINITY;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 1000;
  const stopper = new AbortController();
  let running: Promise<void> | undefined;
  let inFlight: Promise<SiemFlushReport> | undefined;
  let lastError: string | undefined;

  const headers: Record<string, string> = {
    'content-type': options.format === 'json' ? 'application/json' : 'application/json; profile=splunk-hec',
    ...options.headers,
  };
  if (options.token !== undefined) headers['authorization'] = options.format === 'splunk-hec' ? `Splunk ${options.token}` : `Bearer ${options.token}`;

  function body(lines: Array<{ seq: number; time: string; line: string }>, checkpoint: Checkpoint | undefined): string {
    if (options.format === 'json') {
      return `{"logId":${JSON.stringify(checkpoint?.logId ?? null)},"checkpoint":${JSON.stringify(checkpoint ?? null)},"events":[${lines.map((l) => l.line).join(',')}]}`;
    }
    const out = lines.map((l) => `{"time":${Date.parse(l.time) / 1000},"source":"bastion","sourcetype":"bastion:audit:${eventFormat}","event":${l.line}}`);
    if (checkpoint) out.push(JSON.stringify({ time: Date.parse(checkpoint.time) / 1000, source: 'bastion', sourcetype: 'bastion:checkpoint', event: checkpoint }));
    return out.join('\n');
  }

  async function send(payload: string): Promise<void> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([timeout, stopper.signal]);
    const response = await doFetch(url, { method: 'POST', headers, body: payload, signal });
    // Drain the body so the connection can be reused.
    await response.arrayBuffer().catch(() => undefined);
    if (response.status < 200 || response.status >= 300) throw new Error(`http status ${response.status}`);
  }

  async function flushOnce(): Promise<SiemFlushReport> {
    const report: SiemFlushReport = { delivered: 0, batches: 0, retries: 0, cursor: await log.store.getCursor(name) };
    for (;;) {
      if (stopper.signal.aborted) throw new Stopped();
      const events = await log.eventsAfter(report.cursor, batchSize);
      const last = events[events.length - 1];
      if (!last) return report;
      const payload = body(
        events.map((e) => ({ seq: e.seq, time: e.time, line: exportLine(e, eventFormat) })),
        await log.latestCheckpoint(),
      );
      for (let attempt = 1; ; attempt++) {
        try {
          await send(payload);
          lastError = undefined;
          break;
        } catch (err) {
          if (stopper.signal.aborted) throw new Stopped();
          lastError = `batch after seq ${report.cursor}: ${err instanceof Error ? err.message : String(err)}`;
          if (attempt >= maxAttempts) throw new BastionException(bastionError('AUDIT_SINK', `siem sink ${quote(name)}: ${lastError}`));
          report.retries++;
          // Full jitter keeps many gateways from retrying in lockstep against a recovering SIEM.
          await sleep(Math.random() * Math.min(maxMs, baseMs * 2 ** (attempt - 1)), stopper.signal);
        }
      }
      // INVARIANT: the cursor moves only after the receiver acknowledged the whole batch.
      await log.store.setCursor(name, last.seq);
      report.cursor = last.seq;
      report.delivered += events.length;
      report.batches++;
    }
  }

  const sink: SiemSink = {
    flush() {
      // One delivery at a time: two concurrent flushes would send the same batch twice.
      const run = (inFlight ?? Promise.resolve()).catch(() => undefined).then(flushOnce);
      inFlight = run;
      return run;
    },
    start() {
      if (running) return;
      running = (async () => {
        while (!stopper.signal.aborted) {
          try {
            await sink.flush();
            await sleep(intervalMs, stopper.signal);
          } catch (err) {
            if (err instanceof Stopped || stopper.signal.aborted) return;
            await sleep(Math.min(maxMs, intervalMs), stopper.signal).catch(() => undefined);
          }
        }
      })();
    },
    async stop() {
      stopper.abort();
      await running;
      await inFlight?.catch(() => undefined);
    },
    cursor: () => log.store.getCursor(name),
    lastError: () => lastError,
  };
  return ok(sink);
}
