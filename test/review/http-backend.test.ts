/**
 * The HTTP connectors against local fake servers that answer with each API's documented
 * shapes (Jira Cloud REST v3 with ADF, GitHub REST with `Link` pagination and the raw media
 * type, Confluence v2 storage format, Slack's `{ok}` envelope, AWS Query XML behind SigV4),
 * including errors, pagination and rate limits; then a whole review over them.
 */

import type { AddressInfo } from 'node:net';
import { fakeApis } from './fake-apis.js';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { adfText, createChangeReview, httpBackend, signV4, standardsFromStorage, toAdf, type HttpBackendOptions } from '../../src/review/index.js';

const root = new URL('../..', import.meta.url).pathname;
const CREDS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

describe('SigV4 (AWS test suite vectors)', () => {
  it('get-vanilla', () => {
    const h = signV4({ method: 'GET', url: new URL('https://example.amazonaws.com/'), region: 'us-east-1', service: 'service', credentials: CREDS, amzDate: '20150830T123600Z' });
    expect(h['authorization']).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });
  it('get-vanilla-query-order-key-case: the query is sorted before signing', () => {
    const h = signV4({
      method: 'GET',
      url: new URL('https://example.amazonaws.com/?Param2=value2&Param1=value1'),
      region: 'us-east-1',
      service: 'service',
      credentials: CREDS,
      amzDate: '20150830T123600Z',
    });
    expect(h['authorization']).toMatch(/Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500$/);
  });
});

describe('document formats', () => {
  it('reads ADF as text and writes a comment as ADF', () => {
    const doc = {
      type: 'doc',
      version: 1,
      content: [
        {
          type: 'paragraph',
          content: [
            { type: 'text', text: 'Revert ' },
            { type: 'text', text: 'PR 991' },
          ],
        },
        { type: 'bulletList', content: [{ type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'apply' }] }] }] },
      ],
    };
    expect(adfText(doc)).toBe('Revert PR 991\napply\n');
    expect(toAdf('## Title\nline\n\n- a\n- b')).toEqual({
      type: 'doc',
      version: 1,
      content: [
        { type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'Title' }] },
        { type: 'paragraph', content: [{ type: 'text', text: 'line' }] },
        { type: 'bulletList', content: ['a', 'b'].map((t) => ({ type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: t }] }] })) },
      ],
    });
  });
  it('reads standards from a storage-format page', () => {
    expect(
      standardsFromStorage(
        '<h1>Standards</h1><ul><li><strong>CSS-S3-01</strong>: S3 buckets must block public access &amp; more</li><li>no id here</li></ul><table><tr><td>CSS-LOG-01</td><td>– log groups define retention</td></tr></table>',
      ),
    ).toEqual([
      { id: 'CSS-S3-01', text: 'S3 buckets must block public access & more' },
      { id: 'CSS-LOG-01', text: 'log groups define retention' },
    ]);
  });
});

