/**
 * The Fortified SRE seed through the model-API proxy with the official `openai` client:
 * Chat Completions, plain and streamed, against a real Bastion and a fake upstream.
 */

import OpenAI, { APIError, PermissionDeniedError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatText, chatToolCall, chatToolCallStream } from '../helpers/fake-upstream.js';
import { ADMIN, APPROVER, auditDenies, INTERN, SRE, startHarness, UPSTREAM_KEY, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

const TOOLS = [{ type: 'function' as const, function: { name: 'sys:execute', parameters: { type: 'object', properties: { cmd: { type: 'string' } } } } }];

/** The seed's client: a key Bastion ignores in development mode, identity in headers. */
function client(headers: Record<string, string>): OpenAI {
  return new OpenAI({ apiKey: 'ignored', baseURL: `${h.url}/v1`, defaultHeaders: headers, maxRetries: 0 });
}

/** The seed's `run_command`: the danger level it declares per command. */
function danger(command: string): Record<string, string> {
  return { 'X-ControlZero-Danger-Level': ['rm -rf', 'drop', 'delete'].some((p) => command.includes(p)) ? 'critical' : 'low' };
}

async function ask(c: OpenAI, command: string, headers = danger(command)) {
  return c.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `Execute this: ${command}` }], tools: TOOLS }, { headers });
}

async function refusal(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof APIError) return err;
    throw err;
  }
  throw new Error('expected the call to be refused');
}

describe('Chat Completions, plain', () => {
  it('Scenario A: `ls -la` passes, with the upstream key sent and the agent key not', async () => {
    h.upstream.queue({ json: chatToolCall('sys:execute', { cmd: 'ls -la' }) });
    const answer = await ask(client(SRE), 'ls -la');
    const call = answer.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('sys:execute');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ cmd: 'ls -la' });
    const sent = h.upstream.requests.at(-1);
    expect(sent?.path).toBe('/v1/chat/completions');
    expect(sent?.headers['authorization']).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(JSON.stringify(sent?.headers)).not.toContain('ignored');
    expect(JSON.stringify(sent?.headers).toLowerCase()).not.toContain('x-controlzero');
  });

  for (const level of ['critical', 'low']) {
    it(`Scenario B: \`rm -rf /app/data\` raises the governance error for an admin with Danger-Level ${level}`, async () => {
      h.upstream.queue({ json: chatToolCall('sys:execute', { cmd: 'rm -rf /app/data' }) });
      const err = await refusal(ask(client(ADMIN), 'rm -rf /app/data', { 'X-ControlZero-Danger-Level': level }));
      expect(err).toBeInstanceOf(PermissionDeniedError);
      expect(err.status).toBe(403);
      expect(err.type).toBe('governance_denied');
      expect(err.message).toContain('Bastion denied tool call `sys:execute`: denied by sre-safety-policy/block-destructive-commands');
      const body = err.error as { decision: { decision: string; risk: string; matched: { rule: string }[] } };
      expect(body.decision.decision).toBe('deny');
      expect(body.decision.risk).toBe('critical');
      expect(body.decision.matched.map((m) => m.rule)).toContain('block-destructive-commands');
      expect(err.headers?.get('x-bastion-trace-id')).toMatch(/./);
    });
  }

  it('an intern is refused even `ls`', async () => {
    h.upstream.queue({ json: chatToolCall('sys:execute', { cmd: 'ls' }) });
    const err = await refusal(ask(client(INTERN), 'ls'));
    expect(err.status).toBe(403);
    expect(err.message).toContain('denied by sre-safety-policy/deny-unauthorized-sre');
  });

  it('text without tool calls passes unchanged', async () => {
    h.upstream.queue({ json: chatText('All systems nominal.') });
    const answer = await ask(client(SRE), 'status');
    expect(answer.choices[0]?.message.content).toBe('All systems nominal.');
  });

  it('arguments that are not JSON, or repeat a key, are denied with the reason', async () => {
    h.upstream.queue({ json: chatToolCall('sys:execute', '{"cmd": "ls"') });
    const broken = await refusal(ask(client(SRE), 'ls'));
    expect(broken.status).toBe(403);
    expect(broken.message).toMatch(/Bastion denied tool call `sys:execute`: request is invalid: arguments of tool call `sys:execute`/);
    // A tool reading the last `cmd` must never run what the first was decided as.
    h.upstream.queue({ json: chatToolCall('sys:execute', '{"cmd": "ls", "cmd": "rm -rf /app/data"}') });
    const twice = await refusal(ask(client(SRE), 'ls'));
    expect(twice.message).toMatch(/duplicate key/);
  });

  it('an approval round trip releases exactly one call', async () => {
    const restart = chatToolCall('sys:restart', { service: 'nginx' });
    h.upstream.queue({ json: restart });
    const held = await refusal(client(SRE).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'restart nginx' }] }));
    expect(held.status).toBe(403);
    expect(held.type).toBe('approval_required');
    const id = (held.error as { approval_id: string }).approval_id;
    expect(id).toMatch(/./);
    expect(held.headers?.get('x-bastion-approval-id')).toBe(id);
    expect(held.message).toContain(`X-Bastion-Approval-Id: ${id}`);

    const approved = await fetch(`${h.url}/v1/approvals/${id}/approve`, { method: 'POST', headers: { ...APPROVER, 'content-type': 'application/json' }, body: '{"comment":"ok"}' });
    expect(approved.status).toBe(200);

    h.upstream.queue({ json: restart });
    const retry = await client(SRE).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'restart nginx' }] }, { headers: { 'X-Bastion-Approval-Id': id } });
    const call = retry.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('sys:restart');

    // Single use: the same retry again is refused.
    h.upstream.queue({ json: restart });
    const again = await refusal(client(SRE).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'restart nginx' }] }, { headers: { 'X-Bastion-Approval-Id': id } }));
    expect(again.status).toBe(403);
    expect(again.type).toBe('governance_denied');
    expect(again.message).toContain('already used');
  });

  it('the audit query shows the denies', async () => {
    const denies = await auditDenies(h);
    const rm = denies.filter((e) => e.action === 'sys:execute' && e.principal?.id === 'admin-1');
    expect(rm.length).toBeGreaterThanOrEqual(2);
    expect(rm.every((e) => e.reason === 'denied by sre-safety-policy/block-destructive-commands')).toBe(true);
    // Where the call came from is the proxy's caller, as the socket says.
    expect(rm.every((e) => (e as { context?: { source_ip?: string } }).context?.source_ip === '127.0.0.1')).toBe(true);
    expect(denies.some((e) => e.principal?.id === 'intern-1' && e.reason === 'denied by sre-safety-policy/deny-unauthorized-sre')).toBe(true);
  });
});

