/**
 * Guarded tool calls for agent frameworks: the shared core (`runGuardedTool`: decide, run
 * only when allowed, answer the model with the reason otherwise, wait for approvals) and the
 * thin adapters over it, one per framework.
 */

export { guardedAction, refusalMessage, runGuardedTool } from './tool-call.js';
export type { GuardedToolResult, ToolGuardOptions } from './tool-call.js';
// Vercel AI SDK (`ai`): a ToolSet's executes.
export { guardVercelTools } from './vercel-ai.js';
export type { VercelToolLike } from './vercel-ai.js';
// LangChain.js (`@langchain/core` tools, LangGraph's ToolNode, `createAgent`).
export { guardLangChainTool, guardLangChainTools } from './langchain.js';
export type { LangChainToolLike } from './langchain.js';
// OpenAI Agents SDK (`@openai/agents`): a `tool()` definition's execute and needsApproval.
export { guardAgentTool } from './openai-agents.js';
export type { AgentToolApproval, AgentToolDefinition } from './openai-agents.js';