describe('the HTTP connectors against fake APIs', () => {
  const fake = fakeApis();
  let base: string;
  let options: HttpBackendOptions;
  let gateway: Gateway;
  const waits: number[] = [];
  beforeAll(async () => {
    await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    options = {
      jira: { baseUrl: base, email: 'bastion@zyxbank.example', apiToken: 'jira-token', rollbackField: 'customfield_10050' },
      github: { baseUrl: base, owner: 'zyx-bank', token: 'gh-token' },
      confluence: { baseUrl: base, email: 'bastion@zyxbank.example', apiToken: 'conf-token', standardsPageId: '48213' },
      slack: { baseUrl: base, token: 'xoxb-test' },
      aws: {
        environment: 'development',
        alias: 'zyx-dev',
        region: 'ap-southeast-1',
        credentials: { accessKeyId: 'AKIAEXAMPLEKEY123456', secretAccessKey: 'secret/example' },
        stsEndpoint: `${base}/sts`,
        ec2Endpoint: `${base}/ec2`,
      },
      http: { sleep: async (ms) => void waits.push(ms), timeoutMs: 5000 },
    };
    gateway = await createGateway({ policies: [join(root, 'examples/zyx')] });
  });
  afterAll(async () => {
    await gateway?.close();
    await new Promise<void>((r) => fake.server.close(() => r()));
  });
  beforeEach(() => {
    fake.seen.length = 0;
    waits.length = 0;
  });

  it('Jira: reads the issue (ADF as text, the rollback field), with basic auth; a missing issue is NOT_FOUND', async () => {
    const b = httpBackend(options);
    const t = await b.readTicket('CHG-18422');
    expect(t).toEqual({
      ok: true,
      value: {
        key: 'CHG-18422',
        summary: 'Add S3 bucket, IAM policy, security group rule, and CloudWatch log group',
        description: 'Platform change for the development account.',
        rollbackPlan: null,
        status: 'Awaiting review',
        reporter: 'engineer@zyxbank.example',
      },
    });
    expect(fake.seen[0]?.headers['authorization']).toBe(`Basic ${Buffer.from('bastion@zyxbank.example:jira-token').toString('base64')}`);
    expect(fake.seen[0]?.url).toBe('/rest/api/3/issue/CHG-18422?fields=summary,description,status,environment,reporter,customfield_10050');
    const missing = await b.readTicket('CHG-1');
    expect(missing.ok ? undefined : missing.errors[0]).toMatchObject({ code: 'NOT_FOUND', message: 'ticket `CHG-1` not found' });
  });

  it("Jira: a refused token is CONNECTOR_FAILED with the API's message, never the token", async () => {
    fake.once.set('GET /rest/api/3/issue/CHG-18422', (res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errorMessages: ['You are not authenticated. Authentication required to perform this operation.'] }));
    });
    const r = await httpBackend(options).readTicket('CHG-18422');
    expect(r.ok).toBe(false);
    const e = r.ok ? undefined : r.errors[0];
    expect(e?.code).toBe('CONNECTOR_FAILED');
    expect(e?.message).toBe('jira: issue `CHG-18422`: HTTP 401: You are not authenticated. Authentication required to perform this operation. (check the connector token and its scopes)');
    expect(e?.message).not.toContain('jira-token');
  });

  it('GitHub: follows the Link pages and reads each file at the head commit with the raw media type', async () => {
    const r = await httpBackend(options).readPullRequest('platform-infra', 991);
    if (!r.ok) throw new Error(r.errors[0]?.message);
    expect(r.value.files.map((f) => f.path)).toEqual(['terraform/s3.tf', 'terraform/iam.tf', 'terraform/security_group.tf', 'terraform/cloudwatch.tf']);
    expect(r.value.files[0]?.content).toContain('resource "aws_s3_bucket" "change_artifacts"');
    expect(fake.seen.filter((s) => s.url.includes('/files')).map((s) => s.url)).toEqual([
      '/repos/zyx-bank/platform-infra/pulls/991/files?per_page=100',
      '/repos/zyx-bank/platform-infra/pulls/991/files?per_page=100&page=2',
    ]);
    expect(fake.seen[0]?.headers).toMatchObject({ authorization: 'Bearer gh-token', accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' });
  });

  it('GitHub: a 429 with Retry-After is waited out and retried; a primary rate limit far away fails at once', async () => {
    fake.once.set('GET /repos/zyx-bank/platform-infra/pulls/991', (res) => {
      res.writeHead(429, { 'retry-after': '3', 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'You have exceeded a secondary rate limit.' }));
    });
    const r = await httpBackend(options).readPullRequest('platform-infra', 991);
    expect(r.ok).toBe(true);
    expect(waits).toEqual([3000]);
    fake.once.set('GET /repos/zyx-bank/platform-infra/pulls/991', (res) => {
      res.writeHead(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600), 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'API rate limit exceeded' }));
    });
    const limited = await httpBackend(options).readPullRequest('platform-infra', 991);
    expect(limited.ok ? undefined : limited.errors[0]?.message).toMatch(/^github: pull request `zyx-bank\/platform-infra#991`: rate limited \(HTTP 403\); retry in 3[56]\d\d s$/);
  });

  it('GitHub: an unknown pull request is NOT_FOUND; too many changed files fail closed', async () => {
    const missing = await httpBackend(options).readPullRequest('platform-infra', 5);
    expect(missing.ok ? undefined : missing.errors[0]).toMatchObject({ code: 'NOT_FOUND', message: 'pull request `platform-infra#5` not found' });
    const small = await httpBackend({ ...options, github: { ...options.github, maxFiles: 3 } }).readPullRequest('platform-infra', 991);
    expect(small.ok ? undefined : small.errors[0]?.message).toBe('github: pull request `zyx-bank/platform-infra#991`: more than 3 changed files; review it by hand');
  });

  it("Confluence: the standards from the page's storage body", async () => {
    const r = await httpBackend(options).readStandards();
    if (!r.ok) throw new Error(r.errors[0]?.message);
    expect(r.value.standards[0]).toEqual({ id: 'CSS-S3-01', text: 'S3 buckets must block public access unless explicitly approved' });
    expect(r.value.standards).toHaveLength(7);
  });

  it("Slack: ok true gives the ts; ok false is CONNECTOR_FAILED naming Slack's error", async () => {
    const b = httpBackend(options);
    expect(await b.postMessage('devsecops-change-review', 'hi')).toEqual({ ok: true, value: { ts: '1503435956.000247' } });
    expect(fake.seen[0]?.headers['authorization']).toBe('Bearer xoxb-test');
    const wrong = await b.postMessage('general', 'hi');
    expect(wrong.ok ? undefined : wrong.errors[0]?.message).toBe('slack: chat.postMessage to `general`: channel_not_found');
  });

  it('AWS: STS and EC2 read-only calls, each SigV4-signed for its service and region', async () => {
    const r = await httpBackend(options).describeAccount('development');
    expect(r).toEqual({ ok: true, value: { account: 'zyx-dev', accountId: '210987654321', region: 'ap-southeast-1', environment: 'development', approvedAdminRanges: ['10.40.0.0/16'] } });
    for (const [s, service] of [
      [fake.seen[0], 'sts'],
      [fake.seen[1], 'ec2'],
    ] as const) {
      const date = String(s?.headers['x-amz-date']);
      const expected = signV4({ method: 'GET', url: new URL(`${base}${s?.url}`), region: 'ap-southeast-1', service, credentials: options.aws.credentials, amzDate: date });
      expect(s?.headers['authorization']).toBe(expected['authorization']);
      expect(s?.headers['authorization']).toContain(`/ap-southeast-1/${service}/aws4_request`);
    }
    const other = await httpBackend(options).describeAccount('production');
    expect(other.ok ? undefined : other.errors[0]?.code).toBe('NOT_FOUND');
  });

  it("a whole review over the HTTP connectors: the seed's answer, the comment posted as ADF", async () => {
    const review = createChangeReview({ gateway, backend: httpBackend(options) });
    const outcome = await review.run(
      { id: 'engineer@zyxbank.example', groups: ['grp-ai-devops-readonly'], deviceCompliant: true },
      { ticket: 'CHG-18422', repository: 'platform-infra', pull_request: '991' },
    );
    expect(outcome.status).toBe(200);
    expect(outcome.status === 200 ? outcome.body.findings : []).toHaveLength(5);
    const comment = fake.seen.find((s) => s.method === 'POST' && s.url === '/rest/api/3/issue/CHG-18422/comment');
    const doc = (JSON.parse(comment?.body ?? '{}') as { body: { type: string; content: { type: string }[] } }).body;
    expect(doc.type).toBe('doc');
    expect(doc.content[0]).toEqual({ type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'AI Security Review Summary' }] });
    expect(fake.seen.some((s) => s.url === '/api/chat.postMessage')).toBe(true);
  });
});
