/**
 * The Vercel AI SDK adapter: `examples/vercel-ai-guard.mjs` runs a real `generateText` loop
 * against a local stand-in for the OpenAI API, and the adapter itself is held to its
 * contract: an allowed call runs with the decided arguments, a denied one does not run and
 * answers the refusal, an approval is waited for and the call then runs, and each decision is
 * in the audit log.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tool, type ToolExecutionOptions, type ToolSet } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { guardVercelTools } from '../../src/guards/index.js';
import { runExample } from '../helpers/run-example.js';

const POLICY = `apiVersion: bastion/v1
name: guard-test
rules:
  - id: deny-forbidden
    effect: deny
    actions: [shell.execute]
    when:
      - field: args.command
        contains: "forbidden-word"
    reason: the test forbids this
  - id: hold-for-approval
    effect: require_approval
    actions: [shell.execute]
    when:
      - field: args.command
        contains: "needs-approval"
    reason: the test holds this
  - id: allow-shell
    effect: allow
    actions: [shell.execute]
`;

const principal = { id: 'ops-agent', groups: ['sre'] };
const execOptions: ToolExecutionOptions = { toolCallId: 'call_1', messages: [] };

describe('examples/vercel-ai-guard.mjs', () => {
  it('runs the agent loop: df -h runs, rm -rf / is denied and the model reads why', async () => {
    const run = await runExample('vercel-ai-guard.mjs');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')).toEqual([
      'df -h: tool result: (would run: df -h)',
      'df -h: model: The tool answered: (would run: df -h)',
      'rm -rf /: tool result: Bastion denied `shell.execute`: deleting files is not allowed for this agent. The call did not run.',
      'rm -rf /: model: The tool answered: Bastion denied `shell.execute`: deleting files is not allowed for this agent. The call did not run.',
      'commands executed: df -h',
      'audit intact: true',
      '',
    ]);
  }, 60_000);
});

describe('guardVercelTools', () => {
  let base: string;
  let gateway: Gateway;
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'bastion-vercel-'));
    gateway = await createGateway({ policies: [{ source: 'guard-test.yaml', text: POLICY }], baseline: { enabled: false }, dataDir: join(base, 'state') });
  });
  afterAll(async () => {
    await gateway.close();
    rmSync(base, { recursive: true, force: true });
  });

  function shellTools(calls: { args: { command: string }; options: ToolExecutionOptions }[], approval?: { waitSeconds: number; onPending: (a: { id: string }) => void }) {
    return guardVercelTools(
      { gateway, request: { principal }, action: 'shell.execute', ...(approval === undefined ? {} : { approval }) },
      {
        run_shell: tool({
          description: 'Run a shell command',
          inputSchema: z.object({ command: z.string() }),
          execute: async (args, options) => {
            calls.push({ args, options });
            return `ran: ${args.command}`;
          },
        }),
      },
    );
  }

  it('runs an allowed call with the decided arguments and the SDK options', async () => {
    const calls: { args: { command: string }; options: ToolExecutionOptions }[] = [];
    const tools = shellTools(calls);
    const set: ToolSet = tools; // still a ToolSet for generateText / streamText
    expect(set['run_shell']?.description).toBe('Run a shell command');
    expect(await tools.run_shell.execute?.({ command: 'df -h' }, execOptions)).toBe('ran: df -h');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args).toEqual({ command: 'df -h' });
    expect(Object.isFrozen(calls[0]?.args)).toBe(true);
    expect(calls[0]?.options).toBe(execOptions);
  });

  it('does not run a denied call and answers the refusal as its result', async () => {
    const calls: { args: { command: string }; options: ToolExecutionOptions }[] = [];
    const tools = shellTools(calls);
    const out = await tools.run_shell.execute?.({ command: 'echo forbidden-word' }, execOptions);
    expect(out).toBe('Bastion denied `shell.execute`: the test forbids this. The call did not run.');
    expect(calls).toHaveLength(0);
  });

  it('without a wait, answers that the approval is pending', async () => {
    const calls: { args: { command: string }; options: ToolExecutionOptions }[] = [];
    const out = await shellTools(calls).run_shell.execute?.({ command: 'echo needs-approval' }, execOptions);
    expect(out).toMatch(
      /^Bastion requires an approval for `shell\.execute`: the test holds this\. The call did not run; approval `([0-9a-f-]{36})` is pending \(an approver runs `bastion approvals approve \1`\)\.$/u,
    );
    expect(calls).toHaveLength(0);
  });

  it('waits for an approval, then runs the call; every decision is audited', async () => {
    const calls: { args: { command: string }; options: ToolExecutionOptions }[] = [];
    let pending: string | undefined;
    const tools = shellTools(calls, {
      waitSeconds: 5,
      onPending: (a) => {
        pending = a.id;
      },
    });
    const running = tools.run_shell.execute?.({ command: 'echo needs-approval and ran' }, execOptions);
    for (let i = 0; i < 100 && pending === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    expect(pending).toBeDefined();
    expect(calls).toHaveLength(0);
    const approved = await gateway.approvals.approve(pending as string, { id: 'oncall', groups: ['bastion-approvers'] }, { comment: 'ok' });
    expect(approved.ok).toBe(true);
    expect(await running).toBe('ran: echo needs-approval and ran');
    expect(calls.map((c) => c.args.command)).toEqual(['echo needs-approval and ran']);

    const events = ((await gateway.auditLog?.query({ type: 'decision' })) ?? []) as { action?: string; decision?: string; reason?: string }[];
    const mine = events.filter((e) => e.action === 'shell.execute').map((e) => e.decision);
    expect(mine.slice(-2)).toEqual(['require_approval', 'allow']);
    expect(mine).toContain('deny');
  });

  it('keeps tools without execute as they are, and every property of the others', async () => {
    const clientSide = { description: 'asked of the user', inputSchema: z.object({ q: z.string() }) };
    const onInputStart = () => {};
    const serverSide = tool({ description: 'echo', inputSchema: z.object({ q: z.string() }), onInputStart, execute: async ({ q }) => q });
    const tools = guardVercelTools({ gateway, request: { principal }, action: 'shell.execute' }, { ask_user: clientSide, echo: serverSide });
    expect(tools.ask_user).toBe(clientSide);
    expect(tools.echo).not.toBe(serverSide);
    expect(tools.echo).toMatchObject({ description: 'echo', inputSchema: serverSide.inputSchema, onInputStart });
    expect(tools.echo.execute).not.toBe(serverSide.execute);
    expect(await tools.echo.execute?.({ q: 'hi' }, execOptions)).toBe('hi');
  });

  it('decides each tool as its own name by default', async () => {
    const tools = guardVercelTools({ gateway, request: { principal } }, { 'shell.execute': tool({ inputSchema: z.object({ command: z.string() }), execute: async ({ command }) => command }) });
    expect(await tools['shell.execute'].execute?.({ command: 'x forbidden-word' }, execOptions)).toBe('Bastion denied `shell.execute`: the test forbids this. The call did not run.');
  });

  it('keeps a streaming (async generator) execute a generator, decided before its first result', async () => {
    let started = 0;
    const tools = guardVercelTools(
      { gateway, request: { principal }, action: 'shell.execute' },
      {
        stream: tool({
          inputSchema: z.object({ command: z.string() }),
          async *execute({ command }) {
            started++;
            yield `1: ${command}`;
            yield `2: ${command}`;
          },
        }),
      },
    );
    const execute = tools.stream.execute;
    if (execute === undefined) throw new Error('the guarded tool lost its execute');
    const collect = async (command: string) => {
      const out: unknown[] = [];
      for await (const chunk of execute({ command }, execOptions) as AsyncIterable<unknown>) out.push(chunk);
      return out;
    };
    expect(await collect('ls')).toEqual(['1: ls', '2: ls']);
    expect(await collect('ls forbidden-word')).toEqual(['Bastion denied `shell.execute`: the test forbids this. The call did not run.']);
    expect(started).toBe(1);
  });
});
