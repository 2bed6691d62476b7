/**
 * Creating the data directory (review finding 22): `--data-dir` under procfs used to spin
 * forever inside `mkdirSync(…, { recursive: true })`. The CLI cases run the built CLI in a
 * child process with a time limit, since a hang there blocks the process that runs it.
 * `BASTION_BASELINE=/work/base` runs them against another build's `dist/`.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureDirectory } from '../../src/storage/directory.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const cliMain = join(process.env['BASTION_BASELINE'] ?? repo, 'dist', 'cli', 'main.js');
const hasProc = existsSync('/proc/self');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bastion-dir-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('ensureDirectory', () => {
  it('creates every missing level, owner-only', () => {
    const target = join(dir, 'a', 'b', 'c');
    expect(ensureDirectory(target)).toBeUndefined();
    expect(statSync(target).isDirectory()).toBe(true);
    if (process.platform !== 'win32') expect(statSync(join(dir, 'a')).mode & 0o777).toBe(0o700);
    expect(ensureDirectory(target), 'already there').toBeUndefined();
  });

  it('names a file in the way', () => {
    writeFileSync(join(dir, 'file'), '');
    expect(ensureDirectory(join(dir, 'file'))).toBe(`\`${join(dir, 'file')}\` is not a directory`);
    expect(ensureDirectory(join(dir, 'file', 'x'))).toMatch(/^cannot use directory `.*file.x`: not a directory$/);
  });

  it.runIf(hasProc)('fails at once under /proc instead of looping', () => {
    const started = Date.now();
    expect(ensureDirectory('/proc/nope/deeper')).toBe('cannot create directory `/proc/nope`: no such file or directory');
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe.runIf(hasProc && existsSync(cliMain))('--data-dir under /proc (built CLI)', () => {
  const run = (args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, [cliMain, ...args], { cwd: dir, input: '{"principal":{"id":"ops"},"action":"shell.execute","args":{"command":"ls"}}', encoding: 'utf8', timeout: 10_000 });
  const policy = join(repo, 'examples', 'capfence');

  it.each([
    [
      'check',
      ['check', '--policy', policy, '--input', '-', '--data-dir', '/proc/nope'],
      'bastion check: while opening `/proc/nope/bastion.db`: cannot create directory `/proc/nope`: no such file or directory',
    ],
    [
      'serve',
      ['serve', '--policy', policy, '--port', '0', '--data-dir', '/proc/nope'],
      'bastion serve: while opening `/proc/nope/bastion.db`: cannot create directory `/proc/nope`: no such file or directory',
    ],
    ['audit verify', ['audit', 'verify', '--data-dir', '/proc/nope'], 'bastion audit verify: audit log `/proc/nope/bastion.db` does not exist'],
  ])('%s: exit 2 with a clear error, quickly', (_name, args, message) => {
    const r = run(args);
    expect(r.signal, 'killed after 10 s: it hung').toBeNull();
    expect(r.status).toBe(2);
    expect(String(r.stderr).trim()).toBe(message);
  });
});
