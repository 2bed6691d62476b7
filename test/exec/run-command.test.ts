/**
 * Guarded execution proven on the real sandbox (bubblewrap; `.ci/run` installs it): a command
 * cannot write outside its working directory, cannot reach a TCP server the test runs on
 * 127.0.0.1 unless the allowing rule grants the network, sees a private /tmp and a clean
 * environment, is killed at its time limit and at its output cap, has secrets redacted from
 * its output, and leaves an `execution` event with its outcome in the audit log.
 */

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/exec/index.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { openSqliteAuditReader } from '../../src/storage/index.js';

const principal = { id: 'ops-agent', groups: ['sre'] };

function policy(obligations: string): string {
  return `apiVersion: bastion/v1
name: exec-test
rules:
  - id: deny-curl
    effect: deny
    actions: [shell.execute]
    when:
      - field: args.command
        contains: "forbidden-word"
    reason: the test forbids this
  - id: hold-restarts
    effect: require_approval
    actions: [shell.execute]
    when:
      - field: args.command
        contains: "needs-approval"
    reason: the test holds this
  - id: allow-shell
    effect: allow
    actions: [shell.execute]
${obligations}
`;
}

describe('runCommand in the bubblewrap sandbox', () => {
  let base: string;
  let work: string;
  let gateway: Gateway;
  let netGateway: Gateway;
  let server: Server;
  let port: number;
  let accepted = 0;
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'bastion-exec-'));
    work = join(base, 'work');
    mkdirSync(work);
    gateway = await createGateway({ policies: [{ source: 'exec-test.yaml', text: policy('') }], baseline: { enabled: false }, dataDir: join(base, 'state') });
    netGateway = await createGateway({
      policies: [{ source: 'exec-net.yaml', text: policy('    obligations: [{ type: sandbox, network: true }]') }],
      baseline: { enabled: false },
    });
    server = createServer((socket) => {
      accepted++;
      socket.end('hello from the host\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await gateway.close();
    await netGateway.close();
    await new Promise((r) => server.close(r));
    rmSync(base, { recursive: true, force: true });
  });

  const run = (command: string, extra: Partial<Parameters<typeof runCommand>[1]> = {}) => runCommand(command, { gateway, principal, cwd: work, ...extra });

  it('writes inside the working directory, and nowhere else', async () => {
    const inside = await run('echo ok > made-here.txt && cat made-here.txt');
    expect(inside).toMatchObject({ ran: true, exitCode: 0, stdout: 'ok\n', sandbox: { enabled: true, network: false } });
    expect(readFileSync(join(work, 'made-here.txt'), 'utf8')).toBe('ok\n');

    const outside = await run(`echo x > ${join(base, 'outside.txt')}; echo rc=$?`);
    expect(outside.ran).toBe(true);
    // The parent directory lies under /tmp, which is the sandbox's own tmpfs: the write lands
    // there and is gone with the sandbox; the host file is never created.
    expect(existsSync(join(base, 'outside.txt'))).toBe(false);

    const system = await run('echo x > /var/tmp/bastion-sandbox-escape; echo rc=$?');
    expect(system.stdout).toBe('rc=2\n');
    expect(system.stderr).toMatch(/Read-only file system/);
    expect(existsSync('/var/tmp/bastion-sandbox-escape')).toBe(false);

    const home = await run('touch "$HOME/.bastion-sandbox-escape"; echo rc=$?');
    expect(home.stdout).toBe('rc=1\n');
    expect(existsSync(join(process.env['HOME'] ?? '/root', '.bastion-sandbox-escape'))).toBe(false);
  });

  it('cannot reach a TCP server on the host loopback without a network grant', async () => {
    const before = accepted;
    const probe = `node -e "require('net').connect(${port}, '127.0.0.1').on('data', (d) => { process.stdout.write(d); process.exit(0) }).on('error', (e) => { console.log(e.code); process.exit(7) })"`;
    const blocked = await run(probe);
    expect(blocked).toMatchObject({ ran: true, exitCode: 7, sandbox: { enabled: true, network: false } });
    expect(blocked.stdout).toMatch(/^(ECONNREFUSED|ENETUNREACH)\n$/);
    expect(accepted).toBe(before);

    const granted = await runCommand(probe, { gateway: netGateway, principal, cwd: work });
    expect(granted).toMatchObject({ ran: true, exitCode: 0, stdout: 'hello from the host\n', sandbox: { enabled: true, network: true } });
    expect(accepted).toBe(before + 1);
  });

  it('has a private /tmp', async () => {
    const marker = join(tmpdir(), `bastion-host-marker-${process.pid}`);
    writeFileSync(marker, 'host');
    try {
      const r = await run(`test -e ${marker} && echo visible || echo hidden; echo inner > /tmp/bastion-inner-${process.pid}`);
      expect(r.stdout).toBe('hidden\n');
      expect(existsSync(`/tmp/bastion-inner-${process.pid}`)).toBe(false);
    } finally {
      rmSync(marker, { force: true });
    }
  });

  it('starts from a clean environment: the caller’s credentials do not leak in', async () => {
    process.env['BASTION_TEST_SECRET_TOKEN'] = 'do-not-leak';
    try {
      const r = await run('echo "[${BASTION_TEST_SECRET_TOKEN}]"');
      expect(r.stdout).toBe('[]\n');
    } finally {
      delete process.env['BASTION_TEST_SECRET_TOKEN'];
    }
  });

  it('kills the command at its time limit', async () => {
    const started = Date.now();
    const r = await run('sleep 30', { timeoutSeconds: 1 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r).toMatchObject({ ran: true, timedOut: true, exitCode: null, signal: 'SIGKILL' });
  });

  it("kills the command at the policy's `timeout` obligation when it gives less than the operator's limit", async () => {
    const timed = await createGateway({ policies: [{ source: 'timed.yaml', text: policy('    obligations: [{ type: timeout, seconds: 1 }]') }], baseline: { enabled: false } });
    try {
      const started = Date.now();
      const r = await runCommand('sleep 30', { gateway: timed, principal, cwd: work, timeoutSeconds: 60 });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(r).toMatchObject({ ran: true, timedOut: true, exitCode: null, signal: 'SIGKILL' });
    } finally {
      await timed.close();
    }
  });

  it('stops the command at its output cap and truncates the output', async () => {
    const r = await run('yes', { maxOutputBytes: 1000, timeoutSeconds: 20 });
    expect(r.truncated).toBe(true);
    expect(r.timedOut).toBe(false);
    expect(r.stdout).toBe('y\n'.repeat(500));
  });

  it('redacts secrets from the output', async () => {
    const r = await run("printf 'key=AKIA%s\\n' Z7VQ3XKQ2M5PLR4T");
    expect(r.stdout).toBe('key=[REDACTED:aws-access-key]\n');
    expect(r.redactions).toEqual(['aws-access-key']);
  });

  it('refuses what the policy denies, without running it', async () => {
    const r = await run(`touch ${join(work, 'never')} # forbidden-word`);
    expect(r).toMatchObject({ ran: false, reason: 'the test forbids this', exitCode: null });
    expect(existsSync(join(work, 'never'))).toBe(false);
  });

  it('without an approval wait, a held command is refused naming its approval', async () => {
    const r = await run('echo needs-approval');
    expect(r.ran).toBe(false);
    expect(r.reason).toMatch(/^approval required: the test holds this \(approval [0-9a-f-]{36}\)$/);
  });

  it('waits for the approval, then runs the command', async () => {
    let pending: string | undefined;
    const running = run('echo needs-approval and ran', {
      approval: {
        waitSeconds: 30,
        onPending: (a) => {
          pending = a.id;
        },
      },
    });
    for (let i = 0; i < 100 && pending === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    expect(pending).toBeDefined();
    const approved = await gateway.approvals.approve(pending as string, { id: 'lead', groups: ['bastion-approvers'] }, { comment: 'fine' });
    expect(approved.ok).toBe(true);
    const r = await running;
    expect(r).toMatchObject({ ran: true, exitCode: 0, stdout: 'needs-approval and ran\n' });
    expect(r.decision.matched.map((m) => m.rule)).toContain('approved');
  });

  it('sandbox off: announced and reported; a sandbox obligation still applies', async () => {
    const warnings: string[] = [];
    const off = await run('echo x > /var/tmp/bastion-unsandboxed-check && rm /var/tmp/bastion-unsandboxed-check && echo wrote', { sandbox: false, onWarning: (l) => warnings.push(l) });
    expect(warnings).toEqual(['bastion exec: WARNING: the sandbox is OFF (turned off by the operator): the command runs with your full permissions and network']);
    expect(off).toMatchObject({ ran: true, stdout: 'wrote\n', sandbox: { enabled: false, offBy: 'operator' } });

    const required = await createGateway({ policies: [{ source: 'required.yaml', text: policy('    obligations: [{ type: sandbox }]') }], baseline: { enabled: false } });
    try {
      const r = await runCommand('echo x > /var/tmp/bastion-sandbox-escape; echo rc=$?', { gateway: required, principal, cwd: work, sandbox: false });
      expect(r).toMatchObject({ ran: true, stdout: 'rc=2\n', sandbox: { enabled: true } });
    } finally {
      await required.close();
    }
  });

  it('refuses to run when the sandbox cannot be built', async () => {
    const r = await run('echo hi', { bubblewrap: '/nonexistent/bwrap' });
    expect(r.ran).toBe(false);
    expect(r.reason).toMatch(/^the sandbox is on, but it cannot be built: .*; install bubblewrap, or have the operator turn the sandbox off$/);
  });

  it('audits the outcome: exit code, duration, output digest, sandbox', async () => {
    const r = await run('echo audited; exit 3');
    expect(r.exitCode).toBe(3);
    const reader = await openSqliteAuditReader(join(base, 'state', 'bastion.db'));
    if (!reader.ok) throw new Error(reader.errors[0]?.message);
    const events = await reader.value.query({ type: 'execution' });
    const last = events.at(-1);
    expect(last).toMatchObject({
      type: 'execution',
      traceId: r.decision.traceId,
      action: 'shell.execute',
      surface: 'exec',
      principal: { id: 'ops-agent', groups: ['sre'] },
      data: {
        command: 'echo audited; exit 3',
        cwd: work,
        ran: true,
        exitCode: 3,
        timedOut: false,
        truncated: false,
        sandbox: { enabled: true, network: false, tool: 'bubblewrap' },
        output: { stdoutBytes: 8, stderrBytes: 0, digest: r.outputDigest },
      },
    });
    expect(typeof (last?.data as Record<string, unknown> | undefined)?.['durationMs']).toBe('number');
    expect(r.outputDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    await reader.value.close();
  });
});
