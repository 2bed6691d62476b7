/**
 * A fake model provider for the proxy's tests: a real HTTP server on 127.0.0.1 (port 0) that
 * records each request (path, headers, body) and answers with what the test queued: a JSON
 * body, or server-sent events written chunk by chunk (optionally paced), or a hang.
 * Canned answers for Chat Completions, Responses and Messages that call one tool, plain and
 * streamed, are below.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** What the next request is answered with. */
export type Answer = { json: unknown; status?: number } | { sse: string[]; delayMs?: number; contentType?: string } | { hang: true } | ((req: Recorded, res: ServerResponse) => void);

export interface FakeUpstream {
  /** The base URL, ending in `/v1`. */
  url: string;
  requests: Recorded[];
  /** Queues answers; when the queue is empty, `fallback` answers. */
  queue(...answers: Answer[]): void;
  fallback: Answer;
  close(): Promise<void>;
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const pending: Answer[] = [];
  const requests: Recorded[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const fake: FakeUpstream = {
    url: '',
    requests,
    queue: (...answers) => void pending.push(...answers),
    fallback: { json: { error: { message: 'no answer queued', type: 'test' } }, status: 500 },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const recorded: Recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: text === '' ? undefined : JSON.parse(text) };
      requests.push(recorded);
      const answer = pending.shift() ?? fake.fallback;
      if (typeof answer === 'function') return answer(recorded, res);
      if ('hang' in answer) return;
      if ('json' in answer) {
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(answer.json));
      }
      res.writeHead(200, { 'content-type': answer.contentType ?? 'text/event-stream' });
      const parts = [...answer.sse];
      const next = () => {
        const part = parts.shift();
        if (part === undefined) {
          res.end();
          return;
        }
        res.write(part);
        if (answer.delayMs) setTimeout(next, answer.delayMs);
        else next();
      };
      next();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  fake.url = `http://127.0.0.1:${address.port}/v1`;
  return fake;
}

const data = (v: unknown): string => `data: ${JSON.stringify(v)}\n\n`;
const named = (event: string, v: Record<string, unknown>): string => `event: ${event}\ndata: ${JSON.stringify({ type: event, ...v })}\n\n`;

const USAGE = { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 };

/** A chat completion whose one choice calls `name` with `args` (a JSON string as OpenAI sends it). */
export function chatToolCall(name: string, args: string | Record<string, unknown>, content: string | null = null): unknown {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, tool_calls: [{ id: 'call_1', type: 'function', function: { name, arguments: typeof args === 'string' ? args : JSON.stringify(args) } }] },
        finish_reason: 'tool_calls',
        logprobs: null,
      },
    ],
    usage: USAGE,
  };
}

/** A chat completion with text only. */
export function chatText(text: string): unknown {
  return {
    id: 'chatcmpl-2',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null }],
    usage: USAGE,
  };
}

