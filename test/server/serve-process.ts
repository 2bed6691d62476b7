/**
 * A real `bastion serve` on a loopback port it picks itself, and the ways files really
 * change on disk: an atomic replace (temporary file + rename, as editors and `sed -i` do),
 * `sed -i` itself, in-place writes. `BASTION_CLI` runs the tests against another build's
 * CLI (the reviewed baseline, to show they fail there).
 */

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
export const CLI = process.env['BASTION_CLI'] ?? join(root, 'dist/cli/main.js');

export interface Served {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  /** SIGTERM, then the exit code. */
  stop: () => Promise<number | null>;
}

/** Starts `bastion serve ARGS --port 0 --host 127.0.0.1` and resolves once it listens. */
export async function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args, '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 20_000);
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (http:\/\/[^ ]+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`serve exited ${code}: ${stderr}`));
      });
    });
    return {
      url,
      child,
      stderr: () => stderr,
      stop: async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
        return exited;
      },
    };
  } catch (err) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw err;
  }
}

let tmpCount = 0;

/** Writes a sibling temporary file and renames it over `path`, as editors and deploy tools save. */
export function atomicWrite(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${tmpCount++}`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** `sed -i EXPRESSION path`: GNU sed writes a temporary file in the same directory and renames it. */
export function sedInPlace(path: string, expression: string): void {
  execFileSync('sed', ['-i', expression, path]);
}

/** Polls `probe` until it returns a value that is not undefined, or fails after `ms`. */
export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, ms = 8000): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
}

export async function request(url: string, method: string, body?: unknown): Promise<HttpAnswer> {
  const r = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await r.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: r.status, body: parsed };
}

export async function decide(url: string, req: unknown): Promise<{ decision: string; reason: string; policyVersion: string }> {
  const r = await request(`${url}/v1/decide`, 'POST', req);
  return r.body as { decision: string; reason: string; policyVersion: string };
}
