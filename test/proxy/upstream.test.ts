/**
 * The upstream's failures as the agent sees them: down (502), slow (504, the configured
 * timeouts), not configured (503), its own errors passed on; `GET /v1/models`; the trace id
 * on every answer; the key from a secret file.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { APIError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { chatToolCall, chatToolCallStream, messageToolUse } from '../helpers/fake-upstream.js';
import { tokenIdentity } from '../helpers/identity.js';
import { SRE, startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const post = (url: string, body: unknown, headers: Record<string, string> = SRE) =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('production mode', () => {
  it("the agent's bearer token identifies it to Bastion and never reaches the upstream", async () => {
    h = await startHarness({ identity: tokenIdentity({ 'bastion-agent-token': { id: 'sre-user-1', groups: ['sre-ops'] } }) });
    h.upstream.queue({ json: chatToolCall('sys:execute', { cmd: 'ls -la' }) });
    const client = new OpenAI({ apiKey: 'bastion-agent-token', baseURL: `${h.url}/v1`, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'gpt-4o', messages: [] });
    expect(answer.choices[0]?.message.tool_calls).toHaveLength(1);
    const sent = JSON.stringify(h.upstream.requests[0]?.headers);
    expect(sent).not.toContain('bastion-agent-token');
    expect(h.upstream.requests[0]?.headers['authorization']).toBe('Bearer sk-upstream-secret-key');
    // Identity headers are not identity in production: a forged intern header changes nothing, a wrong token is 401.
    const forged = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { ...SRE, 'content-type': 'application/json' }, body: '{"model":"gpt-4o","messages":[]}' });
    expect(forged.status).toBe(401);
    expect(h.upstream.requests).toHaveLength(1);
    // The proxy's decisions are counted in /metrics like those of /v1/decide.
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/bastion_decisions_total\{effect="allow"\} 1/);
  });
});

describe('production mode, Anthropic', () => {
  it('the SDK authenticates to Bastion with `authToken` (Authorization: Bearer); the upstream gets only its own key', async () => {
    h = await startHarness({ identity: tokenIdentity({ 'bastion-agent-token': { id: 'sre-user-1', groups: ['sre-ops'] } }) });
    h.upstream.queue({ json: messageToolUse('sys:execute', { cmd: 'ls -la' }) });
    const client = new Anthropic({ apiKey: null, authToken: 'bastion-agent-token', baseURL: h.url, maxRetries: 0 });
    const answer = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    expect(answer.content.map((b) => b.type)).toEqual(['text', 'tool_use']);
    const sent = h.upstream.requests[0]?.headers;
    expect(sent?.['x-api-key']).toBe('sk-upstream-secret-key');
    expect(sent?.['authorization']).toBeUndefined();
    expect(JSON.stringify(sent)).not.toContain('bastion-agent-token');
  });

  it('a malformed X-Bastion-Approval-Id is refused before the upstream is called', async () => {
    h = await startHarness();
    const r = await post(h.url, { model: 'gpt-4o', messages: [] }, { ...SRE, 'X-Bastion-Approval-Id': 'not an id' });
    expect(r.status).toBe(400);
    expect(h.upstream.requests).toHaveLength(0);
  });
});

describe('upstream failures', () => {
  it('an upstream that is down answers 502 naming the upstream, and the SDK raises it', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    h = await startHarness({ upstream: `http://127.0.0.1:${port}/v1` });
    const r = await post(h.url, { model: 'gpt-4o', messages: [] });
    expect(r.status).toBe(502);
    expect(r.headers.get('x-bastion-trace-id')).toMatch(/./);
    const body = (await r.json()) as { error: { type: string; code: string; message: string } };
    expect(body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(body.error.message).toBe(`upstream \`http://127.0.0.1:${port}/v1\`: cannot be reached: ECONNREFUSED`);
    const client = new OpenAI({ apiKey: 'ignored', baseURL: `${h.url}/v1`, defaultHeaders: SRE, maxRetries: 0 });
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(502);
  });

  it('an upstream that does not answer in time is a 504', async () => {
    h = await startHarness({ proxy: { timeoutMs: 200 } });
    h.upstream.queue({ hang: true });
    const started = Date.now();
    const r = await post(h.url, { model: 'gpt-4o', messages: [] });
    expect(r.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(((await r.json()) as { error: { message: string } }).error.message).toBe(`upstream \`${h.upstream.url}\` did not answer within 200 ms`);
  });

  it('a stream that goes silent is cut off after the idle timeout', async () => {
    h = await startHarness({ proxy: { idleTimeoutMs: 200 } });
    const frames = chatToolCallStream('sys:execute', '{"cmd":"ls"}', { text: 'Hi ' });
    h.upstream.queue((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(frames.slice(0, 3).join(''));
    });
    const r = await post(h.url, { model: 'gpt-4o', messages: [], stream: true });
    const raw = await r.text();
    expect(raw).toContain('"content":"Hi "');
    expect(raw).toContain('"code":"UPSTREAM_TIMEOUT"');
    expect(raw).not.toContain('tool_calls');
  });

  it('without an upstream the proxy routes say so (503), not 404', async () => {
    h = await startHarness({ upstream: null });
    const r = await post(h.url, { model: 'gpt-4o', messages: [] });
    expect(r.status).toBe(503);
    expect(((await r.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'UPSTREAM_NOT_CONFIGURED', message: expect.stringContaining('--upstream URL') });
    const models = await fetch(`${h.url}/v1/models`, { headers: SRE });
    expect(models.status).toBe(503);
  });

  it("the upstream's own error is passed on with its status", async () => {
    h = await startHarness();
    h.upstream.queue({ json: { error: { message: 'The model `gpt-9` does not exist', type: 'invalid_request_error', code: 'model_not_found' } }, status: 404 });
    const r = await post(h.url, { model: 'gpt-9', messages: [] });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
  });

  it('a caller without identity gets 401 and the upstream is not called', async () => {
    h = await startHarness();
    const r = await post(h.url, { model: 'gpt-4o', messages: [] }, {});
    expect(r.status).toBe(401);
    expect(r.headers.get('x-bastion-trace-id')).toMatch(/./);
    expect(h.upstream.requests).toHaveLength(0);
  });

  it('GET /v1/models is the upstream list, with the upstream key', async () => {
    h = await startHarness();
    h.upstream.queue({ json: { object: 'list', data: [{ id: 'gpt-4o', object: 'model', created: 1, owned_by: 'openai' }] } });
    const client = new OpenAI({ apiKey: 'ignored', baseURL: `${h.url}/v1`, defaultHeaders: SRE, maxRetries: 0 });
    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    expect(models).toEqual(['gpt-4o']);
    expect(h.upstream.requests[0]?.headers['authorization']).toBe('Bearer sk-upstream-secret-key');
  });

  it('the upstream key may come from a secret file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-key-'));
    writeFileSync(join(dir, 'key'), 'sk-from-file\n');
    h = await startHarness({ env: { BASTION_UPSTREAM_API_KEY_FILE: join(dir, 'key') } });
    h.upstream.queue({ json: chatToolCall('sys:execute', { cmd: 'ls' }) });
    expect((await post(h.url, { model: 'gpt-4o', messages: [] })).status).toBe(200);
    expect(h.upstream.requests[0]?.headers['authorization']).toBe('Bearer sk-from-file');
  });

  it('the agent names its trace with X-Bastion-Trace-Id; a malformed one is refused', async () => {
    h = await startHarness();
    h.upstream.queue({ json: chatToolCall('sys:execute', { cmd: 'ls' }) });
    const r = await post(h.url, { model: 'gpt-4o', messages: [] }, { ...SRE, 'X-Bastion-Trace-Id': 'run-42' });
    expect(r.headers.get('x-bastion-trace-id')).toBe('run-42');
    const bad = await post(h.url, { model: 'gpt-4o', messages: [] }, { ...SRE, 'X-Bastion-Trace-Id': 'a b' });
    expect(bad.status).toBe(400);
  });
});
