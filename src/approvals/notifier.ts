/**
 * Notifications of approval transitions: a generic JSON webhook, signed with HMAC-SHA256, and
 * a Slack-compatible incoming-webhook payload (`{text, blocks}`). Delivery never blocks a
 * decision: `notify` queues (bounded) and returns; each delivery is retried with exponential
 * backoff (bounded attempts); one that finally fails or is refused by the queue is audited as
 * `notification.failed` and reported on stderr.
 *
 * With an outbox (`outbox.ts`; the data directory's in `bastion serve`), every delivery is
 * written there before its first attempt and removed once delivered or given up, so one in
 * flight or waiting for a retry when the service stops, or crashes, is redelivered by
 * `resume()` at the next start, with the same delivery id. Without one, what is still queued
 * at stop is audited as `notification.failed`.
 *
 * Signature (generic, and Slack when a secret is given): headers
 *   X-Bastion-Timestamp: <unix seconds>      X-Bastion-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 *   X-Bastion-Delivery: <uuid, the same on every attempt>   X-Bastion-Event: approval.<transition>
 * A receiver recomputes the HMAC over the raw body, compares in constant time, rejects a
 * timestamp more than 5 minutes away from its clock and a delivery id it has seen.
 */

import { createHmac, randomUUID } from 'node:crypto';
import type { AuditEventInput } from '../audit/index.js';
import type { NotificationOutbox, OutboxEntry } from './outbox.js';
import type { ApprovalEvent, ApprovalTransition, ApprovalView } from './service.js';

export interface WebhookTarget {
  name: string;
  url: string;
  format: 'generic' | 'slack';
  /** The HMAC key; required for `generic`. */
  secret?: string;
  events: readonly ApprovalTransition[];
}

export interface NotifierOptions {
  targets: readonly WebhookTarget[];
  retry: { attempts: number; initialDelayMs: number; maxDelayMs: number };
  /** Deliveries queued or in flight at most; more are refused (and audited). */
  queueSize: number;
  /** How long one attempt may take. */
  timeoutMs: number;
  /** Appends an audit event (`notification.failed`). */
  record?: (event: AuditEventInput) => Promise<void>;
  /** Operator messages (stderr). */
  log?: (line: string) => void;
  /** Where deliveries are kept until delivered or given up, across restarts. */
  outbox?: NotificationOutbox;
}

export interface Notifier {
  /** Queues the event for every target that listens to its transition; never throws, never waits. */
  notify(event: ApprovalEvent): void;
  /** Deliveries queued or in flight. */
  pending(): number;
  /** Resolves once nothing is pending, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void>;
  /**
   * Stops retrying. What is still pending stays in the outbox for the next start; without an
   * outbox it is audited as failed.
   */
  stop(): Promise<void>;
  /** Queues what the outbox holds (left by a previous run); resolves with how many. */
  resume(): Promise<number>;
}

/** The header value of the signature of `body` sent at `timestamp` (unix seconds). */
export function webhookSignature(secret: string, timestamp: number | string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/** The generic webhook's JSON body. */
export function genericPayload(event: ApprovalEvent, delivery: string, sentAt: Date): Record<string, unknown> {
  return {
    type: `approval.${event.transition}`,
    delivery,
    sentAt: sentAt.toISOString(),
    ...(event.by !== undefined ? { by: event.by } : {}),
    ...(event.comment !== undefined ? { comment: event.comment } : {}),
    approval: event.approval,
  };
}

const VERB: Record<ApprovalTransition, string> = {
  requested: 'Approval requested',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired',
  consumed: 'Used',
  cancelled: 'Cancelled',
};

// Slack mrkdwn: &, < and > are the characters its formatting escapes.
const slackText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function callLine(a: ApprovalView): string {
  const args = JSON.stringify(a.args);
  return `${a.action}${a.resource !== undefined ? ` on ${a.resource}` : ''}${a.environment !== undefined ? ` in ${a.environment}` : ''} ${args.length > 300 ? `${args.slice(0, 300)}…` : args}`;
}

/** A Slack incoming-webhook payload: `text` for notifications and clients without blocks, `blocks` for the message. */
export function slackPayload(event: ApprovalEvent): { text: string; blocks: unknown[] } {
  const a = event.approval;
  const by = event.by !== undefined ? ` by ${event.by}` : '';
  const text = `${VERB[event.transition]}${by}: ${a.requester.id} wants ${a.action} (approval ${a.id}, ${a.status})`;
  const fields = [
    `*Requester*\n${slackText(a.requester.id)}`,
    `*Status*\n${a.status} (${a.approvals} of ${a.quorum})`,
    `*Approvers*\n${slackText(a.approverGroups.join(', '))}`,
    `*Expires*\n${a.expiresAt}`,
  ];
  if (a.needs.length > 0) fields.push(`*Needs*\n${slackText(a.needs.join(', '))}`);
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${VERB[event.transition]}${slackText(by)}*: \`${slackText(callLine(a))}\`` } },
    { type: 'section', fields: fields.map((t) => ({ type: 'mrkdwn', text: t })) },
  ];
  if (event.comment !== undefined) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `> ${slackText(event.comment)}` } });
  if (a.reason !== undefined) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: slackText(a.reason) }] });
  if (event.transition === 'requested') blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `\`bastion approvals approve ${a.id} --comment "…"\`` }] });
  return { text, blocks };
}

