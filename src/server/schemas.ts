/**
 * The route schemas: one Zod schema per body shape, and the JSON Schemas derived from them
 * (`z.toJSONSchema`) that each route carries in its Fastify `schema` for `/openapi.json`.
 * Zod stays the validator: routes read their bodies with these schemas (or `validateRequest`),
 * and Fastify compiles nothing from the JSON Schemas (see `DOCUMENTATION_ONLY` in `app.ts`).
 */

import * as z from 'zod';
import { ActionRequestSchema } from '../core/request.js';
import { jsonObjectSchema, strictObject } from '../core/schema.js';

/** At most this many action requests in one `POST /v1/decide/batch`. */
export const MAX_BATCH = 100;

/** `POST /v1/decide/batch`'s envelope; each request in it is validated as `/v1/decide` validates its body. */
export const DecideBatchSchema = strictObject(
  {
    requests: z
      .array(z.unknown(), { error: (iss) => (iss.input === undefined ? 'is required: a list of action requests' : 'must be a list of action requests') })
      .max(MAX_BATCH, { error: `must hold at most ${MAX_BATCH} action requests (send more batches)` }),
  },
  { what: 'in a batch', notObject: 'a batch must be a JSON object `{"requests": [...]}`' },
);

/** A JSON Schema (2020-12, as OpenAPI 3.1 takes it) for a Zod schema, as a caller writes its input. */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', override: jsonObjectSchema }) as Record<string, unknown>;
  delete out['$schema'];
  return out;
}

const actionRequest = jsonSchema(ActionRequestSchema);

/** The decision object every decide route answers (hand-written: `Decision` is a TypeScript type, not a schema). */
const decision = {
  type: 'object',
  required: ['decision', 'reason', 'matched', 'risk', 'categories', 'obligations', 'errors', 'policyVersion', 'traceId'],
  properties: {
    decision: { type: 'string', enum: ['allow', 'deny', 'require_approval'] },
    reason: { type: 'string' },
    matched: { type: 'array', items: { type: 'object', properties: { policy: { type: 'string' }, rule: { type: 'string' }, effect: { type: 'string' } } } },
    risk: { type: 'string', enum: ['low', 'medium', 'high', 'critical'] },
    categories: { type: 'array', items: { type: 'string' } },
    obligations: { type: 'array', items: { type: 'object' } },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { policy: { type: 'string' }, rule: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } },
    },
    policyVersion: { type: 'string' },
    traceId: { type: 'string' },
    approval: { type: 'object', properties: { id: { type: 'string' }, status: { type: 'string' } } },
  },
} as const;

/** Every error answer: `{error: {code, message, fields?, id?}}`. */
const errorBody = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, fields: { type: 'array', items: { type: 'string' } }, id: { type: 'string' } },
    },
  },
} as const;

const batchItem = z.toJSONSchema(z.object({ requests: z.array(ActionRequestSchema).max(MAX_BATCH) }), { io: 'input', unrepresentable: 'any', override: jsonObjectSchema }) as Record<string, unknown>;
delete batchItem['$schema'];

