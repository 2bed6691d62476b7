/**
 * Agent CLI hooks: the answers an agent CLI's tool hooks expect, decided by the one gateway.
 * Claude Code's `PreToolUse` / `PostToolUse` (`bastion hook claude-code`, `POST
 * /v1/hooks/claude-code`). This file is the whole public face of src/hooks.
 */

export { claudeCodeHook, claudeCodeRequest, hookRefusal, ClaudeCodeHookInputSchema } from './claude-code.js';
export type { ApprovalMode, ClaudeCodeHookEvent, ClaudeCodeHookInput, ClaudeCodeHookOptions, HookAnswer } from './claude-code.js';
