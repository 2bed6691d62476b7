/**
 * OpenAI Chat Completions (`POST /v1/chat/completions`), plain and streamed.
 *
 * In: `role: tool` messages are tool results (their tool named by the assistant message that
 * called it). Out: every entry of `message.tool_calls` (and the legacy `function_call`) is
 * decided. In a stream, tool-call deltas are held per choice until the choice finishes (or
 * `[DONE]`), decided, and released as one delta per call with the arguments that were
 * decided; text deltas pass at once. Usage is asked of the upstream
 * (`stream_options.include_usage`) and the usage chunk passed on only when the agent asked.
 */

import { createStreamRedactor, redact, type StreamRedactor } from '../scan/index.js';
import { type Adapter, type Gate, type Inbound, type Json, isObject, joinParts, textParts, unreadable } from './adapter.js';
import { explanation } from './answers.js';
import type { ToolResult } from './conversation.js';
import { firstRefused, type GatedCall, type ToolCall } from './gate.js';
import { malformed, type StreamOut } from './stream.js';

/** A `tool_calls` entry (or a legacy `function_call`) as a call to decide. */
function toCall(tc: Json, fallbackId: string): ToolCall {
  const id = typeof tc['id'] === 'string' ? tc['id'] : fallbackId;
  if (tc['type'] === 'custom' && isObject(tc['custom'])) {
    const c = tc['custom'];
    return { id, name: typeof c['name'] === 'string' ? c['name'] : '', arguments: { input: c['input'] ?? '' } };
  }
  const fn = isObject(tc['function']) ? tc['function'] : tc;
  const a = fn['arguments'];
  return { id, name: typeof fn['name'] === 'string' ? fn['name'] : '', arguments: typeof a === 'string' || isObject(a) ? a : a === undefined ? '' : JSON.stringify(a) };
}

function usageTokens(usage: unknown): number | undefined {
  if (!isObject(usage)) return undefined;
  const total = usage['total_tokens'];
  if (typeof total === 'number' && Number.isSafeInteger(total) && total >= 0) return total;
  const p = usage['prompt_tokens'];
  const c = usage['completion_tokens'];
  return typeof p === 'number' && typeof c === 'number' ? p + c : undefined;
}

function inbound(body: Json): Inbound {
  const messages = Array.isArray(body['messages']) ? body['messages'] : [];
  const names = new Map<string, string>();
  const ids: string[] = [];
  for (const m of messages) {
    if (!isObject(m) || m['role'] !== 'assistant' || !Array.isArray(m['tool_calls'])) continue;
    for (const tc of m['tool_calls']) {
      if (!isObject(tc)) continue;
      const call = toCall(tc, '');
      if (call.id !== '') {
        names.set(call.id, call.name);
        ids.push(call.id);
      }
    }
  }
  const results: ToolResult[] = [];
  for (const m of messages) {
    if (!isObject(m) || (m['role'] !== 'tool' && m['role'] !== 'function')) continue;
    const callId = typeof m['tool_call_id'] === 'string' ? m['tool_call_id'] : typeof m['name'] === 'string' ? m['name'] : '';
    const part = joinParts(textParts(m, 'content'));
    if (part === undefined) continue;
    if (callId !== '') ids.push(callId);
    results.push({ callId: callId || 'unknown', name: names.get(callId) ?? (m['role'] === 'function' && typeof m['name'] === 'string' ? m['name'] : undefined), ...part });
  }
  return { results, ids, stream: body['stream'] === true, model: typeof body['model'] === 'string' ? body['model'] : undefined };
}

/** The explanations of stripped calls, appended to a message's text. */
function withExplanations(content: unknown, refused: readonly GatedCall[]): string {
  const text = refused.map(explanation).join('\n');
  return typeof content === 'string' && content !== '' ? `${content}\n${text}` : text;
}

