/**
 * The proxy's options: `proxy.onDeny: strip` (the refused call removed and explained instead
 * of an error), `proxy.redactText` (secrets in the model's text redacted, across chunks in a
 * stream), and token usage spent from the caller's budgets.
 */

import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { chatText, chatToolCall, chatToolCallStream, messageToolUse, messageToolUseStream, responseFunctionCall, responseFunctionCallStream } from '../helpers/fake-upstream.js';
import { ADMIN, SRE, startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const root = new URL('../..', import.meta.url).pathname;
const post = async (url: string, path: string, body: unknown, headers: Record<string, string>) => {
  const r = await fetch(`${url}${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, text: await r.text() };
};

describe('onDeny: strip', () => {
  it('Chat: the refused call is removed and explained; finish_reason becomes stop', async () => {
    h = await startHarness({ proxy: { onDeny: 'strip' } });
    h.upstream.queue({ json: chatToolCall('sys:execute', { cmd: 'rm -rf /app/data' }, 'On it.') });
    const client = new OpenAI({ apiKey: 'ignored', baseURL: `${h.url}/v1`, defaultHeaders: ADMIN, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    const choice = answer.choices[0];
    expect(choice?.message.tool_calls).toBeUndefined();
    expect(choice?.message.content).toBe('On it.\n[Bastion denied tool call `sys:execute`: denied by sre-safety-policy/block-destructive-commands]');
    expect(choice?.finish_reason).toBe('stop');
  });

  it('Chat streamed: the call never appears, the explanation does', async () => {
    h = await startHarness({ proxy: { onDeny: 'strip' } });
    h.upstream.queue({ sse: chatToolCallStream('sys:execute', JSON.stringify({ cmd: 'rm -rf /app/data' }), { text: 'On it. ' }) });
    const client = new OpenAI({ apiKey: 'ignored', baseURL: `${h.url}/v1`, defaultHeaders: ADMIN, maxRetries: 0 });
    const final = await client.chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).finalChatCompletion();
    expect(final.choices[0]?.message.tool_calls ?? []).toEqual([]);
    expect(final.choices[0]?.message.content).toBe('On it. [Bastion denied tool call `sys:execute`: denied by sre-safety-policy/block-destructive-commands]');
    expect(final.choices[0]?.finish_reason).toBe('stop');
  });

  it('Messages: the tool_use block becomes a text block at the same place', async () => {
    h = await startHarness({ proxy: { onDeny: 'strip' } });
    h.upstream.queue({ json: messageToolUse('sys:execute', { cmd: 'rm -rf /app/data' }) });
    const r = await post(h.url, '/v1/messages', { model: 'm', max_tokens: 1, messages: [] }, ADMIN);
    const body = JSON.parse(r.text) as { content: { type: string; text?: string }[]; stop_reason: string };
    expect(body.content.map((b) => b.type)).toEqual(['text', 'text']);
    expect(body.content[1]?.text).toContain('denied by sre-safety-policy/block-destructive-commands');
    expect(body.stop_reason).toBe('end_turn');
  });

  it('Responses: the function_call item becomes a message item', async () => {
    h = await startHarness({ proxy: { onDeny: 'strip' } });
    h.upstream.queue({ json: responseFunctionCall('sys:execute', '{"cmd":"rm -rf /app/data"}') });
    const r = await post(h.url, '/v1/responses', { model: 'gpt-4o', input: 'x' }, ADMIN);
    const body = JSON.parse(r.text) as { output: { type: string }[] };
    expect(body.output.map((o) => o.type)).toEqual(['message']);
    expect(r.text).not.toContain('"function_call"');
  });
});

describe('redactText', () => {
  const SECRET = 'AKIAZ7VQ3XKQ2M5PLR4T';

  it('off (the default): text passes as it is', async () => {
    h = await startHarness();
    h.upstream.queue({ json: chatText(`the token is ${SECRET}`) });
    const r = await post(h.url, '/v1/chat/completions', { model: 'gpt-4o', messages: [] }, SRE);
    expect(r.text).toContain(SECRET);
  });

  it('on: a secret in plain text is redacted, and in a stream even when split across chunks', async () => {
    h = await startHarness({ proxy: { redactText: true } });
    h.upstream.queue({ json: chatText(`the token is ${SECRET}`) });
    const plain = await post(h.url, '/v1/chat/completions', { model: 'gpt-4o', messages: [] }, SRE);
    expect(plain.text).not.toContain(SECRET);
    expect(plain.text).toContain('the token is [REDACTED:aws-access-key]');

    const env = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o' };
    const piece = (content: string) => `data: ${JSON.stringify({ ...env, choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
    h.upstream.queue({
      sse: [
        `data: ${JSON.stringify({ ...env, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`,
        piece('the token is AKIAZ7VQ'),
        piece('3XKQ2M5PLR4T ok'),
        `data: ${JSON.stringify({ ...env, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
        'data: [DONE]\n\n',
      ],
    });
    const client = new OpenAI({ apiKey: 'ignored', baseURL: `${h.url}/v1`, defaultHeaders: SRE, maxRetries: 0 });
    const final = await client.chat.completions.stream({ model: 'gpt-4o', messages: [] }).finalChatCompletion();
    const text = final.choices[0]?.message.content ?? '';
    expect(text).toBe('the token is [REDACTED:aws-access-key] ok');
  });
});

describe('redactText in a Responses stream', () => {
  it('redacts a secret split across deltas, in the done events and the final response', async () => {
    h = await startHarness({ proxy: { redactText: true } });
    const frames = responseFunctionCallStream('sys:execute', '{"cmd":"ls"}', { text: 'key AKIAZ7VQ3XKQ2M5PLR4T end' });
    // Split the one text delta in two, inside the key.
    const split = frames.flatMap((f) => {
      if (!f.includes('response.output_text.delta')) return [f];
      return [f.replace('key AKIAZ7VQ3XKQ2M5PLR4T end', 'key AKIAZ7VQ'), f.replace('key AKIAZ7VQ3XKQ2M5PLR4T end', '3XKQ2M5PLR4T end')];
    });
    h.upstream.queue({ sse: split });
    const client = new OpenAI({ apiKey: 'ignored', baseURL: `${h.url}/v1`, defaultHeaders: SRE, maxRetries: 0 });
    const stream = client.responses.stream({ model: 'gpt-4o', input: 'x' });
    let text = '';
    stream.on('response.output_text.delta', (e) => (text += e.delta));
    const final = await stream.finalResponse();
    expect(text).toBe('key [REDACTED:aws-access-key] end');
    expect(JSON.stringify(final)).not.toContain('AKIAZ7VQ3XKQ2M5PLR4T');
    expect(final.output_text).toBe('key [REDACTED:aws-access-key] end');
  });
});

describe('redactText in a Messages stream', () => {
  it('redacts a secret split across text deltas', async () => {
    h = await startHarness({ proxy: { redactText: true } });
    const frames = messageToolUseStream('sys:execute', '{"cmd":"ls"}', { text: 'key AKIAZ7VQ 3XKQ2M5PLR4T end' }).map((f) => f.replace('"text":"AKIAZ7VQ "', '"text":"AKIAZ7VQ"'));
    h.upstream.queue({ sse: frames });
    const client = new Anthropic({ apiKey: 'ignored', baseURL: h.url, defaultHeaders: SRE, maxRetries: 0 });
    const final = await client.messages.stream({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).finalMessage();
    expect(final.content[0]?.type === 'text' && final.content[0].text).toBe('key [REDACTED:aws-access-key] end');
    expect(final.content[1]?.type).toBe('tool_use');
  });
});

describe('token usage', () => {
  it('is spent from the caller’s tokens budget; once spent, the next call is refused', async () => {
    h = await startHarness({ policies: [join(root, 'test/fixtures/proxy/budget.yaml')] });
    const who = { 'X-ControlZero-User-ID': 'bot', 'X-ControlZero-User-Group': 'budgeted' };
    // 30 tokens each (the fake's usage), 50 allowed: the first answer passes, the second
    // passes (its call is decided before its usage is known), the third is refused.
    for (const expected of [200, 200, 403]) {
      h.upstream.queue({ json: chatToolCall('deploy.run', { service: 'web' }) });
      const r = await post(h.url, '/v1/chat/completions', { model: 'gpt-4o', messages: [] }, who);
      expect(r.status, r.text).toBe(expected);
      if (expected === 403) expect(r.text).toContain('budget exhausted: `model-tokens`');
    }
  });
});
