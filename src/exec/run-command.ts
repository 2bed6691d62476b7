/**
 * Guarded shell execution: decide `shell.execute` with `{command, cwd}`, and run only an
 * allowed command, in the bubblewrap sandbox by default, with a time limit and an output cap;
 * what it printed goes through result inspection (secrets redacted per the action's `output`
 * mode, prompt injection taints the trace), and the outcome is audited as an `execution`
 * event (exit code, duration, output size and digest, sandbox settings).
 *
 * Egress: the sandbox has no network unless the decision grants it, and only a rule can: an
 * obligation `{ type: sandbox, network: true }` on the rule that allowed the call. That the
 * analysis saw a host is not a grant (bubblewrap cannot confine the command to that host).
 *
 * The sandbox is on unless the operator turns it off (`sandbox: false`; announced through
 * `onWarning` on every run and recorded in the event); a decision that carries a `sandbox`
 * obligation runs sandboxed whatever the option says, and is refused where bubblewrap is
 * missing or cannot build a sandbox.
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ActionRequest, Decision, DecisionApproval, Obligation, Principal } from '../core/types.js';
import type { Risk } from '../core/risk.js';
import { approvalRefusal, awaitApproval, type Gateway } from '../gateway/index.js';
import { obligedTimeoutSeconds } from '../core/obligations.js';
import { redact } from '../scan/index.js';
import { bubblewrapArgs, findBubblewrap, probeBubblewrap } from './sandbox.js';

export interface RunCommandOptions {
  gateway: Gateway;
  principal: Principal;
  /** The working directory, writable in the sandbox; default `process.cwd()`. */
  cwd?: string;
  environment?: string;
  /** The risk the caller declares (a CapFence event's `risk`); the effective risk is the higher of it and the analyzed one. */
  risk?: Risk;
  context?: Record<string, unknown>;
  traceId?: string;
  /** Default true. False only when the operator turns the sandbox off; a `sandbox` obligation still applies. */
  sandbox?: boolean;
  /** Default 300 s; the command (and its sandbox) is killed after it. */
  timeoutSeconds?: number;
  /** Per stream (stdout, stderr); default 1 MiB. Past it the command is killed and the output truncated. */
  maxOutputBytes?: number;
  /** On `require_approval`: wait this long for the approval, then run. Without it the command is refused. */
  approval?: { waitSeconds: number; onPending?: (approval: DecisionApproval) => void };
  /** Variables for the command, over the clean environment (PATH, HOME, LANG, TERM). */
  env?: Record<string, string>;
  /** Where `bwrap` is; default found on PATH. */
  bubblewrap?: string;
  /** Announcements for the operator (the sandbox being off). */
  onWarning?: (line: string) => void;
  /** Ends the wait for an approval or the command early. */
  signal?: AbortSignal;
}

export interface SandboxReport {
  enabled: boolean;
  network: boolean;
  /** Why it is off: `operator` (the option), or absent when on. */
  offBy?: 'operator';
}

export interface CommandOutcome {
  /** Whether the command was started. */
  ran: boolean;
  /** The engine's decision (of the retry, when an approval was waited for). */
  decision: Decision;
  /** Why it did not run, or the decision's reason. */
  reason: string;
  /** The command's exit code; null when it did not run or was killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** The output passed the cap (the command was then stopped). */
  truncated: boolean;
  /** What the command printed, after redaction (empty when the output mode is `block` and secrets were found). */
  stdout: string;
  stderr: string;
  /** Detector names of what was redacted in the output. */
  redactions: string[];
  durationMs: number;
  sandbox: SandboxReport;
  /** `sha256:` of the returned stdout, a NUL, and the returned stderr. */
  outputDigest: string;
}

const MIB = 1024 * 1024;

function hasObligation(decision: Decision, type: string): Obligation | undefined {
  return decision.obligations.find((o) => o.type === type);
}

