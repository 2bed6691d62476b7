/**
 * Conformance (issue 9): every policy test case under `examples/` and `test/fixtures/policy/`
 * goes through the four surfaces that decide, and all four must answer the same decision:
 *
 *   evaluate(set, request, { killSwitch })        the library's pure entry point
 *   gateway.decide(request)                       the library's gateway (one per file)
 *   bastion check --json                          the CLI, in-process (`runCli`)
 *   POST /v1/decide                               a real `bastion serve --dev` on 127.0.0.1:0
 *                                                 (one spawned process per file)
 *
 * Compared, after a JSON round trip (what the CLI and HTTP carry): `decision`, `reason`,
 * `matched`, `risk`, `categories`, `obligations`, `errors`, `approvalRequirements`,
 * `policyVersion` and `analysis`. Not compared: `traceId` (the gateway draws a fresh one
 * when the request has none). `evaluate`'s decision must also meet the case's expectations.
 *
 * Kill-switch cases are run through every surface that can take that state: `evaluate`'s
 * `killSwitch` option, `gateway.setKillSwitch`, `PUT /v1/kill-switch` (as an admin named by
 * development-mode headers) and `bastion check --kill-switch`. The runtime state combines
 * with a file's `kill_switch` block (either can disable); no case switches off what its file
 * switches on. Not applicable: `bastion check` on a case whose request is invalid; the
 * CLI contract is exit 2 with one line on stderr before any decision, which is asserted
 * instead.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateRequest } from '../../src/core/request.js';
import type { Decision } from '../../src/core/types.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { applyKillSwitchChange, EMPTY_KILL_SWITCH, type KillSwitchState } from '../../src/killswitch/index.js';
import { evaluate, loadPolicySet, type PolicySet } from '../../src/policy/index.js';
import { checkExpectations, findTestFiles, readTestFile, type PolicyTestCase, type PolicyTestFile } from '../../src/policy/testing.js';
import { runBastion } from '../helpers/cli.js';

const root = new URL('../..', import.meta.url).pathname;
const CLI = join(root, 'dist/cli/main.js');
const found = findTestFiles(['examples', 'test/fixtures/policy'], root);
const files: PolicyTestFile[] = found.files.map((f) => {
  const r = readTestFile(f);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.value;
});

const COMPARED = ['decision', 'reason', 'matched', 'risk', 'categories', 'obligations', 'errors', 'approvalRequirements', 'policyVersion', 'analysis'] as const;

/** The compared fields as the CLI and HTTP carry them (JSON). */
function view(d: Decision | Record<string, unknown>): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const k of COMPARED) picked[k] = (d as Record<string, unknown>)[k];
  return JSON.parse(JSON.stringify(picked)) as Record<string, unknown>;
}

/** Kill-switch state without `reason`, which no decision reads and a PUT cannot unset. */
function switches(s: KillSwitchState): Omit<KillSwitchState, 'reason'> {
  return {
    all_write_tools_disabled: s.all_write_tools_disabled,
    read_only_mode: s.read_only_mode,
    disabled_connectors: [...s.disabled_connectors],
    disabled_users: [...s.disabled_users],
    disabled_workflows: [...s.disabled_workflows],
  };
}

/** The state a case runs under: the policy file's block, then the test file's, then the case's. */
function stateFor(set: PolicySet, file: PolicyTestFile, t: PolicyTestCase): KillSwitchState {
  return applyKillSwitchChange(applyKillSwitchChange(EMPTY_KILL_SWITCH, set.killSwitch ?? {}), { ...file.killSwitch, ...t.killSwitch });
}

interface Server {
  url: string;
  child: ChildProcess;
  dir: string;
}

async function startServer(file: PolicyTestFile): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-conformance-'));
  const config = join(dir, 'bastion.yaml');
  writeFileSync(config, `baseline: { enabled: ${file.baseline} }\naudit: { durable: false }\n`);
  const args = [CLI, 'serve', '--dev', '--config', config, '--data-dir', join(dir, 'data'), '--port', '0', '--host', '127.0.0.1', ...file.policies.flatMap((p) => ['--policy', p])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/[^ \n]+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`bastion serve exited ${code}: ${stderr}`)));
  });
  return { url, child, dir };
}

async function stopServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  if (server.child.exitCode === null) {
    const exited = new Promise((r) => server.child.once('exit', r));
    server.child.kill('SIGTERM');
    await exited;
  }
  rmSync(server.dir, { recursive: true, force: true });
}

/**
 * A kill-switch admin, named by the seeds' development-mode identity headers; sent only on the
 * kill switch's PUT (on `/v1/decide` they would name the principal instead of the case's).
 */
const ADMIN_HEADERS = { 'x-controlzero-user-id': 'conformance-admin', 'x-controlzero-user-group': 'bastion-admins' };

