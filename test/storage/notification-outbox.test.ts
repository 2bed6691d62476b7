/**
 * The notification outbox adapters against their contract; the SQLite one also across a
 * reopen of the file (what a restart sees) and with a tampered row.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMemoryNotificationOutbox, openSqliteNotificationOutbox } from '../../src/storage/index.js';
import { Database } from '../../src/storage/sqlite/driver.js';
import { outboxContract, outboxEntry } from './contracts/outbox.js';

outboxContract('memory', async () => ({ outbox: createMemoryNotificationOutbox(), cleanup: async () => undefined }));
outboxContract('sqlite', async () => {
  const opened = openSqliteNotificationOutbox(join(mkdtempSync(join(tmpdir(), 'bastion-outbox-')), 'bastion.db'));
  if (!opened.ok) throw new Error(opened.errors[0]?.message);
  return { outbox: opened.value, cleanup: () => opened.value.close() };
});

describe('SQLite notification outbox', () => {
  it('keeps its entries across a reopen, and names a malformed row', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'bastion-outbox-')), 'bastion.db');
    const first = openSqliteNotificationOutbox(path);
    if (!first.ok) throw new Error(first.errors[0]?.message);
    await first.value.add(outboxEntry('d-1', 1000));
    await first.value.attempted('d-1', 2, 'ECONNREFUSED');
    await first.value.close();
    const again = openSqliteNotificationOutbox(path);
    if (!again.ok) throw new Error(again.errors[0]?.message);
    try {
      expect(await again.value.pending()).toEqual([{ ...outboxEntry('d-1', 1000), attempts: 2, lastError: 'ECONNREFUSED' }]);
      const db = new Database(path);
      db.prepare('UPDATE notification_outbox SET body = \'{"delivery":"d-1"}\'').run();
      db.close();
      await expect(again.value.pending()).rejects.toMatchObject({
        details: [{ code: 'STATE_STORAGE', message: expect.stringContaining("the notification outbox's row for `d-1` (table notification_outbox) is malformed: field `target`") }],
      });
    } finally {
      await again.value.close();
    }
  });
});
