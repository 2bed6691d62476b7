/**
 * What a new user sees from `bastion serve` (`npm start`): where it listens and curl lines
 * that work as printed for the mode it runs in, and a `--help` that names only files that
 * exist.
 */

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { howToCall } from '../../src/cli/commands/serve.js';
import { CLI } from './serve-process.js';

const root = new URL('../..', import.meta.url).pathname;

/** Starts `bastion serve ARGS` and resolves with its URL and stdout once it printed how to call it. */
async function serveAndRead(args: string[]): Promise<{ url: string; stdout: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args, '--port', '0', '--host', '127.0.0.1', '--log-level', 'off'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 20_000);
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /listening on (http:\/\/[^ ]+)/.exec(stdout);
      if (m && stdout.includes('/openapi.json')) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  return {
    url,
    get stdout() {
      return stdout;
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The printed lines that start with `curl`. */
function curlLines(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('curl '));
}

describe('bastion serve prints how to call it', () => {
  it('development mode: the printed curl lines work as printed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bastion-serve-out-'));
    const s = await serveAndRead(['--policy', join(root, 'examples/native'), '--data-dir', dataDir, '--dev']);
    try {
      const [health, decide, ...rest] = curlLines(s.stdout);
      expect(rest).toEqual([]);
      expect(health).toBe(`curl -s ${s.url}/health`);
      expect(JSON.parse(execFileSync('sh', ['-c', health as string], { encoding: 'utf8' }))).toMatchObject({ status: 'ok', mode: 'development' });
      const answer = JSON.parse(execFileSync('sh', ['-c', decide as string], { encoding: 'utf8' })) as { decision: string; reason: string };
      expect(answer).toMatchObject({ decision: 'allow', reason: 'allowed by platform-agents/allow-sre-shell' });
    } finally {
      await s.stop();
    }
  });

  it('production mode: the decide line sends a bearer token from BASTION_TOKEN, and no principal', () => {
    const text = howToCall('http://127.0.0.1:8700', false);
    expect(text).toContain(
      `curl -s http://127.0.0.1:8700/v1/decide -H 'content-type: application/json' -H "authorization: Bearer $BASTION_TOKEN" -d '{"action":"shell.execute","args":{"command":"df -h"}}'`,
    );
    expect(text).not.toContain('principal');
    expect(text).toContain('bastion keys create');
  });
});

describe('bastion serve --help', () => {
  it('names only files that exist in the package', () => {
    const help = execFileSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' });
    const files = [...help.matchAll(/\b((?:config|examples)\/[\w./-]+)/g)].map((m) => m[1] as string);
    expect(files).toContain('config/bastion.yaml');
    for (const file of files) expect(existsSync(join(root, file)), file).toBe(true);
  });
});
