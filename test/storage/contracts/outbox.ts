/**
 * The contract every notification outbox adapter must pass (memory, SQLite): entries kept
 * oldest first, an id added twice kept once, attempts recorded, removal, copies out, and a
 * closed outbox refusing with `STATE_STORAGE`.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationOutbox, OutboxEntry } from '../../../src/approvals/index.js';

export interface OutboxHandle {
  outbox: NotificationOutbox;
  cleanup: () => Promise<void>;
}

export function outboxEntry(delivery: string, createdAt: number): OutboxEntry {
  return {
    delivery,
    target: 'ops',
    attempts: 0,
    createdAt,
    event: { transition: 'requested', approval: { id: 'ap-1', status: 'pending' } as unknown as OutboxEntry['event']['approval'] },
  };
}

export function outboxContract(name: string, open: () => Promise<OutboxHandle>): void {
  describe(`notification outbox contract: ${name}`, () => {
    let h: OutboxHandle;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => h.cleanup());

    it('keeps entries oldest first, once per delivery id, with their attempts; removes them', async () => {
      await h.outbox.add(outboxEntry('d-2', 2000));
      await h.outbox.add(outboxEntry('d-1', 1000));
      await h.outbox.add({ ...outboxEntry('d-1', 5000), target: 'other' });
      await h.outbox.attempted('d-2', 3, 'the receiver answered 503');
      await h.outbox.attempted('nobody', 1, 'x');
      expect(await h.outbox.pending()).toEqual([outboxEntry('d-1', 1000), { ...outboxEntry('d-2', 2000), attempts: 3, lastError: 'the receiver answered 503' }]);
      await h.outbox.remove('d-1');
      await h.outbox.remove('nobody');
      expect((await h.outbox.pending()).map((e) => e.delivery)).toEqual(['d-2']);
    });

    it('hands out copies', async () => {
      await h.outbox.add(outboxEntry('d-1', 1000));
      const [first] = await h.outbox.pending();
      if (first) first.attempts = 99;
      expect((await h.outbox.pending())[0]?.attempts).toBe(0);
    });

    it('refuses when closed', async () => {
      await h.outbox.close();
      await expect(h.outbox.pending()).rejects.toMatchObject({ details: [{ code: 'STATE_STORAGE' }] });
    });
  });
}
