/**
 * The Fortified SRE seed through `POST /v1/messages` with the official `@anthropic-ai/sdk`
 * client, plain and streamed.
 */

import Anthropic, { APIError, PermissionDeniedError } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageToolUse, messageToolUseStream } from '../helpers/fake-upstream.js';
import { ADMIN, INTERN, SRE, startHarness, UPSTREAM_KEY, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

const TOOLS = [{ name: 'sys:execute', input_schema: { type: 'object' as const, properties: { cmd: { type: 'string' } } } }];

function client(headers: Record<string, string>): Anthropic {
  return new Anthropic({ apiKey: 'ignored', baseURL: h.url, defaultHeaders: headers, maxRetries: 0 });
}

const ask = (c: Anthropic, command: string, danger = 'low') =>
  c.messages.create(
    { model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: `Execute this: ${command}` }], tools: TOOLS },
    { headers: { 'X-ControlZero-Danger-Level': danger } },
  );

async function refusal(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof APIError) return err;
    throw err;
  }
  throw new Error('expected the call to be refused');
}

describe('Messages, plain', () => {
  it('`ls -la` passes, with the upstream key as x-api-key and the agent key not', async () => {
    h.upstream.queue({ json: messageToolUse('sys:execute', { cmd: 'ls -la' }) });
    const answer = await ask(client(SRE), 'ls -la');
    const use = answer.content.find((b) => b.type === 'tool_use');
    expect(use?.type === 'tool_use' && use.input).toEqual({ cmd: 'ls -la' });
    const sent = h.upstream.requests.at(-1);
    expect(sent?.path).toBe('/v1/messages');
    expect(sent?.headers['x-api-key']).toBe(UPSTREAM_KEY);
    expect(sent?.headers['authorization']).toBeUndefined();
    expect(sent?.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  for (const level of ['critical', 'low']) {
    it(`\`rm -rf /app/data\` raises the governance error for an admin with Danger-Level ${level}`, async () => {
      h.upstream.queue({ json: messageToolUse('sys:execute', { cmd: 'rm -rf /app/data' }) });
      const err = await refusal(ask(client(ADMIN), 'rm -rf /app/data', level));
      expect(err).toBeInstanceOf(PermissionDeniedError);
      expect(err.status).toBe(403);
      const body = err.error as { type: string; error: { type: string; message: string }; decision: { decision: string } };
      expect(body.type).toBe('error');
      expect(body.error.type).toBe('governance_denied');
      expect(body.error.message).toBe('Bastion denied tool call `sys:execute`: denied by sre-safety-policy/block-destructive-commands');
      expect(body.decision.decision).toBe('deny');
    });
  }

  it('an intern is refused even `ls`', async () => {
    h.upstream.queue({ json: messageToolUse('sys:execute', { cmd: 'ls' }) });
    const err = await refusal(ask(client(INTERN), 'ls'));
    expect(err.status).toBe(403);
    expect((err.error as { error: { message: string } }).error.message).toContain('deny-unauthorized-sre');
  });
});

describe('Messages, streamed', () => {
  it('text passes at once and `ls -la` is released whole once decided', async () => {
    h.upstream.queue({ sse: messageToolUseStream('sys:execute', JSON.stringify({ cmd: 'ls -la' }), { text: 'Listing it. ' }) });
    const stream = client(SRE).messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'ls -la' }], tools: TOOLS });
    const final = await stream.finalMessage();
    expect(final.content.map((b) => b.type)).toEqual(['text', 'tool_use']);
    expect(final.content[0]?.type === 'text' && final.content[0].text).toBe('Listing it. ');
    expect(final.content[1]?.type === 'tool_use' && final.content[1].input).toEqual({ cmd: 'ls -la' });
    expect(final.stop_reason).toBe('tool_use');
  });

  it('a forbidden call after text ends the stream with the error; no delta of it leaks', async () => {
    h.upstream.queue({ sse: messageToolUseStream('sys:execute', JSON.stringify({ cmd: 'rm -rf /app/data' }), { text: 'Deleting. ', pieces: 6 }) });
    const response = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }], stream: true }),
    });
    const raw = await response.text();
    const [before, after] = raw.split('event: error\n');
    expect(before).toContain('"text":"Deleting. "');
    expect(before).not.toContain('tool_use');
    expect(before).not.toContain('rm -rf');
    expect(after).toMatch(/^data: \{"type":"error","error":\{"type":"governance_denied"/);
    expect(raw).not.toContain('message_stop');

    h.upstream.queue({ sse: messageToolUseStream('sys:execute', JSON.stringify({ cmd: 'rm -rf /app/data' }), { text: 'Deleting. ' }) });
    const stream = client(ADMIN).messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    const err = await refusal(stream.finalMessage());
    expect((err.error as { error: { type: string } }).error.type).toBe('governance_denied');
  });

  it('a forbidden call alone is a plain 403', async () => {
    h.upstream.queue({ sse: messageToolUseStream('sys:execute', JSON.stringify({ cmd: 'rm -rf /app/data' })) });
    const err = await refusal(client(ADMIN).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }], stream: true }));
    expect(err.status).toBe(403);
  });

  it('an unknown event type or a truncated stream is cut off with an error event', async () => {
    const frames = messageToolUseStream('sys:execute', JSON.stringify({ cmd: 'ls' }), { text: 'Hi ' });
    h.upstream.queue({ sse: [...frames.slice(0, 4), 'event: surprise\ndata: {"type":"surprise"}\n\n', ...frames.slice(4)] });
    const r1 = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: { ...SRE, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', max_tokens: 1, messages: [], stream: true }),
    });
    const raw1 = await r1.text();
    expect(raw1).toContain('unknown event type \\"surprise\\"');
    expect(raw1).not.toContain('tool_use');
    h.upstream.queue({ sse: frames.slice(0, -4) });
    const r2 = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: { ...SRE, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', max_tokens: 1, messages: [], stream: true }),
    });
    const raw2 = await r2.text();
    expect(raw2).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"upstream_error"/);
    expect(raw2).not.toContain('tool_use');
  });
});
