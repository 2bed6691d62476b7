/**
 * The model-API proxy: OpenAI Chat Completions and Responses, Anthropic Messages, each plain
 * and streamed, and `GET /v1/models`, forwarded to the upstream provider in front of which
 * Bastion stands. Registered into the service's routes (`ServerOptions.extensions`), so the
 * agent authenticates to Bastion as on every `/v1` route; the provider key lives only here
 * and the agent's own `Authorization` is never passed on.
 *
 *   request → identity (the route helper) → trace → tool results inspected (taint, redaction)
 *           → upstream → every tool call decided (`gateway.decide`) → released or refused
 *           → usage spent from the caller's budgets
 *
 * Every answer carries `X-Bastion-Trace-Id`. See `gate.ts` (what is decided), `answers.ts`
 * (the refusals' shapes), `stream.ts` (what a stream releases, and when), `conversation.ts`
 * (traces and tool results).
 */

import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BastionException, bastionError, quote } from '../core/errors.js';
import { isPlainObject } from '../core/schema.js';
import type { Gateway } from '../gateway/index.js';
import { contextFromHeaders } from '../identity/index.js';
import type { ServerRoutes } from '../server/index.js';
import type { Adapter, Gate } from './adapter.js';
import { APPROVAL_HEADER, type ApiKind, refusalBody, refusalHeaders, TRACE_HEADER } from './answers.js';
import { chatAdapter } from './chat.js';
import { Conversations } from './conversation.js';
import { decideCalls, type CallerContext } from './gate.js';
import { messagesAdapter } from './messages.js';
import { responsesAdapter } from './responses.js';
import { apiError, runStream } from './stream.js';
import { callUpstream, readBody, type UpstreamSettings } from './upstream.js';

export { APPROVAL_HEADER, TRACE_HEADER } from './answers.js';

/** The proxy's settings (`upstream` and `proxy` in `bastion.yaml`). */
export interface ProxyOptions {
  /** The upstream base URL (ends in `/v1`); without it the proxy routes answer 503 `UPSTREAM_NOT_CONFIGURED`. */
  upstream?: string;
  /** The provider key, sent as `Authorization: Bearer` (OpenAI paths) or `x-api-key` (`/v1/messages`). */
  apiKey?: string;
  onDeny: 'error' | 'strip';
  timeoutMs: number;
  idleTimeoutMs: number;
  redactText: boolean;
}

/** The largest request body the proxy routes take (a long conversation). */
export const PROXY_BODY_LIMIT = 16 * 1024 * 1024;

const APPROVAL_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** One header's single value; an error when it is sent twice with different values. */
function header(request: FastifyRequest, name: string): string | undefined {
  const raw = request.headers[name];
  if (raw === undefined) return undefined;
  const values = [...new Set(Array.isArray(raw) ? raw : [raw])];
  if (values.length > 1) throw new BastionException(bastionError('REQUEST_INVALID', `header ${quote(name)} is sent more than once with different values`, { field: `headers.${name}` }));
  return values[0];
}

/** The provider key from `BASTION_UPSTREAM_API_KEY`, or the file `BASTION_UPSTREAM_API_KEY_FILE` names. */
export function upstreamKey(env: Record<string, string | undefined>, readFile: (path: string) => string): { ok: true; value: string | undefined } | { ok: false; message: string } {
  const direct = env['BASTION_UPSTREAM_API_KEY'];
  const file = env['BASTION_UPSTREAM_API_KEY_FILE'];
  if (direct !== undefined && direct !== '' && file !== undefined && file !== '') return { ok: false, message: 'set one of `BASTION_UPSTREAM_API_KEY` and `BASTION_UPSTREAM_API_KEY_FILE`, not both' };
  if (direct !== undefined && direct !== '') return { ok: true, value: direct.trim() };
  if (file === undefined || file === '') return { ok: true, value: undefined };
  try {
    const key = readFile(file).trim();
    if (key === '') return { ok: false, message: `the upstream key file ${quote(file)} is empty` };
    return { ok: true, value: key };
  } catch (err) {
    return { ok: false, message: `cannot read the upstream key file ${quote(file)}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}` };
  }
}

