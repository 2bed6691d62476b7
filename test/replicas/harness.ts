/**
 * Several real `bastion serve` processes (the built CLI, `dist/cli/main.js`) on one
 * PostgreSQL database: each with its own data directory, all with one signing key directory
 * (made before any starts, as an operator hands the key files out), on loopback ports they
 * pick themselves. Also a private PostgreSQL cluster of a test's own (`initdb` + `pg_ctl` in a
 * temporary directory) for the faults that stop the database, so the shared test server is
 * never touched.
 *
 * @example
 * const set = await startReplicas({ count: 3, postgresUrl: db.url });
 * await decide(set.replicas[0], { action: 'ticket.read' });
 * await set.stop();
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyDirectory } from '../../src/audit/index.js';

const root = new URL('../..', import.meta.url).pathname;
export const CLI = join(root, 'dist/cli/main.js');

/**
 * The policy every replica runs: reads allowed, ticket updates allowed (a write tool, so the
 * kill switch's `all_write_tools_disabled` stops them), comments held for an approver.
 */
export const REPLICA_POLICY = `apiVersion: bastion/v1
kind: Policy
name: replicas
actions:
  ticket.read: { connector: tickets }
  ticket.update: { write: true, connector: tickets }
  ticket.comment: { write: true, connector: tickets }
rules:
  - id: allow-read
    effect: allow
    actions: [ticket.read]
  - id: allow-update
    effect: allow
    actions: [ticket.update]
  - id: comment-needs-approval
    effect: require_approval
    actions: [ticket.comment]
    reason: comments need an approver
    approval: { groups: [approvers] }
`;

export interface Replica {
  name: string;
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything the process wrote on stderr so far. */
  stderr: () => string;
  /** Everything the process wrote on stdout so far (where it listens, where its state lives). */
  stdout: () => string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop: (graceMs?: number) => Promise<number | string | null>;
}

export interface ReplicaSet {
  /** The directory holding the config, the policy, the key directory and the data directories. */
  dir: string;
  configPath: string;
  keyDir: string;
  replicas: Replica[];
  /** Stops every replica still running and removes the directory. */
  stop: () => Promise<void>;
}

export interface ReplicaOptions {
  count: number;
  /** Audit log in this PostgreSQL database; SQLite in each data directory when left out. */
  postgresUrl?: string;
  /** How long a replica may take to answer `/health` 200 (default 20 s). */
  readyMs?: number;
  /** The policy file's text (default {@link REPLICA_POLICY}). */
  policy?: string;
  /** Limits counted in this Redis (`limits.redis`) under this prefix; per replica when left out. */
  redis?: { url: string; prefix: string };
}

/** Starts `count` replicas on one database and waits until every one answers `/health` 200. */
export async function startReplicas(options: ReplicaOptions): Promise<ReplicaSet> {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-replicas-'));
  const keyDir = join(dir, 'audit-key');
  // INVARIANT: the key exists before any replica starts: replicas that each made their own
  // would sign checkpoints one log key cannot verify (and the second would be refused).
  keyDirectory(keyDir).create();
  writeFileSync(join(dir, 'policy.yaml'), options.policy ?? REPLICA_POLICY);
  const configPath = join(dir, 'bastion.yaml');
  writeFileSync(
    configPath,
    [
      'server: { host: 127.0.0.1, port: 0 }',
      'dev: true',
      'policies: [./policy.yaml]',
      `audit: { durable: true, keyDir: ./audit-key }`,
      ...(options.postgresUrl !== undefined ? [`storage: { kind: postgres, url: "${options.postgresUrl}" }`] : []),
      ...(options.redis !== undefined ? [`limits: { redis: "${options.redis.url}", prefix: "${options.redis.prefix}" }`] : []),
      'admin_groups: [bastion-admins]',
      '',
    ].join('\n'),
  );
  const replicas: Replica[] = [];
  const set: ReplicaSet = {
    dir,
    configPath,
    keyDir,
    replicas,
    stop: async () => {
      await Promise.all(replicas.map((r) => r.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    const started = await Promise.all(Array.from({ length: options.count }, (_, i) => startReplica(set, `r${i}`, options.readyMs)));
    replicas.push(...started);
  } catch (err) {
    await set.stop();
    throw err;
  }
  return set;
}

/** Starts one more replica of `set` (its own data directory) and waits until it is ready. */
export async function startReplica(set: Pick<ReplicaSet, 'dir' | 'configPath'>, name: string, readyMs = 20_000): Promise<Replica> {
  const dataDir = join(set.dir, `data-${name}`);
  const child = spawn(process.execPath, [CLI, 'serve', '--config', set.configPath, '--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BASTION_AUDIT_KEY_DIR: '' },
  });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const stop = async (graceMs = 5000): Promise<number | string | null> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    }
    return exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`replica ${name} did not listen within ${readyMs} ms: ${stderr}`)), readyMs);
      child.stdout?.on('data', () => {
        const m = /listening on (http:\/\/\S+)/.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`replica ${name} exited ${code}: ${stderr}`));
      });
    });
    await waitFor(async () => ((await health(url)).status === 200 ? true : undefined), `replica ${name} /health 200`, readyMs);
    return { name, url, dataDir, child, stderr: () => stderr, stdout: () => stdout, exited, stop };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** `GET /health`; status 0 when the replica does not answer at all. */
