/**
 * `bastion exec` as a shell user runs it: the built CLI spawned, its exit status read. The
 * command's own status when it ran, 126 with the reason on stderr when Bastion refused it.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../server/serve-process.js';

let dir: string;
let policy: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bastion-exec-cli-'));
  policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    'apiVersion: bastion/v1\nname: exec-cli\nrules:\n  - id: no-curl\n    effect: deny\n    actions: [shell.execute]\n    when:\n      - field: analysis.categories\n        contains: net.egress\n    reason: no network from here\n  - id: allow-shell\n    effect: allow\n    actions: [shell.execute]\n',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const exec = (args: string[]) => spawnSync(process.execPath, [CLI, 'exec', ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });

describe('bastion exec', () => {
  it('exits with the command’s status and prints its output', () => {
    const r = exec(['--policy', policy, '--', 'echo out; echo err >&2; exit 3']);
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
  });

  it('several words after -- are one quoted command line', () => {
    const r = exec(['--policy', policy, '--', 'printf', '%s|', 'a b', "it's"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("a b|it's|");
  });

  it('exits 126 with the reason on stderr when Bastion refuses the command, which does not run', () => {
    const r = exec(['--policy', policy, '--', `curl -s https://example.com > ${join(dir, 'fetched')}`]);
    expect(r.status).toBe(126);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('bastion exec: refused: no network from here\n');
  });

  it('exits 124 when the command passes its time limit', () => {
    const r = exec(['--policy', policy, '--timeout', '1', '--', 'sleep 20']);
    expect(r.status).toBe(124);
    expect(r.stderr).toBe('bastion exec: the command did not finish within 1 s and was killed\n');
  });

  it('--no-sandbox is announced on stderr on every run', () => {
    const r = exec(['--policy', policy, '--no-sandbox', '--', 'echo hi']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('bastion exec: WARNING: the sandbox is OFF (turned off by the operator): the command runs with your full permissions and network\n');
  });

  it('bad invocations exit 2', () => {
    expect(exec(['--policy', policy]).status).toBe(2);
    expect(exec(['--policy', policy, 'echo', 'hi']).stderr).toBe('bastion exec: missing the command: bastion exec [options] -- <command>\n');
    expect(exec(['--', 'echo hi']).stderr).toBe('bastion exec: no policies: pass --policy PATH or a --config file that lists policies\n');
    expect(exec(['--policy', policy, '--timeout', '0', '--', 'true']).stderr).toBe('bastion exec: option `--timeout` must be a whole number from 1 to 86400, got `0`\n');
  });
});
