/**
 * `bastion keys` as an operator runs it: the key alone on stdout, a table and JSON list, a
 * revoke, help on every subcommand, and one-line errors with exit 2.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteAuditReader } from '../../src/storage/index.js';
import { runBastion } from '../helpers/cli.js';

describe('bastion keys', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'bastion-keys-cli-'));

  it('create prints exactly one line, the key; list shows it without the secret; revoke revokes it; both are audited', async () => {
    const made = await runBastion(['keys', 'create', '--principal', 'ci-bot', '--groups', 'ci, deployers', '--description', 'nightly'], { cwd });
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout.split('\n')).toHaveLength(2);
    const key = made.stdout.trim();
    const id = key.slice(4, 20);
    expect(made.stderr).toContain('it is shown only this once');

    const table = await runBastion(['keys', 'list'], { cwd });
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+PRINCIPAL\s+GROUPS\s+CREATED\s+STATUS$/);
    expect(lines[1]).toMatch(new RegExp(`^${id}\\s+ci-bot\\s+ci,deployers\\s+\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\s+active$`));
    expect(table.stdout).not.toContain(key.slice(21));

    expect(await runBastion(['keys', 'revoke', id], { cwd })).toMatchObject({ code: 0 });
    const json = JSON.parse((await runBastion(['keys', 'list', '--json'], { cwd })).stdout) as { revokedAt?: number; description?: string }[];
    expect(json[0]).toMatchObject({ description: 'nightly', revokedAt: expect.any(Number) });

    const reader = await openSqliteAuditReader(join(cwd, '.bastion', 'bastion.db'));
    if (!reader.ok) throw new Error('no audit log');
    const events = await reader.value.eventsAfter(0, 100);
    expect(events.map((e) => e.type)).toEqual(['api_key.created', 'api_key.revoked']);
    expect(events[0]).toMatchObject({ principal: { id: 'ci-bot', groups: ['ci', 'deployers'] }, surface: 'cli', data: { id, description: 'nightly' } });
    expect((await reader.value.verify()).ok).toBe(true);
    await reader.value.close();
  });

  it.each([
    [['keys', 'create'], 'bastion keys: create: --principal ID is required'],
    [['keys', 'create', '--principal', 'a', '--groups', 'has space'], 'group `has space` must be a non-empty name'],
    [['keys', 'revoke'], 'bastion keys: revoke: give exactly one key id'],
    [['keys', 'revoke', 'nope'], 'api key id `nope` is not a key id'],
    [['keys', 'revoke', '0123456789abcdef'], 'no api key has id `0123456789abcdef`'],
    [['keys', 'rotate'], 'unknown subcommand `rotate`'],
    [['keys', 'list', '--bogus'], "bastion keys: list: Unknown option '--bogus'"],
  ])('%j fails with one line and exit 2', async (argv, message) => {
    const r = await runBastion(argv, { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });

  it('has help on the command and every subcommand; list on an empty directory says there are no keys', async () => {
    for (const argv of [
      ['keys', '--help'],
      ['keys', 'create', '--help'],
      ['keys', 'list', '-h'],
      ['help', 'keys'],
    ]) {
      const r = await runBastion(argv, { cwd });
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.stdout).toContain('Usage: bastion keys <create|list|revoke>');
    }
    const empty = mkdtempSync(join(tmpdir(), 'bastion-keys-empty-'));
    expect(await runBastion(['keys', 'list', '--json', '--data-dir', join(empty, 'none')], { cwd })).toMatchObject({ code: 0, stdout: '[]\n' });
  });
});
