/**
 * The real service for the identity tests: `createBastionApp` from a real `bastion.yaml` in
 * a fresh directory (the native example policies, a SQLite data directory), started on
 * 127.0.0.1:0, its stderr and (when asked) its pino request log captured.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBastionApp, type BastionApp } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';

const root = new URL('../..', import.meta.url).pathname;
export const NATIVE = join(root, 'examples/native');
export const diagnostic = { action: 'shell.execute', args: { command: 'journalctl -u nginx --since today | tail -n 50' } };

export interface Started {
  app: BastionApp;
  url: string;
  stderr: () => string;
  /** The request log's JSON lines (empty unless `log: true`). */
  logLines: () => Record<string, unknown>[];
  dataDir: string;
  /** The directory of `bastion.yaml`. */
  dir: string;
}

/**
 * Starts the service with `yaml` appended to a config that names the server, data directory
 * and policies. `files` are written next to `bastion.yaml` first.
 */
export async function startService(yaml: string, options: { log?: boolean; files?: Record<string, string>; dir?: string; trustProxy?: string[] } = {}): Promise<Started> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'bastion-identity-'));
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), text);
  const file = join(dir, 'bastion.yaml');
  const trust = options.trustProxy ? `, trustProxy: ${JSON.stringify(options.trustProxy)}` : '';
  writeFileSync(file, `server: { host: 127.0.0.1, port: 0${trust} }\ndataDir: ./data\npolicies: [${JSON.stringify(NATIVE)}]\n${yaml}`);
  const config = loadConfig(file);
  if (!config.ok) throw new Error(config.errors.map((e) => e.message).join('\n'));
  let stderr = '';
  let log = '';
  const built = await createBastionApp({
    config: config.value,
    io: { stderr: { write: (t: string) => (stderr += t) }, env: {} },
    watch: false,
    ...(options.log ? { requestLog: { stream: { write: (line: string) => (log += line) } } } : {}),
  });
  if (!built.ok) throw new Error(built.errors[0]?.message);
  const started = await built.value.start();
  if (!started.ok || started.value.url === undefined) throw new Error(`not started: ${started.ok ? 'no url' : started.errors[0]?.message}`);
  return {
    app: built.value,
    url: started.value.url,
    stderr: () => stderr,
    logLines: () =>
      log
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    dataDir: config.value.dataDir,
    dir,
  };
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const r = await fetch(`${url}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, headers: r.headers, body: (await r.json()) as Record<string, unknown> };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** `/health` as JSON, with its status code. */
export async function health(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${url}/health`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}
