/**
 * The README's MCP client config works as printed: its `mcpServers` entry is read from the
 * README, started exactly as a client would (`npx bastion mcp …` in the checkout), and driven
 * with the official SDK client. The `bastion mcp pins` line after it is run too.
 */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { textOf } from './helpers.js';

const root = new URL('../..', import.meta.url).pathname;
// As a client starts it: without the `npm_*` variables of the `npm test` / `npx vitest` running
// this file (under them, npx resolves the package again, for tens of seconds).
const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].toLowerCase().startsWith('npm_')));
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README: MCP proxy', () => {
  it('the .mcp.json entry starts a proxy the SDK client can use', async () => {
    const block = /<!-- mcp-config[^>]*-->\n```json\n([\s\S]*?)\n```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const config = JSON.parse(block as string) as { mcpServers: Record<string, { command: string; args: string[] }> };
    const entry = config.mcpServers['fixture'];
    if (entry === undefined) throw new Error('no `fixture` entry');
    const client = new Client({ name: 'readme', version: '1' });
    await client.connect(new StdioClientTransport({ command: entry.command, args: entry.args, cwd: root, env, stderr: 'ignore' }));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('shell.execute');
      expect(textOf(await client.callTool({ name: 'shell.execute', arguments: { command: 'df -h' } }))).toBe('ran: df -h');
      expect(textOf(await client.callTool({ name: 'shell.execute', arguments: { command: 'rm -rf /' } }))).toBe('Bastion denied `shell.execute`: critical risk: denied by the baseline policy');
    } finally {
      await client.close();
    }
    const pins = execFileSync('npx', ['bastion', 'mcp', 'pins', '--data-dir', '.bastion/mcp'], { cwd: root, env, encoding: 'utf8' });
    expect(pins).toMatch(/^server\tshell\.execute\tsha256:[0-9a-f]{12}\ttrusted$/m);
  }, 60_000);
});
