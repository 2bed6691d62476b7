/**
 * The server's log: Fastify's pino logger as structured JSON lines, with the credentials a
 * request can carry redacted wherever a log line holds request or response headers.
 */

import type { FastifyRequest } from 'fastify';

/** Where log lines go and from which level (pino's levels: `trace` … `fatal`). */
export interface LogOptions {
  /** Default `info`. */
  level?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** A stream taking one JSON line per write, e.g. `process.stderr`. */
  stream: { write(line: string): unknown };
}

/** Header values never written to a log: bearer tokens, API keys, cookies. */
export const REDACTED_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'api-key', 'x-auth-token'] as const;

const REDACT_PATHS = [...REDACTED_HEADERS.map((h) => `req.headers["${h}"]`), ...REDACTED_HEADERS.map((h) => `headers["${h}"]`), 'res.headers["set-cookie"]'];

/** pino options for Fastify's `logger`: one line per request and answer, headers included, secrets redacted. */
export function loggerOptions(options: LogOptions): Record<string, unknown> {
  return {
    level: options.level ?? 'info',
    stream: options.stream,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: FastifyRequest) => ({ method: req.method, url: req.url, remoteAddress: req.ip, headers: { ...req.headers } }),
    },
  };
}