/** The same tool call streamed: an optional text first, the arguments in `pieces` fragments, usage, `[DONE]`. */
export function chatToolCallStream(name: string, args: string, options: { text?: string; pieces?: number; id?: string } = {}): string[] {
  const env = { id: 'chatcmpl-3', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o' };
  const c = (delta: unknown, finish: string | null = null) => data({ ...env, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  const out = [c({ role: 'assistant', content: '' })];
  if (options.text) for (const word of options.text.split(/(?<= )/)) out.push(c({ content: word }));
  const n = options.pieces ?? 3;
  const size = Math.ceil(args.length / n);
  out.push(c({ tool_calls: [{ index: 0, id: options.id ?? 'call_s1', type: 'function', function: { name, arguments: '' } }] }));
  for (let i = 0; i < args.length; i += size) out.push(c({ tool_calls: [{ index: 0, function: { arguments: args.slice(i, i + size) } }] }));
  out.push(c({}, 'tool_calls'));
  out.push(data({ ...env, choices: [], usage: USAGE }));
  out.push('data: [DONE]\n\n');
  return out;
}

/** A Messages answer calling `name` with `input`. */
export function messageToolUse(name: string, input: Record<string, unknown>, text = 'Running it.'): unknown {
  return {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5',
    content: [
      { type: 'text', text },
      { type: 'tool_use', id: 'toolu_1', name, input },
    ],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: 20, output_tokens: 10 },
  };
}

/** The same streamed, the input JSON in `pieces` fragments. */
export function messageToolUseStream(name: string, input: string, options: { text?: string; pieces?: number; id?: string } = {}): string[] {
  const out = [
    named('message_start', {
      message: { id: 'msg_2', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 20, output_tokens: 1 } },
    }),
  ];
  let index = 0;
  if (options.text !== undefined) {
    out.push(named('content_block_start', { index, content_block: { type: 'text', text: '' } }));
    for (const word of options.text.split(/(?<= )/)) out.push(named('content_block_delta', { index, delta: { type: 'text_delta', text: word } }));
    out.push(named('content_block_stop', { index }));
    index++;
  }
  out.push(named('content_block_start', { index, content_block: { type: 'tool_use', id: options.id ?? 'toolu_s1', name, input: {} } }));
  const n = options.pieces ?? 3;
  const size = Math.ceil(input.length / n);
  for (let i = 0; i < input.length; i += size) out.push(named('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: input.slice(i, i + size) } }));
  out.push(named('content_block_stop', { index }));
  out.push(named('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 10 } }));
  out.push(named('message_stop', {}));
  return out;
}

/** A Responses answer calling `name`. */
export function responseFunctionCall(name: string, args: string, id = 'resp_1'): Record<string, unknown> {
  return {
    id,
    object: 'response',
    created_at: 1,
    status: 'completed',
    model: 'gpt-4o',
    output: [{ type: 'function_call', id: 'fc_1', call_id: 'call_r1', name, arguments: args, status: 'completed' }],
    usage: { input_tokens: 20, output_tokens: 10, total_tokens: 30 },
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
  };
}

/** The same streamed. */
export function responseFunctionCallStream(name: string, args: string, options: { text?: string; id?: string } = {}): string[] {
  let seq = 0;
  const ev = (event: string, v: Record<string, unknown>) => named(event, { ...v, sequence_number: seq++ });
  const final = responseFunctionCall(name, args, options.id ?? 'resp_s1');
  const base = { ...final, status: 'in_progress', output: [] };
  const out = [ev('response.created', { response: base }), ev('response.in_progress', { response: base })];
  let index = 0;
  const output: unknown[] = [];
  if (options.text !== undefined) {
    const msg = { type: 'message', id: 'msg_r1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: options.text, annotations: [] }] };
    out.push(ev('response.output_item.added', { output_index: index, item: { ...msg, status: 'in_progress', content: [] } }));
    out.push(ev('response.content_part.added', { output_index: index, item_id: 'msg_r1', content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }));
    out.push(ev('response.output_text.delta', { output_index: index, item_id: 'msg_r1', content_index: 0, delta: options.text }));
    out.push(ev('response.output_text.done', { output_index: index, item_id: 'msg_r1', content_index: 0, text: options.text }));
    out.push(ev('response.content_part.done', { output_index: index, item_id: 'msg_r1', content_index: 0, part: { type: 'output_text', text: options.text, annotations: [] } }));
    out.push(ev('response.output_item.done', { output_index: index, item: msg }));
    output.push(msg);
    index++;
  }
  const item = (final['output'] as unknown[])[0] as Record<string, unknown>;
  out.push(ev('response.output_item.added', { output_index: index, item: { ...item, arguments: '', status: 'in_progress' } }));
  const half = Math.ceil(args.length / 2);
  out.push(ev('response.function_call_arguments.delta', { output_index: index, item_id: 'fc_1', delta: args.slice(0, half) }));
  out.push(ev('response.function_call_arguments.delta', { output_index: index, item_id: 'fc_1', delta: args.slice(half) }));
  out.push(ev('response.function_call_arguments.done', { output_index: index, item_id: 'fc_1', arguments: args }));
  out.push(ev('response.output_item.done', { output_index: index, item }));
  output.push(item);
  out.push(ev('response.completed', { response: { ...final, output } }));
  return out;
}
