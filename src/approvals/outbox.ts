/**
 * The notification outbox's port: the approval notifications not yet delivered, kept where
 * the approvals are, so a restart (a deploy, a crash) does not lose one that was in flight or
 * waiting for its next retry. The notifier writes an entry before its first attempt, records
 * each failed attempt, and removes the entry once it is delivered or finally given up (and
 * audited as `notification.failed`); at start it redelivers what the outbox holds, with the
 * same delivery id, so a receiver that got it before the restart can drop the duplicate.
 *
 * Adapters: `storage/memory/notification-outbox.ts`, `storage/sqlite/notification-outbox.ts`
 * (table `notification_outbox` in `bastion.db`), held to `test/storage/contracts/outbox.ts`.
 * Storage that fails rejects with a `STATE_STORAGE` BastionException.
 */

import { isPlainObject } from '../core/schema.js';
import type { ApprovalEvent } from './service.js';

/** One notification to one webhook, until it is delivered or given up. */
export interface OutboxEntry {
  /** The delivery id (`X-Bastion-Delivery`), the same on every attempt and after a restart. */
  delivery: string;
  /** The webhook's `name` in `notifications.webhooks`. */
  target: string;
  event: ApprovalEvent;
  /** Attempts made so far. */
  attempts: number;
  /** When it was queued (ms since the epoch); redelivery goes oldest first. */
  createdAt: number;
  lastError?: string;
}

export interface NotificationOutbox {
  /** Keeps a new entry; an entry with the same delivery id is left as it is. */
  add(entry: OutboxEntry): Promise<void>;
  /** Records a failed attempt: the attempts made so far and why the last one failed. */
  attempted(delivery: string, attempts: number, lastError: string): Promise<void>;
  /** Forgets an entry (delivered, or given up and audited); unknown ids are ignored. */
  remove(delivery: string): Promise<void>;
  /** Every entry kept, oldest first. */
  pending(): Promise<OutboxEntry[]>;
  close(): Promise<void>;
}

/**
 * Reads a stored entry back, or says why it is not one (an adapter reports that as a
 * malformed row, never hands it to the notifier).
 *
 * @example parseOutboxEntry(JSON.parse(row.body)) // { ok: true, value: { delivery: '…', … } }
 */
export function parseOutboxEntry(value: unknown): { ok: true; value: OutboxEntry } | { ok: false; error: string } {
  if (!isPlainObject(value)) return { ok: false, error: 'not an object' };
  const v = value as Record<string, unknown>;
  if (typeof v['delivery'] !== 'string' || v['delivery'] === '') return { ok: false, error: 'field `delivery`: expected a non-empty string' };
  if (typeof v['target'] !== 'string' || v['target'] === '') return { ok: false, error: 'field `target`: expected a non-empty string' };
  if (!Number.isSafeInteger(v['attempts']) || (v['attempts'] as number) < 0) return { ok: false, error: 'field `attempts`: expected a whole number' };
  if (!Number.isSafeInteger(v['createdAt'])) return { ok: false, error: 'field `createdAt`: expected a time in ms' };
  if (v['lastError'] !== undefined && typeof v['lastError'] !== 'string') return { ok: false, error: 'field `lastError`: expected a string' };
  const event = v['event'];
  if (!isPlainObject(event) || typeof (event as Record<string, unknown>)['transition'] !== 'string' || !isPlainObject((event as Record<string, unknown>)['approval'])) {
    return { ok: false, error: 'field `event`: expected an approval event' };
  }
  return { ok: true, value: v as unknown as OutboxEntry };
}
