/**
 * The notifier over an outbox, against a real receiver on 127.0.0.1: a delivery is kept
 * before its first attempt and forgotten once delivered; `resume()` redelivers what a
 * previous run left with the same delivery id, and gives up (audited) one whose webhook is
 * no longer configured.
 */

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createNotifier, type ApprovalEvent } from '../../src/approvals/index.js';
import type { AuditEventInput } from '../../src/audit/index.js';
import { createMemoryNotificationOutbox } from '../../src/storage/index.js';
import { outboxEntry } from '../storage/contracts/outbox.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

async function receiver(status: number): Promise<{ url: string; received: IncomingHttpHeaders[] }> {
  const received: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(req.headers);
      res.statusCode = status;
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, received };
}

const options = { retry: { attempts: 3, initialDelayMs: 10, maxDelayMs: 10 }, queueSize: 10, timeoutMs: 2000 };

describe('notifier with an outbox', () => {
  it('keeps a delivery until it is delivered, then forgets it', async () => {
    const hook = await receiver(200);
    const outbox = createMemoryNotificationOutbox();
    const notifier = createNotifier({ ...options, targets: [{ name: 'ops', url: hook.url, format: 'generic', secret: 'k', events: ['requested'] }], outbox });
    notifier.notify(outboxEntry('x', 0).event as ApprovalEvent);
    expect(notifier.pending()).toBe(1);
    await notifier.idle(3000);
    expect(hook.received).toHaveLength(1);
    expect(await outbox.pending()).toEqual([]);
    await notifier.stop();
  });

  it('resume() redelivers with the stored delivery id; a webhook no longer configured is given up and audited', async () => {
    const hook = await receiver(200);
    const outbox = createMemoryNotificationOutbox();
    await outbox.add({ ...outboxEntry('left-by-last-run', 1000), attempts: 2, lastError: 'ECONNREFUSED' });
    await outbox.add({ ...outboxEntry('for-a-removed-hook', 2000), target: 'gone' });
    const audited: AuditEventInput[] = [];
    const notifier = createNotifier({
      ...options,
      targets: [{ name: 'ops', url: hook.url, format: 'generic', secret: 'k', events: ['requested'] }],
      outbox,
      record: async (e) => void audited.push(e),
    });
    expect(await notifier.resume()).toBe(1);
    await notifier.idle(3000);
    expect(hook.received.map((h) => h['x-bastion-delivery'])).toEqual(['left-by-last-run']);
    expect(await outbox.pending()).toEqual([]);
    expect(audited).toMatchObject([{ type: 'notification.failed', approvalId: 'ap-1', data: { webhook: 'gone', delivery: 'for-a-removed-hook', error: 'webhook `gone` is no longer configured' } }]);
    await notifier.stop();
  });
});
