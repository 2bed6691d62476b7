/**
 * The shape of a CLI command and the streams it talks to. Commands are plain objects so the
 * tests can run them in-process with captured streams, without spawning a process.
 */

import type { Readable, Writable } from 'node:stream';
import type { BastionError } from '../core/errors.js';

export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Environment variables, for commands that read `BASTION_*` settings. */
  env: Record<string, string | undefined>;
  /** The working directory relative paths are resolved against. */
  cwd: string;
}

export interface Command {
  /** The word after `bastion`, e.g. `check` or `audit`. */
  name: string;
  /** One line for `bastion --help`. */
  summary: string;
  /** The full help text printed by `bastion <name> --help`. */
  help: string;
  /** Runs the command; resolves to the process exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

/**
 * Exit codes shared by every command: 1 is a command's own "no" (a failed verification, a
 * `--fail-on` hit), 2 is input Bastion refused, 70 (sysexits' EX_SOFTWARE) a bug in Bastion.
 */
export const EXIT = { OK: 0, FAILED: 1, BAD_INPUT: 2, INTERNAL: 70 } as const;

/** Writes a one-line error to stderr as `bastion <command>: <message>` and returns exit 2. */
export function badInput(io: CliIo, command: string, message: string): number {
  io.stderr.write(`bastion ${command}: ${message.replace(/[\r\n]+/g, ' ')}\n`);
  return EXIT.BAD_INPUT;
}

/**
 * Errors as the one line a command prints: the first message, and how many more there are
 * (a policy set with forty problems still gives one line; `bastion policy validate` lists them all).
 *
 * @example errorLine([e1, e2, e3]) // 'while loading `a.yaml`: … (and 2 more)'
 */
export function errorLine(errors: readonly BastionError[]): string {
  const first = errors[0]?.message ?? 'unknown error';
  return errors.length > 1 ? `${first} (and ${errors.length - 1} more)` : first;
}

/**
 * The CLI's half of the one error convention: expected failures (`BastionError`s from a
 * `Result`) become one line on stderr and exit 2.
 *
 * @example if (!loaded.ok) return failWith(io, 'serve', loaded.errors);
 */
export function failWith(io: CliIo, command: string, errors: readonly BastionError[]): number {
  return badInput(io, command, errorLine(errors));
}

/** Reads all of stdin (or a file) as UTF-8 text. */
export async function readAll(stream: Readable): Promise<string> {
  return (await readAllBytes(stream)).toString('utf8');
}

/** Reads all of stdin (or a file) as bytes, for input that must be decoded strictly. */
export async function readAllBytes(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Reads stdin line by line, calling `onLine` for each non-empty line in order. */
export async function forEachLine(stream: Readable, onLine: (line: string, lineNo: number) => Promise<void> | void): Promise<void> {
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (line.trim() === '') continue;
    await onLine(line, n);
  }
}

/**
 * The output line for an input line of a `--jsonl` command that cannot be processed: the same
 * error shape as everywhere else, so outputs stay one line per input line.
 *
 * @example jsonlError(3, 'invalid JSON: Unexpected token') // {"error":{"code":"INPUT_INVALID","message":"line 3: invalid JSON: …","line":3}}
 */
export function jsonlError(line: number, message: string): string {
  return JSON.stringify({ error: { code: 'INPUT_INVALID', message: `line ${line}: ${message}`, line } });
}
