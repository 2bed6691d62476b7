/**
 * MCP over Streamable HTTP in `bastion serve`: `POST|GET|DELETE /mcp/<server>` for each
 * configured upstream. The HTTP edge (`server/`) checks `Origin` and authenticates the caller
 * before anything here runs; this part keeps the sessions: a session starts with an
 * `initialize` POST, is bound to the principal that started it (a request naming another
 * principal's session id is refused, so a leaked id is not a credential) and to its server,
 * and runs the same session as `bastion mcp` (`session.ts`) for that principal. Upstreams are
 * connected at the first session and shared by every session of the server.
 */

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { AuditEventInput } from '../audit/index.js';
import type { Principal } from '../core/request.js';
import type { Gateway } from '../gateway/index.js';
import type { ToolPinStore } from '../storage/index.js';
import { createToolIntegrity } from './integrity.js';
import { SOURCE_IP } from './session.js';
import { createSessionServer } from './session.js';
import { connectUpstream, type Upstream, type UpstreamSpec } from './upstream.js';

export interface McpHttpOptions {
  servers: Record<string, UpstreamSpec>;
  gateway: Gateway;
  pins: ToolPinStore;
  record: (event: AuditEventInput) => Promise<void>;
  version: string;
  /** At most this many open sessions (default 1000): more are refused with 503. */
  maxSessions?: number;
  approvalWaitSeconds?: number;
  log?: (line: string) => void;
}

export interface McpHttpRequest {
  server: string;
  principal: Principal;
  environment?: string;
  /** The caller's address (`request.ip`): the calls this request carries record it as `context.source_ip`. */
  sourceIp?: string;
  request: IncomingMessage;
  response: ServerResponse;
  body: unknown;
}

export interface McpHttp {
  readonly servers: readonly string[];
  /** Answers one request of `/mcp/<server>` (the caller is authenticated). */
  handle(input: McpHttpRequest): Promise<void>;
  close(): Promise<void>;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: Server;
  principalId: string;
  upstream: string;
}

function jsonRpcError(response: ServerResponse, status: number, code: number, message: string): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/**
 * @example
 * const mcp = createMcpHttp({ servers: { files: { kind: 'stdio', command: 'node', args: ['files.mjs'] } }, gateway, pins, record, version });
 */
export function createMcpHttp(options: McpHttpOptions): McpHttp {
  const { gateway } = options;
  const integrity = createToolIntegrity({ pins: options.pins, record: options.record });
  const sessions = new Map<string, Session>();
  const upstreams = new Map<string, Promise<Upstream | string>>();
  const maxSessions = options.maxSessions ?? 1000;
  let closed = false;

  /** The server's shared upstream, connected on first use and again after it went away. */
  const upstreamOf = (name: string): Promise<Upstream | string> => {
    const cached = upstreams.get(name);
    if (cached !== undefined) return cached;
    const spec = options.servers[name] as UpstreamSpec;
    const connecting = connectUpstream(name, spec, { version: options.version }).then((r) => {
      if (!r.ok) {
        upstreams.delete(name);
        return r.errors.map((e) => e.message).join('; ');
      }
      r.value.onClose(() => {
        upstreams.delete(name);
        options.log?.(`bastion: MCP server \`${name}\` closed its connection; the next session reconnects\n`);
      });
      return r.value;
    });
    upstreams.set(name, connecting);
    return connecting;
  };

  return {
    servers: Object.keys(options.servers),
    async handle({ server: name, principal, environment, sourceIp, request, response, body }) {
      if (closed) return jsonRpcError(response, 503, -32000, 'the service is stopping');
      // INVARIANT: each request's own address reaches the calls it carries (the SDK hands
      // `request.auth` to the handlers as `extra.authInfo`), not the address that opened the
      // session; whatever the client sent is replaced.
      (request as IncomingMessage & { auth?: AuthInfo }).auth = { token: '', clientId: principal.id, scopes: [], extra: sourceIp !== undefined ? { [SOURCE_IP]: sourceIp } : {} };
      const header = request.headers['mcp-session-id'];
      const sessionId = Array.isArray(header) ? header[0] : header;
      if (sessionId !== undefined) {
        const session = sessions.get(sessionId);
        if (session === undefined || session.upstream !== name) return jsonRpcError(response, 404, -32001, 'Session not found');
        // INVARIANT: a session is its principal's: a session id alone is not a credential.
        if (session.principalId !== principal.id) return jsonRpcError(response, 403, -32001, `session belongs to another principal than \`${principal.id}\``);
        return session.transport.handleRequest(request, response, body);
      }
      if (request.method !== 'POST' || !isInitializeRequest(body)) return jsonRpcError(response, 400, -32000, 'Bad Request: no valid session id (send `initialize` first, then `Mcp-Session-Id`)');
      if (sessions.size >= maxSessions) return jsonRpcError(response, 503, -32000, `too many MCP sessions are open (${maxSessions})`);
      const upstream = await upstreamOf(name);
      if (typeof upstream === 'string') return jsonRpcError(response, 502, -32000, upstream);
      const server = createSessionServer({
        upstream,
        gateway,
        integrity,
        principal,
        ...(environment !== undefined ? { environment } : {}),
        ...(sourceIp !== undefined ? { sourceIp } : {}),
        info: { name: `bastion (${name})`, version: options.version },
        ...(options.approvalWaitSeconds !== undefined ? { approvalWaitSeconds: options.approvalWaitSeconds } : {}),
        ...(options.log ? { log: options.log } : {}),
        record: options.record,
      });
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, { transport, server, principalId: principal.id, upstream: name });
        },
      });
      transport.onclose = () => {
        if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      await transport.handleRequest(request, response, body);
    },
    async close() {
      closed = true;
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.allSettled(open.map((s) => s.server.close()));
      const ups = await Promise.all([...upstreams.values()]);
      upstreams.clear();
      await Promise.allSettled(ups.map((u) => (typeof u === 'string' ? undefined : u.close())));
    },
  };
}
