/**
 * The one place that binds a port.
 */

import type { FastifyInstance } from 'fastify';

/**
 * Listens on host:port (port 0 picks a free one); resolves with the URL it answers on.
 * Rejects as Node does when the address cannot be bound (`EADDRINUSE`, `EACCES`).
 *
 * @example const url = await listen(app, '127.0.0.1', 0); // 'http://127.0.0.1:41537'
 */
export async function listen(app: FastifyInstance, host: string, port: number): Promise<string> {
  await app.listen({ host, port });
  const addr = app.server.address();
  const bound = typeof addr === 'object' && addr !== null ? addr.port : port;
  return `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
}

/**
 * Stops the server gracefully: no new connections, requests in flight finish (and are
 * audited), idle keep-alive connections close. A connection still open after `graceMs` (a
 * client that opened one and never sent a request, a stream that does not end) is cut, so a
 * SIGTERM cannot hang the process.
 *
 * @example await stopServer(app, 10_000); await gateway.close();
 */
export async function stopServer(app: FastifyInstance, graceMs: number): Promise<void> {
  const timer = setTimeout(() => app.server.closeAllConnections(), graceMs);
  timer.unref();
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
  }
}
