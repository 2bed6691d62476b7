/**
 * `bastion migrate` through the built CLI against a fresh database (twice: the second run
 * applies nothing), its errors (exit 1, never the password), and the commands that touch
 * state directly on PostgreSQL: `bastion keys` and `bastion kill-switch --postgres`.
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { keyDirectory } from '../../src/audit/index.js';
import { openPostgresStores, POSTGRES_MIGRATIONS } from '../../src/storage/index.js';
import { newApproval, T0 } from '../storage/contracts/approvals.js';
import { runBastion } from '../helpers/cli.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../helpers/services.js';

const up = await postgresAvailable();
const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const run = promisify(execFile);

async function bastion(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [main, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe.skipIf(!up)('bastion migrate and state commands on PostgreSQL', () => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(databases.map((d) => d.drop()));
  });
  const fresh = async () => {
    const db = await createTestDatabase('cli');
    databases.push(db);
    return db;
  };
  const withPassword = (url: string) => url.replace('postgres://postgres@', 'postgres://postgres:hunter2@');

  it('applies every step on a fresh database, and nothing on a second run (the built CLI, URL from the environment)', async () => {
    const db = await fresh();
    const first = await bastion(['migrate'], { BASTION_POSTGRES_URL: withPassword(db.url) });
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const lines = first.stdout.trim().split('\n');
    expect(lines[0]).toBe(`database ${withPassword(db.url).replace('hunter2', '***')}`);
    expect(lines.slice(1, -1)).toEqual(POSTGRES_MIGRATIONS.map((m) => `applied ${m.component} ${m.version}: ${m.description}`));
    expect(lines.at(-1)).toBe('current: apikeys 1, approvals 1, audit 1, killswitch 1, notifications 1, taint 1, toolpins 1');
    expect(first.stdout).not.toContain('hunter2');
    const second = await bastion(['migrate', '--postgres', db.url, '--json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ applied: [], current: expect.arrayContaining([{ component: 'audit', version: 1 }]) });
  });

  it('fails with exit 1 and a clear message on a bad URL or an unreachable server, without the password; exit 2 without a database', async () => {
    const [bad, down, none] = await Promise.all([
      bastion(['migrate', '--postgres', 'mysql://root:hunter2@db/x']),
      bastion(['migrate', '--postgres', 'postgres://root:hunter2@127.0.0.1:1/x']),
      bastion(['migrate']),
    ]);
    expect(bad).toMatchObject({ code: 1, stdout: '' });
    expect(bad.stderr).toBe('bastion migrate: --postgres takes a postgres:// or postgresql:// URL (or `env`), got `mysql://root:***@db/x`\n');
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^bastion migrate: while opening `postgres:\/\/root:\*\*\*@127\.0\.0\.1:1\/x`: .*connect/);
    expect(down.stderr).not.toContain('hunter2');
    expect(none).toMatchObject({ code: 2, stderr: 'bastion migrate: name the database: --postgres URL, --config FILE, or BASTION_POSTGRES_URL\n' });
  });

  it('creates, lists and revokes API keys in PostgreSQL (audited on its chain), and sets the kill switch there', async () => {
    const db = await fresh();
    const cwd = mkdtempSync(join(tmpdir(), 'bastion-pgcli-'));
    const env = { BASTION_POSTGRES_URL: db.url, BASTION_AUDIT_KEY_DIR: join(cwd, 'keys') };
    const made = await runBastion(['keys', 'create', '--principal', 'ci-bot', '--groups', 'ci', '--postgres', 'env'], { cwd, env });
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^bst_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
    const id = made.stdout.slice(4, 20);
    const listed = await runBastion(['keys', 'list', '--json', '--postgres', db.url], { cwd, env });
    expect(JSON.parse(listed.stdout)).toEqual([{ id, principal: { id: 'ci-bot', groups: ['ci'] }, createdAt: expect.any(Number) }]);
    expect((await runBastion(['keys', 'revoke', id, '--postgres', 'env'], { cwd, env })).stdout).toBe(`revoked key ${id} (principal \`ci-bot\`)\n`);
    const set = await runBastion(['kill-switch', 'set', '--read-only', 'true', '--reason', 'drill', '--postgres', 'env'], { cwd, env });
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ read_only_mode: true, reason: 'drill', version: 1 });
    const shown = await runBastion(['kill-switch', 'show', '--postgres', 'env'], { cwd, env });
    expect(JSON.parse(shown.stdout)).toMatchObject({ read_only_mode: true, version: 1 });
    const verified = await runBastion(['audit', 'verify', '--postgres', 'env', '--key-dir', join(cwd, 'keys'), '--json'], { cwd, env });
    expect(verified.code).toBe(0);
    const events = await runBastion(['audit', 'query', '--postgres', 'env', '--json'], { cwd, env });
    expect(events.stdout).toContain('api_key.created');
    expect(events.stdout).toContain('api_key.revoked');
    expect(events.stdout).toContain('kill_switch.changed');
    expect((await runBastion(['keys', 'list', '--postgres', 'env', '--data-dir', cwd], { cwd, env })).stderr).toBe('bastion keys: give --postgres or --data-dir, not both\n');
    // A configuration whose storage is PostgreSQL names the database (and the key directory).
    writeFileSync(join(cwd, 'bastion.yaml'), `storage: { kind: postgres }\naudit: { keyDir: ${join(cwd, 'keys')} }\n`);
    const fromConfig = await runBastion(['keys', 'list', '--json', '--config', 'bastion.yaml'], { cwd, env: { BASTION_POSTGRES_URL: db.url } });
    expect(JSON.parse(fromConfig.stdout)).toMatchObject([{ id, revokedAt: expect.any(Number) }]);
    expect((await runBastion(['migrate', '--config', 'bastion.yaml'], { cwd, env: { BASTION_POSTGRES_URL: db.url } })).stdout).toContain('schema already current: nothing applied');
    // Approvals and MCP pins read the same database.
    const stores = await openPostgresStores(db.url, { key: keyDirectory(join(cwd, 'keys')) });
    if (!stores.ok) throw new Error(stores.errors[0]?.message);
    await stores.value.approvals.create(newApproval({ id: 'appr-1' }));
    await stores.value.toolPins.pinIfAbsent({ server: 'files', tool: 'read_file', hash: `sha256:${'a'.repeat(64)}`, definition: { name: 'read_file' }, status: 'held', reason: 'drill', pinnedAt: T0 });
    await stores.value.close();
    const approvals = await runBastion(['approvals', 'list', '--postgres', 'env', '--json'], { cwd, env });
    expect(JSON.parse(approvals.stdout).approvals.map((r: { id: string }) => r.id)).toEqual(['appr-1']);
    expect(JSON.parse((await runBastion(['approvals', 'show', 'appr-1', '--postgres', db.url, '--json'], { cwd, env })).stdout)).toMatchObject({ id: 'appr-1' });
    const accepted = await runBastion(['mcp', 'accept', '--server', 'files', '--tool', 'read_file', '--postgres', 'env'], { cwd, env });
    expect(accepted.code).toBe(0);
    expect(JSON.parse((await runBastion(['mcp', 'pins', '--postgres', 'env', '--json'], { cwd, env })).stdout).pins).toMatchObject([{ server: 'files', tool: 'read_file', status: 'trusted' }]);
    // A database never migrated is named as such, not read as "no approvals".
    const empty = await fresh();
    expect((await runBastion(['approvals', 'list', '--postgres', empty.url], { cwd, env })).stderr).toBe(
      `bastion approvals list: while opening \`${empty.url}\`: the database holds no approvals (its schema was never migrated: \`bastion migrate\`)\n`,
    );
  });
});
