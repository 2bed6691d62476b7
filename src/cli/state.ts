/**
 * Where the CLI commands that touch state directly (`bastion keys`, `bastion kill-switch
 * --data-dir`, `bastion migrate`) find it: the data directory's SQLite file, or the
 * PostgreSQL database the replicas share (`--postgres URL`, `--postgres env` for
 * BASTION_POSTGRES_URL, or a configuration file with `storage.kind: postgres`). Messages
 * name a database by its URL without the password.
 */

import { resolve } from 'node:path';
import { keyDirectory } from '../audit/index.js';
import { loadConfig } from '../config/index.js';
import type { BastionError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import { openPostgresStores, openSqliteStores, redactPostgresUrl, type StateStores } from '../storage/index.js';

import type { CliIo } from './command.js';

export type StateTarget = { kind: 'sqlite'; dataDir: string } | { kind: 'postgres'; url: string; keyDir: string };

export interface StateOptionValues {
  'data-dir'?: string | undefined;
  config?: string | undefined;
  postgres?: string | undefined;
}

/** The options' help lines, for commands that take them. */
export const STATE_OPTIONS_HELP = `  --data-dir DIR   the data directory (default .bastion; state in DIR/bastion.db)
  --postgres URL   the PostgreSQL database the replicas share (\`--postgres env\` reads the URL
                   from BASTION_POSTGRES_URL, keeping the password off the command line)
  --config FILE    take the place from this configuration file (its dataDir, or its
                   \`storage: {kind: postgres}\`)`;

/** A postgres:// URL from `--postgres` (or `env`), or why not. */
export function postgresUrlOption(value: string, io: CliIo): string | { error: string } {
  const url = value === 'env' ? (io.env.BASTION_POSTGRES_URL ?? '') : value;
  if (url === '') return { error: '--postgres env: BASTION_POSTGRES_URL is not set' };
  if (!/^postgres(ql)?:\/\/\S+$/.test(url)) return { error: `--postgres takes a postgres:// or postgresql:// URL (or \`env\`), got \`${redactPostgresUrl(url)}\`` };
  return url;
}

/**
 * The state's place from `--data-dir`, `--postgres` and `--config` (at most one of the first
 * two; `--config` supplies what they leave out). Signing keys for a PostgreSQL audit log:
 * the config's `audit.keyDir`, else BASTION_AUDIT_KEY_DIR, else the data directory.
 */
export function stateTarget(values: StateOptionValues, io: CliIo): StateTarget | { error: string } {
  if (values.postgres !== undefined && values['data-dir'] !== undefined) return { error: 'give --postgres or --data-dir, not both' };
  let dataDir = resolve(io.cwd, values['data-dir'] ?? '.bastion');
  let keyDir: string | undefined = io.env.BASTION_AUDIT_KEY_DIR !== undefined && io.env.BASTION_AUDIT_KEY_DIR !== '' ? resolve(io.cwd, io.env.BASTION_AUDIT_KEY_DIR) : undefined;
  let url: string | undefined;
  if (values.config !== undefined) {
    const loaded = loadConfig(values.config, io.cwd);
    if (!loaded.ok) return { error: loaded.errors[0]?.message ?? 'cannot load the configuration' };
    const config = loaded.value;
    if (values['data-dir'] === undefined) dataDir = config.dataDir;
    keyDir = config.audit.keyDir ?? keyDir;
    if (config.storage.kind === 'postgres' && values['data-dir'] === undefined) {
      url = config.storage.url ?? io.env.BASTION_POSTGRES_URL;
      if (url === undefined || url === '') return { error: 'field `storage.url`: `kind: postgres` needs a url, in the file or in the environment variable BASTION_POSTGRES_URL' };
    }
  }
  if (values.postgres !== undefined) {
    const given = postgresUrlOption(values.postgres, io);
    if (typeof given !== 'string') return given;
    url = given;
  }
  if (url === undefined) return { kind: 'sqlite', dataDir };
  return { kind: 'postgres', url, keyDir: keyDir ?? dataDir };
}

/** How a target reads in messages. */
export function describeTarget(target: StateTarget): string {
  return target.kind === 'sqlite' ? target.dataDir : redactPostgresUrl(target.url);
}

/** Opens every store at `target` (PostgreSQL: the shared stores and the audit chain; limits in memory). */
export function openStateStores(target: StateTarget): Promise<Result<StateStores, BastionError>> {
  if (target.kind === 'sqlite') return openSqliteStores(target.dataDir);
  // The audit chain is opened with the replicas' signing key (a different one is refused,
  // AUDIT_KEY), so that a key created or revoked here is audited on the one chain.
  return openPostgresStores(target.url, { key: keyDirectory(target.keyDir), killSwitch: { refreshMs: 60_000 } });
}
