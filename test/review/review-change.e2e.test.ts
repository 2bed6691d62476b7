/**
 * `POST /review-change` end to end. A real `bastion serve --policy examples/zyx --dev`
 * process on a loopback port answers the ZYX seed's three curl scenarios (engineer, intern,
 * unmanaged device) with the seed's bodies, the kill switch and the injected ticket as the
 * seed describes, and a clean pull request and one with every kind of finding; the audit
 * trail exports the seed's events. Production mode (a real JWT verified against a JWKS file)
 * runs in-process so the test can read what was posted to Jira and Slack.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBastionApp, type BastionApp } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';
import { fixtureBackend, type FixtureBackend } from '../../src/review/index.js';
import { makeKeyPair, signToken, writeJwks, type TestKey } from '../helpers/jwt.js';
import { CLI, serve, type Served } from '../server/serve-process.js';

const root = new URL('../..', import.meta.url).pathname;
const ZYX = join(root, 'examples/zyx');
const TRACE = /^ai-\d{8}-[0-9a-f]{12}$/;
const TOOLS = ['jira_read', 'github_read_pr', 'confluence_read', 'aws_dev_read', 'jira_add_comment', 'slack_post_message'];
const CHANGE = { ticket: 'CHG-18422', repository: 'platform-infra', pull_request: '991' };

const ENGINEER = { 'x-user-email': 'engineer@zyxbank.example', 'x-user-groups': 'grp-ai-users,grp-ai-devops-readonly', 'x-device-compliant': 'true' };
const INTERN = { 'x-user-email': 'intern@zyxbank.example', 'x-user-groups': 'grp-ai-users', 'x-device-compliant': 'true' };
const UNMANAGED = { ...ENGINEER, 'x-device-compliant': 'false' };
const ADMIN = { 'x-user-email': 'secops@zyxbank.example', 'x-user-groups': 'bastion-admins' };

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(url: string, method: string, path: string, headers: Record<string, string>, body: unknown): Promise<Answer> {
  const r = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}
const review = (url: string, headers: Record<string, string>, body: unknown = CHANGE) => call(url, 'POST', '/review-change', headers, body);

/** The seed's expected result for the happy path (Step 11), trace id aside. */
const SEED_REVIEW = {
  ticket: 'CHG-18422',
  repository: 'platform-infra',
  pull_request: '991',
  risk_rating: 'High',
  findings: [
    'S3 bucket does not explicitly enforce public access block.',
    'IAM policy includes wildcard actions. Least privilege review required.',
    'Security group allows inbound access from 0.0.0.0/0 on an administrative port.',
    'CloudWatch log retention is not defined.',
    'Rollback plan is missing from the Jira change ticket.',
  ],
  required_approvals: ['Cloud Security approval', 'Platform owner approval', 'Change manager approval before production promotion'],
  recommended_remediation: [
    'Add S3 public access block.',
    'Replace wildcard IAM actions with explicit actions.',
    'Restrict security group source to approved network ranges.',
    'Define CloudWatch log retention.',
    'Add rollback plan to the Jira change.',
  ],
  tools_used: TOOLS,
};

