/**
 * The MCP proxy: Bastion between an agent's MCP client and the MCP servers it uses, on the
 * official SDK. `bastion mcp -- <command>` serves one upstream on stdio; `bastion serve`
 * serves each configured upstream at `/mcp/<server>` over Streamable HTTP (`http.ts`). Both
 * run the same session (`session.ts`): tool integrity (`integrity.ts`: pins, rug pulls,
 * shadowing, injected descriptions), `tools/list` filtered by what policy could allow, and
 * every `tools/call` decided by `gateway.decide()` with its arguments.
 */

export { connectUpstream, DEFAULT_CALL_TIMEOUT_MS } from './upstream.js';
export type { Upstream, UpstreamSpec } from './upstream.js';
export { createToolIntegrity } from './integrity.js';
export type { RefusalKind, ToolIntegrity, ToolIntegrityOptions, ToolRefusal, ToolReview } from './integrity.js';
export { createSessionServer, INTEGRITY_POLICY, META } from './session.js';
export type { SessionOptions } from './session.js';
export { definitionHash, pinnedDefinition } from './definition.js';
export { acceptTool, serverNameFor } from './admin.js';
export { createMcpHttp } from './http.js';
export type { McpHttp, McpHttpOptions, McpHttpRequest } from './http.js';
