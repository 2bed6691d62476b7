/**
 * `bastion review`: the same run as `POST /review-change`, from a terminal, with the same
 * answers (`--json` prints the service's body) and exit codes a script can branch on.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBastion } from '../helpers/cli.js';

const root = new URL('../..', import.meta.url).pathname;
const CHANGE = ['--ticket', 'CHG-18422', '--repository', 'platform-infra', '--pull-request', '991'];
const ENGINEER = ['--principal', 'engineer@zyxbank.example', '--groups', 'grp-ai-users,grp-ai-devops-readonly', '--device-compliant'];

describe('bastion review', () => {
  it("prints the seed's review as JSON, exit 0, and records the run with --data-dir", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-review-cli-'));
    try {
      const r = await runBastion(['review', '--policy', 'examples/zyx', ...CHANGE, ...ENGINEER, '--json', '--data-dir', dir], { cwd: root });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const body = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(body).toMatchObject({ ticket: 'CHG-18422', pull_request: '991', risk_rating: 'High' });
      expect(body['findings']).toHaveLength(5);
      const exported = await runBastion(['audit', 'export', '--format', 'zyx', '--data-dir', dir], { cwd: root });
      const types = exported.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { event_type: string }).event_type);
      expect(types.filter((t) => t === 'policy_decision')).toHaveLength(8);
      expect(types.at(-1)).toBe('ai_agent_review_completed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names each finding with its file, line and standard for people', async () => {
    const r = await runBastion(['review', '--policy', 'examples/zyx', ...CHANGE, ...ENGINEER], { cwd: root });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^CHG-18422 platform-infra#991: risk High \(trace ai-\d{8}-[0-9a-f]{12}\)\n/);
    expect(r.stdout).toContain('      terraform/security_group.tf:12 aws_security_group.jump_host: port 22 from 0.0.0.0/0 [CSS-NET-01]\n');
  });

  it("a denied tool exits 1 with the seed's detail; the kill switch applies", async () => {
    const r = await runBastion(['review', '--policy', 'examples/zyx', ...CHANGE, ...ENGINEER, '--json', '--kill-switch', '{"all_write_tools_disabled":true}'], { cwd: root });
    expect(r.code).toBe(1);
    const detail = (JSON.parse(r.stdout) as { detail: { message: string; denied: { tool_name: string; reason: string }[] } }).detail;
    expect(detail.message).toBe('one or more tools were denied');
    expect(detail.denied.map((d) => [d.tool_name, d.reason])).toEqual([
      ['jira_add_comment', 'all write tools disabled by kill switch'],
      ['slack_post_message', 'all write tools disabled by kill switch'],
    ]);
  });

  it("the injected ticket exits 1 with the seed's message", async () => {
    const r = await runBastion(['review', '--policy', 'examples/zyx', '--ticket', 'CHG-18431', '--repository', 'platform-infra', '--pull-request', '1002', ...ENGINEER, '--json'], { cwd: root });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ detail: 'retrieved context contains prompt injection indicators' });
  });

  it('no principal is refused before anything runs (exit 2, one line)', async () => {
    const r = await runBastion(['review', '--policy', 'examples/zyx', ...CHANGE], { cwd: root });
    expect(r).toEqual({ code: 2, stdout: '', stderr: 'bastion review: missing user identity: pass --principal ID (with --groups and --device-compliant)\n' });
  });

  it('a malformed change is exit 2 naming the field', async () => {
    const r = await runBastion(['review', '--policy', 'examples/zyx', '--ticket', 'CHG-18422', '--repository', 'platform-infra', '--pull-request', 'abc', ...ENGINEER], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('invalid request: pull_request: Input should be a pull request number such as 991\n');
  });
});
