/**
 * Bastion over the Vercel AI SDK's tools (`ai`, v6 and v7): every tool of a `ToolSet` that the
 * SDK runs itself (the ones with an `execute`) is decided by the gateway before it runs.
 *
 * A refused call does not throw: its result is the refusal's text (`Bastion denied
 * \`shell.execute\`: <reason>. The call did not run.`), which the SDK hands back to the model
 * as the tool's output, so the model reads why and can answer or try something else. A call
 * that needs an approval waits for one (`approval.waitSeconds`) or answers that it is pending.
 *
 * Typed by shape, not imported: `ai` stays the caller's dependency, whatever its version.
 */

import { guardedAction, runGuardedTool, type ToolGuardOptions } from './tool-call.js';

/** What the adapter reads of one tool: its optional `execute(input, options)`; the rest is kept as it is. */
export interface VercelToolLike {
  inputSchema?: unknown;
  execute?: ((input: never, options: never) => unknown) | undefined;
}

type Execute = (input: unknown, options: unknown) => unknown;

/**
 * Guards every tool of a Vercel AI SDK `ToolSet` that has an `execute`: each call is decided
 * as `options.action` (default the tool's name) and runs, with the decided (frozen, audited)
 * arguments, only when allowed. A refused call's result is the refusal message (a string,
 * whatever the tool's declared output type), so the model reads why the call did not run.
 * Tools without `execute` (the caller runs them) are returned as they are; every other
 * property of a tool (`description`, `inputSchema`, `needsApproval`, …) is kept.
 *
 * An `async function*` execute (preliminary results) stays a generator: the call is decided
 * before its first result.
 *
 * @example const result = await generateText({ model, tools: guardVercelTools({ gateway, request: { principal } }, { run_shell }), prompt, stopWhen: stepCountIs(3) });
 */
export function guardVercelTools<T extends Record<string, VercelToolLike>>(options: ToolGuardOptions, tools: T): T {
  const guarded: Record<string, unknown> = {};
  for (const [name, tool] of Object.entries(tools)) {
    const original = tool.execute as Execute | undefined;
    guarded[name] = typeof original === 'function' ? { ...tool, execute: guardExecute(options, guardedAction(options, name), original) } : tool;
  }
  return guarded as T;
}

function guardExecute(options: ToolGuardOptions, action: string, original: Execute): Execute {
  const run = async (input: unknown, execOptions: unknown) => {
    const wrapped = !isRecord(input);
    const args = wrapped ? { input } : input;
    return runGuardedTool(options, action, (decided: Record<string, unknown>) => original(wrapped ? decided['input'] : decided, execOptions), args);
  };
  if (isAsyncGeneratorFunction(original)) {
    return async function* (input: unknown, execOptions: unknown) {
      const result = await run(input, execOptions);
      if (result.ran) yield* result.value as AsyncIterable<unknown>;
      else yield result.message;
    };
  }
  return async (input: unknown, execOptions: unknown) => {
    const result = await run(input, execOptions);
    return result.ran ? result.value : result.message;
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAsyncGeneratorFunction(fn: unknown): boolean {
  return typeof fn === 'function' && Object.prototype.toString.call(fn) === '[object AsyncGeneratorFunction]';
}