/** The clean environment a command starts with: no credentials of the calling process leak in. */
function cleanEnv(extra: Record<string, string> | undefined): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin', HOME: process.env['HOME'] ?? '/', TMPDIR: '/tmp' };
  for (const key of ['LANG', 'LC_ALL', 'TERM']) {
    const v = process.env[key];
    if (v !== undefined) env[key] = v;
  }
  return { ...env, ...(extra ?? {}) };
}

function digest(stdout: string, stderr: string): string {
  return `sha256:${createHash('sha256').update(stdout).update('\0').update(stderr).digest('hex')}`;
}

function refused(decision: Decision, reason: string, sandbox: SandboxReport): CommandOutcome {
  return {
    ran: false,
    decision,
    reason,
    exitCode: null,
    signal: null,
    timedOut: false,
    truncated: false,
    stdout: '',
    stderr: '',
    redactions: [],
    durationMs: 0,
    sandbox,
    outputDigest: digest('', ''),
  };
}

/**
 * Decides a shell command and runs it when allowed. Never throws for a refusal: the outcome
 * says `ran: false` and why.
 *
 * @example
 * const outcome = await runCommand('ls -la', { gateway, principal: { id: 'ops-agent', groups: ['sre'] }, cwd: '/srv/app' });
 * if (outcome.ran) console.log(outcome.exitCode, outcome.stdout);
 */
