/**
 * `bastion keys create|list|revoke`: API keys for agents and service accounts, kept (hashed)
 * in the data directory a running `bastion serve` reads. `create` prints the key once, on
 * one line of stdout, so `KEY=$(bastion keys create …)` captures exactly the key; a revoked
 * key is refused by the service at its very next request. Creating and revoking are audit
 * events (`api_key.created`, `api_key.revoked`), which never hold the secret.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ApiKeyRecord } from '../../identity/index.js';
import type { StateStores } from '../../storage/index.js';
import { badInput, type CliIo, type Command, EXIT, failWith } from '../command.js';
import { describeTarget, openStateStores, STATE_OPTIONS_HELP, type StateTarget, stateTarget } from '../state.js';

const HELP = `Usage: bastion keys <create|list|revoke> [options]

API keys for agents and service accounts. A key is sent as \`Authorization: Bearer <key>\`
to a \`bastion serve\` whose configuration has \`identity: { apiKeys: true }\` and the same
data directory (or, for replicas, the same PostgreSQL database). Only a hash of each key
is stored.

  bastion keys create --principal ID [--groups a,b] [--description TEXT] [where]
      makes a key for principal ID with those groups and prints it once, alone on one line
      of stdout (it cannot be shown again)
  bastion keys list [where] [--json]
      lists the keys (id, principal, groups, created, revoked), never their secrets
  bastion keys revoke ID [where]
      revokes the key with that id; the service refuses it from its next request on

Where (default .bastion):
${STATE_OPTIONS_HELP}

Example:
  export BASTION_TOKEN=$(bastion keys create --principal deploy-bot --groups ci,deployers)
`;

async function withStores(target: StateTarget, io: CliIo, fn: (stores: StateStores) => Promise<number>): Promise<number> {
  const opened = await openStateStores(target);
  if (!opened.ok) return failWith(io, 'keys', opened.errors);
  try {
    return await fn(opened.value);
  } finally {
    await opened.value.close();
  }
}

const when = (ms: number) => new Date(ms).toISOString();

function table(records: readonly ApiKeyRecord[]): string {
  const rows = [
    ['ID', 'PRINCIPAL', 'GROUPS', 'CREATED', 'STATUS'],
    ...records.map((r) => [r.id, r.principal.id, r.principal.groups.join(',') || '-', when(r.createdAt), r.revokedAt === undefined ? 'active' : `revoked ${when(r.revokedAt)}`]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

export const keysCommand: Command = {
  name: 'keys',
  summary: 'create, list and revoke API keys (stored hashed in the data directory)',
  help: HELP,
  ownSubcommands: ['create', 'list', 'revoke'],
  async run(args: string[], io: CliIo): Promise<number> {
    const first = args[0];
    if (first !== undefined && first.startsWith('-') && first !== '--help' && first !== '-h') {
      return badInput(io, 'keys', `unknown option \`${first}\`; run \`bastion keys --help\` for the options`);
    }
    const [sub, ...rest] = args;
    if (sub === undefined || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(HELP);
      return sub === undefined ? EXIT.BAD_INPUT : EXIT.OK;
    }
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        allowPositionals: sub === 'revoke',
        options: {
          principal: { type: 'string' },
          groups: { type: 'string' },
          description: { type: 'string' },
          'data-dir': { type: 'string' },
          postgres: { type: 'string' },
          config: { type: 'string' },
          json: { type: 'boolean', default: false },
        },
      });
    } catch (err) {
      return badInput(io, 'keys', `${sub}: ${(err as Error).message}`);
    }
    const { values, positionals } = parsed;
    const target = stateTarget(values, io);
    if ('error' in target) return badInput(io, 'keys', target.error);
    const dir = describeTarget(target);

    switch (sub) {
      case 'create': {
        if (values.principal === undefined) return badInput(io, 'keys', 'create: --principal ID is required (who the key identifies)');
        const groups = (values.groups ?? '')
          .split(',')
          .map((g) => g.trim())
          .filter((g) => g !== '');
        return withStores(target, io, async (stores) => {
          const made = await stores.apiKeys.create(
            { principal: { id: values.principal as string, groups }, ...(values.description !== undefined ? { description: values.description } : {}) },
            Date.now(),
          );
          if (!made.ok) return failWith(io, 'keys', made.errors);
          const { record } = made.value;
          await stores.audit?.append({
            type: 'api_key.created',
            principal: { id: record.principal.id, groups: [...record.principal.groups] },
            surface: 'cli',
            data: { id: record.id, ...(record.description !== undefined ? { description: record.description } : {}) },
          });
          // INVARIANT: the key is the only line on stdout; everything else goes to stderr.
          io.stdout.write(`${made.value.key}\n`);
          io.stderr.write(
            `bastion keys: created key ${record.id} for \`${record.principal.id}\`${groups.length > 0 ? ` (groups ${groups.join(', ')})` : ''} in ${dir}; it is shown only this once: store it now\n`,
          );
          return EXIT.OK;
        });
      }
      case 'list': {
        if (target.kind === 'sqlite' && !existsSync(join(target.dataDir, 'bastion.db'))) {
          io.stdout.write(values.json ? '[]\n' : '');
          io.stderr.write(`bastion keys: no data directory at ${dir} (no keys yet)\n`);
          return EXIT.OK;
        }
        return withStores(target, io, async (stores) => {
          const records = await stores.apiKeys.list();
          if (values.json) io.stdout.write(`${JSON.stringify(records)}\n`);
          else if (records.length === 0) io.stderr.write(`bastion keys: no keys in ${dir}\n`);
          else io.stdout.write(table(records));
          return EXIT.OK;
        });
      }
      case 'revoke': {
        const [id, ...extra] = positionals;
        if (id === undefined || extra.length > 0) return badInput(io, 'keys', 'revoke: give exactly one key id (see `bastion keys list`)');
        return withStores(target, io, async (stores) => {
          const revoked = await stores.apiKeys.revoke(id, Date.now());
          if (!revoked.ok) return failWith(io, 'keys', revoked.errors);
          await stores.audit?.append({
            type: 'api_key.revoked',
            principal: { id: revoked.value.principal.id, groups: [...revoked.value.principal.groups] },
            surface: 'cli',
            data: { id: revoked.value.id, revokedAt: when(revoked.value.revokedAt ?? Date.now()) },
          });
          io.stdout.write(`revoked key ${revoked.value.id} (principal \`${revoked.value.principal.id}\`)\n`);
          return EXIT.OK;
        });
      }
      default:
        return badInput(io, 'keys', `unknown subcommand \`${sub}\` (expected create, list or revoke)`);
    }
  },
};
