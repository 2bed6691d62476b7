/**
 * The CLI's half of the error convention: an error value (returned, or thrown in a
 * `BastionException`) is one line on stderr and exit 2; anything else thrown is a bug,
 * reported with a generic line and exit 70, its message and stack shown only with
 * `BASTION_DEBUG`.
 */

import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliIo, Command } from '../../src/cli/command.js';
import { errorLine, EXIT, failWith } from '../../src/cli/command.js';
import { runCli } from '../../src/cli/run.js';
import { BastionException, bastionError } from '../../src/core/errors.js';

function io(env: Record<string, string | undefined> = {}): CliIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return { stdin: Readable.from([]), stdout, stderr, env, cwd: '/', out: () => out, err: () => err };
}

const command = (name: string, run: Command['run']): Command => ({ name, summary: name, help: name, run });
const two = [bastionError('POLICY_PARSE', 'while loading `a.yaml`: line 2, column 3: bad indentation'), bastionError('POLICY_EMPTY', 'the policy set has no rules')];

describe('CLI errors', () => {
  it('errorLine: the first message and how many more', () => {
    expect(errorLine(two)).toBe('while loading `a.yaml`: line 2, column 3: bad indentation (and 1 more)');
    expect(errorLine(two.slice(0, 1))).toBe('while loading `a.yaml`: line 2, column 3: bad indentation');
    expect(errorLine([])).toBe('unknown error');
  });

  it('failWith: one line on stderr, exit 2, line breaks in a message flattened', async () => {
    const t = io();
    const code = await runCli(['x'], t, [command('x', async (_a, i) => failWith(i, 'x', [bastionError('INPUT_INVALID', 'input:\nline two')]))]);
    expect(code).toBe(EXIT.BAD_INPUT);
    expect(t.err()).toBe('bastion x: input: line two\n');
  });

  it('a BastionException thrown by a command is an expected failure: one line, exit 2', async () => {
    const t = io();
    const code = await runCli(['x'], t, [
      command('x', async () => {
        throw new BastionException(two);
      }),
    ]);
    expect(code).toBe(2);
    expect(t.err()).toBe('bastion x: while loading `a.yaml`: line 2, column 3: bad indentation (and 1 more)\n');
  });

  it('an unexpected error: a generic line, exit 70, no message, no stack', async () => {
    const t = io();
    const code = await runCli(['x'], t, [
      command('x', async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'seq') at /srv/app/dist/audit/log.js:12");
      }),
    ]);
    expect(code).toBe(70);
    expect(t.err()).toBe('bastion x: internal error (a bug in Bastion; run again with BASTION_DEBUG=1 to see where)\n');
    expect(t.out()).toBe('');
  });

  it('with BASTION_DEBUG the message and stack are shown', async () => {
    const t = io({ BASTION_DEBUG: '1' });
    const code = await runCli(['x'], t, [
      command('x', async () => {
        throw new TypeError('the real cause');
      }),
    ]);
    expect(code).toBe(70);
    expect(t.err()).toMatch(/^bastion x: internal error\nTypeError: the real cause\n {4}at /);
  });

  it('BASTION_DEBUG=0 or empty keeps the generic line', async () => {
    for (const value of ['0', '']) {
      const t = io({ BASTION_DEBUG: value });
      await runCli(['x'], t, [command('x', async () => Promise.reject(new Error('hidden')))]);
      expect(t.err()).not.toContain('hidden');
    }
  });
});