async function http(url: string, method: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url, { method, headers: { 'content-type': 'application/json', ...(url.endsWith('/v1/kill-switch') ? ADMIN_HEADERS : {}) }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

let compared = 0;

/**
 * One server per file, started two files ahead so a server's start (about a second on a busy
 * machine) overlaps the cases of the files before it.
 */
const starting = new Map<number, Promise<Server>>();
function serverFor(index: number): Promise<Server> {
  for (let i = index; i < Math.min(files.length, index + 3); i++) {
    if (!starting.has(i)) {
      const p = startServer(files[i] as PolicyTestFile);
      p.catch(() => undefined); // reported by the file that awaits it
      starting.set(i, p);
    }
  }
  return starting.get(index) as Promise<Server>;
}

// Stops every server started, also those started ahead for files a filter (`-t`) skipped.
afterAll(async () => {
  for (const p of starting.values()) await stopServer(await p.catch(() => undefined));
});

describe('the conformance corpus', () => {
  it('holds every policy test file, at least 90 cases', () => {
    expect(found.errors).toEqual([]);
    expect(files.length).toBeGreaterThanOrEqual(20);
    expect(files.reduce((n, f) => n + f.tests.length, 0)).toBeGreaterThanOrEqual(90);
    expect(files.some((f) => f.file.endsWith('builtins/builtins.test.yaml'))).toBe(true);
  });
});

files.forEach((file, index) => {
  describe(file.file.slice(root.length), () => {
    let set: PolicySet;
    let gateway: Gateway;
    let server: Server | undefined;
    let gatewayState: Omit<KillSwitchState, 'reason'>;
    let serverState: Omit<KillSwitchState, 'reason'>;

    beforeAll(async () => {
      const loaded = loadPolicySet(file.policies, { baseline: { enabled: file.baseline } });
      if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
      set = loaded.value;
      gateway = await createGateway({ policies: file.policies, baseline: { enabled: file.baseline } });
      gatewayState = switches(gateway.killSwitch());
      server = await serverFor(index);
      const got = await fetch(`${server.url}/v1/kill-switch`);
      serverState = switches((await got.json()) as KillSwitchState);
    }, 30_000);

    afterAll(async () => {
      await gateway?.close();
      await stopServer(server); // early, to free the machine; the last afterAll stops any left
    });

    // A case with scripted `results` depends on the trace's taint, state in one gateway that
    // `evaluate`, `bastion check` and a fresh request cannot share: test/policy/decisions.test.ts runs those.
    it.each(file.tests.filter((t) => t.results === undefined).map((t) => [t.description, t] as const))('%s', async (description, t) => {
      const state = stateFor(set, file, t);
      const wanted = switches(state);
      const valid = validateRequest(t.request).ok;

      const byEvaluate = evaluate(set, t.request as never, { killSwitch: state });
      expect(checkExpectations(byEvaluate, t.expect), `evaluate: ${description}`).toEqual([]);
      const expected = view(byEvaluate);

      if (JSON.stringify(gatewayState) !== JSON.stringify(wanted)) gatewayState = switches(await gateway.setKillSwitch(wanted, 'conformance test'));
      expect(gatewayState).toEqual(wanted);
      expect(view(await gateway.decide(t.request)), `gateway.decide: ${description}`).toEqual(expected);

      const s = server as Server;
      if (JSON.stringify(serverState) !== JSON.stringify(wanted)) {
        const put = await http(`${s.url}/v1/kill-switch`, 'PUT', wanted);
        expect(put.status).toBe(200);
        serverState = switches(put.body as unknown as KillSwitchState);
      }
      expect(serverState).toEqual(wanted);
      const answer = await http(`${s.url}/v1/decide`, 'POST', t.request);
      expect(answer.status, description).toBe(valid ? 200 : 400);
      const httpDecision = valid ? answer.body : (answer.body['decision'] as Record<string, unknown>);
      expect(view(httpDecision), `POST /v1/decide: ${description}`).toEqual(expected);

      const argv = ['check', ...file.policies.flatMap((p) => ['--policy', p]), '--input', '-', '--json'];
      if (!file.baseline) argv.push('--no-baseline');
      if (JSON.stringify(wanted) !== JSON.stringify(switches(EMPTY_KILL_SWITCH))) argv.push('--kill-switch', JSON.stringify(wanted));
      const cli = await runBastion(argv, { cwd: root, stdin: JSON.stringify(t.request) });
      if (!valid) {
        // Not applicable: the CLI refuses an invalid request before deciding (exit 2).
        expect([cli.code, cli.stdout, cli.stderr.trim().split('\n').length], description).toEqual([2, '', 1]);
      } else {
        expect(cli.code, cli.stderr).toBe(0);
        expect(view(JSON.parse(cli.stdout) as Decision), `bastion check: ${description}`).toEqual(expected);
      }
      compared++;
    });
  });
});

describe('the conformance run', () => {
  it('compared every case', () => {
    expect(compared).toBe(files.reduce((n, f) => n + f.tests.filter((t) => t.results === undefined).length, 0));
  });
});