/** The documentation-only `schema` of each route (Fastify's route option) by `METHOD /path`, read by `/openapi.json`. */
export const ROUTE_SCHEMAS = {
  'POST /mcp/:server': {
    summary: 'MCP over Streamable HTTP: a JSON-RPC message to the configured MCP server `server`',
    description:
      'Authenticated like `/v1/*`; an `Origin` not in `mcp.allowedOrigins` is refused (403). `initialize` starts a session bound to the caller (`Mcp-Session-Id`); `tools/list` shows the tools policy could allow, `tools/call` is decided by the gateway.',
    tags: ['mcp'],
  },
  'GET /mcp/:server': { summary: 'MCP over Streamable HTTP: the server-to-client SSE stream of a session', tags: ['mcp'] },
  'DELETE /mcp/:server': { summary: 'MCP over Streamable HTTP: ends a session', tags: ['mcp'] },
  'GET /health': {
    summary: 'Readiness: policies, stores and the audit log usable',
    description: '200 `{"status":"ok",…}` when every check passes; 503 `{"status":"degraded","failed":[…]}` naming what did not.',
    tags: ['operations'],
    response: {
      200: { type: 'object', properties: { status: { const: 'ok' } } },
      503: { type: 'object', properties: { status: { const: 'degraded' }, failed: { type: 'array', items: { type: 'string' } } } },
    },
  },
  'GET /metrics': {
    summary: 'Prometheus metrics (text exposition format)',
    tags: ['operations'],
    response: { 200: { description: 'text/plain; version=0.0.4', type: 'string' } },
  },
  'GET /openapi.json': { summary: 'This OpenAPI 3.1 document', tags: ['operations'], response: { 200: { type: 'object' } } },
  'POST /review-change': {
    summary: 'Review a change (the ZYX workflow): ticket, pull request, standards, account; Jira comment and Slack summary',
    description:
      'The ZYX seed\'s endpoint and answers: 200 the review; 401 `{detail: "missing user identity"}`; 403 `{detail: {message, denied[{tool_name, allowed, reason, approval_required}], trace_id}}`; 400 `{detail}` when retrieved context carries prompt injection; 422 a malformed body.',
    tags: ['change review'],
    body: {
      type: 'object',
      required: ['ticket', 'repository', 'pull_request'],
      additionalProperties: false,
      properties: { ticket: { type: 'string', examples: ['CHG-18422'] }, repository: { type: 'string', examples: ['platform-infra'] }, pull_request: { type: 'string', examples: ['991'] } },
    },
    response: {
      200: {
        type: 'object',
        required: ['ticket', 'repository', 'pull_request', 'risk_rating', 'findings', 'required_approvals', 'recommended_remediation', 'tools_used', 'audit_trace_id'],
        properties: {
          ticket: { type: 'string' },
          repository: { type: 'string' },
          pull_request: { type: 'string' },
          risk_rating: { enum: ['Low', 'Medium', 'High', 'Critical'] },
          findings: { type: 'array', items: { type: 'string' } },
          required_approvals: { type: 'array', items: { type: 'string' } },
          recommended_remediation: { type: 'array', items: { type: 'string' } },
          tools_used: { type: 'array', items: { type: 'string' } },
          audit_trace_id: { type: 'string', pattern: '^ai-[0-9]{8}-[0-9a-f]{12}$' },
        },
      },
      400: { type: 'object', properties: { detail: { type: 'string' } } },
      401: { type: 'object', properties: { detail: { type: 'string' } } },
      403: { type: 'object', properties: { detail: { type: 'object' } } },
    },
  },
  'POST /v1/decide': {
    summary: 'Decide one action request',
    tags: ['decisions'],
    body: actionRequest,
    response: { 200: decision, 400: { ...errorBody, properties: { ...errorBody.properties, decision } }, 401: errorBody, 413: errorBody, 415: errorBody },
  },
  'POST /v1/decide/batch': {
    summary: `Decide up to ${MAX_BATCH} action requests, in order`,
    description: 'Each request is decided and audited as `POST /v1/decide` would; an invalid one is a deny naming its index in `errors`. The whole batch is a 400 only when the envelope is malformed.',
    tags: ['decisions'],
    body: batchItem,
    response: {
      200: {
        type: 'object',
        required: ['decisions'],
        properties: {
          decisions: { type: 'array', items: decision },
          errors: {
            type: 'array',
            items: { type: 'object', properties: { index: { type: 'integer' }, code: { type: 'string' }, message: { type: 'string' }, fields: { type: 'array', items: { type: 'string' } } } },
          },
        },
      },
      400: errorBody,
      401: errorBody,
      413: errorBody,
      415: errorBody,
    },
  },
  'POST /v1/hooks/claude-code': {
    summary: 'A Claude Code `http` hook (PreToolUse / PostToolUse): the hook input in, the hook answer out',
    description:
      "The body is the JSON Claude Code sends; the principal is the authenticated caller. Always 200 with Claude Code's answer once authenticated, a refusal included (`permissionDecision: deny`, or `decision: block` for PostToolUse): Claude Code lets a call through on a non-2xx answer unless the hook has `onFailure: block`.",
    tags: ['hooks'],
    body: { type: 'object', required: ['hook_event_name', 'session_id', 'tool_name', 'tool_input'] },
    response: { 200: { type: 'object' }, 401: errorBody },
  },
  'GET /v1/kill-switch': { summary: 'The kill-switch state', tags: ['kill switch'], response: { 200: { type: 'object' }, 401: errorBody } },
  'PUT /v1/kill-switch': {
    summary: 'Change the kill switch (fields left out keep their value)',
    tags: ['kill switch'],
    body: {
      type: 'object',
      additionalProperties: false,
      properties: {
        all_write_tools_disabled: { type: 'boolean' },
        read_only_mode: { type: 'boolean' },
        disabled_connectors: { type: 'array', items: { type: 'string' } },
        disabled_users: { type: 'array', items: { type: 'string' } },
        disabled_workflows: { type: 'array', items: { type: 'string' } },
        reason: { type: 'string' },
      },
    },
    response: { 200: { type: 'object' }, 400: errorBody, 401: errorBody, 403: errorBody },
  },
  'GET /v1/approvals': {
    summary: 'Approvals, oldest first, one page at a time',
    tags: ['approvals'],
    querystring: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['pending', 'approved', 'denied', 'expired', 'consumed', 'cancelled'] },
        requester: { type: 'string' },
        cursor: { type: 'string' },
        limit: { type: 'integer', minimum: 1, maximum: 1000 },
      },
    },
    response: { 200: { type: 'object', properties: { records: { type: 'array' }, nextCursor: { type: 'string' } } }, 400: errorBody, 401: errorBody },
  },
  'GET /v1/approvals/:id': {
    summary: 'One approval; `?wait=SECONDS` (at most 60) answers when it changes or at the deadline',
    tags: ['approvals'],
    querystring: { type: 'object', properties: { wait: { type: 'integer', minimum: 0, maximum: 60 } } },
    response: { 200: { type: 'object' }, 400: errorBody, 401: errorBody, 404: errorBody },
  },
  'POST /v1/approvals/:id/approve': {
    summary: 'Approve (the approver is the caller; not the requester; in an approver group)',
    tags: ['approvals'],
    body: { type: 'object', properties: { comment: { type: 'string' }, evidence: { type: 'object' } } },
    response: { 200: { type: 'object' }, 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody },
  },
  'POST /v1/approvals/:id/deny': {
    summary: 'Deny (one deny ends the approval)',
    tags: ['approvals'],
    body: { type: 'object', properties: { comment: { type: 'string' } } },
    response: { 200: { type: 'object' }, 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody },
  },
  'POST /v1/approvals/:id/cancel': {
    summary: 'Cancel (the requester only)',
    tags: ['approvals'],
    body: { type: 'object', properties: { comment: { type: 'string' } } },
    response: { 200: { type: 'object' }, 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody },
  },
  'POST /v1/chat/completions': {
    summary: 'OpenAI Chat Completions through the model-API proxy (plain and `stream: true`)',
    description:
      'Forwarded to the upstream (`--upstream`); every tool call in the answer is decided for the caller first. A refused call answers 403 `{"error": {"type": "governance_denied" | "approval_required", "message", "decision", "approval_id"?}}`; retry a held call with header `X-Bastion-Approval-Id`. Every answer carries `X-Bastion-Trace-Id`.',
    tags: ['model proxy'],
    body: { type: 'object', description: 'a Chat Completions request' },
    response: { 200: { type: 'object' }, 400: errorBody, 401: errorBody, 403: { type: 'object' }, 502: { type: 'object' }, 503: { type: 'object' }, 504: { type: 'object' } },
  },
  'POST /v1/responses': {
    summary: 'OpenAI Responses through the model-API proxy (plain and `stream: true`)',
    description: 'As `POST /v1/chat/completions`, for the Responses API: every output item the agent would execute is decided first.',
    tags: ['model proxy'],
    body: { type: 'object', description: 'a Responses request' },
    response: { 200: { type: 'object' }, 400: errorBody, 401: errorBody, 403: { type: 'object' }, 502: { type: 'object' }, 503: { type: 'object' }, 504: { type: 'object' } },
  },
  'POST /v1/messages': {
    summary: 'Anthropic Messages through the model-API proxy (plain and `stream: true`)',
    description:
      'Forwarded with the upstream key as `x-api-key`; every `tool_use` block is decided first. A refused call answers 403 `{"type": "error", "error": {"type": "governance_denied" | "approval_required", "message"}, "decision"}`.',
    tags: ['model proxy'],
    body: { type: 'object', description: 'a Messages request' },
    response: { 200: { type: 'object' }, 400: errorBody, 401: errorBody, 403: { type: 'object' }, 502: { type: 'object' }, 503: { type: 'object' }, 504: { type: 'object' } },
  },
  'GET /v1/models': {
    summary: "The upstream's model list, through the model-API proxy",
    tags: ['model proxy'],
    response: { 200: { type: 'object' }, 401: errorBody, 502: { type: 'object' }, 503: { type: 'object' } },
  },
  'GET /v1/audit/public-key': { summary: "The audit log's Ed25519 public key (PEM)", tags: ['audit'], response: { 200: { type: 'string' }, 404: errorBody } },
  'GET /v1/audit/checkpoints': {
    summary: 'Signed checkpoints of the audit log, for external witnesses',
    tags: ['audit'],
    querystring: { type: 'object', properties: { since: { type: 'integer', minimum: 0, description: 'only checkpoints of a larger log size' } } },
    response: { 200: { type: 'object', properties: { logId: { type: 'string' }, checkpoints: { type: 'array' } } }, 400: errorBody, 404: errorBody },
  },
} as const;

/** A route's documentation-only schema, as `/openapi.json` reads it. */
export interface RouteSchema {
  summary?: string;
  description?: string;
  tags?: readonly string[];
  body?: unknown;
  querystring?: unknown;
  response?: Record<number, unknown>;
}
