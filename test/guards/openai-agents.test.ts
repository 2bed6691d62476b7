/**
 * The OpenAI Agents SDK guard with the real SDK (`@openai/agents`: Agent, run, tool, the
 * Chat Completions model over the official `openai` client), the model being a local HTTP
 * server that asks for the tool calls the test queues. An allowed call runs once with one
 * decision recorded; a denied one never runs and the model reads the reason; a call that
 * needs an approval interrupts the run, and resuming it runs the tool only when a Bastion
 * approver approved exactly that call: approving in the SDK alone runs nothing.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, OpenAIChatCompletionsModel, run, setTracingDisabled, tool } from '@openai/agents';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { DecisionApproval } from '../../src/core/types.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { guardAgentTool } from '../../src/guards/index.js';
import { openSqliteAuditReader } from '../../src/storage/index.js';
import { chatText, chatToolCall, type FakeUpstream, startFakeUpstream } from '../helpers/fake-upstream.js';
import { runExample } from '../helpers/run-example.js';

const policy = resolve(import.meta.dirname, '../../examples/agents/policy.yaml');
const oncall = { id: 'oncall-sre', groups: ['bastion-approvers'] };

describe('guardAgentTool with the OpenAI Agents SDK', () => {
  let upstream: FakeUpstream;
  let gateway: Gateway;
  let dataDir: string;
  let ran: string[];
  let asked: DecisionApproval[];
  let agent: Agent;
  beforeAll(async () => {
    setTracingDisabled(true);
    upstream = await startFakeUpstream();
    dataDir = mkdtempSync(join(tmpdir(), 'bastion-agents-sdk-'));
    gateway = await createGateway({ policies: [policy], dataDir });
    const guard = { gateway, request: { principal: { id: 'ops-agent', groups: ['agents'] } }, action: 'shell.execute', approval: { onPending: (a: DecisionApproval) => void asked.push(a) } };
    const shell = tool(
      guardAgentTool(guard, {
        name: 'run_shell',
        description: 'Runs a shell command',
        parameters: z.object({ command: z.string() }),
        execute: async ({ command }: { command: string }) => {
          ran.push(command);
          return `(ran: ${command})`;
        },
      }),
    );
    const client = new OpenAI({ baseURL: upstream.url, apiKey: 'test' });
    agent = new Agent({ name: 'ops', instructions: 'Run what you are asked to.', tools: [shell], model: new OpenAIChatCompletionsModel(client, 'gpt-4o-mini') });
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
  });
  beforeEach(() => {
    ran = [];
    asked = [];
  });

  /** What the model was told the tool answered (the last `tool` message it received). */
  const toolAnswer = (): string => {
    const body = upstream.requests.at(-1)?.body as { messages: { role: string; content: string }[] };
    return body.messages.filter((m) => m.role === 'tool').at(-1)?.content ?? '';
  };

  async function decisionsFor(command: string): Promise<{ decision: string; approvalId?: string }[]> {
    const reader = await openSqliteAuditReader(join(dataDir, 'bastion.db'));
    if (!reader.ok) throw new Error(reader.errors[0]?.message);
    const events = await reader.value.query({ type: 'decision' });
    await reader.value.close();
    return events.filter((e) => e.args?.['command'] === command).map((e) => ({ decision: String(e.decision), ...(e.approvalId ? { approvalId: e.approvalId } : {}) }));
  }

  it('runs an allowed call once, decided once', async () => {
    upstream.queue({ json: chatToolCall('run_shell', { command: 'df -h' }) }, { json: chatText('done') });
    const result = await run(agent, 'check the disks');
    expect(result.finalOutput).toBe('done');
    expect(ran).toEqual(['df -h']);
    expect(toolAnswer()).toBe('(ran: df -h)');
    expect(await decisionsFor('df -h')).toEqual([{ decision: 'allow' }]);
  });

  it('does not run a denied call, and the model reads why', async () => {
    upstream.queue({ json: chatToolCall('run_shell', { command: 'rm -rf /var/log' }) }, { json: chatText('blocked') });
    const result = await run(agent, 'clean the logs');
    expect(result.finalOutput).toBe('blocked');
    expect(ran).toEqual([]);
    expect(toolAnswer()).toBe('Bastion denied `shell.execute`: the agent may not delete files. The call did not run.');
    expect(await decisionsFor('rm -rf /var/log')).toEqual([{ decision: 'deny' }]);
  });

  it('interrupts for an approval and runs the exact call once a Bastion approver approved it', async () => {
    upstream.queue({ json: chatToolCall('run_shell', { command: 'systemctl restart nginx' }) });
    const first = await run(agent, 'restart nginx');
    expect(first.interruptions).toHaveLength(1);
    expect(asked).toHaveLength(1);
    const approval = asked[0] as DecisionApproval;
    expect(approval.approverGroups).toEqual(['bastion-approvers']);
    expect(ran).toEqual([]);
    const approved = await gateway.approvals.approve(approval.id, oncall, { comment: 'maintenance window' });
    expect(approved.ok).toBe(true);
    for (const i of first.interruptions) first.state.approve(i);
    upstream.queue({ json: chatText('restarted') });
    const resumed = await run(agent, first.state);
    expect(resumed.finalOutput).toBe('restarted');
    expect(ran).toEqual(['systemctl restart nginx']);
    expect(await decisionsFor('systemctl restart nginx')).toEqual([
      { decision: 'require_approval', approvalId: approval.id },
      { decision: 'allow', approvalId: approval.id },
    ]);
  });

  it('runs nothing when the SDK approves but Bastion has not', async () => {
    upstream.queue({ json: chatToolCall('run_shell', { command: 'systemctl restart postgresql' }) });
    const first = await run(agent, 'restart the database');
    expect(first.interruptions).toHaveLength(1);
    const approval = asked[0] as DecisionApproval;
    for (const i of first.interruptions) first.state.approve(i);
    upstream.queue({ json: chatText('not yet') });
    const resumed = await run(agent, first.state);
    expect(resumed.finalOutput).toBe('not yet');
    expect(ran).toEqual([]);
    expect(toolAnswer()).toBe(
      `Bastion requires an approval for \`shell.execute\`: approval \`${approval.id}\` is pending: 0 of 1 approval, expires ${approval.expiresAt}. The call did not run; approval \`${approval.id}\` is pending (an approver runs \`bastion approvals approve ${approval.id}\`).`,
    );
  });

  it('runs the example as printed', async () => {
    const example = await runExample('openai-agents-guard.mjs');
    expect(example.stderr).toBe('');
    expect(example.code).toBe(0);
    expect(example.stdout).toBe(
      [
        'df -h -> The tool said: (ran: df -h)',
        'rm -rf /var/log -> The tool said: Bastion denied `shell.execute`: the agent may not delete files. The call did not run.',
        'systemctl restart nginx -> interrupted; Bastion asks bastion-approvers to approve: {"command":"systemctl restart nginx"}',
        'systemctl restart nginx -> The tool said: (ran: systemctl restart nginx)',
        '',
      ].join('\n'),
    );
  }, 60_000);
});
