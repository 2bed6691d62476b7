/**
 * Approval notifications survive a restart: a real `bastion serve` process notifies a real
 * webhook receiver on 127.0.0.1 that fails, is killed (SIGKILL, as a crash) while the
 * delivery waits for its retry, and the next `bastion serve` on the same data directory
 * delivers it, signed, with the same delivery id; nothing is audited as failed.
 */

import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteAuditReader, openSqliteNotificationOutbox } from '../../src/storage/index.js';
import { NATIVE } from './identity-service.js';
import { eventually, request, serve, type Served } from './serve-process.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

async function receiver(): Promise<{ server: Server; url: string; received: Received[]; answer: (status: number) => void }> {
  const received: Received[] = [];
  let status = 503;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = status;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, received, answer: (s) => (status = s) };
}

describe('notifications across a restart', () => {
  const running: Served[] = [];
  let hook: Awaited<ReturnType<typeof receiver>> | undefined;
  afterAll(async () => {
    for (const s of running) await s.stop();
    hook?.server.closeAllConnections();
    hook?.server.close();
  });

  it('a delivery waiting for its retry when the service is killed is delivered by the next start, with the same id', async () => {
    hook = await receiver();
    const dir = mkdtempSync(join(tmpdir(), 'bastion-outbox-e2e-'));
    writeFileSync(join(dir, 'hook.secret'), 's3cret\n');
    const config = join(dir, 'bastion.yaml');
    writeFileSync(
      config,
      `dev: true\ndataDir: ./data\npolicies: [${JSON.stringify(NATIVE)}]\nnotifications:\n  webhooks:\n    - { name: ops, url: ${hook.url}, format: generic, secretFile: ${join(dir, 'hook.secret')}, events: [requested] }\n  retry: { attempts: 5, initialDelay: 60s, maxDelay: 60s }\n`,
    );
    const first = await serve(['--config', config]);
    running.push(first);
    const d = await request(`${first.url}/v1/decide`, 'POST', { principal: { id: 'sre-agent', groups: ['sre'] }, action: 'shell.execute', args: { command: 'systemctl restart web-1' } });
    expect(d.body['decision']).toBe('require_approval');
    const id = (d.body['approval'] as { id: string }).id;
    await eventually(() => (hook && hook.received.length >= 1 ? true : undefined), 'the first attempt', 5000);
    const delivery = hook.received[0]?.headers['x-bastion-delivery'];
    expect(delivery).toMatch(/^[0-9a-f-]{36}$/);
    // The failed attempt is on record before the crash.
    await eventually(
      async () => {
        const o = openSqliteNotificationOutbox(join(dir, 'data', 'bastion.db'));
        if (!o.ok) return undefined;
        try {
          return (await o.value.pending())[0]?.attempts === 1 ? true : undefined;
        } finally {
          await o.value.close();
        }
      },
      'the attempt to be recorded',
      5000,
    );

    // A crash while the retry waits (60 s away): nothing runs at exit.
    first.child.kill('SIGKILL');
    await first.stop();
    const outbox = openSqliteNotificationOutbox(join(dir, 'data', 'bastion.db'));
    if (!outbox.ok) throw new Error(outbox.errors[0]?.message);
    const kept = await outbox.value.pending();
    await outbox.value.close();
    expect(kept).toMatchObject([{ delivery, target: 'ops', attempts: 1, lastError: 'the receiver answered 503', event: { transition: 'requested', approval: { id } } }]);

    hook.answer(200);
    const second = await serve(['--config', config]);
    running.push(second);
    await eventually(() => (hook && hook.received.length >= 2 ? true : undefined), 'the redelivery', 5000);
    const again = hook.received[1] as Received;
    expect(again.headers['x-bastion-delivery']).toBe(delivery);
    expect(JSON.parse(again.body)).toMatchObject({ type: 'approval.requested', delivery, approval: { id, status: 'pending' } });
    const ts = String(again.headers['x-bastion-timestamp']);
    expect(again.headers['x-bastion-signature']).toBe(`v1=${createHmac('sha256', 's3cret').update(`${ts}.${again.body}`).digest('hex')}`);
    expect(Math.abs(Date.now() / 1000 - Number(ts))).toBeLessThan(60);
    expect(second.stderr()).toContain('bastion: redelivering 1 approval notification left undelivered by the previous run');

    // Delivered: the outbox is empty after a clean stop, and nothing was audited as failed.
    expect(await second.stop()).toBe(0);
    const after = openSqliteNotificationOutbox(join(dir, 'data', 'bastion.db'));
    if (!after.ok) throw new Error(after.errors[0]?.message);
    expect(await after.value.pending()).toEqual([]);
    await after.value.close();
    const reader = await openSqliteAuditReader(join(dir, 'data', 'bastion.db'));
    if (!reader.ok) throw new Error(reader.errors[0]?.message);
    const events = await reader.value.query({});
    await reader.value.close();
    expect(events.filter((e) => e.type === 'notification.failed')).toEqual([]);
    expect(hook.received).toHaveLength(2);
  });

  it('a clean stop keeps what is undelivered for the next start instead of giving it up', async () => {
    const h = await receiver();
    try {
      const dir = mkdtempSync(join(tmpdir(), 'bastion-outbox-e2e-'));
      writeFileSync(join(dir, 'hook.secret'), 'k\n');
      const config = join(dir, 'bastion.yaml');
      writeFileSync(
        config,
        `dev: true\ndataDir: ./data\npolicies: [${JSON.stringify(NATIVE)}]\nnotifications:\n  webhooks:\n    - { name: ops, url: ${h.url}, format: generic, secretFile: ${join(dir, 'hook.secret')}, events: [requested] }\n  retry: { attempts: 5, initialDelay: 60s, maxDelay: 60s }\n`,
      );
      const s = await serve(['--config', config]);
      running.push(s);
      await request(`${s.url}/v1/decide`, 'POST', { principal: { id: 'sre-agent', groups: ['sre'] }, action: 'shell.execute', args: { command: 'systemctl restart web-2' } });
      await eventually(() => (h.received.length >= 1 ? true : undefined), 'the first attempt', 5000);
      expect(await s.stop()).toBe(0);
      expect(s.stderr()).toContain('bastion: 1 approval notification not delivered yet, kept in the outbox: redelivered at the next start');
      const reader = await openSqliteAuditReader(join(dir, 'data', 'bastion.db'));
      if (!reader.ok) throw new Error(reader.errors[0]?.message);
      const events = await reader.value.query({});
      await reader.value.close();
      expect(events.filter((e) => e.type === 'notification.failed')).toEqual([]);
      const outbox = openSqliteNotificationOutbox(join(dir, 'data', 'bastion.db'));
      if (!outbox.ok) throw new Error(outbox.errors[0]?.message);
      expect(await outbox.value.pending()).toHaveLength(1);
      await outbox.value.close();
    } finally {
      h.server.closeAllConnections();
      h.server.close();
    }
  });
});