export async function runCommand(command: string, options: RunCommandOptions): Promise<CommandOutcome> {
  const { gateway } = options;
  const cwd = resolve(options.cwd ?? process.cwd());
  const request: ActionRequest = {
    principal: options.principal,
    action: 'shell.execute',
    args: { command, cwd },
    ...(options.environment !== undefined ? { environment: options.environment } : {}),
    ...(options.risk !== undefined ? { risk: options.risk } : {}),
    ...(options.context !== undefined ? { context: options.context } : {}),
    ...(options.traceId !== undefined ? { traceId: options.traceId } : {}),
  };
  let decision = await gateway.decide(request);
  if (decision.decision === 'require_approval' && options.approval !== undefined && decision.approval !== undefined) {
    const seconds = options.approval.waitSeconds;
    const awaited = await awaitApproval(gateway, { ...request, traceId: decision.traceId }, decision, {
      seconds,
      ...(options.approval.onPending ? { onPending: options.approval.onPending } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    decision = awaited.decision;
    if (awaited.outcome !== 'approved') return await audited(gateway, request, refused(decision, approvalRefusal(awaited, seconds), { enabled: false, network: false }));
  }
  const sandboxObligation = hasObligation(decision, 'sandbox');
  const network = sandboxObligation?.['network'] === true;
  if (decision.decision !== 'allow') {
    const why = decision.decision === 'require_approval' ? `approval required: ${decision.reason}${decision.approval ? ` (approval ${decision.approval.id})` : ''}` : decision.reason;
    return refused(decision, why, { enabled: false, network: false });
  }
  const sandboxOn = options.sandbox !== false || sandboxObligation !== undefined;
  const report: SandboxReport = sandboxOn ? { enabled: true, network } : { enabled: false, network: true, offBy: 'operator' };
  if (!isAbsolute(cwd) || cwd === '/' || !isDirectory(cwd)) {
    return await audited(gateway, request, refused(decision, `the working directory \`${cwd}\` is not a directory the command may write in`, report));
  }
  let bwrap: string | undefined;
  if (sandboxOn) {
    bwrap = options.bubblewrap ?? findBubblewrap(process.env['PATH']);
    const why = bwrap === undefined ? 'bubblewrap (`bwrap`) is not installed' : probeBubblewrap(bwrap);
    if (why !== undefined) {
      const by = sandboxObligation !== undefined && options.sandbox === false ? 'the policy requires the sandbox for this command' : 'the sandbox is on';
      return await audited(gateway, request, refused(decision, `${by}, but it cannot be built: ${why}; install bubblewrap, or have the operator turn the sandbox off`, report));
    }
  } else {
    options.onWarning?.('bastion exec: WARNING: the sandbox is OFF (turned off by the operator): the command runs with your full permissions and network');
  }
  const outcome = await execute(command, cwd, bwrap, network, decision, report, options);
  return await audited(gateway, request, outcome);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Starts the command (sandboxed when `bwrap` is given) and collects its bounded output. */
async function execute(command: string, cwd: string, bwrap: string | undefined, network: boolean, decision: Decision, sandbox: SandboxReport, options: RunCommandOptions): Promise<CommandOutcome> {
  const env = cleanEnv(options.env);
  const cap = options.maxOutputBytes ?? MIB;
  // The operator's limit, or the policy's `timeout` obligation when it gives less.
  const timeoutMs = Math.min(options.timeoutSeconds ?? 300, obligedTimeoutSeconds(decision.obligations) ?? Number.POSITIVE_INFINITY) * 1000;
  const started = performance.now();
  const [file, args] = bwrap !== undefined ? [bwrap, bubblewrapArgs({ cwd, network, env, command })] : ['/bin/sh', ['-c', command]];
  const child = spawn(file, args, { cwd, env: bwrap !== undefined ? { PATH: env['PATH'] ?? '/usr/bin:/bin' } : env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let sizes = [0, 0];
  let truncated = false;
  let timedOut = false;
  const kill = () => {
    try {
      // The process group: bwrap (whose sandbox dies with it) or the shell and its children.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };
  const collect = (chunks: Buffer[], index: 0 | 1) => (chunk: Buffer) => {
    const used = sizes[index] ?? 0;
    if (used >= cap) return;
    const room = cap - used;
    chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    sizes = index === 0 ? [used + Math.min(room, chunk.length), sizes[1] ?? 0] : [sizes[0] ?? 0, used + Math.min(room, chunk.length)];
    if (chunk.length > room) {
      truncated = true;
      kill();
    }
  };
  child.stdout.on('data', collect(out, 0));
  child.stderr.on('data', collect(err, 1));
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, timeoutMs);
  const onAbort = () => kill();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('error', () => done({ code: null, signal: null }));
    child.once('close', (c, s) => done({ code: c, signal: s }));
  });
  clearTimeout(timer);
  options.signal?.removeEventListener('abort', onAbort);
  const durationMs = Math.round(performance.now() - started);
  const traceId = decision.traceId;
  const inspect = async (text: string, stream: string) => options.gateway.inspectResult({ traceId, action: 'shell.execute', text, source: `exec:${stream}` });
  const [stdout, stderr] = await Promise.all([inspect(Buffer.concat(out).toString('utf8'), 'stdout'), inspect(Buffer.concat(err).toString('utf8'), 'stderr')]);
  const redactions = [...new Set([...stdout.findings, ...stderr.findings].map((f) => f.rule))].sort();
  return {
    ran: true,
    decision,
    reason: decision.reason,
    exitCode: code,
    signal,
    timedOut,
    truncated,
    stdout: stdout.text,
    stderr: stderr.text,
    redactions,
    durationMs,
    sandbox,
    outputDigest: digest(stdout.text, stderr.text),
  };
}

/** Records the outcome (`execution`), then hands it back. */
async function audited(gateway: Gateway, request: ActionRequest, outcome: CommandOutcome): Promise<CommandOutcome> {
  await gateway.auditLog?.append({
    type: 'execution',
    traceId: outcome.decision.traceId,
    principal: { id: request.principal.id, groups: [...request.principal.groups] },
    action: request.action,
    surface: 'exec',
    decision: outcome.decision.decision,
    data: {
      command: redact(String((request.args as Record<string, unknown>)['command'])),
      cwd: (request.args as Record<string, unknown>)['cwd'] as string,
      ran: outcome.ran,
      ...(outcome.ran ? {} : { refused: outcome.reason }),
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      timedOut: outcome.timedOut,
      truncated: outcome.truncated,
      durationMs: outcome.durationMs,
      sandbox: { ...outcome.sandbox, tool: 'bubblewrap' },
      output: { stdoutBytes: Buffer.byteLength(outcome.stdout), stderrBytes: Buffer.byteLength(outcome.stderr), digest: outcome.outputDigest },
      redactions: outcome.redactions,
    },
  });
  return outcome;
}
