// Bastion guarding a LangChain.js tool: `npm run build && node examples/langchain-guard.mjs`.
// The tool is invoked with a tool call, as LangGraph's ToolNode and `createAgent` invoke it,
// so no model is needed: `df -h` is allowed and runs; `rm -rf /` is denied and its
// ToolMessage carries the reason for the model.
// (In your own project, import from 'agent-bastion' instead of '../dist/index.js'.)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';
import { createGateway, guardLangChainTool } from '../dist/index.js';

// 1. A native policy: shell commands run, except deleting files.
const dir = mkdtempSync(join(tmpdir(), 'bastion-langchain-'));
writeFileSync(
  join(dir, 'agent-shell.yaml'),
  `apiVersion: bastion/v1
name: agent-shell
actions:
  shell.execute: { connector: shell }
rules:
  - id: deny-deletes
    effect: deny
    actions: [shell.execute]
    when:
      - field: analysis.categories
        contains: fs.delete
    reason: deleting files is not allowed for this agent
  - id: allow-shell
    effect: allow
    actions: [shell.execute]
`,
);
const gateway = await createGateway({ policies: [join(dir, 'agent-shell.yaml')], dataDir: join(dir, 'state') });

// 2. A LangChain tool, and its guarded twin: each call is decided as `shell.execute`.
const executed = [];
const runShell = tool(
  async ({ command }) => {
    // Runs nothing real in this example: it says what it would run.
    executed.push(command);
    return `(would run: ${command})`;
  },
  { name: 'run_shell', description: 'Run a shell command on the host', schema: z.object({ command: z.string() }) },
);
const guarded = guardLangChainTool({ gateway, request: { principal: { id: 'ops-agent', groups: ['sre'] } }, action: 'shell.execute' }, runShell);

// 3. Two tool calls, as an agent's model would make them.
for (const [id, command] of [
  ['call_1', 'df -h'],
  ['call_2', 'rm -rf /'],
]) {
  const message = await guarded.invoke({ type: 'tool_call', id, name: 'run_shell', args: { command } });
  console.log(`${command}: ${message.getType()} message for ${message.tool_call_id}: ${message.content}`);
}

console.log(`commands executed: ${executed.join(', ')}`);
console.log('audit intact:', (await gateway.auditLog?.verify())?.ok);
await gateway.close();
