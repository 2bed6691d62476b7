/**
 * The one place that binds a port: serves the app over node:http.
 */

import { createServer, type Server } from 'node:http';
import { decodeUtf8 } from '../core/request-json.js';
import type { AppRequest, AppResponse } from './app.js';

const MAX_BODY = 2 * 1024 * 1024;

/** Listens on host:port (port 0 picks a free one); resolves with the server and its address. */
export function listen(app: (req: AppRequest) => Promise<AppResponse>, host: string, port: number): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        res.writeHead(413, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'REQUEST_INVALID', message: 'request body is too large' } }) + '\n');
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      // Strict UTF-8: a silent U+FFFD replacement is a parser differential.
      const body = decodeUtf8(Buffer.concat(chunks), 'request body');
      if (!body.ok) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'REQUEST_INVALID', message: body.errors[0]?.message } }) + '\n');
        return;
      }
      app({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: body.value })
        .then((r) => res.writeHead(r.status, r.headers).end(r.body))
        .catch((err: unknown) => {
          // Fail closed: an unexpected error is a 500, never an allow.
          res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'INTERNAL', message: (err as Error).message } }) + '\n');
        });
    });
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      const p = typeof addr === 'object' && addr ? addr.port : port;
      resolvePromise({ server, url: `http://${host.includes(':') ? `[${host}]` : host}:${p}` });
    });
  });
}
