/**
 * Runs the CLI in-process with captured streams, as a user would run `bastion …`.
 */

import { PassThrough } from 'node:stream';
import type { CliIo } from '../../src/cli/command.js';
import { runCli } from '../../src/cli/run.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `tty: true` makes stderr look like a terminal (progress output). */
export async function runBastion(argv: string[], options: { cwd: string; stdin?: string; env?: Record<string, string>; tty?: boolean }): Promise<CliRun> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (options.tty === true) stderr.isTTY = true;
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  stdin.end(options.stdin ?? '');
  const io: CliIo = { stdin, stdout, stderr, env: options.env ?? {}, cwd: options.cwd };
  const code = await runCli(argv, io);
  return { code, stdout: out, stderr: err };
}
