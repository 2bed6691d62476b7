import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditLog } from '../../src/audit/index.js';
import { createSiemSink } from '../../src/audit/index.js';
import { openSqliteAuditLog } from '../../src/storage/index.js';

interface Receiver {
  url: string;
  bodies: string[];
  headers: Array<Record<string, unknown>>;
  requests: () => number;
  close: () => Promise<void>;
}

/** A local collector on 127.0.0.1 that answers 503 to every `failEvery`-th request. */
async function receiver(failEvery: number): Promise<Receiver> {
  const bodies: string[] = [];
  const headers: Array<Record<string, unknown>> = [];
  let count = 0;
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      count++;
      if (count % failEvery === 0) {
        res.writeHead(503).end('try later');
        return;
      }
      bodies.push(data);
      headers.push({ ...req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/collector/event`,
    bodies,
    headers,
    requests: () => count,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let dir: string;
let log: AuditLog;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bastion-siem-'));
  const opened = await openSqliteAuditLog(join(dir, 'bastion.db'), { checkpoint: { everyEvents: 100, everySeconds: 0 } });
  if (!opened.ok) throw new Error('open');
  log = opened.value;
});
afterEach(async () => {
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

async function appendN(from: number, to: number): Promise<void> {
  await Promise.all(
    Array.from({ length: to - from + 1 }, (_, i) =>
      log.append({
        type: 'decision',
        traceId: `t-${from + i}`,
        principal: { id: 'alice', groups: ['sre'] },
        action: 'jira_read',
        decision: 'allow',
        reason: 'ok',
        risk: 'low',
      }),
    ),
  );
}

describe('SIEM sink', () => {
  it('delivers every event at least once in plain-JSON batches through failures, with the latest checkpoint, and resumes after a restart', async () => {
    const rx = await receiver(3);
    await appendN(1, 450);
    const sink = createSiemSink({ log, url: rx.url, format: 'json', batchSize: 100, token: 'secret', retry: { baseMs: 5, maxMs: 20 } });
    if (!sink.ok) throw new Error('sink');
    const report = await sink.value.flush();
    expect(report).toMatchObject({ delivered: 450, batches: 5, cursor: 450 });
    expect(report.retries).toBeGreaterThan(0);
    const docs = rx.bodies.map((b) => JSON.parse(b) as { checkpoint: { size: number; signature: string }; events: Array<{ metadata: { sequence: number } }> });
    const seqs = new Set(docs.flatMap((d) => d.events.map((e) => e.metadata.sequence)));
    expect(seqs.size).toBe(450);
    expect(docs[0]?.checkpoint.size).toBe((await log.latestCheckpoint())?.size);
    expect(docs[0]?.checkpoint.signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(rx.headers[0]?.['authorization']).toBe('Bearer secret');
    await sink.value.stop();

    // A new sink (a restarted process) resumes from the persisted cursor.
    await appendN(451, 460);
    const again = createSiemSink({ log, url: rx.url, format: 'json', batchSize: 100, retry: { baseMs: 5, maxMs: 20 } });
    if (!again.ok) throw new Error('sink');
    const before = rx.bodies.length;
    expect(await again.value.cursor()).toBe(450);
    expect(await again.value.flush()).toMatchObject({ delivered: 10, cursor: 460 });
    const resent = rx.bodies.slice(before).flatMap((b) => (JSON.parse(b) as { events: Array<{ metadata: { sequence: number } }> }).events.map((e) => e.metadata.sequence));
    expect(resent).toEqual(Array.from({ length: 10 }, (_, i) => 451 + i));
    await again.value.stop();
    await rx.close();
  });

  it('sends Splunk HEC events with the checkpoint, in the background, and stops by itself', async () => {
    const rx = await receiver(2);
    await appendN(1, 120);
    await log.checkpoint('test');
    const sink = createSiemSink({ log, url: rx.url, format: 'splunk-hec', eventFormat: 'jsonl', token: 'hec-token', batchSize: 50, intervalMs: 10, retry: { baseMs: 5, maxMs: 10 } });
    if (!sink.ok) throw new Error('sink');
    sink.value.start();
    for (let i = 0; i < 200 && (await sink.value.cursor()) < 120; i++) await new Promise((r) => setTimeout(r, 10));
    await sink.value.stop();
    await rx.close();
    expect(await sink.value.cursor()).toBe(120);
    const lines = rx.bodies.flatMap((b) => b.split('\n')).map((l) => JSON.parse(l) as { sourcetype: string; time: number; event: { seq?: number; size?: number } });
    expect(new Set(lines.filter((l) => l.sourcetype === 'bastion:audit:jsonl').map((l) => l.event.seq)).size).toBe(120);
    expect(lines.some((l) => l.sourcetype === 'bastion:checkpoint' && l.event.size === 120)).toBe(true);
    expect(rx.headers[0]?.['authorization']).toBe('Splunk hec-token');
  });

  it('does not move the cursor when the receiver keeps failing, and reports why', async () => {
    const rx = await receiver(1);
    await appendN(1, 5);
    const sink = createSiemSink({ log, url: rx.url, format: 'json', retry: { baseMs: 1, maxMs: 2, maxAttempts: 3 } });
    if (!sink.ok) throw new Error('sink');
    await expect(sink.value.flush()).rejects.toThrow(/http status 503/);
    expect(await sink.value.cursor()).toBe(0);
    expect(rx.requests()).toBe(3);
    await sink.value.stop();
    await rx.close();
  });

  it('rejects a bad URL as a value', () => {
    const sink = createSiemSink({ log, url: 'ftp://x', format: 'json' });
    expect(sink.ok).toBe(false);
  });
});