async function plain(answer: unknown, gate: Gate): Promise<{ body: unknown } | { refuse: GatedCall }> {
  if (!isObject(answer) || !Array.isArray(answer['choices'])) throw unreadable('it is not a chat completion (no `choices` list)');
  const found: { message: Json; choice: Json; calls: ToolCall[]; legacy: boolean }[] = [];
  for (const choice of answer['choices']) {
    if (!isObject(choice) || !isObject(choice['message'])) throw unreadable('a choice has no `message`');
    const message = choice['message'];
    const calls: ToolCall[] = [];
    if (message['tool_calls'] !== undefined && message['tool_calls'] !== null) {
      if (!Array.isArray(message['tool_calls'])) throw unreadable('`message.tool_calls` is not a list');
      message['tool_calls'].forEach((tc: unknown, i: number) => {
        if (!isObject(tc)) throw unreadable('a tool call is not an object');
        calls.push(toCall(tc, `call_${i}`));
      });
    }
    const legacy = isObject(message['function_call']);
    if (legacy) calls.push(toCall(message['function_call'] as Json, 'function_call'));
    found.push({ message, choice, calls, legacy });
  }
  const gated = await gate.decide(found.flatMap((f) => f.calls));
  const tokens = usageTokens(answer['usage']);
  if (tokens !== undefined) gate.usage(tokens);
  const refused = firstRefused(gated);
  if (refused && gate.onDeny === 'error') return { refuse: refused };
  let at = 0;
  for (const f of found) {
    const mine = gated.slice(at, at + f.calls.length);
    at += f.calls.length;
    const denied = mine.filter((g) => g.decision.decision !== 'allow');
    if (denied.length > 0) {
      const kept = (f.message['tool_calls'] as unknown[] | undefined)?.filter((_tc, i) => mine[i]?.decision.decision === 'allow') ?? [];
      if (f.legacy && mine[mine.length - 1]?.decision.decision !== 'allow') delete f.message['function_call'];
      if (kept.length > 0) f.message['tool_calls'] = kept;
      else delete f.message['tool_calls'];
      f.message['content'] = withExplanations(f.message['content'], denied);
      if (kept.length === 0 && (f.choice['finish_reason'] === 'tool_calls' || f.choice['finish_reason'] === 'function_call') && !isObject(f.message['function_call']))
        f.choice['finish_reason'] = 'stop';
    }
    if (gate.redactText && typeof f.message['content'] === 'string') f.message['content'] = redact(f.message['content']);
    gate.released(mine.filter((g) => g.decision.decision === 'allow').map((g) => ({ id: g.call.id, name: g.call.name })));
  }
  return { body: answer };
}

interface HeldCall {
  index: number;
  id: string;
  type: string;
  name: string;
  args: string;
}

interface ChoiceState {
  calls: Map<number, HeldCall>;
  legacy?: { name: string; args: string };
  redactor?: StreamRedactor;
}