function zyxEvents(dataDir: string): Record<string, unknown>[] {
  const out = execFileSync(process.execPath, [CLI, 'audit', 'export', '--format', 'zyx', '--data-dir', dataDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('POST /review-change on a real `bastion serve --dev` (the seed scenarios)', () => {
  let dir: string;
  let s: Served;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bastion-review-'));
    s = await serve(['--policy', ZYX, '--dev', '--data-dir', join(dir, 'data')]);
  }, 30_000);
  afterAll(async () => {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("Step 11: the engineer gets the seed's review, and the run is audited with the seed's events", async () => {
    const r = await review(s.url, ENGINEER);
    expect(r.status).toBe(200);
    const { audit_trace_id: trace, ...rest } = r.body;
    expect(rest).toEqual(SEED_REVIEW);
    expect(trace).toMatch(TRACE);
    const events = zyxEvents(join(dir, 'data')).filter((e) => e['trace_id'] === trace);
    const decisions = events.filter((e) => e['event_type'] === 'policy_decision');
    // Six plan decisions, then the two writes decided again with their text.
    expect(decisions.map((e) => e['tool_name'])).toEqual([...TOOLS, 'jira_add_comment', 'slack_post_message']);
    for (const d of decisions) {
      expect(d['user']).toBe('engineer@zyxbank.example');
      expect(d['device_compliant']).toBe(true);
      expect(d['tool_decisions']).toEqual([{ tool_name: d['tool_name'], allowed: true, reason: 'authorized', approval_required: false }]);
    }
    const slack = decisions[7] as { arguments: { channel: string; message: string } };
    expect(slack.arguments).toEqual({
      channel: 'devsecops-change-review',
      message: 'CHG-18422 requires Cloud Security review before promotion. High-risk items: public exposure risk, IAM wildcard policy, missing rollback plan.',
    });
    const comment = (decisions[6] as { arguments: { comment: string } }).arguments.comment;
    expect(comment).toContain('## AI Security Review Summary\nChange: CHG-18422\nLinked PR: platform-infra/pull/991\nRisk rating: High\n');
    expect(comment).toContain(
      '`terraform/security_group.tf` line 12, `aws_security_group.jump_host`, port 22 from 0.0.0.0/0 (standard CSS-NET-01: Administrative ports must not be exposed to 0.0.0.0/0)',
    );
    expect(comment).toContain('`terraform/iam.tf` line 12, `aws_iam_policy.artifact_writer`, s3:* (standard CSS-IAM-01');
    const done = events.find((e) => e['event_type'] === 'ai_agent_review_completed');
    expect(done).toMatchObject({
      trace_id: trace,
      user: 'engineer@zyxbank.example',
      ticket: 'CHG-18422',
      repository: 'platform-infra',
      pull_request: '991',
      tools_used: TOOLS,
      risk_rating: 'high',
      approval_required: true,
      jira_result: { ticket: 'CHG-18422', comment_created: true },
      slack_result: { channel: 'devsecops-change-review', message_posted: true },
      aws_context: { account: 'zyx-dev', region: 'ap-southeast-1', affected_services: ['s3', 'iam', 'ec2', 'cloudwatch'] },
    });
    expect(typeof done?.['timestamp_utc']).toBe('string');
  });

  it("Step 12: the intern without the group is denied, jira_read first with the seed's reason", async () => {
    const r = await review(s.url, INTERN);
    expect(r.status).toBe(403);
    const detail = r.body['detail'] as { message: string; denied: unknown[]; trace_id: string };
    expect(detail.message).toBe('one or more tools were denied');
    expect(detail.trace_id).toMatch(TRACE);
    // Every tool is checked before anything is read, as the seed's authorize_tools does.
    expect(detail.denied).toEqual(TOOLS.map((tool_name) => ({ tool_name, allowed: false, reason: 'user does not belong to an allowed group', approval_required: false })));
    const read = zyxEvents(join(dir, 'data')).filter((e) => e['trace_id'] === detail.trace_id);
    expect(read.map((e) => e['event_type'])).toEqual(TOOLS.map(() => 'policy_decision'));
  });

  it('Step 13: the unmanaged device is denied', async () => {
    const r = await review(s.url, UNMANAGED);
    expect(r.status).toBe(403);
    const detail = r.body['detail'] as { denied: unknown[]; trace_id: string };
    expect(detail.denied[0]).toEqual({ tool_name: 'jira_read', allowed: false, reason: 'device is not compliant', approval_required: false });
    expect(detail.denied).toHaveLength(6);
  });

  it('no identity: 401 missing user identity', async () => {
    const r = await review(s.url, {});
    expect(r).toEqual({ status: 401, body: { detail: 'missing user identity' } });
  });

  it('a malformed request is a 422 naming each field, before any tool is decided', async () => {
    const r = await review(s.url, ENGINEER, { ticket: 'CHG-18422', repository: '../etc', pull_request: 991, extra: 1 });
    expect(r.status).toBe(422);
    expect(r.body['detail']).toEqual([
      { type: 'extra_forbidden', loc: ['body', 'extra'], msg: 'Extra inputs are not permitted' },
      { type: 'string_pattern_mismatch', loc: ['body', 'repository'], msg: 'Input should be a repository name such as platform-infra' },
      { type: 'string_type', loc: ['body', 'pull_request'], msg: 'Input should be a valid string' },
    ]);
  });

  it('kill switch: with all write tools off, the Jira comment and the Slack post are denied and nothing is read', async () => {
    const on = await call(s.url, 'PUT', '/v1/kill-switch', ADMIN, { all_write_tools_disabled: true, reason: 'incident 4711' });
    expect(on.status).toBe(200);
    try {
      const r = await review(s.url, ENGINEER);
      expect(r.status).toBe(403);
      const detail = r.body['detail'] as { denied: unknown[]; trace_id: string };
      expect(detail.denied).toEqual([
        { tool_name: 'jira_add_comment', allowed: false, reason: 'all write tools disabled by kill switch', approval_required: false },
        { tool_name: 'slack_post_message', allowed: false, reason: 'all write tools disabled by kill switch', approval_required: false },
      ]);
      const events = zyxEvents(join(dir, 'data')).filter((e) => e['trace_id'] === detail.trace_id);
      expect(events.some((e) => e['event_type'] === 'validation')).toBe(false);
    } finally {
      await call(s.url, 'PUT', '/v1/kill-switch', ADMIN, { all_write_tools_disabled: false });
    }
    const off = await call(s.url, 'PUT', '/v1/kill-switch', ADMIN, { disabled_workflows: ['change-review'] });
    expect(off.status).toBe(200);
    try {
      const r = await review(s.url, ENGINEER);
      expect(r.status).toBe(403);
      expect((r.body['detail'] as { denied: { reason: string }[] }).denied.map((d) => d.reason)).toEqual(TOOLS.map(() => 'workflow disabled by kill switch'));
    } finally {
      await call(s.url, 'PUT', '/v1/kill-switch', ADMIN, { disabled_workflows: [] });
    }
    expect((await review(s.url, ENGINEER)).status).toBe(200);
  });

  it('a ticket carrying a prompt injection: 400, audited as prompt_injection_detected, nothing posted', async () => {
    const r = await review(s.url, ENGINEER, { ticket: 'CHG-18431', repository: 'platform-infra', pull_request: '1002' });
    expect(r).toEqual({ status: 400, body: { detail: 'retrieved context contains prompt injection indicators' } });
    const events = zyxEvents(join(dir, 'data'));
    const detected = events.filter((e) => e['event_type'] === 'prompt_injection_detected' && e['ticket'] === 'CHG-18431').at(-1);
    expect(detected).toMatchObject({ user: 'engineer@zyxbank.example', indicators: [{ source: 'jira:CHG-18431' }] });
    const trace = detected?.['trace_id'];
    expect(trace).toMatch(TRACE);
    const writes = events.filter((e) => e['trace_id'] === trace && e['event_type'] === 'policy_decision' && (e['context'] as { phase: string }).phase === 'call');
    expect(writes).toEqual([]);
    expect(events.some((e) => e['trace_id'] === trace && e['event_type'] === 'ai_agent_review_completed')).toBe(false);
  });

  it('a clean pull request gets a clean review', async () => {
    const r = await review(s.url, ENGINEER, { ticket: 'CHG-18430', repository: 'platform-infra', pull_request: '1002' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ risk_rating: 'Low', findings: [], required_approvals: ['Platform owner approval'], recommended_remediation: [], tools_used: TOOLS });
  });

  it('a pull request with every kind of finding is rated Critical with each finding and remediation', async () => {
    const r = await review(s.url, ENGINEER, { ticket: 'CHG-18433', repository: 'platform-infra', pull_request: '1005' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      risk_rating: 'Critical',
      findings: [
        'S3 bucket does not explicitly enforce public access block.',
        'IAM policy includes wildcard actions. Least privilege review required.',
        'IAM policy grants access to all resources ("*"). Least privilege review required.',
        'Security group allows inbound access from ::/0 on an administrative port.',
        'Security group allows inbound access from 0.0.0.0/0 on an administrative port.',
        'CloudWatch log retention is not defined.',
        'Storage is not encrypted at rest.',
      ],
      required_approvals: ['Cloud Security approval', 'Platform owner approval', 'Change manager approval before production promotion'],
      recommended_remediation: [
        'Add S3 public access block.',
        'Replace wildcard IAM actions with explicit actions.',
        'Scope IAM policy resources to explicit ARNs.',
        'Restrict security group source to approved network ranges.',
        'Define CloudWatch log retention.',
        'Enable encryption at rest for the storage resources.',
      ],
    });
  });

  it('a ticket or pull request that does not exist is a 404 naming it', async () => {
    const r = await review(s.url, ENGINEER, { ticket: 'CHG-1', repository: 'platform-infra', pull_request: '991' });
    expect(r).toEqual({ status: 404, body: { detail: 'jira_read: ticket `CHG-1` not found' } });
    const p = await review(s.url, ENGINEER, { ticket: 'CHG-18422', repository: 'platform-infra', pull_request: '77' });
    expect(p).toEqual({ status: 404, body: { detail: 'github_read_pr: pull request `platform-infra#77` not found' } });
  });
});

describe('POST /review-change in production mode: identity from a verified JWT only', () => {
  let dir: string;
  let app: BastionApp;
  let url: string;
  let key: TestKey;
  let backend: FixtureBackend;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bastion-review-prod-'));
    key = await makeKeyPair('ES256', 'zyx-idp');
    writeJwks(join(dir, 'jwks.json'), [key]);
    writeFileSync(
      join(dir, 'bastion.yaml'),
      `server: { host: 127.0.0.1, port: 0 }\ndataDir: ./data\npolicies: [${JSON.stringify(ZYX)}]\nidentity:\n  jwt:\n    jwksFile: ./jwks.json\n    issuer: https://idp.test.example/\n    audience: bastion\n    claims: { id: email, groups: groups, deviceCompliant: device_compliant }\n`,
    );
    const config = loadConfig(join(dir, 'bastion.yaml'));
    if (!config.ok) throw new Error(config.errors.map((e) => e.message).join('\n'));
    backend = fixtureBackend();
    const built = await createBastionApp({ config: config.value, io: { stderr: { write: () => true }, env: {} }, watch: false, reviewBackend: backend });
    if (!built.ok) throw new Error(built.errors[0]?.message);
    app = built.value;
    const started = await app.start();
    if (!started.ok || started.value.url === undefined) throw new Error('not started');
    url = started.value.url;
  });
  afterAll(async () => {
    await app?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the seed's headers name nobody in production: 401 missing user identity", async () => {
    expect(await review(url, ENGINEER)).toEqual({ status: 401, body: { detail: 'missing user identity' } });
  });

  it('a token that does not verify is a 401 saying why', async () => {
    const forged = await signToken(await makeKeyPair('ES256', 'zyx-idp'), { email: 'engineer@zyxbank.example', groups: ['grp-ai-devops-readonly'], device_compliant: true });
    const r = await review(url, { authorization: `Bearer ${forged}` });
    expect(r.status).toBe(401);
    expect(r.body['detail']).toMatch(/^bearer token: /);
  });

  it('a verified engineer gets the review; the comment and summary are posted to the configured places', async () => {
    const token = await signToken(key, { email: 'engineer@zyxbank.example', groups: ['grp-ai-users', 'grp-ai-devops-readonly'], device_compliant: true });
    // Headers claiming someone else change nothing: the token names the principal.
    const r = await review(url, { authorization: `Bearer ${token}`, 'x-user-email': 'intern@zyxbank.example' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject(SEED_REVIEW);
    expect(backend.outbox.comments).toHaveLength(1);
    expect(backend.outbox.comments[0]?.ticket).toBe('CHG-18422');
    expect(backend.outbox.comments[0]?.body).toContain(`Audit trace: ${String(r.body['audit_trace_id'])}`);
    expect(backend.outbox.messages.map((m) => [m.channel, m.text])).toEqual([
      ['devsecops-change-review', 'CHG-18422 requires Cloud Security review before promotion. High-risk items: public exposure risk, IAM wildcard policy, missing rollback plan.'],
    ]);
  });

  it('a verified token without device posture is denied (fail closed)', async () => {
    const token = await signToken(key, { email: 'engineer@zyxbank.example', groups: ['grp-ai-devops-readonly'] });
    const r = await review(url, { authorization: `Bearer ${token}` });
    expect(r.status).toBe(403);
    expect((r.body['detail'] as { denied: { reason: string }[] }).denied[0]?.reason).toBe('device is not compliant');
  });
});
