/**
 * Dispatches `bastion <command> …` to the registered command, with help for every command.
 */

import { readFileSync } from 'node:fs';
import { BastionException, quote } from '../core/errors.js';
import type { CliIo, Command } from './command.js';
import { EXIT, failWith, printHelp, wantsHelp } from './command.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function usage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length), 8);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "bastion: a deterministic governance gateway for AI agents' actions",
    '',
    'Usage: bastion <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `bastion <command> --help` for the options of a command.',
    '',
  ].join('\n');
}

/**
 * Runs the CLI with the given arguments (without `node` and the script path). `--help` or
 * `-h` anywhere before `--` prints the help of the command or subcommand named, before the
 * command sees its arguments (so every command and subcommand has one, whatever it parses).
 */
export async function runCli(argv: string[], io: CliIo, given?: readonly Command[]): Promise<number> {
  const [name, ...rest] = argv;
  const commands = given ?? (await commandsFor(name));
  if (name === undefined || name === '--help' || name === '-h') {
    io.stdout.write(usage(commands));
    return EXIT.OK;
  }
  if (name === 'help') {
    const target = commands.find((c) => c.name === rest[0]);
    if (rest[0] !== undefined && target === undefined) return unknownCommand(io, rest[0]);
    if (target === undefined) {
      io.stdout.write(usage(commands));
      return EXIT.OK;
    }
    const sub = target.subcommands?.find((s) => s.name === rest[1]);
    return printHelp(io, sub ? sub.help : target.help);
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(version() + '\n');
    return EXIT.OK;
  }
  if (name.startsWith('-')) {
    io.stderr.write(`bastion: unknown option ${quote(name)}; run \`bastion --help\` for the commands\n`);
    return EXIT.BAD_INPUT;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) return unknownCommand(io, name);
  // A command that declares no subcommands but takes one (`keys create`) answers its own
  // subcommands' help; every other `--help` is answered here.
  const ownsHelp = command.subcommands === undefined && rest[0] !== undefined && (command.ownSubcommands ?? []).includes(rest[0]);
  if (wantsHelp(rest) && !ownsHelp) {
    const sub = command.subcommands?.find((s) => s.name === rest[0]);
    return printHelp(io, sub ? sub.help : command.help);
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    return reportThrown(io, name, err);
  }
}

/**
 * The commands to dispatch `name` among. `bastion hook` runs once per tool call of the agent
 * (Claude Code, Gemini CLI spawn it each time), so it loads its own module alone, not every
 * command's (Fastify, the MCP SDK, pg and ioredis among them); any other name loads them all.
 */
async function commandsFor(name: string | undefined): Promise<readonly Command[]> {
  if (name === 'hook') return [(await import('./commands/hook.js')).hookCommand];
  return (await import('./commands/index.js')).COMMANDS;
}

function unknownCommand(io: CliIo, name: string): number {
  io.stderr.write(`bastion: unknown command ${quote(name)}; run \`bastion --help\` for the list\n`);
  return EXIT.BAD_INPUT;
}

/**
 * What reaches here was thrown instead of returned. An error value carried in a
 * `BastionException` is still an expected failure: one line, exit 2. Anything else is a bug:
 * a generic line and exit 70, never a stack trace or an internal message (paths, driver text)
 * unless `BASTION_DEBUG` is set.
 */
function reportThrown(io: CliIo, name: string, err: unknown): number {
  if (err instanceof BastionException) return failWith(io, name, err.details.length > 0 ? err.details : [{ code: err.code, message: err.message }]);
  const debug = io.env['BASTION_DEBUG'];
  if (debug !== undefined && debug !== '' && debug !== '0') {
    io.stderr.write(`bastion ${name}: internal error\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  } else {
    io.stderr.write(`bastion ${name}: internal error (a bug in Bastion; run again with BASTION_DEBUG=1 to see where)\n`);
  }
  return EXIT.INTERNAL;
}
