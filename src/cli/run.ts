/**
 * Dispatches `bastion <command> …` to the registered command, with help for every command.
 */

import { readFileSync } from 'node:fs';
import type { CliIo, Command } from './command.js';
import { EXIT } from './command.js';
import { COMMANDS } from './commands/index.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function usage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length), 8);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'bastion: a deterministic governance gateway for AI agents\' actions',
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

/** Runs the CLI with the given arguments (without `node` and the script path). */
export async function runCli(argv: string[], io: CliIo, commands: readonly Command[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(target ? target.help.trimEnd() + '\n' : usage(commands));
    return EXIT.OK;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(version() + '\n');
    return EXIT.OK;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`bastion: unknown command \`${name}\`; run \`bastion --help\` for the list\n`);
    return EXIT.BAD_INPUT;
  }
  if (rest.length === 1 && (rest[0] === '--help' || rest[0] === '-h')) {
    io.stdout.write(command.help.trimEnd() + '\n');
    return EXIT.OK;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    // A command should turn expected failures into values; anything reaching here is a bug,
    // reported on one line rather than as a stack trace.
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`bastion ${name}: internal error: ${message.replace(/\n/g, ' ')}\n`);
    return EXIT.FAILED;
  }
}
