/**
 * The notification outbox in process memory: it survives nothing, so a gateway without a data
 * directory loses undelivered notifications on restart, as it loses its approvals. Entries are
 * copied in and out.
 */

import type { NotificationOutbox, OutboxEntry } from '../../approvals/index.js';
import { BastionException, bastionError } from '../../core/errors.js';

/**
 * @example const outbox = createMemoryNotificationOutbox(); await outbox.add(entry);
 */
export function createMemoryNotificationOutbox(): NotificationOutbox {
  const entries = new Map<string, OutboxEntry>();
  let closed = false;
  const open = (): void => {
    if (closed) throw new BastionException(bastionError('STATE_STORAGE', 'the notification outbox is closed'));
  };
  return {
    async add(entry) {
      open();
      if (!entries.has(entry.delivery)) entries.set(entry.delivery, structuredClone(entry));
    },
    async attempted(delivery, attempts, lastError) {
      open();
      const e = entries.get(delivery);
      if (e) entries.set(delivery, { ...e, attempts, lastError });
    },
    async remove(delivery) {
      open();
      entries.delete(delivery);
    },
    async pending() {
      open();
      return [...entries.values()].sort((a, b) => a.createdAt - b.createdAt).map((e) => structuredClone(e));
    },
    async close() {
      closed = true;
    },
  };
}
