/**
 * The upstream MCP server Bastion proxies, reached with the SDK's client: a command started
 * over stdio, or a Streamable HTTP URL. One connection serves every downstream session of
 * that server (calls are independent requests); the upstream's requests to its client
 * (sampling, elicitation) are not offered, so a server cannot reach the user around Bastion.
 */

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, ToolListChangedNotificationSchema, type CallToolRequest, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';

export type UpstreamSpec = { kind: 'stdio'; command: string; args: readonly string[]; env?: Record<string, string>; cwd?: string } | { kind: 'http'; url: string; headers?: Record<string, string> };

export interface Upstream {
  /** The configured name of the server (`mcp.servers.<name>`, `bastion mcp --server`). */
  readonly name: string;
  /** Every tool the server lists (all pages). */
  listTools(): Promise<Tool[]>;
  /** Calls a tool; the result is the server's, unvalidated (Bastion inspects it). */
  callTool(params: CallToolRequest['params'], options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<CallToolResult>;
  /** Told when the server says its tool list changed. */
  onToolsChanged(listener: () => void): () => void;
  /** Told once, when the connection ends (the server exited, or `close()`). */
  onClose(listener: () => void): void;
  readonly closed: boolean;
  close(): Promise<void>;
}

/** How long one upstream tool call may take unless a `timeout` obligation says less. */
export const DEFAULT_CALL_TIMEOUT_MS = 120_000;
const MAX_PAGES = 100;

/**
 * Connects to an upstream server. The child of a stdio server inherits stderr (its logs go
 * where Bastion's go, never to the MCP stdout).
 *
 * @example
 * const up = await connectUpstream('files', { kind: 'stdio', command: 'node', args: ['server.mjs'] });
 * if (up.ok) console.log((await up.value.listTools()).map((t) => t.name));
 */
export async function connectUpstream(name: string, spec: UpstreamSpec, info: { version: string }): Promise<Result<Upstream, BastionError>> {
  const client = new Client({ name: 'bastion', version: info.version }, { capabilities: {} });
  const transport =
    spec.kind === 'stdio'
      ? new StdioClientTransport({ command: spec.command, args: [...spec.args], stderr: 'inherit', ...(spec.env ? { env: spec.env } : {}), ...(spec.cwd ? { cwd: spec.cwd } : {}) })
      : new StreamableHTTPClientTransport(new URL(spec.url), spec.headers ? { requestInit: { headers: spec.headers } } : {});
  const where = spec.kind === 'stdio' ? `command ${quote([spec.command, ...spec.args].join(' '))}` : `URL ${quote(spec.url)}`;
  const changed = new Set<() => void>();
  const closers: (() => void)[] = [];
  let closed = false;
  client.onclose = () => {
    if (closed) return;
    closed = true;
    for (const c of closers) c();
  };
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    for (const l of changed) l();
  });
  try {
    await client.connect(transport);
  } catch (err) {
    await client.close().catch(() => undefined);
    return fail(bastionError('MCP_UPSTREAM', `MCP server ${quote(name)} (${where}) did not start: ${(err as Error).message.split('\n')[0]}`));
  }
  if (client.getServerCapabilities()?.tools === undefined) {
    await client.close().catch(() => undefined);
    return fail(bastionError('MCP_UPSTREAM', `MCP server ${quote(name)} (${where}) offers no tools: Bastion proxies tools only`));
  }
  const upstream: Upstream = {
    name,
    async listTools() {
      const tools: Tool[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const listed = await client.listTools(cursor === undefined ? {} : { cursor });
        tools.push(...listed.tools);
        cursor = listed.nextCursor;
        if (cursor === undefined) return tools;
      }
      throw new Error(`MCP server ${quote(name)} lists more than ${MAX_PAGES} pages of tools`);
    },
    async callTool(params, options = {}) {
      return (await client.request({ method: 'tools/call', params }, CallToolResultSchema, {
        timeout: options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
        ...(options.signal ? { signal: options.signal } : {}),
      })) as CallToolResult;
    },
    onToolsChanged(listener) {
      changed.add(listener);
      return () => changed.delete(listener);
    },
    onClose(listener) {
      if (closed) listener();
      else closers.push(listener);
    },
    get closed() {
      return closed;
    },
    async close() {
      await client.close().catch(() => undefined);
    },
  };
  return ok(upstream);
}
