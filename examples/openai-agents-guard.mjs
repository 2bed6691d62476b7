// An OpenAI Agents SDK (`@openai/agents`) agent whose shell tool Bastion guards:
//
//   npm run build && node examples/openai-agents-guard.mjs
//
// The agent, its run loop and the model client are the SDK's; only the model is a stand-in
// (a local HTTP server speaking the Chat Completions API, which asks for the tool call the
// prompt names), so the example runs offline. Point `baseURL` at OpenAI to use a real one.
// (In your own project, import from 'agent-bastion' instead of '../dist/index.js'.)
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, OpenAIChatCompletionsModel, run, setTracingDisabled, tool } from '@openai/agents';
import OpenAI from 'openai';
import { z } from 'zod';
import { createGateway, guardAgentTool } from '../dist/index.js';

const here = new URL('.', import.meta.url).pathname;
setTracingDisabled(true); // the SDK would send traces to OpenAI

// The stand-in model: "run: <command>" asks for run_shell({ command }); once the tool has
// answered, it replies with the tool's result.
const model = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const { messages } = JSON.parse(body);
    const last = messages.at(-1);
    const message =
      last.role === 'tool'
        ? { role: 'assistant', content: `The tool said: ${last.content}` }
        : {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: `call_${messages.length}`, type: 'function', function: { name: 'run_shell', arguments: JSON.stringify({ command: String(last.content).replace(/^run: /u, '') }) } }],
          };
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 0,
        model: 'gpt-4o-mini',
        choices: [{ index: 0, message, finish_reason: message.tool_calls ? 'tool_calls' : 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }),
    );
  });
});
await new Promise((listening) => model.listen(0, '127.0.0.1', listening));
const client = new OpenAI({ baseURL: `http://127.0.0.1:${model.address().port}/v1`, apiKey: 'not-used' });

// Bastion: the shared agent policy (examples/agents/policy.yaml), decisions recorded in a
// throwaway data directory.
const gateway = await createGateway({ policies: [join(here, 'agents/policy.yaml')], dataDir: mkdtempSync(join(tmpdir(), 'bastion-agents-')) });
// `onPending` hears of each approval Bastion asks for, to show its id to an approver.
const asked = [];
const guard = { gateway, request: { principal: { id: 'ops-agent', groups: ['agents'] } }, action: 'shell.execute', approval: { onPending: (approval) => asked.push(approval) } };

const runShell = tool(
  guardAgentTool(guard, {
    name: 'run_shell',
    description: 'Runs a shell command on the ops host',
    parameters: z.object({ command: z.string() }),
    execute: async ({ command }) => `(ran: ${command})`,
  }),
);
const agent = new Agent({ name: 'ops', instructions: 'Run what you are asked to.', tools: [runShell], model: new OpenAIChatCompletionsModel(client, 'gpt-4o-mini') });

for (const command of ['df -h', 'rm -rf /var/log']) {
  const result = await run(agent, `run: ${command}`);
  console.log(`${command} -> ${result.finalOutput}`);
}

// A restart needs an operator: the SDK's run stops with an interruption, Bastion holds the
// approval. The operator approves it in Bastion (`bastion approvals approve ID`), then the
// application approves the interruption and resumes the run.
let result = await run(agent, 'run: systemctl restart nginx');
for (const interruption of result.interruptions) {
  const approval = asked.shift();
  console.log(`systemctl restart nginx -> interrupted; Bastion asks ${approval.approverGroups.join(', ')} to approve: ${interruption.rawItem.arguments}`);
  const approved = await gateway.approvals.approve(approval.id, { id: 'oncall-sre', groups: ['bastion-approvers'] }, { comment: 'maintenance window' });
  if (!approved.ok) throw new Error(approved.errors[0].message);
  result.state.approve(interruption);
}
result = await run(agent, result.state);
console.log(`systemctl restart nginx -> ${result.finalOutput}`);

await gateway.close();
model.close();
