/**
 * `POST /v1/hooks/claude-code`: Claude Code's `http` hook. The body is the hook input, the
 * principal the authenticated caller, the answer Claude Code's hook output, always with 200
 * once the caller is authenticated: Claude Code treats a non-2xx answer as a non-blocking
 * error (the call goes ahead unless the hook sets `onFailure: block`), so a body that does not
 * parse or an internal error is answered as a refusal in the hook's own format.
 */

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../identity/index.js';
import type { Gateway } from '../gateway/index.js';
import { claudeCodeHook, hookRefusal, type ApprovalMode } from '../hooks/index.js';
import { BastionException } from '../core/errors.js';

export interface HookRouteSettings {
  onApproval: ApprovalMode;
  waitSeconds: number;
  timeoutSeconds: number;
}

type Route = (
  method: 'POST',
  url: string,
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
  extra?: { errorHandler?: (error: unknown, request: FastifyRequest, reply: FastifyReply) => unknown },
) => void;

function eventOf(body: unknown): string {
  return typeof body === 'object' && body !== null && typeof (body as Record<string, unknown>)['hook_event_name'] === 'string'
    ? ((body as Record<string, string>)['hook_event_name'] as string)
    : 'PreToolUse';
}

/** Registers the hook routes on the server's authenticated `route` helper. */
export function registerHookRoutes(route: Route, deps: { gateway: Gateway; callers: WeakMap<FastifyRequest, Caller>; claudeCode?: HookRouteSettings }): void {
  const settings = deps.claudeCode ?? { onApproval: 'ask', waitSeconds: 120, timeoutSeconds: 30 };
  route(
    'POST',
    '/v1/hooks/claude-code',
    async (request) => {
      const principal = deps.callers.get(request)?.principal;
      if (principal === undefined) {
        return hookRefusal('no identified principal: send `Authorization: Bearer <token>` (in development mode, identity headers such as `X-Bastion-Principal-Id`)', eventOf(request.body)).output;
      }
      const answer = await claudeCodeHook(deps.gateway, request.body, { principal, ...settings });
      return answer.output;
    },
    {
      // INVARIANT: a body Bastion cannot read is a refusal in the hook's format, never a 4xx
      // that Claude Code would let through.
      errorHandler: (error, request, reply) => {
        const message = error instanceof BastionException ? (error.details[0]?.message ?? error.message) : 'internal error';
        return reply.code(200).send(hookRefusal(`cannot decide, so the call is refused: ${message}`, eventOf(request.body)).output);
      },
    },
  );
}
