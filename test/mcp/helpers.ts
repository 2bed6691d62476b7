/**
 * Helpers of the MCP proxy's end-to-end tests: the official SDK client on `bastion mcp`
 * (spawned as a real process) and on the fixture server directly.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CLI } from '../server/serve-process.js';

const root = new URL('../..', import.meta.url).pathname;
export const FIXTURE_SERVER = join(root, 'test/fixtures/mcp/server.mjs');
export const FIXTURE_POLICY = join(root, 'test/fixtures/mcp/policy.yaml');
export { CLI };

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'bastion-mcp-'));
}

export interface Proxied {
  client: Client;
  stderr: () => string;
  close: () => Promise<void>;
}

/** The SDK client on `bastion mcp … -- node server.mjs ARGS`. */
export async function proxied(options: { dataDir: string; principal?: string; groups?: string; serverArgs?: string[]; extra?: string[]; capabilities?: Record<string, unknown> }): Promise<Proxied> {
  const args = [
    CLI,
    'mcp',
    '--policy',
    FIXTURE_POLICY,
    '--principal',
    options.principal ?? 'agent-1',
    '--groups',
    options.groups ?? 'agents',
    '--data-dir',
    options.dataDir,
    ...(options.extra ?? []),
    '--',
    process.execPath,
    FIXTURE_SERVER,
    ...(options.serverArgs ?? []),
  ];
  const transport = new StdioClientTransport({ command: process.execPath, args, stderr: 'pipe', cwd: root });
  let stderr = '';
  transport.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const client = new Client({ name: 'bastion-test', version: '1.0.0' }, { capabilities: options.capabilities ?? {} });
  await client.connect(transport);
  return { client, stderr: () => stderr, close: () => client.close() };
}

/** The text of a tool result's first text block. */
export function textOf(result: unknown): string {
  const first = (result as CallToolResult).content?.[0];
  return first?.type === 'text' ? first.text : '';
}

/** `bastion audit query --data-dir DIR ARGS --json`'s events. */
export function auditEvents(dataDir: string, args: string[] = []): Record<string, unknown>[] {
  const out = execFileSync(process.execPath, [CLI, 'audit', 'query', '--data-dir', dataDir, '--limit', '0', ...args, '--json'], { encoding: 'utf8' });
  return JSON.parse(out) as Record<string, unknown>[];
}