interface Job {
  target: WebhookTarget;
  event: ApprovalEvent;
  delivery: string;
  attempt: number;
  createdAt: number;
  timer?: NodeJS.Timeout;
  inFlight?: AbortController;
  lastError?: string;
}

/** Where a webhook points, for messages: the origin only (a Slack URL's path is its secret). */
function where(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an invalid URL';
  }
}

/**
 * Creates a notifier over `fetch`.
 *
 * @example
 * const notifier = createNotifier({ targets: [{ name: 'ops', url, format: 'generic', secret, events: ['requested'] }], retry: { attempts: 5, initialDelayMs: 1000, maxDelayMs: 60_000 }, queueSize: 1000, timeoutMs: 10_000 });
 * createApprovalService({ store, notify: notifier.notify });
 */
export function createNotifier(options: NotifierOptions): Notifier {
  const jobs = new Set<Job>();
  const idlers = new Set<() => void>();
  let stopped = false;
  const outbox = options.outbox;
  /** Outbox writes not yet done: `stop()` waits for them, so none runs on a closed store. */
  const writes = new Set<Promise<unknown>>();
  /** Runs one outbox write; a failure is reported, never thrown (the delivery goes on in memory). */
  const keep = (what: string, write: (o: NotificationOutbox) => Promise<void>): Promise<void> => {
    if (!outbox) return Promise.resolve();
    const p = write(outbox).catch((err: unknown) => options.log?.(`bastion: notification outbox: cannot ${what}: ${(err as Error).message}\n`));
    writes.add(p);
    void p.finally(() => writes.delete(p));
    return p;
  };

  const settle = (job: Job): void => {
    jobs.delete(job);
    if (jobs.size === 0) for (const f of [...idlers]) f();
  };

  const failed = async (job: Job, error: string): Promise<void> => {
    const message = `bastion: notification ${job.event.transition} of approval ${job.event.approval.id} to webhook ${job.target.name} (${where(job.target.url)}) failed after ${job.attempt} attempt${job.attempt === 1 ? '' : 's'}: ${error}`;
    options.log?.(`${message}\n`);
    try {
      await options.record?.({
        type: 'notification.failed',
        approvalId: job.event.approval.id,
        data: {
          webhook: job.target.name,
          destination: where(job.target.url),
          format: job.target.format,
          event: `approval.${job.event.transition}`,
          delivery: job.delivery,
          attempts: job.attempt,
          error,
        },
      });
    } catch (err) {
      options.log?.(`bastion: cannot audit the failed notification: ${(err as Error).message}\n`);
    }
  };

  const attempt = async (job: Job): Promise<void> => {
    if (stopped) return;
    job.attempt++;
    const sentAt = new Date();
    const payload = job.target.format === 'slack' ? slackPayload(job.event) : genericPayload(job.event, job.delivery, sentAt);
    const body = JSON.stringify(payload);
    const timestamp = Math.floor(sentAt.getTime() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'bastion-notifier',
      'x-bastion-event': `approval.${job.event.transition}`,
      'x-bastion-delivery': job.delivery,
      'x-bastion-timestamp': String(timestamp),
    };
    if (job.target.secret !== undefined) headers['x-bastion-signature'] = webhookSignature(job.target.secret, timestamp, body);
    const controller = new AbortController();
    job.inFlight = controller;
    const timeout = setTimeout(() => controller.abort(), options.timeoutMs);
    let retryable = true;
    try {
      const response = await fetch(job.target.url, { method: 'POST', headers, body, signal: controller.signal, redirect: 'error' });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) {
        void keep('forget a delivered notification', (o) => o.remove(job.delivery));
        settle(job);
        return;
      }
      // A client error other than 408/429 will not change by retrying.
      retryable = response.status >= 500 || response.status === 408 || response.status === 429;
      job.lastError = `the receiver answered ${response.status}`;
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      job.lastError = controller.signal.aborted ? (stopped ? 'the service stopped' : `no answer within ${options.timeoutMs} ms`) : (cause?.code ?? (err as Error).message);
    } finally {
      clearTimeout(timeout);
      delete job.inFlight;
    }
    if (stopped) return;
    if (!retryable || job.attempt >= options.retry.attempts) {
      await failed(job, job.lastError ?? 'unknown error');
      await keep('forget a failed notification', (o) => o.remove(job.delivery));
      settle(job);
      return;
    }
    void keep('record a notification attempt', (o) => o.attempted(job.delivery, job.attempt, job.lastError ?? 'unknown error'));
    const delay = Math.min(options.retry.maxDelayMs, options.retry.initialDelayMs * 2 ** (job.attempt - 1));
    job.timer = setTimeout(() => void attempt(job), delay);
    job.timer.unref();
  };

  return {
    notify(event) {
      if (stopped) return;
      for (const target of options.targets) {
        if (!target.events.includes(event.transition)) continue;
        const job: Job = { target, event, delivery: randomUUID(), attempt: 0, createdAt: Date.now() };
        if (jobs.size >= options.queueSize) {
          void failed(job, `the notification queue is full (${options.queueSize} pending)`);
          continue;
        }
        jobs.add(job);
        // INVARIANT: kept before the first attempt, so a crash during it cannot lose it.
        const entry: OutboxEntry = { delivery: job.delivery, target: target.name, event, attempts: 0, createdAt: job.createdAt };
        void keep('keep a notification', (o) => o.add(entry)).then(() => attempt(job));
      }
    },
    pending: () => jobs.size,
    async idle(timeoutMs) {
      if (jobs.size === 0) return;
      await new Promise<void>((resolve) => {
        // Not unref'd: at shutdown this wait may be all that is left on the event loop, and
        // the process must not end inside it (Node exits 13, before `service.stop` is audited).
        const t = setTimeout(done, timeoutMs);
        function done(): void {
          clearTimeout(t);
          idlers.delete(done);
          resolve();
        }
        idlers.add(done);
      });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const left = [...jobs];
      for (const job of left) {
        if (job.timer) clearTimeout(job.timer);
        job.inFlight?.abort();
      }
      if (outbox) {
        if (left.length > 0) options.log?.(`bastion: ${left.length} approval notification${left.length === 1 ? '' : 's'} not delivered yet, kept in the outbox: redelivered at the next start\n`);
      } else {
        for (const job of left) await failed(job, `the service stopped before it was delivered${job.lastError ? ` (last error: ${job.lastError})` : ''}`);
      }
      jobs.clear();
      for (const f of [...idlers]) f();
      await Promise.allSettled([...writes]);
    },
    async resume() {
      if (!outbox || stopped) return 0;
      let entries: OutboxEntry[];
      try {
        entries = await outbox.pending();
      } catch (err) {
        options.log?.(`bastion: notification outbox: cannot read it: ${(err as Error).message}\n`);
        return 0;
      }
      const queued = new Set([...jobs].map((j) => j.delivery));
      let resumed = 0;
      for (const entry of entries) {
        if (queued.has(entry.delivery)) continue;
        const target = options.targets.find((t) => t.name === entry.target);
        const job: Job = {
          target: target ?? { name: entry.target, url: '', format: 'generic', events: [] },
          event: entry.event,
          delivery: entry.delivery,
          attempt: entry.attempts,
          createdAt: entry.createdAt,
        };
        if (target === undefined) {
          // The webhook was removed from the configuration: given up, on record.
          await failed(job, `webhook \`${entry.target}\` is no longer configured`);
          await keep('forget a notification', (o) => o.remove(entry.delivery));
          continue;
        }
        if (entry.lastError !== undefined) job.lastError = entry.lastError;
        jobs.add(job);
        resumed++;
        // A restart is a new chance: at least one more attempt, then the usual backoff.
        if (job.attempt >= options.retry.attempts) job.attempt = options.retry.attempts - 1;
        void attempt(job);
      }
      return resumed;
    },
  };
}
