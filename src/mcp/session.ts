/**
 * One downstream MCP session: an SDK `Server` that shows the upstream's tools and gates every
 * call through the one `gateway.decide()`. What it does, in order:
 *
 * - `tools/list`: the upstream's listing → tool integrity (pins, rug pulls, shadowing,
 *   injected descriptions: `integrity.ts`) → only the tools policy could allow this principal
 *   (`couldAllow`: a tool no call of which could pass is not shown; fails closed).
 * - `tools/call`: a tool integrity refused is an error result naming why; otherwise the call is
 *   decided with its arguments as the action request `{principal, action: <tool name>, args:
 *   <arguments>, environment, context: {mcp: {server}}}` (analyzers included: a `command`
 *   argument is shell-analyzed as on `/v1/decide`). A deny is an error result (`isError`) with
 *   the reason; `require_approval` asks the user through elicitation, when the client offers
 *   it, to wait while an approver decides in Bastion's approvals (the user's answer never
 *   approves anything), else it is an error result carrying the approval id. The retry names
 *   the approval in `_meta` as `bastion/approvalId`. An allowed call's result is inspected
 *   (secrets redacted or withheld per the action's `output` mode, injection scored: an attack
 *   taints the session's trace, so flow rules act on the calls after it).
 *
 * The session's trace id ties its calls together (taint, audit).
 */

import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AuditEventInput } from '../audit/index.js';
import type { Principal } from '../core/request.js';
import type { Decision } from '../core/types.js';
import type { Gateway } from '../gateway/index.js';
import { obligedTimeoutSeconds } from '../core/obligations.js';
import { couldAllow } from '../policy/index.js';
import { redactValue } from '../scan/index.js';
import type { ToolIntegrity, ToolRefusal } from './integrity.js';
import { DEFAULT_CALL_TIMEOUT_MS, type Upstream } from './upstream.js';

/** Where a client names the approval of a retried call, and where results carry Bastion's decision. */
export const META = { approvalId: 'bastion/approvalId', decision: 'bastion/decision', traceId: 'bastion/traceId' } as const;

export interface SessionOptions {
  upstream: Upstream;
  gateway: Gateway;
  integrity: ToolIntegrity;
  /** Who calls: the configured principal (stdio) or the verified caller (HTTP). */
  principal: Principal;
  environment?: string;
  /**
   * The address that opened the session (HTTP): `context.source_ip` of a call whose request
   * does not carry its own (`extra.authInfo.extra[SOURCE_IP]`, set by the HTTP endpoint).
   */
  sourceIp?: string;
  /** How long a call held for approval waits for the approvers once the user agreed to wait; default 300 s. */
  approvalWaitSeconds?: number;
  /** The server's own name and version, as the client sees them. */
  info: { name: string; version: string };
  /** Operator messages (stderr); never the MCP stream. */
  log?: (line: string) => void;
  /**
   * Records a call refused before the gateway was asked (tool integrity, unknown tool) as a
   * `deny` decision event, so the audit query shows every refused call.
   */
  record?: (event: AuditEventInput) => Promise<void>;
}

interface Listing {
  /** The tools shown, by name. */
  visible: Map<string, Tool>;
  /** Why the others are not, by name. */
  hidden: Map<string, string>;
  refused: Map<string, ToolRefusal>;
}

/** The policy name a call refused by tool integrity is recorded under. */
export const INTEGRITY_POLICY = 'bastion/mcp-integrity';

const text = (t: string) => [{ type: 'text' as const, text: t }];

function decisionMeta(d: Decision): Record<string, unknown> {
  return {
    decision: d.decision,
    reason: d.reason,
    matched: d.matched,
    risk: d.risk,
    categories: d.categories,
    traceId: d.traceId,
    ...(d.approval ? { approval: d.approval } : {}),
  };
}

/** The key of `AuthInfo.extra` under which the HTTP endpoint passes a request's address. */
export const SOURCE_IP = 'bastionSourceIp';

/**
 * Builds the proxy server of one session (connect it to a transport).
 *
 * @example
 * const server = createSessionServer({ upstream, gateway, integrity, principal: { id: 'agent', groups: ['sre'] }, info });
 * await server.connect(new StdioServerTransport());
 */
