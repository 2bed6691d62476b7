/**
 * The LangChain.js adapter: `examples/langchain-guard.mjs` invokes a guarded `tool()` with
 * tool calls, as LangGraph's ToolNode does, and the adapter itself is held to its contract:
 * an allowed call runs with the decided arguments and answers a ToolMessage, a denied one
 * does not run and answers the refusal (in a ToolMessage for a tool call), an approval is
 * waited for and the call then runs, and the guarded tool is still a LangChain tool with the
 * original's name, description and schema.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolMessage } from '@langchain/core/messages';
import { isStructuredTool, StructuredTool, tool, ToolInputParsingException } from '@langchain/core/tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { guardLangChainTool, guardLangChainTools, type ToolGuardOptions } from '../../src/guards/index.js';
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
const DENIED = 'Bastion denied `shell.execute`: the test forbids this. The call did not run.';

describe('examples/langchain-guard.mjs', () => {
  it('invokes the guarded tool: df -h runs, rm -rf / is denied with the reason', async () => {
    const run = await runExample('langchain-guard.mjs');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')).toEqual([
      'df -h: tool message for call_1: (would run: df -h)',
      'rm -rf /: tool message for call_2: Bastion denied `shell.execute`: deleting files is not allowed for this agent. The call did not run.',
      'commands executed: df -h',
      'audit intact: true',
      '',
    ]);
  }, 60_000);
});

describe('guardLangChainTool', () => {
  let base: string;
  let gateway: Gateway;
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'bastion-langchain-'));
    gateway = await createGateway({ policies: [{ source: 'guard-test.yaml', text: POLICY }], baseline: { enabled: false }, dataDir: join(base, 'state') });
  });
  afterAll(async () => {
    await gateway.close();
    rmSync(base, { recursive: true, force: true });
  });

  const options = (extra: Partial<ToolGuardOptions> = {}): ToolGuardOptions => ({ gateway, request: { principal }, action: 'shell.execute', ...extra });

  function shellTool(calls: { command: string }[]) {
    return tool(
      async (args: { command: string }) => {
        calls.push(args);
        return `ran: ${args.command}`;
      },
      { name: 'run_shell', description: 'Run a shell command', schema: z.object({ command: z.string() }) },
    );
  }
  const toolCall = (command: string, id = 'call_1') => ({ type: 'tool_call' as const, id, name: 'run_shell', args: { command } });

  it('runs an allowed call with the decided arguments; a tool call answers a ToolMessage', async () => {
    const calls: { command: string }[] = [];
    const guarded = guardLangChainTool(options(), shellTool(calls));
    const message = await guarded.invoke(toolCall('df -h'));
    expect(message).toBeInstanceOf(ToolMessage);
    expect(message).toMatchObject({ content: 'ran: df -h', tool_call_id: 'call_1', name: 'run_shell', status: 'success' });
    expect(calls).toEqual([{ command: 'df -h' }]);
    expect(Object.isFrozen(calls[0])).toBe(true);
    // Invoked with the arguments alone, the output is the tool's own.
    expect(await guarded.invoke({ command: 'uptime' })).toBe('ran: uptime');
  });

  it('does not run a denied call and answers the refusal', async () => {
    const calls: { command: string }[] = [];
    const guarded = guardLangChainTool(options(), shellTool(calls));
    const message = await guarded.invoke(toolCall('echo forbidden-word', 'call_9'));
    expect(message).toBeInstanceOf(ToolMessage);
    expect(message).toMatchObject({ content: DENIED, tool_call_id: 'call_9', name: 'run_shell' });
    expect(await guarded.invoke({ command: 'echo forbidden-word' })).toBe(DENIED);
    expect(calls).toHaveLength(0);
  });

  it('without a wait, answers that the approval is pending', async () => {
    const calls: { command: string }[] = [];
    const out = await guardLangChainTool(options(), shellTool(calls)).invoke({ command: 'echo needs-approval' });
    expect(out).toMatch(/^Bastion requires an approval for `shell\.execute`: the test holds this\. The call did not run; approval `[0-9a-f-]{36}` is pending/u);
    expect(calls).toHaveLength(0);
  });

  it('waits for an approval, then runs the call; every decision is audited', async () => {
    const calls: { command: string }[] = [];
    let pending: string | undefined;
    const guarded = guardLangChainTool(
      options({
        approval: {
          waitSeconds: 5,
          onPending: (a) => {
            pending = a.id;
          },
        },
      }),
      shellTool(calls),
    );
    const running = guarded.invoke(toolCall('echo needs-approval and ran', 'call_7'));
    for (let i = 0; i < 100 && pending === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    expect(pending).toBeDefined();
    expect(calls).toHaveLength(0);
    const approved = await gateway.approvals.approve(pending as string, { id: 'oncall', groups: ['bastion-approvers'] }, { comment: 'ok' });
    expect(approved.ok).toBe(true);
    expect(await running).toMatchObject({ content: 'ran: echo needs-approval and ran', tool_call_id: 'call_7' });
    expect(calls).toEqual([{ command: 'echo needs-approval and ran' }]);

    const events = ((await gateway.auditLog?.query({ type: 'decision' })) ?? []) as { action?: string; decision?: string }[];
    const mine = events.filter((e) => e.action === 'shell.execute').map((e) => e.decision);
    expect(mine.slice(-2)).toEqual(['require_approval', 'allow']);
    expect(mine).toContain('deny');
  });

  it('is still the same LangChain tool: name, description, schema; the original is unchanged', async () => {
    const calls: { command: string }[] = [];
    const original = shellTool(calls);
    const guarded = guardLangChainTool(options(), original);
    expect(guarded).not.toBe(original);
    expect(guarded).toBeInstanceOf(StructuredTool);
    expect(isStructuredTool(guarded)).toBe(true);
    expect({ name: guarded.name, description: guarded.description, schema: guarded.schema }).toEqual({ name: 'run_shell', description: 'Run a shell command', schema: original.schema });
    // The schema is still LangChain's to check, before anything is decided.
    await expect(guarded.invoke({ command: 42 } as never)).rejects.toBeInstanceOf(ToolInputParsingException);
    // The original tool is not guarded.
    expect(await original.invoke({ command: 'echo forbidden-word' })).toBe('ran: echo forbidden-word');
  });

  it('decides each tool as its own name by default; guardLangChainTools guards a list', async () => {
    const ran: string[] = [];
    const a = tool(
      async ({ command }: { command: string }) => {
        ran.push(command);
        return command;
      },
      { name: 'shell.execute', description: 'a', schema: z.object({ command: z.string() }) },
    );
    const b = tool(async () => 'b', { name: 'other_tool', description: 'b', schema: z.object({}) });
    const [ga, gb] = guardLangChainTools({ gateway, request: { principal } }, [a, b]);
    expect(await ga?.invoke({ command: 'x forbidden-word' })).toBe(DENIED);
    expect(ran).toHaveLength(0);
    // No rule allows `other_tool`: denied by default.
    expect(await gb?.invoke({})).toMatch(/^Bastion denied `other_tool`: .+\. The call did not run\.$/u);
  });

  it('answers a (content, artifact) pair for a content_and_artifact tool', async () => {
    const t = tool(async ({ command }: { command: string }) => [`ran: ${command}`, { exit: 0 }], {
      name: 'run_shell',
      description: 'Run a shell command',
      schema: z.object({ command: z.string() }),
      responseFormat: 'content_and_artifact',
    });
    // (tool()'s overloads type this one's invoke as a union TypeScript cannot call.)
    const guarded = guardLangChainTool(options(), t) as unknown as StructuredTool;
    expect(await guarded.invoke(toolCall('ls'))).toMatchObject({ content: 'ran: ls', artifact: { exit: 0 } });
    expect(await guarded.invoke(toolCall('ls forbidden-word'))).toMatchObject({ content: DENIED, artifact: undefined });
  });

  it('refuses an object that is not a StructuredTool', () => {
    expect(() => guardLangChainTool(options(), { name: 'x', invoke: async () => 'x' })).toThrow(TypeError);
  });
});
