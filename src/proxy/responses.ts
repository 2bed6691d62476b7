/**
 * The OpenAI Responses API (`POST /v1/responses`), plain and streamed.
 *
 * In: `function_call_output` and `custom_tool_call_output` items are tool results (their tool
 * named by the `function_call` item in the input, or remembered from the turn that released
 * it); `previous_response_id` links the turn to the trace of the response it continues.
 * Out: every output item the agent would execute is decided: `function_call` (its name and
 * JSON arguments), `custom_tool_call` (`{input}`), and any item type this proxy does not
 * know to be informational (`local_shell_call`, `computer_call`, …: the action is the item
 * type, the arguments the item). In a stream, such an item's events are held from
 * `response.output_item.added` to `response.output_item.done`, decided, then released; the
 * final `response.completed` is checked again, so no undecided call reaches `finalResponse()`.
 */

import { createStreamRedactor, redact, type StreamRedactor } from '../scan/index.js';
import { formatEvent } from '../server/index.js';
import { type Adapter, type Gate, type Inbound, type Json, isObject, joinParts, textParts, unreadable } from './adapter.js';
import { explanation } from './answers.js';
import type { ToolResult } from './conversation.js';
import { firstRefused, type GatedCall, type ToolCall } from './gate.js';
import { malformed } from './stream.js';

/** Output items that only inform the agent (or ran at the provider): passed without a decision. */
const INFORMATIONAL = new Set([
  'message',
  'reasoning',
  'web_search_call',
  'file_search_call',
  'image_generation_call',
  'code_interpreter_call',
  'mcp_call',
  'mcp_list_tools',
  'mcp_approval_request',
  'compaction',
]);

const isGated = (item: Json): boolean => typeof item['type'] !== 'string' || !INFORMATIONAL.has(item['type']);

function toCall(item: Json): ToolCall {
  const id = typeof item['call_id'] === 'string' ? item['call_id'] : typeof item['id'] === 'string' ? item['id'] : '';
  const name = typeof item['name'] === 'string' ? item['name'] : '';
  if (item['type'] === 'function_call') {
    const a = item['arguments'];
    return { id, name, arguments: typeof a === 'string' ? a : isObject(a) ? a : '' };
  }
  if (item['type'] === 'custom_tool_call') return { id, name, arguments: { input: item['input'] ?? '' } };
  const { type, id: _id, status: _status, ...rest } = item;
  return { id, name: typeof type === 'string' ? type : '', arguments: rest };
}

function usageTokens(usage: unknown): number | undefined {
  if (!isObject(usage)) return undefined;
  const t = usage['total_tokens'];
  if (typeof t === 'number' && Number.isSafeInteger(t) && t >= 0) return t;
  const i = usage['input_tokens'];
  const o = usage['output_tokens'];
  return typeof i === 'number' && typeof o === 'number' ? i + o : undefined;
}

function inbound(body: Json): Inbound {
  const input = Array.isArray(body['input']) ? (body['input'] as unknown[]).filter(isObject) : [];
  const names = new Map<string, string>();
  const ids: string[] = [];
  if (typeof body['previous_response_id'] === 'string') ids.push(body['previous_response_id']);
  for (const item of input) {
    if ((item['type'] === 'function_call' || item['type'] === 'custom_tool_call') && typeof item['call_id'] === 'string') {
      names.set(item['call_id'], typeof item['name'] === 'string' ? item['name'] : '');
      ids.push(item['call_id']);
    }
  }
  const results: ToolResult[] = [];
  for (const item of input) {
    if (item['type'] !== 'function_call_output' && item['type'] !== 'custom_tool_call_output') continue;
    const callId = typeof item['call_id'] === 'string' ? item['call_id'] : '';
    if (callId !== '') ids.push(callId);
    const part = joinParts(textParts(item, 'output'));
    if (part === undefined) continue;
    results.push({ callId: callId || 'unknown', name: names.get(callId) || undefined, ...part });
  }
  return { results, ids, stream: body['stream'] === true, model: typeof body['model'] === 'string' ? body['model'] : undefined };
}

