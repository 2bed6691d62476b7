/**
 * Bastion over LangChain.js tools (`@langchain/core` `StructuredTool`, `DynamicStructuredTool`,
 * what `tool()` builds, v0.3 and v1): each call is decided by the gateway after LangChain has
 * parsed its input against the tool's schema and before the tool's own function runs.
 *
 * The guarded tool is the original one with its `_call` step guarded (an object whose
 * prototype is the tool), so everything else is LangChain's own: `invoke`, schema parsing,
 * callbacks and tracing, and the output, a `ToolMessage` when invoked with a tool call (as
 * LangGraph's `ToolNode` and `createAgent` do). A refused call does not throw: its output is
 * the refusal's text (`Bastion denied \`shell.execute\`: <reason>. The call did not run.`),
 * so the model reads why.
 *
 * Typed by shape, not imported: `@langchain/core` stays the caller's dependency.
 */

import { guardedAction, runGuardedTool, type ToolGuardOptions } from './tool-call.js';

/** What the adapter needs of a LangChain tool (`StructuredTool` and its subclasses have it). */
export interface LangChainToolLike {
  name: string;
  invoke(input: never, config?: never): Promise<unknown>;
}

/** `StructuredTool`'s step between parsing the input and formatting the output. */
type Call = (arg: unknown, runManager?: unknown, parentConfig?: unknown) => unknown;

/**
 * Guards one LangChain tool: `tool.invoke(input | toolCall, config)` is decided as
 * `options.action` (default the tool's name) with the parsed arguments, and the tool runs
 * with the decided (frozen, audited) copy only when allowed. A refused call's output is the
 * refusal message (in a `ToolMessage` when invoked with a tool call). The original tool is
 * not changed; the returned one has the same name, description, schema and settings.
 *
 * @example const guarded = guardLangChainTool({ gateway, request: { principal } }, runShell); await guarded.invoke({ type: 'tool_call', id: 'call_1', name: 'run_shell', args: { command: 'df -h' } });
 */
export function guardLangChainTool<T extends LangChainToolLike>(options: ToolGuardOptions, tool: T): T {
  const original = (tool as unknown as { _call?: unknown })._call;
  if (typeof original !== 'function') throw new TypeError(`guardLangChainTool: ${String(tool.name)} is not a LangChain StructuredTool (it has no _call)`);
  const call = original as Call;
  const action = guardedAction(options, tool.name);
  const guarded = Object.create(tool) as T;
  const guardedCall: Call = async (arg, runManager, parentConfig) => {
    const wrapped = !isRecord(arg);
    const args = wrapped ? { input: arg } : arg;
    const result = await runGuardedTool(options, action, (decided: Record<string, unknown>) => call.call(tool, wrapped ? decided['input'] : decided, runManager, parentConfig), args);
    if (result.ran) return result.value;
    // A `content_and_artifact` tool answers a (content, artifact) pair.
    return (tool as unknown as { responseFormat?: string }).responseFormat === 'content_and_artifact' ? [result.message, undefined] : result.message;
  };
  Object.defineProperty(guarded, '_call', { value: guardedCall, writable: true, configurable: true, enumerable: false });
  return guarded;
}

/** Guards each tool of a list (`guardLangChainTool`), in order; each keeps its own type. */
export function guardLangChainTools<const T extends readonly LangChainToolLike[]>(options: ToolGuardOptions, tools: T): { -readonly [K in keyof T]: T[K] } {
  return tools.map((tool) => guardLangChainTool(options, tool)) as { -readonly [K in keyof T]: T[K] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
