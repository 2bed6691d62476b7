/**
 * Notifications of approval transitions: a generic JSON webhook, signed with HMAC-SHA256, and
 * a Slack-compatible incoming-webhook payload (`{text, blocks}`). Delivery never blocks a
 * decision: `notify` queues (bounded) and returns; each delivery is retried with exponential
 * backoff (bounded attempts); one that finally fails, is refused by the queue or is still
 * queued when the service stops is audited as `notification.failed` and reported on stderr.
 *
 * Signature (generic, and Slack when a secret is given): headers
 *   X-Bastion-Timestamp: <unix seconds>      X-Bastion-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 *   X-Bastion-Delivery: <uuid, the same on every attempt>   X-Bastion-Event: approval.<transition>
 * A receiver recomputes the HMAC over the raw body, compares in constant time, rejects a
 * timestamp more than 5 minutes away from its clock and a delivery id it has seen.
 */

import { createHmac, randomUUID } from 'node:crypto';
import type { AuditEventInput } from '../audit/index.js';
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
}

export interface Notifier {
  /** Queues the event for every target that listens to its transition; never throws, never waits. */
  notify(event: ApprovalEvent): void;
  /** Deliveries queued or in flight. */
  pending(): number;
  /** Resolves once nothing is pending, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void>;
  /** Stops retrying: what is still pending is audited as failed. */
  stop(): Promise<void>;
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
      settle(job);
      return;
    }
    const delay = Math.min(options.retry.maxDelayMs, options.retry.initialDelayMs * 2 ** (job.attempt - 1));
    job.timer = setTimeout(() => void attempt(job), delay);
    job.timer.unref();
  };

  return {
    notify(event) {
      if (stopped) return;
      for (const target of options.targets) {
        if (!target.events.includes(event.transition)) continue;
        const job: Job = { target, event, delivery: randomUUID(), attempt: 0 };
        if (jobs.size >= options.queueSize) {
          void failed(job, `the notification queue is full (${options.queueSize} pending)`);
          continue;
        }
        jobs.add(job);
        void attempt(job);
      }
    },
    pending: () => jobs.size,
    async idle(timeoutMs) {
      if (jobs.size === 0) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, timeoutMs);
        t.unref();
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
      for (const job of left) await failed(job, `the service stopped before it was delivered${job.lastError ? ` (last error: ${job.lastError})` : ''}`);
      jobs.clear();
      for (const f of [...idlers]) f();
    },
  };
}
