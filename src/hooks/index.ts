/**
 * Agent CLI hooks: the answers an agent CLI's tool hooks expect, decided by the one gateway.
 * Claude Code's `PreToolUse` / `PostToolUse` (`bastion hook claude-code`, `POST
 * /v1/hooks/claude-code`) and Gemini CLI's `BeforeTool` / `AfterTool` (`bastion hook gemini-cli`). This file is the whole public face of src/hooks.
 */

export { claudeCodeHook, claudeCodeRequest, decideHookCall, hookRefusal, ClaudeCodeHookInputSchema } from './claude-code.js';
export { geminiCliHook, geminiCliRequest, geminiRefusal, GeminiCliHookInputSchema, GEMINI_TOOL_ACTIONS } from './gemini-cli.js';
export type { GeminiCliHookInput, GeminiCliHookOptions } from './gemini-cli.js';
export type { ApprovalMode, ClaudeCodeHookEvent, ClaudeCodeHookInput, ClaudeCodeHookOptions, HookAnswer, HookVerdict } from './claude-code.js';
