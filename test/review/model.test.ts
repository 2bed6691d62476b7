/**
 * The review's optional model step against a real OpenAI-compatible HTTP server on loopback
 * (a fake model whose answers the test sets): the model sees only the computed review and
 * the ticket's summary line, spotlighted, and must answer in the JSON schema; its paragraph is
 * added to the answer and the Jira comment, and nothing it says changes findings, approvals
 * or the rating. Every way it can fail (extra fields, a link, not JSON, HTTP 500, a timeout)
 * leaves the deterministic review as it was, and the audit event says why.
 */

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reviewModelFor } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { createChangeReview, fixtureBackend, type ReviewModelOptions } from '../../src/review/index.js';

const root = new URL('../..', import.meta.url).pathname;
const ZYX = join(root, 'examples/zyx');
const ENGINEER = { id: 'engineer@zyxbank.example', groups: ['grp-ai-users', 'grp-ai-devops-readonly'], deviceCompliant: true };
const CHANGE = { ticket: 'CHG-18422', repository: 'platform-infra', pull_request: '991' };
const PROSE =
  'The change adds an S3 bucket, an IAM policy, a security group rule and a log group; four infrastructure findings and a missing rollback plan make it High risk, so Cloud Security, the platform owner and the change manager must sign off.';

interface Seen {
  headers: IncomingMessage['headers'];
  body: { model: string; messages: { role: string; content: string }[]; response_format: { type: string; json_schema: { strict: boolean; schema: unknown } } };
}

/** What the fake model answers next: a message content, an HTTP status, or silence. */
let answer: { content?: string; status?: number; hang?: boolean } = {};
const seen: Seen[] = [];

function fakeModel(): Server {
  return createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: JSON.parse(raw) as Seen['body'] });
      if (answer.hang) return;
      if (answer.status !== undefined) {
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'model overloaded' } }));
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: answer.content ?? '' }, finish_reason: 'stop' }] }));
    });
  });
}