export async function health(url: string): Promise<Answer> {
  return call(url, 'GET', '/health');
}

/** One HTTP call in development mode, as `principal` (identity headers); status 0 when the connection failed. */
export async function call(url: string, method: string, path: string, body?: unknown, principal?: { id: string; groups: string[] }, timeoutMs = 10_000): Promise<Answer> {
  try {
    const r = await fetch(`${url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(principal ? { 'x-bastion-principal-id': principal.id, 'x-bastion-principal-groups': principal.groups.join(',') } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await r.text();
    try {
      return { status: r.status, body: JSON.parse(text) as Record<string, unknown> };
    } catch {
      return { status: r.status, body: { text } };
    }
  } catch (err) {
    return { status: 0, body: { error: (err as Error).message } };
  }
}

export const AGENT = { id: 'agent-1', groups: ['agents'] };

/** `POST /v1/decide` of `action` with a fresh trace id (returned), as {@link AGENT} unless told. */
export async function decide(replica: { url: string }, action: string, extra: Record<string, unknown> = {}, principal = AGENT): Promise<Answer & { traceId: string }> {
  const traceId = (extra.traceId as string | undefined) ?? randomUUID();
  const answer = await call(replica.url, 'POST', '/v1/decide', { action, args: { ticket: 'OPS-1' }, ...extra, traceId }, principal);
  return { ...answer, traceId };
}

/** Polls `probe` every 50 ms until it returns a value other than undefined; throws after `ms`. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  port: number;
  /** Stops the server at once (`pg_ctl stop -m immediate`: no checkpoint, as a crash). */
  crash: () => void;
  /** Starts it again on the same port and data directory; waits until it accepts connections. */
  start: () => void;
  /** Stops it (if running) and removes its directory. */
  destroy: () => void;
}

/** The directory of PostgreSQL's server binaries (`initdb`, `pg_ctl`), or undefined when none is installed. */
export function postgresBinaries(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl')) && existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] !== undefined ? join(base, versions[0], 'bin') : undefined;
}

/**
 * A PostgreSQL cluster of this test's own, in a temporary directory, on a free loopback port
 * with trust auth. PostgreSQL refuses to run as root, so as root it runs as the `postgres`
 * user (through `runuser`); the directory is made theirs.
 * Throws with the reason when it cannot be started (the caller skips with that reason).
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinaries();
  if (bin === undefined) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/*/bin');
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'bastion-private-pg-'));
  const data = join(dir, 'data');
  mkdirSync(data, { mode: 0o700 });
  if (asRoot) {
    const ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    chownSync(dir, Number(ids), Number(gid));
    chownSync(data, Number(ids), Number(gid));
  }
  const run = (program: string, args: string[]): void => {
    const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]] : [join(bin, program), args];
    execFileSync(command as string, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  };
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const start = (): void => run('pg_ctl', ['start', '-D', data, '-w', '-t', '30', '-l', join(dir, 'server.log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=50`]);
  const stop = (mode: string): void => {
    try {
      run('pg_ctl', ['stop', '-D', data, '-m', mode, '-w', '-t', '30']);
    } catch {
      // Not running.
    }
  };
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    crash: () => stop('immediate'),
    start,
    destroy: () => {
      stop('immediate');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivateRedis {
  /** `redis://127.0.0.1:PORT` */
  url: string;
  /** SIGKILLs the server (it keeps nothing on disk: its counts are gone, as after a crash). */
  crash: () => Promise<void>;
  /** Starts it again on the same port; resolves once it answers. */
  start: () => Promise<void>;
  /** Stops it and removes its directory. */
  destroy: () => Promise<void>;
}

/** A `redis-server` of this test's own on a free loopback port, so the shared one is never stopped. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-private-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    child = proc;
    const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`redis-server exited ${code}`))));
    const answered = waitFor(() => pingRedis(port), `redis-server on port ${port}`, 10_000);
    await Promise.race([answered, exited]);
  };
  const crash = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await gone;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    crash,
    start,
    destroy: async () => {
      await crash();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** True once a Redis server answers PING on `port` (a raw RESP exchange: no client needed). */
function pingRedis(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let got = '';
    const done = (v: true | undefined) => {
      socket.destroy();
      resolve(v);
    };
    socket.setTimeout(1000, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.includes('+PONG')) done(true);
    });
  });
}