/** A name for model usage in budgets: `llm.<model>`. */
function usageAction(model: string | undefined): string {
  const clean = (model ?? 'unknown').replace(/[^A-Za-z0-9._:/-]/g, '_').slice(0, 100);
  return `llm.${clean === '' ? 'unknown' : clean}`;
}

/**
 * Registers the proxy routes. `gateway` decides; `options` say where the upstream is.
 *
 * @example buildServer(gateway, { dev, extensions: [(routes) => registerProxy(routes, gateway, { upstream: 'https://api.openai.com/v1', apiKey, ...DEFAULT_PROXY })] })
 */
export function registerProxy(routes: ServerRoutes, gateway: Gateway, options: ProxyOptions): void {
  const conversations = new Conversations();
  const settings: UpstreamSettings | undefined =
    options.upstream === undefined
      ? undefined
      : { baseUrl: options.upstream.replace(/\/+$/, ''), ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}), timeoutMs: options.timeoutMs, idleTimeoutMs: options.idleTimeoutMs };

  const fail = (request: FastifyRequest, reply: FastifyReply, api: ApiKind, err: unknown, headers: Record<string, string> = {}) => {
    const { status, body } = apiError(request, api, err);
    return reply.code(status).headers(headers).type('application/json').send(body);
  };

  const handle = (adapter: Adapter) => async (request: FastifyRequest, reply: FastifyReply) => {
    const api = adapter.api;
    let traceId: string | undefined;
    try {
      if (settings === undefined) {
        throw new BastionException(
          bastionError(
            'UPSTREAM_NOT_CONFIGURED',
            `no upstream provider is configured: start \`bastion serve --upstream URL\` (a base URL ending in \`/v1\`) or set \`upstream:\` in the configuration`,
          ),
        );
      }
      const principal = routes.caller(request)?.principal;
      if (principal === undefined) {
        throw new BastionException(
          bastionError(
            'IDENTITY_MISSING',
            `the model-API proxy decides tool calls for an identified caller: send \`Authorization: Bearer <token>\`, or in development mode identity headers such as \`X-ControlZero-User-ID\``,
            { reason: 'missing' },
          ),
        );
      }
      const context = contextFromHeaders(request.headers, routes.identityHeaders, request.ip);
      if (!context.ok) throw new BastionException(context.errors);
      const approvalId = header(request, APPROVAL_HEADER);
      if (approvalId !== undefined && !APPROVAL_ID.test(approvalId))
        throw new BastionException(bastionError('REQUEST_INVALID', `header ${quote(APPROVAL_HEADER)}: not an approval id`, { field: `headers.${APPROVAL_HEADER}` }));
      if (!isPlainObject(request.body)) throw new BastionException(bastionError('REQUEST_INVALID', 'request body must be a JSON object'));
      // The agent's body is read, checked and changed as a copy.
      const body = structuredClone(request.body) as Record<string, unknown>;
      const inbound = adapter.inbound(body);
      for (const r of inbound.results) r.name ??= conversations.toolName(principal.id, r.callId);
      traceId = conversations.traceOf(request.headers, principal.id, inbound.ids);
      const trace = traceId;
      void reply.header(TRACE_HEADER, trace);
      await conversations.inspect(gateway, trace, inbound.results);

      const who: CallerContext = { principal, context: context.value, traceId: trace, ...(approvalId !== undefined ? { approvalId } : {}) };
      let tokens = 0;
      const gate: Gate = {
        decide: async (calls) => {
          const started = process.hrtime.bigint();
          const gated = await decideCalls(gateway, calls, who);
          // Counted in /metrics like the decisions of /v1/decide.
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          for (const g of gated) routes.metrics.decision(g.decision.decision, seconds);
          return gated;
        },
        onDeny: options.onDeny,
        redactText: options.redactText,
        usage: (n) => void (tokens = Math.max(tokens, n)),
        released: (ids) => conversations.remember(principal.id, trace, ids),
      };
      const transform = inbound.stream ? adapter.stream(gate, body) : undefined;
      adapter.prepare(body, inbound.stream);
      const forwarded: Record<string, string> = {};
      for (const name of adapter.forwardHeaders) {
        const v = header(request, name);
        if (v !== undefined) forwarded[name] = v;
      }
      const gone = new AbortController();
      const onClose = () => {
        if (!reply.raw.writableFinished) gone.abort();
      };
      reply.raw.once('close', onClose);
      const answer = await callUpstream(settings, { method: 'POST', path: adapter.path, body: JSON.stringify(body), auth: adapter.auth, headers: forwarded, signal: gone.signal });
      const spend = async () => {
        if (tokens <= 0) return;
        try {
          await gateway.recordUsage({ principal, action: usageAction(inbound.model), tokens });
        } catch (err) {
          request.log.error({ err, traceId: trace }, 'proxy: recording model usage failed');
        }
      };
      const status = answer.response.status;
      const type = answer.response.headers.get('content-type') ?? '';
      if (status < 200 || status >= 300) {
        // The upstream's own error (a bad model name, its rate limit): passed on as it is, JSON only.
        const text = await readBody(settings, answer);
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new BastionException(bastionError('UPSTREAM_UNAVAILABLE', `upstream ${quote(settings.baseUrl)} answered HTTP ${status} without a JSON body`));
        }
        return reply.code(status).type('application/json').send(parsed);
      }
      if (transform !== undefined && type.includes('text/event-stream')) {
        const sent = await runStream(request, reply, api, settings, answer, transform, { [TRACE_HEADER]: trace });
        await spend();
        return sent;
      }
      if (transform !== undefined)
        throw new BastionException(
          bastionError('UPSTREAM_UNAVAILABLE', `upstream ${quote(settings.baseUrl)} answered a streamed request with ${quote(type || 'no content type')}, not \`text/event-stream\``),
        );
      const text = await readBody(settings, answer);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new BastionException(bastionError('UPSTREAM_UNAVAILABLE', `upstream ${quote(settings.baseUrl)} answered something that is not JSON`));
      }
      const checked = await adapter.plain(parsed, gate);
      await spend();
      if ('refuse' in checked) return reply.code(403).headers(refusalHeaders(checked.refuse)).type('application/json').send(refusalBody(api, checked.refuse));
      return reply.code(200).type('application/json').send(checked.body);
    } catch (err) {
      // Every answer names a trace, a refused request too (its own, as no decision was made).
      return fail(request, reply, api, err, { [TRACE_HEADER]: traceId ?? randomUUID() });
    }
  };

  routes.route('POST', '/v1/chat/completions', handle(chatAdapter), { bodyLimit: PROXY_BODY_LIMIT });
  routes.route('POST', '/v1/responses', handle(responsesAdapter), { bodyLimit: PROXY_BODY_LIMIT });
  routes.route('POST', '/v1/messages', handle(messagesAdapter), { bodyLimit: PROXY_BODY_LIMIT });
  routes.route('GET', '/v1/models', async (request, reply) => {
    try {
      if (settings === undefined)
        throw new BastionException(bastionError('UPSTREAM_NOT_CONFIGURED', 'no upstream provider is configured: start `bastion serve --upstream URL` or set `upstream:` in the configuration'));
      const gone = new AbortController();
      const answer = await callUpstream(settings, { method: 'GET', path: '/models', auth: 'bearer', signal: gone.signal });
      const text = await readBody(settings, answer);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new BastionException(bastionError('UPSTREAM_UNAVAILABLE', `upstream ${quote(settings.baseUrl)} answered \`/models\` with something that is not JSON`));
      }
      return reply.code(answer.response.status).header(TRACE_HEADER, randomUUID()).type('application/json').send(parsed);
    } catch (err) {
      return fail(request, reply, 'chat', err, { [TRACE_HEADER]: randomUUID() });
    }
  });
}
