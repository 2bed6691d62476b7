/**
 * A real Bastion (`createBastionApp`, development mode, SQLite in a temporary directory) on
 * 127.0.0.1 port 0, in front of a fake upstream, with the Fortified SRE seed policy
 * (`examples/control-zero`) and the proxy's test rules.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBastionApp, type BastionApp } from '../../src/app/index.js';
import { DEFAULT_CONFIG, DEFAULT_PROXY, type BastionConfig, type ProxyConfig } from '../../src/config/index.js';
import type { Authenticator } from '../../src/identity/index.js';
import { runBastion } from '../helpers/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';

const root = new URL('../..', import.meta.url).pathname;
export const SEED_POLICY = join(root, 'examples/control-zero/sre-safety-policy.json');
export const PROXY_RULES = join(root, 'test/fixtures/proxy/proxy-rules.yaml');
export const UPSTREAM_KEY = 'sk-upstream-secret-key';

export interface Harness {
  app: BastionApp;
  url: string;
  upstream: FakeUpstream;
  dataDir: string;
  stop(): Promise<void>;
}

/** Identity headers of the seed's people (development mode). */
export const SRE = { 'X-ControlZero-User-ID': 'sre-user-1', 'X-ControlZero-User-Group': 'sre-ops', 'X-ControlZero-Environment': 'production' };
export const ADMIN = { 'X-ControlZero-User-ID': 'admin-1', 'X-ControlZero-User-Group': 'admin' };
export const INTERN = { 'X-ControlZero-User-ID': 'intern-1', 'X-ControlZero-User-Group': 'intern' };
export const APPROVER = { 'X-ControlZero-User-ID': 'boss', 'X-ControlZero-User-Group': 'approvers' };

export async function startHarness(
  options: { proxy?: Partial<ProxyConfig>; upstream?: string | null; env?: Record<string, string>; policies?: string[]; identity?: Authenticator } = {},
): Promise<Harness> {
  const upstream = await startFakeUpstream();
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-proxy-'));
  const config: BastionConfig = {
    ...DEFAULT_CONFIG,
    host: '127.0.0.1',
    port: 0,
    dev: options.identity === undefined,
    dataDir,
    policies: [SEED_POLICY, PROXY_RULES, ...(options.policies ?? [])],
    proxy: { ...DEFAULT_PROXY, ...options.proxy },
    ...(options.upstream === null ? {} : { upstream: options.upstream ?? upstream.url }),
  };
  const built = await createBastionApp({
    config,
    io: { stderr: { write: () => true }, env: options.env ?? { BASTION_UPSTREAM_API_KEY: UPSTREAM_KEY } },
    watch: false,
    ...(options.identity ? { identity: options.identity } : {}),
  });
  if (!built.ok) throw new Error(built.errors.map((e) => e.message).join('; '));
  const started = await built.value.start();
  if (!started.ok) throw new Error(started.errors.map((e) => e.message).join('; '));
  return {
    app: built.value,
    url: started.value.url as string,
    upstream,
    dataDir,
    async stop() {
      await built.value.stop('test');
      await upstream.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `bastion audit query --decision deny --json` on the harness's data directory, as an operator runs it. */
export async function auditDenies(h: Harness): Promise<{ action?: string; decision?: string; reason?: string; principal?: { id: string }; traceId?: string }[]> {
  const run = await runBastion(['audit', 'query', '--decision', 'deny', '--limit', '0', '--json', '--data-dir', h.dataDir], { cwd: h.dataDir });
  if (run.code !== 0) throw new Error(`audit query failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { action?: string; decision?: string; reason?: string; principal?: { id: string }; traceId?: string }[];
}
