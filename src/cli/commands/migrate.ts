/**
 * `bastion migrate`: brings the PostgreSQL schema of every store up to date, for operators
 * who run migrations apart from the replicas' starts (each start also applies them, under
 * the same advisory lock, so running both is safe). Prints the steps applied, or that the
 * schema was already current, and each component's version. The URL's password is never
 * printed.
 */

import { type BastionError, bastionError } from '../../core/errors.js';
import { migratePostgres, redactPostgresUrl } from '../../storage/index.js';

import { badInput, type CliIo, type Command, EXIT, parseOptions } from '../command.js';
import { stateTarget } from '../state.js';

const HELP = `Usage: bastion migrate [--postgres URL | --config FILE] [--json]

Applies the PostgreSQL schema steps (audit chain, approvals, kill switch, API keys,
notification outbox, tool pins, taint) not yet applied to the database, each once, and
prints what it did. Safe to run while replicas run and start: every run takes one advisory
lock. \`bastion serve\` applies them at start too; this is for running them apart.

Options:
  --postgres URL   the database (\`--postgres env\`, or no option: BASTION_POSTGRES_URL)
  --config FILE    take the database from this configuration file (\`storage: {kind: postgres}\`)
  --json           print {database, applied, current} as JSON

Exit 0 when the schema is current, 1 when the database cannot be reached or a step fails,
2 on bad usage.

Example:
  BASTION_POSTGRES_URL=postgres://bastion@db/bastion bastion migrate
`;

function failed(io: CliIo, errors: readonly BastionError[]): number {
  io.stderr.write(`bastion migrate: ${errors.map((e) => e.message).join('; ')}\n`);
  return EXIT.FAILED;
}

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply the PostgreSQL schema migrations (versioned, idempotent)',
  help: HELP,
  async run(args: string[], io: CliIo): Promise<number> {
    const parsed = parseOptions(io, 'migrate', args, { help: HELP, options: { postgres: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean', default: false } } });
    if (!parsed.ok) return parsed.exit;
    const values = parsed.values;
    const fromEnv = io.env.BASTION_POSTGRES_URL;
    const postgres = values.postgres ?? (values.config === undefined && fromEnv !== undefined && fromEnv !== '' ? 'env' : undefined);
    if (postgres === undefined && values.config === undefined) return badInput(io, 'migrate', 'name the database: --postgres URL, --config FILE, or BASTION_POSTGRES_URL');
    const target = stateTarget({ ...(postgres !== undefined ? { postgres } : {}), ...(values.config !== undefined ? { config: values.config } : {}) }, io);
    if ('error' in target) return failed(io, [bastionError('STATE_STORAGE', target.error)]);
    if (target.kind !== 'postgres') return failed(io, [bastionError('STATE_STORAGE', `the configuration keeps its state in SQLite (${target.dataDir}), which migrates itself: nothing to do here`)]);
    const database = redactPostgresUrl(target.url);
    const report = await migratePostgres(target.url);
    if (!report.ok) return failed(io, report.errors);
    const { applied, current } = report.value;
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ database, applied, current })}\n`);
      return EXIT.OK;
    }
    const lines = [`database ${database}`];
    if (applied.length === 0) lines.push('schema already current: nothing applied');
    for (const step of applied) lines.push(`applied ${step.component} ${step.version}: ${step.description}`);
    lines.push(`current: ${current.map((c) => `${c.component} ${c.version}`).join(', ')}`);
    io.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.OK;
  },
};
