#!/usr/bin/env node
// A stand-in model provider for trying the model-API proxy offline: OpenAI Chat Completions
// and Responses, and Anthropic Messages, plain and streamed. Whatever it is asked, it answers
// with one call of the tool `sys:execute`, whose `cmd` is the text after "Execute this: " in
// the last user message (the Fortified SRE seed's prompt), or `ls -la`.
//
//   node examples/proxy/fake-provider.mjs [--port 8790]
import { createServer } from 'node:http';

const at = process.argv.indexOf('--port');
const port = at >= 0 ? Number(process.argv[at + 1]) : 8790;
const data = (v) => `data: ${JSON.stringify(v)}\n\n`;
const named = (type, v) => `event: ${type}\ndata: ${JSON.stringify({ type, ...v })}\n\n`;

function lastUserText(body) {
  const list = Array.isArray(body.messages) ? body.messages : Array.isArray(body.input) ? body.input : [{ role: 'user', content: body.input }];
  const last = [...list].reverse().find((m) => m?.role === 'user');
  const content = typeof last?.content === 'string' ? last.content : (last?.content ?? []).map((p) => p.text ?? '').join('');
  return /Execute this: (.*)$/s.exec(content)?.[1] ?? 'ls -la';
}

function answer(path, body) {
  const args = JSON.stringify({ cmd: lastUserText(body) });
  const usage = { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 };
  if (path === '/v1/models') return { json: { object: 'list', data: [{ id: 'gpt-4o', object: 'model', created: 0, owned_by: 'fake' }] } };
  if (path === '/v1/chat/completions') {
    const call = { id: 'call_1', type: 'function', function: { name: 'sys:execute', arguments: args } };
    if (!body.stream)
      return {
        json: {
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 0,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [call] }, finish_reason: 'tool_calls' }],
          usage,
        },
      };
    const env = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 0, model: body.model };
    const c = (delta, finish = null) => data({ ...env, choices: [{ index: 0, delta, finish_reason: finish }] });
    return {
      sse: [
        c({ role: 'assistant', content: '' }),
        c({ tool_calls: [{ index: 0, ...call, function: { name: 'sys:execute', arguments: '' } }] }),
        c({ tool_calls: [{ index: 0, function: { arguments: args } }] }),
        c({}, 'tool_calls'),
        'data: [DONE]\n\n',
      ],
    };
  }
  if (path === '/v1/messages') {
    const message = { id: 'msg_1', type: 'message', role: 'assistant', model: body.model, stop_sequence: null };
    if (!body.stream)
      return {
        json: { ...message, content: [{ type: 'tool_use', id: 'toolu_1', name: 'sys:execute', input: JSON.parse(args) }], stop_reason: 'tool_use', usage: { input_tokens: 20, output_tokens: 10 } },
      };
    return {
      sse: [
        named('message_start', { message: { ...message, content: [], stop_reason: null, usage: { input_tokens: 20, output_tokens: 1 } } }),
        named('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'sys:execute', input: {} } }),
        named('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: args } }),
        named('content_block_stop', { index: 0 }),
        named('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 10 } }),
        named('message_stop', {}),
      ],
    };
  }
  if (path === '/v1/responses') {
    const item = { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'sys:execute', arguments: args, status: 'completed' };
    const response = { id: 'resp_1', object: 'response', created_at: 0, status: 'completed', model: body.model, output: [item], usage: { input_tokens: 20, output_tokens: 10, total_tokens: 30 } };
    if (!body.stream) return { json: response };
    let seq = 0;
    const ev = (type, v) => named(type, { ...v, sequence_number: seq++ });
    return {
      sse: [
        ev('response.created', { response: { ...response, status: 'in_progress', output: [] } }),
        ev('response.output_item.added', { output_index: 0, item: { ...item, arguments: '', status: 'in_progress' } }),
        ev('response.function_call_arguments.delta', { output_index: 0, item_id: 'fc_1', delta: args }),
        ev('response.function_call_arguments.done', { output_index: 0, item_id: 'fc_1', arguments: args }),
        ev('response.output_item.done', { output_index: 0, item }),
        ev('response.completed', { response }),
      ],
    };
  }
  return { status: 404, json: { error: { message: `no route ${path}`, type: 'not_found' } } };
}

const server = createServer((req, res) => {
  let text = '';
  req.on('data', (c) => (text += c));
  req.on('end', () => {
    const a = answer(req.url ?? '', text === '' ? {} : JSON.parse(text));
    if (a.json) {
      res.writeHead(a.status ?? 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(a.json));
    } else {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(a.sse.join(''));
    }
  });
});
server.listen(port, '127.0.0.1', () => console.log(`fake provider on http://127.0.0.1:${server.address().port}/v1`));
