/**
 * The server's log: Fastify's pino logger as structured JSON lines, with the credentials a
 * request can carry redacted wherever a log line holds request or response headers, and in
 * the query string of the logged URL (`?access_token=…`, as some clients send tokens).
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

/** Query parameters whose values are never written to a log (compared case-insensitively). */
export const REDACTED_QUERY_PARAMS = ['token', 'access_token', 'id_token', 'refresh_token', 'api_key', 'apikey', 'key', 'password', 'secret', 'client_secret', 'sig', 'signature'] as const;

const REDACTED_QUERY = new Set<string>(REDACTED_QUERY_PARAMS);

/**
 * The URL as logged: the values of credential-like query parameters replaced by `[redacted]`.
 *
 * @example redactUrl('/v1/decide?access_token=eyJ…&x=1') // '/v1/decide?access_token=[redacted]&x=1'
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const parts = url
    .slice(q + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const rawName = eq < 0 ? part : part.slice(0, eq);
      let name: string;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' ')).toLowerCase();
      } catch {
        // Not decodable: it cannot be compared, so its value is not logged either.
        return eq < 0 ? part : `${rawName}=[redacted]`;
      }
      return REDACTED_QUERY.has(name) && eq >= 0 ? `${rawName}=[redacted]` : part;
    });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}

const REDACT_PATHS = [...REDACTED_HEADERS.map((h) => `req.headers["${h}"]`), ...REDACTED_HEADERS.map((h) => `headers["${h}"]`), 'res.headers["set-cookie"]'];

/** pino options for Fastify's `logger`: one line per request and answer, headers included, secrets redacted. */
export function loggerOptions(options: LogOptions): Record<string, unknown> {
  return {
    level: options.level ?? 'info',
    stream: options.stream,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: FastifyRequest) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip, headers: { ...req.headers } }),
    },
  };
}