export function createSessionServer(options: SessionOptions): Server {
  const { upstream, gateway, integrity, principal, environment, sourceIp } = options;
  const traceId = randomUUID();
  const waitSeconds = options.approvalWaitSeconds ?? 300;
  const server = new Server(options.info, { capabilities: { tools: { listChanged: true } } });
  let listing: Listing | undefined;
  let pending: Promise<Listing> | undefined;

  const list = async (): Promise<Listing> => {
    const tools = await upstream.listTools();
    const review = await integrity.review(upstream.name, tools);
    const visible = new Map<string, Tool>();
    const hidden = new Map<string, string>();
    const refused = new Map(review.refused.map((r) => [r.tool, r]));
    for (const r of review.refused) hidden.set(r.tool, r.reason);
    const killSwitch = gateway.killSwitch();
    for (const tool of review.accepted) {
      let reach: { possible: boolean; reason: string };
      try {
        reach = couldAllow(gateway.policySet, { principal, action: tool.name, ...(environment ? { environment } : {}) }, killSwitch);
      } catch (err) {
        // Fail closed: a tool whose reachability cannot be read is not shown.
        reach = { possible: false, reason: `policy could not be read for this tool: ${(err as Error).message}` };
      }
      if (reach.possible) visible.set(tool.name, tool);
      else hidden.set(tool.name, reach.reason);
    }
    return { visible, hidden, refused };
  };
  /** The latest listing; refreshed on `tools/list`, on the upstream's list_changed, and for a name it does not know. */
  const current = async (fresh: boolean): Promise<Listing> => {
    if (!fresh && listing !== undefined) return listing;
    pending ??= list().finally(() => {
      pending = undefined;
    });
    listing = await pending;
    return listing;
  };

  const off = upstream.onToolsChanged(() => {
    listing = undefined;
    server.sendToolListChanged().catch(() => undefined);
  });
  server.onclose = () => off();

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    try {
      const l = await current(true);
      return { tools: [...l.visible.values()] };
    } catch (err) {
      throw new McpError(ErrorCode.InternalError, `the upstream MCP server \`${upstream.name}\` did not list its tools: ${(err as Error).message}`);
    }
  });

  const refuse = (message: string, decision?: Decision): CallToolResult => ({
    isError: true,
    content: text(message),
    _meta: { [META.traceId]: traceId, ...(decision ? { [META.decision]: decisionMeta(decision) } : {}) },
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name } = request.params;
    const args = request.params.arguments ?? {};
    const meta = request.params._meta as Record<string, unknown> | undefined;
    const approvalId = meta?.[META.approvalId];
    if (approvalId !== undefined && (typeof approvalId !== 'string' || approvalId === '')) {
      return refuse(`Bastion refused \`${name}\`: \`_meta.${META.approvalId}\` must be a non-empty string (the approval id)`);
    }
    let l = await current(false);
    if (!l.visible.has(name) && !l.hidden.has(name)) l = await current(true);
    const refusal = l.refused.get(name) ?? (!l.visible.has(name) && !l.hidden.has(name) ? { kind: 'unknown', reason: `server \`${upstream.name}\` has no such tool` } : undefined);
    if (refusal !== undefined) {
      await options.record?.({
        type: 'decision',
        traceId,
        principal: { id: principal.id, groups: [...principal.groups] },
        action: name,
        ...(environment ? { environment } : {}),
        args: redactValue(args) as Record<string, unknown>,
        context: { mcp: { server: upstream.name } },
        decision: 'deny',
        reason: refusal.reason,
        matched: [{ policy: INTEGRITY_POLICY, rule: refusal.kind, effect: 'deny' }],
        surface: 'mcp',
      });
      return refuse(`Bastion refused \`${name}\`: ${refusal.reason}`);
    }

    const own = extra.authInfo?.extra?.[SOURCE_IP];
    const address = typeof own === 'string' ? own : sourceIp;
    const ask = (id?: string) =>
      gateway.decide({
        principal,
        action: name,
        args,
        ...(environment ? { environment } : {}),
        context: { mcp: { server: upstream.name }, ...(address !== undefined ? { source_ip: address } : {}) },
        traceId,
        ...(id ? { approvalId: id } : {}),
      });
    let decision = await ask(approvalId);
    if (decision.decision === 'require_approval' && decision.approval !== undefined) {
      const waited = await awaitApproval(name, decision, extra);
      if (waited) decision = await ask(decision.approval.id);
    }
    if (decision.decision === 'deny') return refuse(`Bastion denied \`${name}\`: ${decision.reason}`, decision);
    if (decision.decision === 'require_approval') {
      const id = decision.approval?.id;
      return refuse(
        id === undefined
          ? `Bastion holds \`${name}\` for approval: ${decision.reason}`
          : `Bastion holds \`${name}\` for approval: ${decision.reason}. Approval id: ${id}. Once an approver approves it (\`bastion approvals approve ${id}\`), call the tool again with the same arguments and \`_meta: {"${META.approvalId}": "${id}"}\`.`,
        decision,
      );
    }

    // Allowed: the decided arguments go upstream (redacted when an obligation says so).
    const redact = decision.obligations.some((o) => o.type === 'redact_arguments');
    const timeout = obligedTimeoutSeconds(decision.obligations);
    let result: CallToolResult;
    try {
      result = await upstream.callTool(
        { name, arguments: redact ? (redactValue(args) as Record<string, unknown>) : args },
        { signal: extra.signal, timeoutMs: timeout !== undefined ? Math.min(DEFAULT_CALL_TIMEOUT_MS, timeout * 1000) : DEFAULT_CALL_TIMEOUT_MS },
      );
    } catch (err) {
      if (err instanceof McpError) throw err;
      throw new McpError(ErrorCode.InternalError, `the upstream MCP server \`${upstream.name}\` failed on \`${name}\`: ${(err as Error).message}`);
    }
    return await inspect(name, result, decision);
  });

  /** Scans what the tool returned before the client sees it; an attack taints the trace. */
  const inspect = async (name: string, result: CallToolResult, decision: Decision): Promise<CallToolResult> => {
    const source = `mcp:${upstream.name}/${name}`;
    const check = async (t: string): Promise<string> => {
      const inspected = await gateway.inspectResult({ traceId, action: name, text: t, source });
      return inspected.action === 'block' ? '[withheld by Bastion: the result holds secrets]' : inspected.text;
    };
    const content: CallToolResult['content'] = [];
    for (const item of result.content ?? []) {
      if (item.type === 'text') content.push({ ...item, text: await check(item.text) });
      else if (item.type === 'resource' && 'text' in item.resource && typeof item.resource.text === 'string') {
        content.push({ ...item, resource: { ...item.resource, text: await check(item.resource.text) } });
      } else content.push(item);
    }
    const out: CallToolResult = { ...result, content, _meta: { ...(result._meta ?? {}), [META.traceId]: traceId, [META.decision]: decisionMeta(decision) } };
    if (result.structuredContent !== undefined) {
      const json = JSON.stringify(result.structuredContent);
      const inspected = await gateway.inspectResult({ traceId, action: name, text: json, source });
      if (inspected.action === 'block') delete out.structuredContent;
      else if (inspected.action === 'redact') out.structuredContent = redactValue(result.structuredContent) as Record<string, unknown>;
    }
    return out;
  };

  /**
   * Holds a call while Bastion's approvers decide. With elicitation, the user is told the
   * approval id and asked whether to wait; their answer only says whether to wait (accept)
   * or give up (decline, cancel): the approval is granted by an approver in Bastion, never by
   * this answer. Answers whether the approval reached a final state, so the call is decided again.
   */
  const awaitApproval = async (name: string, decision: Decision, extra: { signal: AbortSignal; sendNotification: (n: never) => Promise<void>; _meta?: Record<string, unknown> }): Promise<boolean> => {
    const id = decision.approval?.id;
    if (id === undefined || server.getClientCapabilities()?.elicitation === undefined) return false;
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    extra.signal.addEventListener('abort', onAbort, { once: true });
    const deadline = Date.now() + waitSeconds * 1000;
    const approval = (async (): Promise<boolean> => {
      while (!stop.signal.aborted && Date.now() < deadline) {
        const seconds = Math.max(1, Math.min(60, Math.ceil((deadline - Date.now()) / 1000)));
        const view = await gateway.approvals.wait(id, seconds, stop.signal);
        if (!view.ok) return false;
        if (view.value.status !== 'pending') return true;
      }
      return false;
    })();
    const question = server
      .elicitInput(
        {
          message: `Bastion holds the call to \`${name}\` for approval: ${decision.reason}. Approval id: ${id}. An approver must approve it in Bastion (\`bastion approvals approve ${id}\`); your answer does not approve it. Accept to wait for the approvers, decline to stop waiting.`,
          requestedSchema: { type: 'object', properties: {} },
        },
        { signal: stop.signal, timeout: waitSeconds * 1000 },
      )
      .then(
        (answer) => answer.action,
        () => 'failed' as const,
      );
    try {
      const first = await Promise.race([approval.then((final) => ({ kind: 'approval' as const, final })), question.then((action) => ({ kind: 'answer' as const, action }))]);
      if (first.kind === 'approval') return first.final;
      if (first.action !== 'accept') return false;
      return await approval;
    } finally {
      stop.abort();
      extra.signal.removeEventListener('abort', onAbort);
    }
  };

  return server;
}
