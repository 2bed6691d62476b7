/**
 * Every command and subcommand answers `--help` (anywhere before `--`) with its own help and
 * refuses an unknown option with Bastion's one line naming it and the help to read, never
 * Node's `ERR_PARSE_ARGS_*` text. The walk goes over the registry, so a command added later
 * is covered without touching this file.
 */

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type CliIo, parseOptions } from '../../src/cli/command.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { runBastion } from '../helpers/cli.js';

const root = new URL('../..', import.meta.url).pathname;
const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };

/** Every `bastion …` word sequence with its help: commands, then their subcommands. */
const targets = COMMANDS.flatMap((c) => [{ words: [c.name], help: c.help }, ...(c.subcommands ?? []).map((s) => ({ words: [c.name, s.name], help: s.help }))]);

describe('--help and unknown options on every command and subcommand', () => {
  it('walks them all (the registry is not empty, subcommands included)', () => {
    expect(COMMANDS.length).toBeGreaterThanOrEqual(7);
    expect(targets.map((t) => t.words.join(' '))).toEqual(expect.arrayContaining(['check', 'policy validate', 'policy import', 'audit verify', 'audit query', 'audit export', 'test', 'scan']));
  });

  it.each(targets.map((t) => [t.words.join(' '), t] as const))('bastion %s --help / -h / … --help', async (_name, t) => {
    for (const flag of ['--help', '-h']) {
      for (const args of [
        [...t.words, flag],
        [...t.words, 'some-argument', flag],
      ]) {
        const r = await runBastion(args, { cwd: root });
        expect([r.code, r.stderr], args.join(' ')).toEqual([0, '']);
        expect(r.stdout, args.join(' ')).toBe(t.help.trimEnd() + '\n');
      }
    }
    expect(t.help).toMatch(new RegExp(`bastion ${t.words.join(' ')}`));
  });

  it.each(targets.map((t) => [t.words.join(' '), t] as const))('bastion %s --no-such-option', async (name, t) => {
    const r = await runBastion([...t.words, '--no-such-option'], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/ERR_PARSE_ARGS|Unknown option '/);
    const sub = t.words.length === 1 && COMMANDS.find((c) => c.name === name)?.subcommands !== undefined;
    expect(r.stderr).toBe(`bastion ${name}: unknown option \`--no-such-option\`; run \`bastion ${name} --help\`${sub ? ' for the subcommands' : ' for the options'}\n`);
  });

  it('--help after `--` belongs to the command line that follows, not to Bastion', async () => {
    const r = await runBastion(['analyze', '--json', '--', 'ls', '--help'], { cwd: root });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ command: 'ls --help', parsed: true });
  });

  it('bastion help <command> [<subcommand>], --version, and unknown words at the top', async () => {
    expect((await runBastion(['help', 'audit', 'export'], { cwd: root })).stdout).toMatch(/^Usage: bastion audit export --format/);
    expect((await runBastion(['help', 'policy'], { cwd: root })).stdout).toMatch(/^Usage:\n {2}bastion policy validate/);
    for (const flag of ['--version', '-v']) expect(await runBastion([flag], { cwd: root })).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    expect(await runBastion(['--no-such-option'], { cwd: root })).toEqual({ code: 2, stdout: '', stderr: 'bastion: unknown option `--no-such-option`; run `bastion --help` for the commands\n' });
    expect(await runBastion(['help', 'nope'], { cwd: root })).toEqual({ code: 2, stdout: '', stderr: 'bastion: unknown command `nope`; run `bastion --help` for the list\n' });
    expect(await runBastion(['audit'], { cwd: root })).toEqual({
      code: 2,
      stdout: '',
      stderr: 'bastion audit: missing subcommand: expected verify, query, export, detect, proof or public-key; run `bastion audit --help`\n',
    });
    expect(await runBastion(['policy', 'valdate'], { cwd: root })).toEqual({
      code: 2,
      stdout: '',
      stderr: 'bastion policy: unknown subcommand `valdate`: expected validate, import or diff; run `bastion policy --help`\n',
    });
  });
});

function io(): CliIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return { stdin: new PassThrough(), stdout, stderr, env: {}, cwd: '/', out: () => out, err: () => err };
}

const SPEC = { help: 'Usage: bastion x [--name N] [--flag] [-v]', options: { name: { type: 'string' }, flag: { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' } } } as const;
const see = 'run `bastion x --help` for the options';

describe('parseOptions', () => {
  it.each([
    ['an unknown long option', ['--nme', 'a'], `bastion x: unknown option \`--nme\`; ${see}\n`],
    ['an unknown short option', ['-q'], `bastion x: unknown option \`-q\`; ${see}\n`],
    ['an unknown letter among known ones', ['-vq'], `bastion x: unknown option \`-q\`; ${see}\n`],
    ['a long option name given as a short one', ['-name', 'a'], `bastion x: unknown option \`-n\`; ${see}\n`],
    ['a missing value at the end', ['--name'], `bastion x: option \`--name\` needs a value; ${see}\n`],
    ['an option where the value should be', ['--name', '--flag'], `bastion x: option \`--name\` needs a value (give one that starts with \`-\` as \`--name=--flag\`); ${see}\n`],
    ['a value for a flag', ['--flag=yes'], `bastion x: option \`--flag\` takes no value; ${see}\n`],
    ['an argument a command without positionals does not take', ['stray'], `bastion x: unexpected argument \`stray\`; ${see}\n`],
    ['backticks in what is quoted', ['--a`b'], `bastion x: unknown option \`--a'b\`; ${see}\n`],
  ])('refuses %s with one line, exit 2', (_what, args, message) => {
    const t = io();
    const r = parseOptions(t, 'x', args, SPEC);
    expect(r).toEqual({ ok: false, exit: 2 });
    expect([t.out(), t.err()]).toEqual(['', message]);
  });

  it('parses values, `-` as a value, `--name=-x`, and everything after `--` as positionals', () => {
    const t = io();
    const r = parseOptions(t, 'x', ['--name', '-', '-v', '--', '--flag', 'x'], { ...SPEC, positionals: true });
    expect(r).toEqual({ ok: true, values: { name: '-', verbose: true }, positionals: ['--flag', 'x'] });
    expect(parseOptions(t, 'x', ['--name=-x'], SPEC)).toEqual({ ok: true, values: { name: '-x' }, positionals: [] });
    expect(t.err()).toBe('');
  });

  it('prints the help for --help or -h anywhere before `--` (exit 0), even next to a bad option', () => {
    for (const args of [['--help'], ['-h'], ['--nope', '-h'], ['--name', '--help']]) {
      const t = io();
      expect(parseOptions(t, 'x', args, SPEC)).toEqual({ ok: false, exit: 0 });
      expect([t.out(), t.err()]).toEqual([`${SPEC.help}\n`, '']);
    }
    const after = io();
    expect(parseOptions(after, 'x', ['--', '--help'], { ...SPEC, positionals: true })).toEqual({ ok: true, values: {}, positionals: ['--help'] });
  });
});
