/**
 * The `review` section of `bastion.yaml`: the real systems (`review.http`, tokens from the
 * environment) behind `POST /review-change` on a real socket, the configured Slack channel,
 * and the errors a wrong section gives (located, and at start for a missing token).
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBastionApp } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';
import { runBastion } from '../helpers/cli.js';
import { fakeApis } from './fake-apis.js';

const root = new URL('../..', import.meta.url).pathname;
const ZYX = join(root, 'examples/zyx');
const ENV = { JIRA_TOKEN: 'j', GITHUB_TOKEN: 'g', CONFLUENCE_TOKEN: 'c', SLACK_BOT_TOKEN: 's', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEKEY123456', AWS_SECRET_ACCESS_KEY: 'secret' };

function yaml(base: string, extra = ''): string {
  return `server: { host: 127.0.0.1, port: 0 }
dataDir: ./data
dev: true
policies: [${JSON.stringify(ZYX)}]
review:
  slackChannel: devsecops-change-review
  http:
    jira: { baseUrl: ${base}, email: bastion@zyxbank.example, tokenEnv: JIRA_TOKEN, rollbackField: customfield_10050 }
    github: { baseUrl: ${base}, owner: zyx-bank, tokenEnv: GITHUB_TOKEN }
    confluence: { baseUrl: ${base}, email: bastion@zyxbank.example, tokenEnv: CONFLUENCE_TOKEN, standardsPageId: "48213" }
    slack: { baseUrl: ${base}, tokenEnv: SLACK_BOT_TOKEN }
    aws: { environment: development, alias: zyx-dev, region: ap-southeast-1, accessKeyIdEnv: AWS_ACCESS_KEY_ID, secretAccessKeyEnv: AWS_SECRET_ACCESS_KEY, stsEndpoint: ${base}/sts, ec2Endpoint: ${base}/ec2 }
${extra}`;
}

describe('review.http in bastion.yaml', () => {
  const fake = fakeApis();
  let base: string;
  let dir: string;
  beforeAll(async () => {
    await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), 'bastion-review-config-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await new Promise<void>((r) => fake.server.close(() => r()));
  });

  it('POST /review-change reads and posts through the configured systems', async () => {
    writeFileSync(join(dir, 'bastion.yaml'), yaml(base));
    const config = loadConfig(join(dir, 'bastion.yaml'));
    if (!config.ok) throw new Error(config.errors[0]?.message);
    const built = await createBastionApp({ config: config.value, io: { stderr: { write: () => true }, env: ENV }, watch: false });
    if (!built.ok) throw new Error(built.errors[0]?.message);
    const started = await built.value.start();
    try {
      if (!started.ok || started.value.url === undefined) throw new Error('not started');
      const r = await fetch(`${started.value.url}/review-change`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user-email': 'engineer@zyxbank.example', 'x-user-groups': 'grp-ai-devops-readonly', 'x-device-compliant': 'true' },
        body: JSON.stringify({ ticket: 'CHG-18422', repository: 'platform-infra', pull_request: '991' }),
      });
      expect(r.status).toBe(200);
      expect(((await r.json()) as { risk_rating: string }).risk_rating).toBe('High');
      const slack = fake.seen.find((s) => s.url === '/api/chat.postMessage');
      expect(slack?.headers['authorization']).toBe('Bearer s');
      expect(JSON.parse(slack?.body ?? '{}')).toMatchObject({ channel: 'devsecops-change-review' });
      expect(fake.seen.some((s) => s.method === 'POST' && s.url === '/rest/api/3/issue/CHG-18422/comment')).toBe(true);
    } finally {
      await built.value.stop();
    }
  });

  it('a token variable that is not set stops the start, naming it', async () => {
    writeFileSync(join(dir, 'bastion.yaml'), yaml(base));
    const config = loadConfig(join(dir, 'bastion.yaml'));
    if (!config.ok) throw new Error(config.errors[0]?.message);
    const { SLACK_BOT_TOKEN: _unset, ...env } = ENV;
    const built = await createBastionApp({ config: config.value, io: { stderr: { write: () => true }, env }, watch: false, memory: true });
    expect(built.ok).toBe(false);
    expect(built.ok ? [] : built.errors.map((e) => e.message)).toEqual(['field `review.http.slack.tokenEnv`: the environment variable `SLACK_BOT_TOKEN` is not set']);
  });

  it('bastion review --config runs over the same systems; a missing token variable is exit 2 naming it', async () => {
    writeFileSync(join(dir, 'bastion.yaml'), yaml(base));
    const argv = [
      'review',
      '--config',
      join(dir, 'bastion.yaml'),
      '--ticket',
      'CHG-18422',
      '--repository',
      'platform-infra',
      '--pull-request',
      '991',
      '--principal',
      'engineer@zyxbank.example',
      '--groups',
      'grp-ai-devops-readonly',
      '--device-compliant',
      '--json',
    ];
    fake.seen.length = 0;
    const r = await runBastion(argv, { cwd: dir, env: ENV });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { risk_rating: string }).risk_rating).toBe('High');
    expect(fake.seen.some((s) => s.url === '/api/chat.postMessage')).toBe(true);
    const { GITHUB_TOKEN: _unset, ...env } = ENV;
    const missing = await runBastion(argv, { cwd: dir, env });
    expect(missing).toEqual({ code: 2, stdout: '', stderr: 'bastion review: field `review.http.github.tokenEnv`: the environment variable `GITHUB_TOKEN` is not set\n' });
  });

  it('fixtures and http together are refused with the line', () => {
    writeFileSync(join(dir, 'bastion.yaml'), yaml(base).replace('  slackChannel: devsecops-change-review\n', '  fixtures: ./fixtures\n'));
    const config = loadConfig(join(dir, 'bastion.yaml'));
    expect(config.ok).toBe(false);
    expect(config.ok ? '' : config.errors[0]?.message).toMatch(/^while loading `.*bastion\.yaml`: line 8, column 5: field `review\.http`: give one of `fixtures` and `http`, not both$/);
  });
});
