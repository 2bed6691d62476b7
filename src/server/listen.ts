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
