/**
 * The driver of a streamed answer: reads the upstream's events, hands each to the API's
 * transform, and writes what the transform releases. Nothing reaches the agent that the
 * transform did not release: a tool call is released only once it is complete and allowed.
 *
 * The answer's headers wait for the first substantive frame (text, a released call): frames
 * that carry nothing yet (a role, `message_start`, `response.created`) are held until then.
 * So a model that answers with a forbidden call alone gets the same HTTP 403 as a plain
 * answer; once text has gone out, a refusal is an error event that ends the stream. An
 * upstream stream the proxy cannot read (bad UTF-8, bad JSON, an unknown shape, the end
 * before the API's last event) is cut off with an error event, never passed on.
 */

import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BastionException, bastionError, httpStatus } from '../core/errors.js';
import { errorsOf } from '../server/index.js';
import { type ApiKind, errorBody, errorFrame, refusalBody, refusalFrame, refusalHeaders } from './answers.js';
import type { GatedCall } from './gate.js';
import { SseReader, type UpstreamEvent } from './sse-reader.js';
import { readChunks, type UpstreamAnswer, type UpstreamSettings } from './upstream.js';

/** What a transform gives back for an event. */
export type StreamOut = { frame: string; substantive?: boolean } | { refuse: GatedCall };

export interface StreamTransform {
  push(event: UpstreamEvent): Promise<StreamOut[]>;
  /** The upstream ended: the rest, or a throw when the stream was incomplete. */
  end(): Promise<StreamOut[]>;
}

/** An error as the API's JSON body and status (internal errors masked). */
export function apiError(request: FastifyRequest, api: ApiKind, err: unknown): { status: number; body: Record<string, unknown> } {
  const errors = errorsOf(err);
  const first = errors?.[0];
  if (first === undefined || httpStatus(first.code) === 500) {
    request.log.error({ err }, 'proxy internal error');
    return { status: 500, body: errorBody(api, 'INTERNAL', 'internal error') };
  }
  return { status: httpStatus(first.code), body: errorBody(api, first.code, (errors ?? []).map((e) => e.message).join('; ')) };
}

async function* outputs(settings: UpstreamSettings, answer: UpstreamAnswer, transform: StreamTransform): AsyncGenerator<StreamOut> {
  const reader = new SseReader();
  for await (const chunk of readChunks(settings, answer)) {
    for (const e of reader.push(chunk)) yield* await transform.push(e);
  }
  reader.end();
  yield* await transform.end();
}

/**
 * Streams the answer. `headers` go on the reply whatever its outcome (the trace id).
 */
export async function runStream(
  request: FastifyRequest,
  reply: FastifyReply,
  api: ApiKind,
  settings: UpstreamSettings,
  answer: UpstreamAnswer,
  transform: StreamTransform,
  headers: Record<string, string>,
): Promise<FastifyReply> {
  const source = outputs(settings, answer, transform);
  const held: string[] = [];
  let out: PassThrough | undefined;
  try {
    for await (const o of source) {
      if ('refuse' in o) {
        if (out === undefined)
          return reply
            .code(403)
            .headers({ ...headers, ...refusalHeaders(o.refuse) })
            .type('application/json')
            .send(refusalBody(api, o.refuse));
        out.end(refusalFrame(api, o.refuse));
        return reply;
      }
      if (out === undefined) {
        if (!o.substantive) {
          held.push(o.frame);
          continue;
        }
        out = new PassThrough();
        void reply
          .code(200)
          .headers({ ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' })
          .send(out);
        const stream = out;
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) answer.controller.abort();
          stream.destroy();
        });
        for (const f of held.splice(0)) out.write(f);
      }
      out.write(o.frame);
    }
    if (out === undefined) {
      // Nothing substantive at all (an empty answer): what was held, as it came.
      out = new PassThrough();
      void reply
        .code(200)
        .headers({ ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform' })
        .send(out);
      out.end(held.join(''));
      return reply;
    }
    out.end();
    return reply;
  } catch (err) {
    await source.return(undefined);
    if (out === undefined) {
      const { status, body } = apiError(request, api, err);
      return reply.code(status).headers(headers).type('application/json').send(body);
    }
    const errors = errorsOf(err);
    const first = errors?.[0];
    if (first === undefined || httpStatus(first.code) === 500) request.log.error({ err }, 'proxy stream failed');
    const masked = first === undefined || httpStatus(first.code) === 500;
    out.end(errorFrame(api, masked ? 'INTERNAL' : first.code, masked ? 'internal error' : (errors ?? []).map((e) => e.message).join('; ')));
    return reply;
  }
}

/** A stream that does not follow its API: cut off with this error. */
export function malformed(what: string): BastionException {
  return new BastionException(bastionError('UPSTREAM_UNAVAILABLE', `the upstream stream cannot be read: ${what}; it was cut off`));
}
