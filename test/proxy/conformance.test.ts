/**
 * One tool call, six ways through the proxy (Chat Completions, Responses and Messages, each
 * plain and streamed) and once through `POST /v1/decide`: the same decision and reason
 * every time. The cases are `test/fixtures/proxy/tool-calls.json`.
 */

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatToolCall, chatToolCallStream, messageToolUse, messageToolUseStream, responseFunctionCall, responseFunctionCallStream, type Answer } from '../helpers/fake-upstream.js';
import { startHarness, type Harness } from './harness.js';

interface Case {
  description: string;
  headers: Record<string, string>;
  call: { name: string; arguments: string };
  expect: { decision: 'allow' | 'deny' | 'require_approval'; reason: string };
}

const CASES = JSON.parse(readFileSync(new URL('../fixtures/proxy/tool-calls.json', import.meta.url), 'utf8')) as Case[];

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

/** Each surface: the path, the request body, and the upstream's answer calling the tool. */
const SURFACES: { name: string; path: string; body: Record<string, unknown>; answer: (c: Case['call']) => Answer }[] = [
  { name: 'chat', path: '/v1/chat/completions', body: { model: 'gpt-4o', messages: [] }, answer: (c) => ({ json: chatToolCall(c.name, c.arguments) }) },
  { name: 'chat stream', path: '/v1/chat/completions', body: { model: 'gpt-4o', messages: [], stream: true }, answer: (c) => ({ sse: chatToolCallStream(c.name, c.arguments) }) },
  { name: 'responses', path: '/v1/responses', body: { model: 'gpt-4o', input: 'x' }, answer: (c) => ({ json: responseFunctionCall(c.name, c.arguments) }) },
  { name: 'responses stream', path: '/v1/responses', body: { model: 'gpt-4o', input: 'x', stream: true }, answer: (c) => ({ sse: responseFunctionCallStream(c.name, c.arguments) }) },
  {
    name: 'messages',
    path: '/v1/messages',
    body: { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [] },
    // A plain Messages answer carries the input as JSON inside the body: the arguments' text goes in as it is.
    answer: (c) => (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(messageToolUse(c.name, {})).replace('"input":{}', `"input":${c.arguments}`));
    },
  },
  {
    name: 'messages stream',
    path: '/v1/messages',
    body: { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [], stream: true },
    answer: (c) => ({ sse: messageToolUseStream(c.name, c.arguments) }),
  },
];

describe('the same tool call gets the same decision through every proxy surface and /v1/decide', () => {
  it('has its cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(11);
  });

  for (const c of CASES) {
    it(c.description, async () => {
      let args: unknown;
      try {
        args = JSON.parse(c.call.arguments);
      } catch {
        args = undefined;
      }
      // /v1/decide, for the cases whose arguments are an object it can take.
      if (c.expect.reason !== 'request is invalid') {
        const r = await fetch(`${h.url}/v1/decide`, { method: 'POST', headers: { ...c.headers, 'content-type': 'application/json' }, body: JSON.stringify({ action: c.call.name, args }) });
        const d = (await r.json()) as { decision: string; reason: string };
        expect({ decision: d.decision, reason: d.reason }, `/v1/decide: ${c.description}`).toEqual(c.expect);
      }
      for (const s of SURFACES) {
        // In a plain Messages answer the input is part of the body's JSON: a body that does not
        // parse is a 502 (not a decision), and a repeated key is resolved when the body is read
        // (the agent then gets exactly the value that was decided), so those cases do not apply.
        if (s.name === 'messages' && c.expect.reason === 'request is invalid' && !c.call.arguments.startsWith('[')) continue;
        h.upstream.queue(s.answer(c.call));
        const r = await fetch(`${h.url}${s.path}`, { method: 'POST', headers: { ...c.headers, 'content-type': 'application/json' }, body: JSON.stringify(s.body) });
        const text = await r.text();
        const where = `${s.name}: ${c.description}`;
        if (c.expect.decision === 'allow') {
          expect(r.status, where).toBe(200);
          expect(text, where).toContain(c.call.name);
          expect(text, where).not.toContain('governance_denied');
          continue;
        }
        expect(r.status, `${where}: ${text.slice(0, 300)}`).toBe(403);
        const body = JSON.parse(text) as { error: { type: string }; decision?: { decision: string; reason: string } };
        const decision = body.decision ?? (body.error as { decision?: { decision: string; reason: string } }).decision;
        expect({ decision: decision?.decision, reason: decision?.reason }, where).toEqual(c.expect);
        expect(body.error.type, where).toBe(c.expect.decision === 'deny' ? 'governance_denied' : 'approval_required');
      }
    });
  }
});
