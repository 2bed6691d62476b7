/**
 * The HTTP server's public face: the Fastify app over a gateway, the listen helper, the one
 * error mapping, server-sent events for streamed answers, `/health` probes, the route schemas
 * and the OpenAPI document generated from them.
 */

export { buildServer, isRequestInvalid, type Method, type ServerOptions, type ServerRoutes } from './app.js';
export { BODY_LIMIT, errorAnswer, errorsOf, handleError, sendError, type ErrorBody, type ErrorExtras } from './errors.js';
export { listen, stopServer } from './listen.js';
export { REDACTED_HEADERS, REDACTED_QUERY_PARAMS, redactUrl, type LogOptions } from './logging.js';
export { formatEvent, sendEvents, type SendEventsOptions, type ServerSentEvent } from './sse.js';
export { PROBE_TIMEOUT_MS, runProbes, type HealthProbe, type ProbeOutcome } from './health.js';
export { openApiDocument, type DocumentedRoute } from './openapi.js';
export { DecideBatchSchema, jsonSchema, MAX_BATCH, ROUTE_SCHEMAS, type RouteSchema } from './schemas.js';
