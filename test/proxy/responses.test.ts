/**
 * The Fortified SRE seed through `POST /v1/responses` with the official `openai` client,
 * plain and streamed; items the agent would execute that are not function calls are decided
 * too; the final `response.completed` never carries an undecided call.
 */

import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseFunctionCall, responseFunctionCallStream } from '../helpers/fake-upstream.js';
import { ADMIN, INTERN, SRE, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

const TOOLS = [{ type: 'function' as const, name: 'sys:execute', strict: false, parameters: { type: 'object', properties: { cmd: { type: 'string' } } } }];
const client = (headers: Record<string, string>) => new OpenAI({ apiKey: 'ignored', baseURL: `${h.url}/v1`, defaultHeaders: headers, maxRetries: 0 });

async function refusal(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof APIError) return err;
    throw err;
  }
  throw new Error('expected the call to be refused');
}

describe('Responses, plain', () => {
  it('`ls -la` passes', async () => {
    h.upstream.queue({ json: responseFunctionCall('sys:execute', '{"cmd":"ls -la"}') });
    const r = await client(SRE).responses.create({ model: 'gpt-4o', input: 'ls -la', tools: TOOLS });
    const call = r.output.find((o) => o.type === 'function_call');
    expect(call?.type === 'function_call' && call.arguments).toBe('{"cmd":"ls -la"}');
    expect(h.upstream.requests.at(-1)?.path).toBe('/v1/responses');
  });

  for (const level of ['critical', 'low']) {
    it(`\`rm -rf /app/data\` raises the governance error for an admin with Danger-Level ${level}`, async () => {
      h.upstream.queue({ json: responseFunctionCall('sys:execute', '{"cmd":"rm -rf /app/data"}') });
      const err = await refusal(client(ADMIN).responses.create({ model: 'gpt-4o', input: 'x', tools: TOOLS }, { headers: { 'X-ControlZero-Danger-Level': level } }));
      expect(err.status).toBe(403);
      expect(err.type).toBe('governance_denied');
    });
  }

  it('an intern is refused even `ls`', async () => {
    h.upstream.queue({ json: responseFunctionCall('sys:execute', '{"cmd":"ls"}') });
    const err = await refusal(client(INTERN).responses.create({ model: 'gpt-4o', input: 'x' }));
    expect(err.message).toContain('deny-unauthorized-sre');
  });

  it('a local shell call is decided as its item type, and no rule allows it', async () => {
    const answer = responseFunctionCall('sys:execute', '{}');
    answer['output'] = [{ type: 'local_shell_call', id: 'lsh_1', call_id: 'call_x', status: 'completed', action: { type: 'exec', command: ['rm', '-rf', '/'] } }];
    h.upstream.queue({ json: answer });
    const err = await refusal(client(SRE).responses.create({ model: 'gpt-4o', input: 'x' }));
    expect(err.message).toBe('403 Bastion denied tool call `local_shell_call`: no rule allows this action');
  });
});

describe('Responses, streamed', () => {
  it('`ls -la` is released once decided, and the final response has it', async () => {
    h.upstream.queue({ sse: responseFunctionCallStream('sys:execute', '{"cmd":"ls -la"}', { text: 'Listing. ' }) });
    const stream = client(SRE).responses.stream({ model: 'gpt-4o', input: 'ls -la', tools: TOOLS });
    let text = '';
    stream.on('response.output_text.delta', (e) => (text += e.delta));
    const final = await stream.finalResponse();
    expect(text).toBe('Listing. ');
    const call = final.output.find((o) => o.type === 'function_call');
    expect(call?.type === 'function_call' && call.arguments).toBe('{"cmd":"ls -la"}');
  });

  it('a forbidden call after text ends the stream with the error; no event of it leaks', async () => {
    h.upstream.queue({ sse: responseFunctionCallStream('sys:execute', '{"cmd":"rm -rf /app/data"}', { text: 'Deleting. ' }) });
    const response = await fetch(`${h.url}/v1/responses`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', input: 'x', stream: true }),
    });
    const raw = await response.text();
    const [before, after] = raw.split('event: error\n');
    expect(before).toContain('"delta":"Deleting. "');
    expect(before).not.toContain('function_call');
    expect(before).not.toContain('rm -rf');
    expect(after).toMatch(/^data: \{"type":"error","error":\{"type":"governance_denied"/);
    expect(raw).not.toContain('response.completed');

    h.upstream.queue({ sse: responseFunctionCallStream('sys:execute', '{"cmd":"rm -rf /app/data"}', { text: 'Deleting. ' }) });
    const err = await refusal(client(ADMIN).responses.stream({ model: 'gpt-4o', input: 'x' }).finalResponse());
    expect((err.error as { type: string }).type).toBe('governance_denied');
  });

  it('deltas that do not add up to the finished call are cut off, never released', async () => {
    // The deltas say one thing, the finished item (what would be decided) another.
    const frames = responseFunctionCallStream('sys:execute', '{"cmd":"ls -la"}').map((f) =>
      f.includes('response.function_call_arguments.delta') ? f.replace('"delta":"ls -la', '"delta":"rm -rf /;ls -la') : f,
    );
    expect(frames.join('')).toContain('rm -rf /;ls -la');
    h.upstream.queue({ sse: frames });
    const response = await fetch(`${h.url}/v1/responses`, {
      method: 'POST',
      headers: { ...SRE, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', input: 'x', stream: true }),
    });
    const raw = await response.text();
    expect(raw).not.toContain('rm -rf');
    expect(raw).not.toContain('function_call_arguments');
    expect(raw).toContain('the deltas of a call do not add up to its arguments');
  });

  it('a call that appears only in response.completed is decided there', async () => {
    const frames = responseFunctionCallStream('sys:execute', '{"cmd":"rm -rf /app/data"}', { text: 'Hi ' });
    // Drop the call's own events: only the final response shows it.
    const sneaky = frames.filter((f) => !f.includes('"output_index":1'));
    h.upstream.queue({ sse: sneaky });
    const response = await fetch(`${h.url}/v1/responses`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', input: 'x', stream: true }),
    });
    const raw = await response.text();
    expect(raw).not.toContain('response.completed');
    expect(raw).toContain('governance_denied');
  });
});