describe('Chat Completions, streamed', () => {
  it('`ls -la` is released whole once decided, text first', async () => {
    h.upstream.queue({ sse: chatToolCallStream('sys:execute', JSON.stringify({ cmd: 'ls -la' }), { text: 'Listing the directory. ' }) });
    const stream = await client(SRE).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'ls -la' }], tools: TOOLS, stream: true }, { headers: danger('ls -la') });
    let text = '';
    const calls: { name?: string; args?: string }[] = [];
    let finish: string | null | undefined;
    let usage = false;
    for await (const chunk of stream) {
      if (chunk.usage) usage = true;
      const c = chunk.choices[0];
      if (!c) continue;
      text += c.delta.content ?? '';
      for (const tc of c.delta.tool_calls ?? []) calls.push({ ...(tc.function?.name ? { name: tc.function.name } : {}), ...(tc.function?.arguments ? { args: tc.function.arguments } : {}) });
      finish = c.finish_reason ?? finish;
    }
    expect(text).toBe('Listing the directory. ');
    // One delta with the whole call, as decided.
    expect(calls).toEqual([{ name: 'sys:execute', args: '{"cmd":"ls -la"}' }]);
    expect(finish).toBe('tool_calls');
    // The agent did not ask for usage: the usage chunk the proxy asked for is not passed on.
    const sent = h.upstream.requests.at(-1)?.body as { stream_options?: unknown };
    expect(sent.stream_options).toEqual({ include_usage: true });
    expect(usage).toBe(false);
  });

  it('a forbidden call alone is a plain 403, before any byte of it', async () => {
    h.upstream.queue({ sse: chatToolCallStream('sys:execute', JSON.stringify({ cmd: 'rm -rf /app/data' })) });
    const err = await refusal(
      client(ADMIN).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], tools: TOOLS, stream: true }, { headers: { 'X-ControlZero-Danger-Level': 'low' } }),
    );
    expect(err.status).toBe(403);
    expect(err.type).toBe('governance_denied');
  });

  it('after text, a forbidden call ends the stream with the error, and no delta of it leaks', async () => {
    h.upstream.queue({ sse: chatToolCallStream('sys:execute', JSON.stringify({ cmd: 'rm -rf /app/data' }), { text: 'Deleting now. ', pieces: 5 }) });
    const response = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: true }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-bastion-trace-id')).toMatch(/./);
    const raw = await response.text();
    // The text went out at once, word by word as it came.
    expect(raw).toContain('"content":"Deleting "');
    expect(raw).toContain('"content":"now. "');
    // Nothing of the call before the error (which carries the decision, and ends the stream).
    const [before, after] = raw.split('event: error\n');
    expect(after).toMatch(/^data: \{"error":\{"type":"governance_denied"/);
    expect(before).not.toContain('rm -rf');
    expect(before).not.toContain('sys:execute');
    expect(raw).not.toContain('tool_calls');
    expect(raw).not.toContain('[DONE]');

    // The official client raises it.
    h.upstream.queue({ sse: chatToolCallStream('sys:execute', JSON.stringify({ cmd: 'rm -rf /app/data' }), { text: 'Deleting now. ' }) });
    const stream = await client(ADMIN).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: true });
    const err = await refusal(
      (async () => {
        for await (const _chunk of stream) {
          // reading
        }
      })(),
    );
    expect((err.error as { type: string }).type).toBe('governance_denied');
  });

  it('a stream the proxy cannot parse is cut off with an error event, never passed on', async () => {
    const good = chatToolCallStream('sys:execute', JSON.stringify({ cmd: 'ls' }), { text: 'Hello ' });
    h.upstream.queue({
      sse: [...good.slice(0, 3), 'data: {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "x"}}]}}]\n\n', 'data: {not json\n\n', ...good.slice(3)],
    });
    const response = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...SRE, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: true }),
    });
    const raw = await response.text();
    expect(raw).toContain('Hello');
    expect(raw).toMatch(/event: error\ndata: \{"error":\{"type":"upstream_error","code":"UPSTREAM_UNAVAILABLE","message":"the upstream stream cannot be read: an event is not JSON; it was cut off"/);
    expect(raw).not.toContain('not json');
    expect(raw).not.toContain('tool_calls');
    expect(raw).not.toContain('[DONE]');
  });

  it('a stream that ends before [DONE] never releases its held call', async () => {
    const good = chatToolCallStream('sys:execute', JSON.stringify({ cmd: 'ls' }), { text: 'Hi ' });
    h.upstream.queue({ sse: good.slice(0, -3) });
    const response = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...SRE, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: true }),
    });
    const raw = await response.text();
    expect(raw).not.toContain('tool_calls');
    expect(raw).toContain('ended before `data: [DONE]`');
  });
});
