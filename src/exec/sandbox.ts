/**
 * The bubblewrap sandbox of guarded execution: where `bwrap` is, whether it works on this
 * machine (user namespaces may be off), and the arguments that confine one command:
 *
 *   read-only root · the working directory writable · a private /tmp, /dev and /proc ·
 *   every namespace unshared (no network unless granted) · a new session (no terminal
 *   injection) · dies with its parent · a clean environment
 */

import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where `bwrap` is on `PATH`, or undefined. */
export function findBubblewrap(path: string | undefined): string | undefined {
  for (const dir of (path ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'bwrap');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const probed = new Map<string, string | undefined>();

/**
 * Whether `bwrap` can build a sandbox here: undefined when it can, else why not (its own
 * message). Probed once per binary: a kernel without unprivileged user namespaces fails here,
 * before a command is started.
 */
export function probeBubblewrap(bwrap: string): string | undefined {
  if (probed.has(bwrap)) return probed.get(bwrap);
  const r = spawnSync(bwrap, ['--die-with-parent', '--unshare-all', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--', '/bin/true'], { timeout: 10_000, encoding: 'utf8' });
  const problem = r.status === 0 ? undefined : (r.stderr || r.error?.message || `exit ${r.status ?? r.signal}`).trim().split('\n')[0];
  probed.set(bwrap, problem);
  return problem;
}

export interface SandboxSpec {
  cwd: string;
  /** Share the host's network namespace (only when the decision grants egress). */
  network: boolean;
  env: Record<string, string>;
  command: string;
}

/**
 * The `bwrap` arguments for one command. Later mounts go over earlier ones: the root is
 * read-only, then /dev, /proc and /tmp are fresh, then the working directory is bound
 * writable (also when it lies under /tmp).
 *
 * @example bubblewrapArgs({ cwd: '/srv/app', network: false, env: { PATH: '/usr/bin' }, command: 'ls' })
 */
export function bubblewrapArgs(spec: SandboxSpec): string[] {
  const args = ['--die-with-parent', '--new-session', '--unshare-all'];
  if (spec.network) args.push('--share-net');
  args.push('--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', '--bind', spec.cwd, spec.cwd, '--chdir', spec.cwd, '--clearenv');
  for (const [k, v] of Object.entries(spec.env)) args.push('--setenv', k, v);
  args.push('--', '/bin/sh', '-c', spec.command);
  return args;
}