/** A message item that says why a call was stripped. */
function explanationItem(g: GatedCall): Json {
  return { type: 'message', id: `msg_bastion_${g.call.id}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: explanation(g), annotations: [] }] };
}

function redactMessage(item: Json): void {
  if (item['type'] !== 'message' || !Array.isArray(item['content'])) return;
  for (const part of item['content'] as unknown[]) if (isObject(part) && typeof part['text'] === 'string') part['text'] = redact(part['text']);
}

async function plain(answer: unknown, gate: Gate): Promise<{ body: unknown } | { refuse: GatedCall }> {
  if (!isObject(answer) || !Array.isArray(answer['output'])) throw unreadable('it is not a response (no `output` list)');
  const output = answer['output'] as unknown[];
  const calls = output.map((item, i) => ({ item, i })).filter((x): x is { item: Json; i: number } => isObject(x.item) && isGated(x.item));
  if (output.some((item) => !isObject(item))) throw unreadable('an output item is not an object');
  const gated = await gate.decide(calls.map((c) => toCall(c.item)));
  const tokens = usageTokens(answer['usage']);
  if (tokens !== undefined) gate.usage(tokens);
  const refused = firstRefused(gated);
  if (refused && gate.onDeny === 'error') return { refuse: refused };
  gated.forEach((g, k) => {
    if (g.decision.decision !== 'allow') output[(calls[k] as { i: number }).i] = explanationItem(g);
  });
  if (gate.redactText) for (const item of output) redactMessage(item as Json);
  gate.released([...gated.filter((g) => g.decision.decision === 'allow').map((g) => ({ id: g.call.id, name: g.call.name })), ...(typeof answer['id'] === 'string' ? [{ id: answer['id'] }] : [])]);
  return { body: answer };
}

function stream(gate: Gate): ReturnType<Adapter['stream']> {
  const held = new Map<number, string[]>();
  /** Decided calls by their item's id or call id: the verdict, and the call as it was decided. */
  const verdicts = new Map<string, { gated: GatedCall; call: string }>();
  /** The argument text each held item's deltas add up to. */
  const streamed = new Map<number, string>();
  const callText = (item: Json): string => JSON.stringify(toCall(item));
  /** Text redactors by `item_id:content_index` (`proxy.redactText`). */
  const redactors = new Map<string, StreamRedactor>();
  let ended = false;
  const keyOf = (item: Json): string => (typeof item['call_id'] === 'string' ? item['call_id'] : typeof item['id'] === 'string' ? item['id'] : '');

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
      const f = (d: Json = data as Json): string => formatEvent({ event: type, data: JSON.stringify(d) });
      const index = data['output_index'];
      if (type === 'error') {
        ended = true;
        return [
          {
            frame: formatEvent({ event: 'error', data: JSON.stringify({ ...data, error: { type: 'upstream_error', code: data['code'] ?? null, message: data['message'] ?? 'upstream error' } }) }),
            substantive: true,
          },
        ];
      }
      if (type === 'response.output_item.added') {
        const item = data['item'];
        if (typeof index !== 'number' || !isObject(item)) throw malformed('`response.output_item.added` has no `output_index` or `item`');
        if (isGated(item)) {
          held.set(index, [f()]);
          return [];
        }
        return [{ frame: f(), substantive: false }];
      }
      if (type === 'response.output_item.done') {
        const item = data['item'];
        if (typeof index !== 'number' || !isObject(item)) throw malformed('`response.output_item.done` has no `output_index` or `item`');
        if (!isGated(item)) {
          if (held.has(index)) throw malformed('an output item changed its type');
          if (gate.redactText) redactMessage(item);
          return [{ frame: f(), substantive: true }];
        }
        const frames = held.get(index) ?? [];
        held.delete(index);
        // INVARIANT: what the deltas said is what is decided: an agent reading the deltas must
        // not get other arguments than the finished item's.
        const pieces = streamed.get(index);
        streamed.delete(index);
        const whole = item['type'] === 'custom_tool_call' ? item['input'] : item['arguments'];
        if (pieces !== undefined && pieces !== whole) throw malformed('the deltas of a call do not add up to its arguments');
        const [g] = await gate.decide([toCall(item)]);
        const gated = g as GatedCall;
        verdicts.set(keyOf(item), { gated, call: callText(item) });
        if (gated.decision.decision === 'allow') {
          gate.released([{ id: gated.call.id, name: gated.call.name }]);
          return [...frames.map((frame) => ({ frame, substantive: true })), { frame: f(), substantive: true }];
        }
        if (gate.onDeny === 'error') return [{ refuse: gated }];
        const replacement = explanationItem(gated);
        const seq = data['sequence_number'];
        return [
          {
            frame: formatEvent({ event: 'response.output_item.added', data: JSON.stringify({ type: 'response.output_item.added', output_index: index, item: replacement, sequence_number: seq }) }),
            substantive: true,
          },
          { frame: f({ ...(data as Json), item: replacement }), substantive: true },
        ];
      }
      if (typeof index === 'number' && held.has(index)) {
        if (type === 'response.function_call_arguments.delta' || type === 'response.custom_tool_call_input.delta') {
          if (typeof data['delta'] !== 'string') throw malformed(`\`${type}\` has no text \`delta\``);
          streamed.set(index, (streamed.get(index) ?? '') + data['delta']);
        }
        if (type === 'response.function_call_arguments.done' || type === 'response.custom_tool_call_input.done') {
          const whole = type === 'response.function_call_arguments.done' ? data['arguments'] : data['input'];
          if (whole !== (streamed.get(index) ?? '')) throw malformed('the deltas of a call do not add up to its arguments');
        }
        (held.get(index) as string[]).push(f());
        return [];
      }
      if (gate.redactText) {
        const key = `${String(data['item_id'])}:${String(data['content_index'])}`;
        if (type === 'response.output_text.delta' && typeof data['delta'] === 'string') {
          let r = redactors.get(key);
          if (r === undefined) redactors.set(key, (r = createStreamRedactor()));
          const text = r.push(data['delta']);
          return text === '' ? [] : [{ frame: f({ ...(data as Json), delta: text }), substantive: true }];
        }
        if (type === 'response.output_text.done') {
          const rest = redactors.get(key)?.end() ?? '';
          redactors.delete(key);
          const full = typeof data['text'] === 'string' ? redact(data['text']) : data['text'];
          return [
            ...(rest !== ''
              ? [
                  {
                    frame: formatEvent({ event: 'response.output_text.delta', data: JSON.stringify({ ...(data as Json), type: 'response.output_text.delta', delta: rest, text: undefined }) }),
                    substantive: true,
                  },
                ]
              : []),
            { frame: f({ ...(data as Json), text: full }), substantive: true },
          ];
        }
        if (type === 'response.content_part.done' && isObject(data['part']) && typeof data['part']['text'] === 'string') data['part']['text'] = redact(data['part']['text']);
      }
      if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
        if (held.size > 0) throw malformed(`\`${type}\` came while an output item was still open`);
        const response = data['response'];
        if (!isObject(response)) throw malformed(`\`${type}\` has no \`response\``);
        const tokens = usageTokens(response['usage']);
        if (tokens !== undefined) gate.usage(tokens);
        const output = Array.isArray(response['output']) ? (response['output'] as unknown[]) : [];
        // INVARIANT: the final response shows no call that was not decided and allowed here.
        for (let i = 0; i < output.length; i++) {
          const item = output[i];
          if (!isObject(item) || !isGated(item)) continue;
          const seen = verdicts.get(keyOf(item));
          if (seen !== undefined && seen.call !== callText(item)) throw malformed('the final response shows a call other than the one streamed');
          let g = seen?.gated;
          if (g === undefined) {
            g = (await gate.decide([toCall(item)]))[0] as GatedCall;
            verdicts.set(keyOf(item), { gated: g, call: callText(item) });
            if (g.decision.decision === 'allow') gate.released([{ id: g.call.id, name: g.call.name }]);
          }
          if (g.decision.decision !== 'allow') {
            if (gate.onDeny === 'error') return [{ refuse: g }];
            output[i] = explanationItem(g);
          }
        }
        if (gate.redactText) for (const item of output) if (isObject(item)) redactMessage(item);
        if (typeof response['id'] === 'string') gate.released([{ id: response['id'] }]);
        ended = true;
        return [{ frame: f(), substantive: true }];
      }
      const substantive = type === 'response.output_text.delta' ? data['delta'] !== '' : !['response.created', 'response.in_progress', 'response.queued'].includes(type);
      return [{ frame: f(), substantive }];
    },
    async end() {
      if (!ended) throw malformed('it ended before `response.completed`');
      return [];
    },
  };
}

/** The Responses API. */
export const responsesAdapter: Adapter = {
  api: 'responses',
  path: '/responses',
  auth: 'bearer',
  forwardHeaders: ['openai-organization', 'openai-project'],
  inbound,
  prepare() {},
  plain,
  stream: (gate) => stream(gate),
};
