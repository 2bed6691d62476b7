/**
 * The shape of a CLI command and the streams it talks to. Commands are plain objects so the
 * tests can run them in-process with captured streams, without spawning a process.
 */

import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { quote, type BastionError } from '../core/errors.js';

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
  /** The words after `bastion <name>` (`audit verify`, `policy import`), each with its own help. */
  subcommands?: readonly Subcommand[];
  /** The subcommands of a command that dispatches them itself and answers their `--help` (`keys create --help`). */
  ownSubcommands?: readonly string[];
}

/** One subcommand of a command (`bastion audit verify`): the same shape, one level down. */
export interface Subcommand {
  name: string;
  summary: string;
  /** Printed by `bastion <command> <name> --help`. */
  help: string;
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

/** The options a command takes, in `node:util`'s `parseArgs` shape. `help`/`-h` is always there. */
export type OptionsConfig = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean | string[] | boolean[] }>;

/** What {@link parseOptions} parsed: the values (typed from the options) and the positionals. */
export type ParsedOptions<O extends OptionsConfig> = { ok: true } & Pick<ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>>, 'values' | 'positionals'>;

/** Help was printed (exit 0) or the arguments were refused with one line on stderr (exit 2). */
export interface OptionsDone {
  ok: false;
  exit: number;
}

/** Whether `args` ask for help: `--help` or `-h` anywhere before a `--`. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/** Writes a help text to stdout, ending in exactly one newline; returns exit 0. */
export function printHelp(io: CliIo, help: string): number {
  io.stdout.write(help.trimEnd() + '\n');
  return EXIT.OK;
}

/**
 * The one way commands read their options. `--help`/`-h` anywhere before `--` prints `help`
 * (exit 0); an unknown option, a missing value, a value given to a flag or (unless
 * `positionals`) an argument that is not an option is refused with Bastion's one line naming
 * it and the command's help (exit 2), never `parseArgs`' own text. Everything after `--` is
 * positional.
 *
 * @example
 * const parsed = parseOptions(io, 'policy validate', args, { help: VALIDATE_HELP, positionals: true, options: { 'no-baseline': { type: 'boolean' } } });
 * if (!parsed.ok) return parsed.exit;
 * parsed.values['no-baseline']; parsed.positionals;
 */
export function parseOptions<const O extends OptionsConfig>(io: CliIo, command: string, args: string[], spec: { help: string; options: O; positionals?: boolean }): ParsedOptions<O> | OptionsDone {
  if (wantsHelp(args)) return { ok: false, exit: printHelp(io, spec.help) };
  const seeHelp = `run \`bastion ${command} --help\` for the options`;
  const refuse = (message: string): OptionsDone => ({ ok: false, exit: badInput(io, command, message) });
  const { tokens } = parseArgs({ args, options: spec.options, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'option-terminator') break;
    if (token.kind === 'positional') {
      if (spec.positionals !== true) return refuse(`unexpected argument ${quote(token.value)}; ${seeHelp}`);
      continue;
    }
    const option = Object.hasOwn(spec.options, token.name) ? spec.options[token.name] : undefined;
    // `-x` is known only as some option's short letter, not because an option is named `x`.
    const known = option !== undefined && (token.rawName.startsWith('--') || token.rawName === `-${option.short}`);
    if (!known) return refuse(`unknown option ${quote(token.rawName)}; ${seeHelp}`);
    if (option.type === 'boolean' && token.value !== undefined) return refuse(`option ${quote(token.rawName)} takes no value; ${seeHelp}`);
    if (option.type === 'string') {
      // parseArgs (not strict) takes the next argument whatever it is; `--policy --json` is a missing value.
      const missing = token.value === undefined || (!token.inlineValue && token.value.startsWith('-') && token.value !== '-');
      if (missing)
        return refuse(`option ${quote(token.rawName)} needs a value${token.value === undefined ? '' : ` (give one that starts with \`-\` as \`${token.rawName}=${token.value}\`)`}; ${seeHelp}`);
    }
  }
  try {
    const { values, positionals } = parseArgs({ args, options: spec.options, strict: true, allowPositionals: true });
    return { ok: true, values, positionals } as ParsedOptions<O>;
  } catch (err) {
    // Every case parseArgs refuses is caught above; this keeps its text out of sight if one is not.
    return refuse(
      `${String((err as Error).message)
        .split('.')[0]
        ?.toLowerCase()}; ${seeHelp}`,
    );
  }
}

/**
 * A command made of subcommands (`bastion audit verify|query|…`): `--help` before the
 * subcommand prints the command's help, a missing or unknown subcommand (or an option in
 * its place) is refused naming the ones there are.
 *
 * @example export const auditCommand = commandGroup({ name: 'audit', summary: '…', help: HELP, subcommands: [verify, query] });
 */
export function commandGroup(group: { name: string; summary: string; help: string; subcommands: readonly Subcommand[] }): Command {
  const names = group.subcommands.map((s) => s.name);
  const expected = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : (names[0] ?? '');
  return {
    name: group.name,
    summary: group.summary,
    help: group.help,
    subcommands: group.subcommands,
    async run(args, io) {
      const [first, ...rest] = args;
      if (first === '--help' || first === '-h') return printHelp(io, group.help);
      const seeHelp = `run \`bastion ${group.name} --help\``;
      if (first === undefined) return badInput(io, group.name, `missing subcommand: expected ${expected}; ${seeHelp}`);
      if (first.startsWith('-')) return badInput(io, group.name, `unknown option ${quote(first)}; ${seeHelp} for the subcommands`);
      const sub = group.subcommands.find((s) => s.name === first);
      if (sub === undefined) return badInput(io, group.name, `unknown subcommand ${quote(first)}: expected ${expected}; ${seeHelp}`);
      return sub.run(rest, io);
    },
  };
}
