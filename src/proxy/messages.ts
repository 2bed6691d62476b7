/**
 * Anthropic Messages (`POST /v1/messages`), plain and streamed.
 *
 * In: `tool_result` blocks in user messages are tool results (their tool named by the
 * `tool_use` block that called it). Out: every `tool_use` block is decided. In a stream, a
 * `tool_use` block's events are held from `content_block_start` to `content_block_stop`,
 * decided, and released as start, one `input_json_delta` with the arguments that were
 * decided, and stop; text passes at once. A stripped call (`proxy.onDeny: strip`) becomes a
 * text block at the same index explaining the refusal, so block indices stay contiguous.
 */

import { createStreamRedactor, redact, type StreamRedactor } from '../scan/index.js';
import { type Adapter, type Gate, type Inbound, type Json, isObject, joinParts, textParts, unreadable } from './adapter.js';
import { explanation } from './answers.js';
import type { ToolResult } from './conversation.js';
import { firstRefused, type GatedCall, type ToolCall } from './gate.js';
import { formatEvent } from '../server/index.js';
import { malformed, type StreamOut } from './stream.js';

function inbound(body: Json): Inbound {
  const messages = Array.isArray(body['messages']) ? body['messages'] : [];
  const names = new Map<string, string>();
  const ids: string[] = [];
  const blocks = (m: unknown): Json[] => (isObject(m) && Array.isArray(m['content']) ? (m['content'] as unknown[]).filter(isObject) : []);
  for (const m of messages) {
    for (const b of blocks(m)) {
      if (b['type'] === 'tool_use' && typeof b['id'] === 'string') {
        names.set(b['id'], typeof b['name'] === 'string' ? b['name'] : '');
        ids.push(b['id']);
      }
    }
  }
  const results: ToolResult[] = [];
  for (const m of messages) {
    for (const b of blocks(m)) {
      if (b['type'] !== 'tool_result') continue;
      const callId = typeof b['tool_use_id'] === 'string' ? b['tool_use_id'] : '';
      const part = joinParts(textParts(b, 'content'));
      if (callId !== '') ids.push(callId);
      if (part === undefined) continue;
      results.push({ callId: callId || 'unknown', name: names.get(callId) || undefined, ...part });
    }
  }
  return { results, ids, stream: body['stream'] === true, model: typeof body['model'] === 'string' ? body['model'] : undefined };
}

function usageTokens(usage: unknown): number | undefined {
  if (!isObject(usage)) return undefined;
  let n = 0;
  for (const k of ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens']) {
    const v = usage[k];
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) n += v;
  }
  return n;
}

function toCall(b: Json): ToolCall {
  const input = b['input'];
  return {
    id: typeof b['id'] === 'string' ? b['id'] : '',
    name: typeof b['name'] === 'string' ? b['name'] : '',
    arguments: isObject(input) ? input : typeof input === 'string' ? input : JSON.stringify(input ?? null),
  };
}

async function plain(answer: unknown, gate: Gate): Promise<{ body: unknown } | { refuse: GatedCall }> {
  if (!isObject(answer) || !Array.isArray(answer['content'])) throw unreadable('it is not a message (no `content` list)');
  const content = answer['content'] as unknown[];
  const uses = content.map((b, i) => ({ b, i })).filter((x): x is { b: Json; i: number } => isObject(x.b) && x.b['type'] === 'tool_use');
  const gated = await gate.decide(uses.map((u) => toCall(u.b)));
  const tokens = usageTokens(answer['usage']);
  if (tokens !== undefined) gate.usage(tokens);
  const refused = firstRefused(gated);
  if (refused && gate.onDeny === 'error') return { refuse: refused };
  gated.forEach((g, k) => {
    const u = uses[k] as { b: Json; i: number };
    if (g.decision.decision !== 'allow') content[u.i] = { type: 'text', text: explanation(g) };
  });
  const allowed = gated.filter((g) => g.decision.decision === 'allow');
  if (gated.length > 0 && allowed.length === 0 && answer['stop_reason'] === 'tool_use') answer['stop_reason'] = 'end_turn';
  if (gate.redactText) for (const b of content) if (isObject(b) && b['type'] === 'text' && typeof b['text'] === 'string') b['text'] = redact(b['text']);
  gate.released(allowed.map((g) => ({ id: g.call.id, name: g.call.name })));
  return { body: answer };
}

const ev = (event: string, data: Json): string => formatEvent({ event, data: JSON.stringify({ type: event, ...data }) });

