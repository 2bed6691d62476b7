/**
 * Server-sent events from an async iterable, for the model-API proxies' streamed answers.
 *
 * The headers go out at once (an opening comment line is written first, so the client sees
 * the stream open before the first event is ready); each event is written as it comes; a
 * client that goes away stops the iteration (the source's `finally` runs, and the signal
 * given to a source function aborts, so an upstream request can be cancelled too); an error
 * in the middle of the stream ends it with an `error` event, never a silent cut. The error
 * event carries the same `{error: {code, message}}` as any error answer, masked the same way
 * when internal.
 */

import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorAnswer, errorsOf, type ErrorBody } from './errors.js';

/** One event. `data` is sent as it is (a string with newlines becomes several `data:` lines). */
export interface ServerSentEvent {
  data: string;
  event?: string;
  id?: string;
  /** Reconnection delay for the client, in milliseconds. */
  retry?: number;
}

export interface SendEventsOptions {
  /** The event that ends a stream that failed; default `event: error` with `{error}` as data. */
  errorEvent?: (error: ErrorBody['error']) => ServerSentEvent;
}

/** An event's wire form; field values cannot contain line breaks, so they are removed. */
export function formatEvent(e: ServerSentEvent): string {
  const field = (v: string) => v.replace(/[\r\n]/g, '');
  let out = '';
  if (e.event !== undefined) out += `event: ${field(e.event)}\n`;
  if (e.id !== undefined) out += `id: ${field(e.id)}\n`;
  if (e.retry !== undefined) out += `retry: ${Math.max(0, Math.floor(e.retry))}\n`;
  for (const line of e.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out + '\n';
}

/**
 * Streams `events` as the reply (status 200, `text/event-stream`). Pass a function to get a
 * signal that aborts when the client disconnects.
 *
 * @example return sendEvents(request, reply, async function* (signal) { for await (const chunk of upstream(signal)) yield { data: JSON.stringify(chunk) }; yield { data: '[DONE]' }; });
 */
export function sendEvents(
  request: FastifyRequest,
  reply: FastifyReply,
  events: AsyncIterable<ServerSentEvent> | ((signal: AbortSignal) => AsyncIterable<ServerSentEvent>),
  options: SendEventsOptions = {},
): FastifyReply {
  const gone = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) gone.abort();
  });
  const source = typeof events === 'function' ? events(gone.signal) : events;

  async function* frames(): AsyncGenerator<string> {
    yield ': stream open\n\n';
    try {
      for await (const e of source) {
        // INVARIANT: nothing is produced for a client that left (Readable.from stops at the next yield).
        if (gone.signal.aborted) return;
        yield formatEvent(e);
      }
    } catch (err) {
      if (gone.signal.aborted) return;
      const { error } = errorAnswer(request, errorsOf(err), err);
      yield formatEvent(options.errorEvent?.(error) ?? { event: 'error', data: JSON.stringify({ error }) });
    }
  }

  return reply
    .code(200)
    .headers({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' })
    .send(Readable.from(frames(), { objectMode: false }));
}
