/**
 * Server-sent events for the proxies to come, through test-only routes: the wire format, an
 * error in the middle of a stream ending with an error event (masked when internal), and on a
 * real socket a client that goes away stopping the iteration.
 */

import { get, type ClientRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BastionException, bastionError } from '../../src/core/errors.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { buildServer, formatEvent, listen, sendEvents, type ServerSentEvent } from '../../src/server/index.js';
import { eventually } from './serve-process.js';

const root = new URL('../..', import.meta.url).pathname;

let gateway: Gateway;
beforeAll(async () => {
  gateway = await createGateway({ policies: [join(root, 'examples/zyx')] });
});
afterAll(async () => gateway.close());

describe('formatEvent', () => {
  it.each([
    ['data only', { data: '{"a":1}' }, 'data: {"a":1}\n\n'],
    ['every field', { event: 'message', id: '7', retry: 1500, data: 'x' }, 'event: message\nid: 7\nretry: 1500\ndata: x\n\n'],
    ['multi-line data becomes several data lines', { data: 'a\nb\r\nc' }, 'data: a\ndata: b\ndata: c\n\n'],
    ['a line break cannot inject a field', { event: 'x\ndata: forged', data: 'y' }, 'event: xdata: forged\ndata: y\n\n'],
    ['empty data', { data: '' }, 'data: \n\n'],
  ])('%s', (_what, e: ServerSentEvent, wire) => {
    expect(formatEvent(e)).toBe(wire);
  });
});

describe('sendEvents (inject)', () => {
  it('streams every event after the opening comment, with the SSE headers', async () => {
    const app = await buildServer(gateway, { dev: true, startedAt: new Date() });
    app.get('/test/events', async (request, reply) =>
      sendEvents(request, reply, async function* () {
        yield { data: JSON.stringify({ delta: 'he' }) };
        yield { event: 'message', data: JSON.stringify({ delta: 'llo' }) };
        yield { data: '[DONE]' };
      }),
    );
    const r = await app.inject({ method: 'GET', url: '/test/events' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-cache, no-transform');
    expect(r.headers['x-bastion-mode']).toMatch(/NOT verified/);
    expect(r.body).toBe(': stream open\n\ndata: {"delta":"he"}\n\nevent: message\ndata: {"delta":"llo"}\n\ndata: [DONE]\n\n');
    await app.close();
  });

  it('an internal error mid-stream ends it with an error event that hides the message', async () => {
    const app = await buildServer(gateway, { dev: false, startedAt: new Date() });
    app.get('/test/events', async (request, reply) =>
      sendEvents(request, reply, async function* () {
        yield { data: 'first' };
        throw new Error('upstream socket to 10.0.0.7 reset');
      }),
    );
    const r = await app.inject({ method: 'GET', url: '/test/events' });
    const events = r.body.split('\n\n').filter(Boolean);
    expect(events.slice(0, 2)).toEqual([': stream open', 'data: first']);
    expect(events).toHaveLength(3);
    const last = events[2] as string;
    expect(last.split('\n')[0]).toBe('event: error');
    const data = JSON.parse(last.split('\n')[1]?.replace(/^data: /, '') ?? '') as { error: { code: string; message: string; id: string } };
    expect(data.error).toEqual({ code: 'INTERNAL', message: 'internal error', id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(r.body).not.toContain('10.0.0.7');
    await app.close();
  });

  it('a Bastion error mid-stream is named, in the shape the route asks for', async () => {
    const app = await buildServer(gateway, { dev: false, startedAt: new Date() });
    app.get('/test/events', async (request, reply) =>
      sendEvents(
        request,
        reply,
        (async function* () {
          yield { event: 'content_block_delta', data: '{}' };
          throw new BastionException(bastionError('AUDIT_SINK', 'upstream `https://api.example` did not answer'));
        })(),
        { errorEvent: (error) => ({ event: 'error', data: JSON.stringify({ type: 'error', error: { type: 'api_error', message: error.message, code: error.code } }) }) },
      ),
    );
    const r = await app.inject({ method: 'GET', url: '/test/events' });
    expect(r.body).toBe(
      ': stream open\n\nevent: content_block_delta\ndata: {}\n\nevent: error\ndata: {"type":"error","error":{"type":"api_error","message":"upstream `https://api.example` did not answer","code":"AUDIT_SINK"}}\n\n',
    );
    await app.close();
  });
});

describe('sendEvents (real socket)', () => {
  it('sends the headers before the first event, and a client that goes away stops the iteration and aborts the signal', async () => {
    const app = await buildServer(gateway, { dev: false, startedAt: new Date() });
    let release: () => void = () => undefined;
    const firstHeld = new Promise<void>((r) => (release = r));
    const seen = { produced: 0, stopped: false, aborted: false };
    app.get('/test/endless', async (request, reply) =>
      sendEvents(request, reply, (signal) => {
        signal.addEventListener('abort', () => (seen.aborted = true));
        return (async function* () {
          try {
            await firstHeld; // the client has the headers before any event exists
            for (let i = 0; ; i++) {
              seen.produced++;
              yield { id: String(i), data: `tick ${i}` };
              await new Promise((r) => setImmediate(r));
            }
          } finally {
            seen.stopped = true;
          }
        })();
      }),
    );
    const url = await listen(app, '127.0.0.1', 0);
    try {
      // node:http, so the test holds exactly one connection and can cut it.
      const { res, req } = await new Promise<{ res: IncomingMessage; req: ClientRequest }>((resolve, reject) => {
        const req = get(`${url}/test/endless`, (res) => resolve({ res, req }));
        req.once('error', reject);
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(seen.produced).toBe(0);
      release();
      let text = '';
      await new Promise<void>((resolve) => {
        res.on('data', (c: Buffer) => {
          text += c.toString();
          if (text.includes('data: tick 2\n\n')) resolve();
        });
      });
      expect(text.startsWith(': stream open\n\nid: 0\ndata: tick 0\n\nid: 1\ndata: tick 1\n\n')).toBe(true);
      req.destroy();
      await eventually(() => (seen.stopped && seen.aborted ? true : undefined), 'the iteration to stop');
    } finally {
      await app.close();
    }
  });
});