function stream(gate: Gate): ReturnType<Adapter['stream']> {
  /** The tool_use block being held, by index. */
  const held = new Map<number, { block: Json; json: string }>();
  const redactors = new Map<number, StreamRedactor>();
  let decided = 0;
  // Usage: the input from `message_start`, the output as `message_delta` counts it (cumulative).
  let inputTokens = 0;
  let outputTokens = 0;
  const report = () => gate.usage(inputTokens + outputTokens);
  let allowedCount = 0;
  let ended = false;
  return {
    async push(e) {
      if (ended) return [];
      let data: unknown;
      try {
        data = JSON.parse(e.data);
      } catch {
        throw malformed('an event is not JSON');
      }
      if (!isObject(data) || typeof data['type'] !== 'string') throw malformed('an event has no `type`');
      const type = data['type'];
      if (e.event !== undefined && e.event !== type) throw malformed(`event ${JSON.stringify(e.event)} carries data of type ${JSON.stringify(type)}`);
      const pass = (substantive: boolean): StreamOut[] => [{ frame: formatEvent({ event: type, data: JSON.stringify(data) }), substantive }];
      switch (type) {
        case 'ping':
          return pass(false);
        case 'message_start': {
          const msg = isObject(data['message']) ? data['message'] : undefined;
          const usage = isObject(msg?.['usage']) ? (msg['usage'] as Json) : {};
          const output = usage['output_tokens'];
          inputTokens = usageTokens({ ...usage, output_tokens: 0 }) ?? 0;
          outputTokens = typeof output === 'number' && Number.isSafeInteger(output) && output >= 0 ? output : 0;
          report();
          return pass(false);
        }
        case 'error':
          ended = true;
          return pass(true);
        case 'content_block_start': {
          const index = data['index'];
          const block = data['content_block'];
          if (typeof index !== 'number' || !isObject(block)) throw malformed('`content_block_start` has no `index` or `content_block`');
          if (block['type'] === 'tool_use') {
            held.set(index, { block, json: '' });
            return [];
          }
          if (block['type'] === 'text' && gate.redactText) redactors.set(index, createStreamRedactor());
          return pass(false);
        }
        case 'content_block_delta': {
          const index = data['index'];
          const delta = data['delta'];
          if (typeof index !== 'number' || !isObject(delta)) throw malformed('`content_block_delta` has no `index` or `delta`');
          const h = held.get(index);
          if (h !== undefined) {
            if (delta['type'] !== 'input_json_delta' || typeof delta['partial_json'] !== 'string') throw malformed('a `tool_use` block has a delta that is not `input_json_delta`');
            h.json += delta['partial_json'];
            return [];
          }
          const r = redactors.get(index);
          if (r !== undefined && delta['type'] === 'text_delta' && typeof delta['text'] === 'string') {
            const text = r.push(delta['text']);
            if (text === '') return [];
            return [{ frame: ev('content_block_delta', { index, delta: { type: 'text_delta', text } }), substantive: true }];
          }
          return pass(delta['type'] === 'text_delta' ? delta['text'] !== '' : true);
        }
        case 'content_block_stop': {
          const index = data['index'];
          if (typeof index !== 'number') throw malformed('`content_block_stop` has no `index`');
          const h = held.get(index);
          if (h === undefined) {
            const r = redactors.get(index);
            redactors.delete(index);
            const rest = r?.end();
            return [...(rest ? [{ frame: ev('content_block_delta', { index, delta: { type: 'text_delta', text: rest } }), substantive: true }] : []), ...pass(true)];
          }
          held.delete(index);
          const startInput = h.block['input'];
          // The input comes in deltas; a start that already carries one (and no deltas) is the input.
          const args = h.json === '' && isObject(startInput) ? startInput : h.json;
          const [g] = await gate.decide([{ id: typeof h.block['id'] === 'string' ? h.block['id'] : '', name: typeof h.block['name'] === 'string' ? h.block['name'] : '', arguments: args }]);
          const gated = g as GatedCall;
          decided++;
          if (gated.decision.decision !== 'allow') {
            if (gate.onDeny === 'error') return [{ refuse: gated }];
            return [
              { frame: ev('content_block_start', { index, content_block: { type: 'text', text: '' } }), substantive: true },
              { frame: ev('content_block_delta', { index, delta: { type: 'text_delta', text: explanation(gated) } }), substantive: true },
              { frame: ev('content_block_stop', { index }), substantive: true },
            ];
          }
          allowedCount++;
          gate.released([{ id: gated.call.id, name: gated.call.name }]);
          return [
            { frame: ev('content_block_start', { index, content_block: { ...h.block, input: {} } }), substantive: true },
            { frame: ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(gated.args ?? {}) } }), substantive: true },
            { frame: ev('content_block_stop', { index }), substantive: true },
          ];
        }
        case 'message_delta': {
          if (held.size > 0) throw malformed('`message_delta` came while a `tool_use` block was still open');
          const usage = isObject(data['usage']) ? data['usage'] : {};
          const output = usage['output_tokens'];
          if (typeof output === 'number' && Number.isSafeInteger(output) && output >= 0) outputTokens = output;
          report();
          const delta = isObject(data['delta']) ? data['delta'] : {};
          if (decided > 0 && allowedCount === 0 && delta['stop_reason'] === 'tool_use') {
            return [{ frame: formatEvent({ event: type, data: JSON.stringify({ ...data, delta: { ...delta, stop_reason: 'end_turn' } }) }), substantive: true }];
          }
          return pass(true);
        }
        case 'message_stop':
          if (held.size > 0) throw malformed('`message_stop` came while a `tool_use` block was still open');
          ended = true;
          return pass(true);
        default:
          // An event type this proxy does not know may carry a call it cannot see: cut off.
          throw malformed(`unknown event type ${JSON.stringify(type)}`);
      }
    },
    async end() {
      if (!ended) throw malformed('it ended before `message_stop`');
      return [];
    },
  };
}

/** Anthropic Messages. */
export const messagesAdapter: Adapter = {
  api: 'messages',
  path: '/messages',
  auth: 'x-api-key',
  forwardHeaders: ['anthropic-version', 'anthropic-beta'],
  inbound,
  prepare() {},
  plain,
  stream: (gate) => stream(gate),
};
