/**
 * The one place an error becomes an HTTP answer. Every error answer has the body
 * `{error: {code, message, …}}` and the status `ERROR_CODES[code].status`; nothing else in
 * the server picks a status for an error.
 *
 * Fastify's own errors (body too large, content type, content length, bad URL, schema
 * validation) are mapped to Bastion codes here. An error whose status is 500 is answered as
 * `{error: {code: 'INTERNAL', message: 'internal error', id}}`: the real error goes to the
 * log under that id, never into the response.
 */

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BastionException, bastionError, httpStatus, quote, type BastionError } from '../core/errors.js';

/** The body limit of every route: 1 MiB. */
export const BODY_LIMIT = 1024 * 1024;

/** Extra members of an error answer's `error` object, or of the body beside it (`decision`). */
export interface ErrorExtras {
  /** Members beside `error` in the body, e.g. the invalid request's `decision`. */
  body?: Record<string, unknown>;
  /** Response headers, e.g. `allow` on a 405. */
  headers?: Record<string, string>;
}

/** The body of an error answer. */
export interface ErrorBody {
  error: { code: string; message: string; fields?: string[]; reason?: string; id?: string };
  [member: string]: unknown;
}

/**
 * The status and `error` member for `errors` (at least one): the status from the first
 * error's code, the messages joined with `; `, the named fields listed. An error whose status
 * is 500 is logged with `raw` (what was thrown, if anything) and masked.
 */
/** Codes answered 503 with a fixed message (what failed stays in the log): the caller may retry elsewhere. */
const UNAVAILABLE: Partial<Record<string, string>> = {
  AUDIT_UNAVAILABLE: 'the audit log cannot record right now, so nothing was decided; retry (another replica may be able to)',
  STATE_UNAVAILABLE: 'a state store cannot reach its server right now, so nothing was decided; retry (another replica may be able to)',
};

export function errorAnswer(request: FastifyRequest, errors: readonly BastionError[] | undefined, raw?: unknown): { status: number; error: ErrorBody['error'] } {
  const first = errors?.[0];
  if (errors === undefined || first === undefined || httpStatus(first.code) === 500) {
    // INVARIANT: a 500 never carries the real message (paths, driver text, stack fragments).
    request.log.error({ ...(raw !== undefined ? { err: raw } : {}), ...(errors !== undefined ? { errors } : {}), errorId: request.id }, 'internal error');
    return { status: 500, error: { code: 'INTERNAL', message: 'internal error', id: request.id } };
  }
  const unavailable = UNAVAILABLE[first.code];
  if (unavailable !== undefined) {
    // INVARIANT: as a 500, the store's own words (a database host, driver text) stay in the log.
    request.log.error({ ...(raw !== undefined ? { err: raw } : {}), errors, errorId: request.id }, 'store unavailable');
    return { status: 503, error: { code: first.code, message: unavailable, id: request.id } };
  }
  const fields = errors.flatMap((e) => (e.field !== undefined ? [e.field] : []));
  const error: ErrorBody['error'] = { code: first.code, message: errors.map((e) => e.message).join('; ') };
  if (fields.length > 0) error.fields = fields;
  if (first.reason !== undefined) error.reason = first.reason;
  return { status: httpStatus(first.code), error };
}

/**
 * Answers with `errors` (at least one), mapped by `errorAnswer`.
 *
 * @example return sendError(request, reply, [bastionError('NOT_FOUND', 'no route for `GET /x`')]);
 */
export function sendError(request: FastifyRequest, reply: FastifyReply, errors: readonly BastionError[], extras: ErrorExtras = {}): FastifyReply {
  const { status, error } = errorAnswer(request, errors);
  if (extras.headers) void reply.headers(extras.headers);
  const body: ErrorBody = status === 500 ? { error } : { error, ...extras.body };
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}
/**
 * The Bastion errors for anything thrown by a handler or by Fastify itself. `undefined` for
 * an error that is not ours to describe (it is logged and answered as `INTERNAL`).
 */
export function errorsOf(err: unknown): BastionError[] | undefined {
  if (err instanceof BastionException) return err.details.length > 0 ? err.details : [bastionError(err.code, err.message)];
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as Partial<FastifyError> & { validation?: { instancePath?: string; message?: string }[]; validationContext?: string };
  if (Array.isArray(e.validation)) {
    const where = e.validationContext ?? 'request';
    return e.validation.map((v) => {
      const field = (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
      return field === ''
        ? bastionError('REQUEST_INVALID', `${where}: ${v.message ?? 'is invalid'}`)
        : bastionError('REQUEST_INVALID', `${where}: field ${quote(field)}: ${v.message ?? 'is invalid'}`, { field });
    });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return [bastionError('REQUEST_TOO_LARGE', `request body is larger than ${BODY_LIMIT} bytes`)];
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return [bastionError('UNSUPPORTED_MEDIA_TYPE', 'request body must be sent as `application/json`')];
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return [bastionError('REQUEST_INVALID', 'request body size does not match its content-length')];
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return [bastionError('REQUEST_INVALID', 'request body is empty')];
    case 'FST_ERR_BAD_URL':
      return [bastionError('REQUEST_INVALID', 'request url is not valid percent-encoding')];
    default:
      break;
  }
  // Another client error Fastify raised (it sets `statusCode`): a 400 without its wording,
  // which does not follow Bastion's grammar and may change between versions.
  if (typeof e.code === 'string' && e.code.startsWith('FST_') && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return [bastionError('REQUEST_INVALID', 'request is malformed')];
  }
  return undefined;
}

/**
 * Fastify's error handler: the only handler, for errors thrown by routes and hooks and for
 * Fastify's own. Unknown errors are internal: logged in full, answered without detail.
 */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, error } = errorAnswer(request, errorsOf(err), err);
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({ error } satisfies ErrorBody);
}
