/**
 * The HTTP server's public face: the Fastify app over a gateway, the listen helper, the one
 * error mapping and server-sent events for streamed answers.
 */

export { buildServer, isRequestInvalid, type ServerOptions } from './app.js';
export { BODY_LIMIT, errorAnswer, errorsOf, handleError, sendError, type ErrorBody, type ErrorExtras } from './errors.js';
export { listen, stopServer } from './listen.js';
export { REDACTED_HEADERS, type LogOptions } from './logging.js';
export { formatEvent, sendEvents, type SendEventsOptions, type ServerSentEvent } from './sse.js';
