// Bastion guarding a Vercel AI SDK agent's tools: `npm run build && node examples/vercel-ai-guard.mjs`.
// The model is a local stand-in for an OpenAI-compatible API (started below on 127.0.0.1):
// it asks for one `run_shell` call with the command in the prompt, then answers with the
// tool's result. No network, no API key. `df -h` is allowed and runs; `rm -rf /` is denied
// and the model reads the reason as the tool's result.
// (In your own project, import from 'agent-bastion' instead of '../dist/index.js'.)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, stepCountIs, tool } from 'ai';
import { z } from 'zod';
import { createGateway, guardVercelTools } from '../dist/index.js';

// 1. A native policy: shell commands run, except deleting files.
const dir = mkdtempSync(join(tmpdir(), 'bastion-vercel-ai-'));
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

// 2. The agent's tools, guarded: every call of `run_shell` is decided as `shell.execute`.
const executed = [];
const tools = guardVercelTools(
  { gateway, request: { principal: { id: 'ops-agent', groups: ['sre'] } }, action: 'shell.execute' },
  {
    run_shell: tool({
      description: 'Run a shell command on the host',
      inputSchema: z.object({ command: z.string() }),
      // Runs nothing real in this example: it says what it would run.
      execute: async ({ command }) => {
        executed.push(command);
        return `(would run: ${command})`;
      },
    }),
  },
);

// 3. A stand-in model: a tool call first, then a final text that quotes the tool's result.
const server = createServer((req, res) => {
  let raw = '';
  req.on('data', (chunk) => {
    raw += chunk;
  });
  req.on('end', () => {
    const body = JSON.parse(raw);
    const last = body.messages.at(-1);
    const message =
      last.role === 'tool'
        ? { role: 'assistant', content: `The tool answered: ${last.content}` }
        : {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: `call_${body.messages.length}`, type: 'function', function: { name: 'run_shell', arguments: JSON.stringify({ command: last.content }) } }],
          };
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 0,
        model: body.model,
        choices: [{ index: 0, message, finish_reason: message.tool_calls ? 'tool_calls' : 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      }),
    );
  });
});
await new Promise((done) => server.listen(0, '127.0.0.1', done));
const model = createOpenAI({ baseURL: `http://127.0.0.1:${server.address().port}/v1`, apiKey: 'test' }).chat('gpt-4o-mini');

// 4. Two runs of the agent loop.
for (const command of ['df -h', 'rm -rf /']) {
  const result = await generateText({ model, tools, prompt: command, stopWhen: stepCountIs(3) });
  const toolResult = result.steps.flatMap((step) => step.toolResults)[0];
  console.log(`${command}: tool result: ${toolResult?.output}`);
  console.log(`${command}: model: ${result.text}`);
}

console.log(`commands executed: ${executed.join(', ')}`);
console.log('audit intact:', (await gateway.auditLog?.verify())?.ok);
await gateway.close();
server.close();
