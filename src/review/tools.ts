/**
 * The six narrow, typed tools of the change review, and how each call becomes an action
 * request: the tool name is the action, its typed arguments are `args`, the user's principal
 * is the principal, and the context names the workflow (`change-review`, so the kill
 * switch's `disabled_workflows` applies) and the change. Nothing else is ever asked for:
 * the workflow cannot merge, deploy or touch IAM because no tool here can.
 */

import type { Decision, Principal } from '../core/types.js';
import type { Gateway } from '../gateway/index.js';
import type { ToolDecision } from './types.js';

export const WORKFLOW = 'change-review';

/** The tools in the order the workflow uses them (the seed's `REQUIRED_TOOLS`). */
export const REVIEW_TOOLS = ['jira_read', 'github_read_pr', 'confluence_read', 'aws_dev_read', 'jira_add_comment', 'slack_post_message'] as const;
export type ReviewTool = (typeof REVIEW_TOOLS)[number];

/** The arguments of each tool. The two writes carry their text only when they are called. */
export interface ToolArgs {
  jira_read: { ticket: string };
  github_read_pr: { repository: string; pull_request: string };
  confluence_read: { space: string };
  aws_dev_read: { account: string };
  jira_add_comment: { ticket: string; comment?: string };
  slack_post_message: { channel: string; message?: string };
}

/** What each tool acts on, for rules' `resources` globs. */
function resourceOf<T extends ReviewTool>(tool: T, args: ToolArgs[T]): string {
  const a = args as Record<string, string>;
  switch (tool) {
    case 'jira_read':
    case 'jira_add_comment':
      return `jira:${a['ticket']}`;
    case 'github_read_pr':
      return `github:${a['repository']}#${a['pull_request']}`;
    case 'confluence_read':
      return `confluence:${a['space']}`;
    case 'aws_dev_read':
      return `aws:${a['account']}`;
    default:
      return `slack:#${a['channel']}`;
  }
}

export interface ToolCallContext {
  principal: Principal;
  traceId: string;
  change: { ticket: string; repository: string; pull_request: string };
}

/**
 * Decides one tool call through the gateway, with the user's identity.
 *
 * @example const decision = await decideTool(gateway, 'jira_read', { ticket: 'CHG-18422' }, ctx, 'plan');
 */
export async function decideTool<T extends ReviewTool>(gateway: Gateway, tool: T, args: ToolArgs[T], ctx: ToolCallContext, phase: 'plan' | 'call'): Promise<Decision> {
  return await gateway.decide({
    principal: ctx.principal,
    action: tool,
    resource: resourceOf(tool, args),
    args: { ...args },
    context: { workflow: WORKFLOW, phase, ...ctx.change },
    traceId: ctx.traceId,
  });
}

/** A decision in the seed's `ToolDecision` shape. */
export function toolDecision(tool: string, decision: Decision): ToolDecision {
  return { tool_name: tool, allowed: decision.decision === 'allow', reason: decision.reason, approval_required: decision.decision === 'require_approval' };
}
