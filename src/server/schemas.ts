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