const frame = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`;

/** The streamed transform of one answer. */
function stream(gate: Gate, body: Json, wantUsage: boolean): ReturnType<Adapter['stream']> {
  void body;
  const choices = new Map<number, ChoiceState>();
  let envelope: Json = {};
  let done = false;
  const stateOf = (i: number): ChoiceState => {
    let s = choices.get(i);
    if (s === undefined) {
      s = { calls: new Map(), ...(gate.redactText ? { redactor: createStreamRedactor() } : {}) };
      choices.set(i, s);
    }
    return s;
  };
  const chunk = (choice: Json): string => frame({ ...envelope, choices: [{ index: choice['index'], delta: {}, logprobs: null, finish_reason: null, ...choice }] });

  /** Decides a choice's held calls; the frames that release them (and explain stripped ones), or the refusal. */
  const settle = async (index: number, finish: unknown): Promise<StreamOut[]> => {
    const s = stateOf(index);
    const held = [...s.calls.values()].sort((a, b) => a.index - b.index);
    const calls: ToolCall[] = held.map((h) => (h.type === 'custom' ? { id: h.id, name: h.name, arguments: { input: h.args } } : { id: h.id, name: h.name, arguments: h.args }));
    if (s.legacy) calls.push({ id: 'function_call', name: s.legacy.name, arguments: s.legacy.args });
    const out: StreamOut[] = [];
    const rest = s.redactor?.end();
    if (rest) out.push({ frame: chunk({ index, delta: { content: rest } }), substantive: true });
    choices.delete(index);
    if (calls.length === 0) return [...out, ...(finish !== undefined ? [{ frame: chunk({ index, finish_reason: finish }), substantive: true }] : [])];
    const gated = await gate.decide(calls);
    const refused = firstRefused(gated);
    if (refused && gate.onDeny === 'error') return [{ refuse: refused }];
    const allowed = gated.filter((g) => g.decision.decision === 'allow');
    const tools = allowed
      .filter((g) => g.call.id !== 'function_call' || !s.legacy)
      .map((g, k) => {
        const h = held.find((x) => x.id === g.call.id);
        return h?.type === 'custom'
          ? { index: k, id: g.call.id, type: 'custom', custom: { name: g.call.name, input: h.args } }
          : { index: k, id: g.call.id, type: 'function', function: { name: g.call.name, arguments: JSON.stringify(g.args ?? {}) } };
      });
    if (tools.length > 0) out.push({ frame: chunk({ index, delta: { tool_calls: tools } }), substantive: true });
    const legacy = s.legacy ? gated[gated.length - 1] : undefined;
    if (legacy?.decision.decision === 'allow')
      out.push({ frame: chunk({ index, delta: { function_call: { name: legacy.call.name, arguments: JSON.stringify(legacy.args ?? {}) } } }), substantive: true });
    const denied = gated.filter((g) => g.decision.decision !== 'allow');
    if (denied.length > 0) out.push({ frame: chunk({ index, delta: { content: withExplanations('', denied) } }), substantive: true });
    gate.released(allowed.map((g) => ({ id: g.call.id, name: g.call.name })));
    let reason = finish;
    if (allowed.length === 0 && (finish === 'tool_calls' || finish === 'function_call')) reason = 'stop';
    if (finish !== undefined) out.push({ frame: chunk({ index, finish_reason: reason }), substantive: true });
    return out;
  };

  return {
    async push(e) {
      if (done) return [];
      if (e.data === '[DONE]') {
        done = true;
        const out: StreamOut[] = [];
        for (const index of [...choices.keys()]) out.push(...(await settle(index, undefined)));
        return [...out, { frame: 'data: [DONE]\n\n', substantive: true }];
      }
      let data: unknown;
      try {
        data = JSON.parse(e.data);
      } catch {
        throw malformed('an event is not JSON');
      }
      if (!isObject(data)) throw malformed('an event is not a JSON object');
      // The upstream's own error: passed on (it ends the stream for the SDK), nothing after it.
      if (data['error'] !== undefined) {
        done = true;
        return [{ frame: frame({ error: data['error'] }), substantive: true }];
      }
      if (!Array.isArray(data['choices'])) throw malformed('a chunk has no `choices` list');
      const { choices: list, ...env } = data;
      envelope = env;
      const out: StreamOut[] = [];
      const tokens = usageTokens(data['usage']);
      if (tokens !== undefined) gate.usage(tokens);
      const passed: Json[] = [];
      const finishing: { index: number; finish: unknown }[] = [];
      let substantive = false;
      for (const c of list as unknown[]) {
        if (!isObject(c) || typeof c['index'] !== 'number') throw malformed('a choice has no `index`');
        const index = c['index'];
        const s = stateOf(index);
        const delta = c['delta'] === undefined || c['delta'] === null ? {} : c['delta'];
        if (!isObject(delta)) throw malformed('a `delta` is not an object');
        const { tool_calls: tcs, function_call: fc, ...rest } = delta;
        if (tcs !== undefined && tcs !== null) {
          if (!Array.isArray(tcs)) throw malformed('`delta.tool_calls` is not a list');
          for (const tc of tcs) {
            if (!isObject(tc) || typeof tc['index'] !== 'number') throw malformed('a tool-call delta has no `index`');
            let h = s.calls.get(tc['index']);
            if (h === undefined) {
              h = { index: tc['index'], id: '', type: 'function', name: '', args: '' };
              s.calls.set(tc['index'], h);
            }
            if (typeof tc['id'] === 'string') h.id = tc['id'];
            if (typeof tc['type'] === 'string') h.type = tc['type'];
            const fn = isObject(tc['function']) ? tc['function'] : isObject(tc['custom']) ? tc['custom'] : {};
            if (typeof fn['name'] === 'string') h.name += fn['name'];
            const piece = fn['arguments'] ?? fn['input'];
            if (typeof piece === 'string') h.args += piece;
            else if (piece !== undefined && piece !== null) throw malformed('tool-call arguments are not text');
          }
        }
        if (isObject(fc)) {
          s.legacy ??= { name: '', args: '' };
          if (typeof fc['name'] === 'string') s.legacy.name += fc['name'];
          if (typeof fc['arguments'] === 'string') s.legacy.args += fc['arguments'];
        }
        const forwarded: Json = { ...rest };
        if (typeof forwarded['content'] === 'string') {
          if (s.redactor) forwarded['content'] = s.redactor.push(forwarded['content']);
          if (forwarded['content'] !== '') substantive = true;
        }
        if (typeof forwarded['refusal'] === 'string' && forwarded['refusal'] !== '') substantive = true;
        const meaningful = Object.keys(forwarded).some((k) => forwarded[k] !== undefined && forwarded[k] !== null && !(k === 'content' && forwarded[k] === '' && s.redactor));
        const { delta: _d, finish_reason: finish, ...others } = c;
        if (meaningful || (c['logprobs'] !== undefined && c['logprobs'] !== null)) passed.push({ ...others, index, delta: forwarded, finish_reason: null });
        if (finish !== undefined && finish !== null) finishing.push({ index, finish });
      }
      if (passed.length > 0 || ((list as unknown[]).length === 0 && wantUsage)) out.push({ frame: frame({ ...env, choices: passed }), substantive });
      for (const f of finishing) out.push(...(await settle(f.index, f.finish)));
      return out;
    },
    async end() {
      if (!done) throw malformed('it ended before `data: [DONE]`');
      return [];
    },
  };
}

/** Chat Completions. */
export const chatAdapter: Adapter = {
  api: 'chat',
  path: '/chat/completions',
  auth: 'bearer',
  forwardHeaders: ['openai-organization', 'openai-project'],
  inbound,
  prepare(body, isStream) {
    if (!isStream) return;
    const given = isObject(body['stream_options']) ? body['stream_options'] : {};
    body['stream_options'] = { ...given, include_usage: true };
  },
  plain,
  stream(gate, body) {
    const asked = isObject(body['stream_options']) && body['stream_options']['include_usage'] === true;
    return stream(gate, body, asked);
  },
};