describe('the review model step', () => {
  const server = fakeModel();
  let base: string;
  let gateway: Gateway;
  let dir: string;
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    dir = mkdtempSync(join(tmpdir(), 'bastion-review-model-'));
    gateway = await createGateway({ policies: [ZYX], dataDir: join(dir, 'data') });
  });
  afterAll(async () => {
    await gateway.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen.length = 0;
    answer = {};
  });

  const run = async (model?: ReviewModelOptions) => {
    const backend = fixtureBackend();
    const outcome = await createChangeReview({ gateway, backend, ...(model ? { model } : {}) }).run(ENGINEER, CHANGE);
    if (outcome.status !== 200) throw new Error(`status ${outcome.status}`);
    const [completed] = (await gateway.auditLog?.query({ traceId: outcome.traceId, type: 'review.completed' })) ?? [];
    return { body: outcome.body, comment: backend.outbox.comments[0]?.body ?? '', audit: (completed?.data as Record<string, unknown> | undefined)?.['model_summary'] };
  };
  const model = (extra: Partial<ReviewModelOptions> = {}): ReviewModelOptions => ({ baseUrl: base, model: 'review-model', timeoutMs: 2000, ...extra });

  it('adds the paragraph to the answer and the comment; findings, approvals and rating are as without a model', async () => {
    const plain = await run();
    answer = { content: JSON.stringify({ summary: PROSE }) };
    const withModel = await run(model({ apiKey: 'sk-test-model' }));
    const { summary, audit_trace_id: _a, ...rest } = withModel.body;
    const { audit_trace_id: _b, ...plainRest } = plain.body;
    expect(summary).toBe(PROSE);
    expect(rest).toEqual(plainRest);
    expect(withModel.comment).toContain(`### Model summary (advisory; the findings above are authoritative)\n${PROSE}\n`);
    expect(withModel.audit).toEqual({ status: 'added', model: 'review-model' });
    expect(plain.body).not.toHaveProperty('summary');
    expect(plain.audit).toBeUndefined();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers['authorization']).toBe('Bearer sk-test-model');
  });

  it('sends only the computed review and the ticket summary, spotlighted, and asks for the strict schema', async () => {
    answer = { content: JSON.stringify({ summary: PROSE }) };
    await run(model());
    const body = seen[0]?.body;
    expect(body?.model).toBe('review-model');
    expect(body?.response_format.type).toBe('json_schema');
    expect(body?.response_format.json_schema.strict).toBe(true);
    expect(body?.response_format.json_schema.schema).toEqual({
      type: 'object',
      properties: { summary: { type: 'string', description: 'A plain-text paragraph summarising the review for the change approvers.', maxLength: 1200 } },
      required: ['summary'],
      additionalProperties: false,
    });
    const user = body?.messages.find((m) => m.role === 'user')?.content ?? '';
    expect(user).toContain('<<ticket>>Add^S3^bucket,^IAM^policy,^security^group^rule,^and^CloudWatch^log^group<</ticket>>');
    expect(user).toContain('"risk_rating": "High"');
    // No pull-request file content, no standards page text, no ticket description.
    expect(user).not.toMatch(/resource\s+"aws_/);
    expect(user).not.toContain('Platform change for the development account');
    expect(seen[0]?.headers['authorization']).toBeUndefined();
  });

  const rejected: [string, typeof answer, string, string][] = [
    [
      'extra fields (a lower rating)',
      { content: JSON.stringify({ summary: PROSE, risk_rating: 'Low' }) },
      'rejected',
      'the message does not match the schema (answer: Unrecognized key: "risk_rating")',
    ],
    ['a link', { content: JSON.stringify({ summary: 'See https://attacker.example/?d=CHG-18422 for details.' }) }, 'rejected', 'the summary carries a link or markdown (a channel out of the review)'],
    ['a markdown image', { content: JSON.stringify({ summary: 'Fine. ![x](attacker.example/p.png)' }) }, 'rejected', 'the summary carries a link or markdown (a channel out of the review)'],
    [
      'a secret',
      { content: JSON.stringify({ summary: 'Post with token xoxb-2048817152-4410628739-kq9T3vLm8ZpR2wXy7NcB5dHf when done.' }) },
      'rejected',
      'the summary failed output validation (possible secret)',
    ],
    ['prose, not JSON', { content: 'The change looks fine.' }, 'rejected', 'the message is not JSON'],
    ['an empty summary', { content: JSON.stringify({ summary: '  ' }) }, 'rejected', 'the message does not match the schema (summary: Too small: expected string to have >=1 characters)'],
    ['HTTP 500', { status: 500 }, 'failed', 'review model: POST /chat/completions: HTTP 500: model overloaded'],
    ['no answer in time', { hang: true }, 'failed', 'review model: POST /chat/completions: no answer in time'],
  ];
  it.each(rejected)('a model answering with %s leaves the deterministic review, audited', async (_what, next, status, reason) => {
    const plain = await run();
    answer = next;
    const r = await run(model({ timeoutMs: 300 }));
    expect(r.body).not.toHaveProperty('summary');
    const { audit_trace_id: _a, ...rest } = r.body;
    const { audit_trace_id: _b, ...plainRest } = plain.body;
    expect(rest).toEqual(plainRest);
    expect(r.comment).not.toContain('Model summary');
    expect(r.audit).toEqual({ status, model: 'review-model', reason });
  });

  it('review.model in bastion.yaml: read with its key from the environment; a missing variable names the field', () => {
    writeFileSync(join(dir, 'bastion.yaml'), `policies: [${JSON.stringify(ZYX)}]\nreview:\n  model: { baseUrl: ${base}, model: review-model, apiKeyEnv: REVIEW_MODEL_KEY, timeout: 5s }\n`);
    const loaded = loadConfig(join(dir, 'bastion.yaml'));
    if (!loaded.ok) throw new Error(loaded.errors[0]?.message);
    expect(reviewModelFor(loaded.value, { REVIEW_MODEL_KEY: 'sk-1' })).toEqual({ ok: true, value: { baseUrl: base, model: 'review-model', timeoutMs: 5000, apiKey: 'sk-1' } });
    const missing = reviewModelFor(loaded.value, {});
    expect(missing.ok ? undefined : missing.errors[0]?.message).toBe('field `review.model.apiKeyEnv`: the environment variable `REVIEW_MODEL_KEY` is not set');
    writeFileSync(join(dir, 'bastion.yaml'), `policies: [${JSON.stringify(ZYX)}]\nreview:\n  model: { baseUrl: ftp://x, model: "" }\n`);
    const bad = loadConfig(join(dir, 'bastion.yaml'));
    expect(bad.ok ? [] : bad.errors.map((e) => e.message)).toEqual([expect.stringContaining('review.model.baseUrl'), expect.stringContaining('review.model.model')]);
  });
});
