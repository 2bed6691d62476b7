/**
 * `bastion approvals list|show|approve|deny|cancel`: the approvals of a running service
 * (`--server URL`, token from `BASTION_TOKEN`), or, for list and show, read straight from a
 * data directory (`--data-dir DIR`, read only: deciding needs a verified identity, which only
 * the service has).
 */

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type ApprovalStore, createApprovalService, type ApprovalView } from '../../approvals/index.js';
import { type BastionError, bastionError, quote } from '../../core/errors.js';
import type { Result } from '../../core/result.js';
import { guardPool, openPostgresApprovalStore, openSqliteApprovalStore, redactPostgresUrl } from '../../storage/index.js';
import { callServer } from '../client.js';
import { badInput, type CliIo, type Command, EXIT, failWith } from '../command.js';
import { postgresUrlOption } from '../state.js';

const SUBCOMMANDS = ['list', 'show', 'approve', 'deny', 'cancel'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

const HELP: Record<Sub, string> = {
  list: `Usage: bastion approvals list (--server URL | --data-dir DIR | --postgres URL) [--status STATUS] [--requester ID] [--limit N] [--cursor C] [--json]

Lists approvals, oldest first. STATUS is pending, approved, denied, expired, consumed or cancelled.
With --server the token comes from BASTION_TOKEN.

Example:
  BASTION_TOKEN=… bastion approvals list --server http://127.0.0.1:8700 --status pending
`,
  show: `Usage: bastion approvals show <id> (--server URL | --data-dir DIR | --postgres URL) [--wait SECONDS] [--json]

Shows one approval. --wait (with --server, at most 60) blocks until the approval changes or the time is up.

Example:
  bastion approvals show 0b6c… --server http://127.0.0.1:8700 --wait 60
`,
  approve: `Usage: bastion approvals approve <id> --server URL [--comment TEXT] [--evidence NAME=VALUE]… [--json]

Approves as the principal BASTION_TOKEN names. An approval that needs prerequisites
(change_ticket, rollback_plan) takes them as --evidence change_ticket=CHG-1042.

Example:
  bastion approvals approve 0b6c… --server http://127.0.0.1:8700 --comment "web-1 only"
`,
  deny: `Usage: bastion approvals deny <id> --server URL [--comment TEXT] [--json]

Denies as the principal BASTION_TOKEN names; one deny ends the approval.
`,
  cancel: `Usage: bastion approvals cancel <id> --server URL [--comment TEXT] [--json]

Cancels a pending or approved approval; only its requester may.
`,
};

const HELP_ALL = `Usage: bastion approvals <list|show|approve|deny|cancel> [options]

list     approvals by status or requester        show     one approval (--wait to block)
approve  approve as BASTION_TOKEN's principal     deny     deny as BASTION_TOKEN's principal
cancel   cancel your own request

Every subcommand takes --server URL (token from BASTION_TOKEN) and --json; list and show
also read a data directory with --data-dir DIR, or the replicas' database with --postgres URL (or \`env\`). \`bastion approvals <sub> --help\` for more.

${Object.values(HELP).join('\n')}`;

function line(a: ApprovalView): string {
  return `${a.id}  ${a.status.padEnd(9)}  ${a.requester.id}  ${a.action}  ${a.approvals}/${a.quorum}  expires ${a.expiresAt}`;
}

function details(a: ApprovalView): string {
  const out = [
    `id:         ${a.id}`,
    `status:     ${a.status} (${a.approvals} of ${a.quorum} approvals)`,
    `requester:  ${a.requester.id} (${a.requester.groups.join(', ')})`,
    `call:       ${a.action}${a.resource !== undefined ? ` on ${a.resource}` : ''}${a.environment !== undefined ? ` in ${a.environment}` : ''}`,
    `args:       ${JSON.stringify(a.args)}`,
  ];
  if (Object.keys(a.context).length > 0) out.push(`context:    ${JSON.stringify(a.context)}`);
  out.push(`approvers:  ${a.approverGroups.join(', ')}`);
  if (a.needs.length > 0) out.push(`needs:      ${a.needs.join(', ')}`);
  if (a.reason !== undefined) out.push(`reason:     ${a.reason}`);
  for (const d of a.decisions) out.push(`decision:   ${d.verdict} by ${d.approver} at ${d.at}${d.comment !== undefined ? `: ${d.comment}` : ''}`);
  if (a.cancelled) out.push(`cancelled:  by ${a.cancelled.by} at ${a.cancelled.at}${a.cancelled.reason !== undefined ? `: ${a.cancelled.reason}` : ''}`);
  out.push(`created:    ${a.createdAt}`, `expires:    ${a.expiresAt}`);
  return `${out.join('\n')}\n`;
}

/** The store of a data directory or a PostgreSQL database, read directly (never migrated here). */
async function directStore(dataDir: string | undefined, postgres: string | undefined, io: CliIo): Promise<Result<ApprovalStore, BastionError> | string> {
  if (dataDir !== undefined) {
    const db = join(resolve(io.cwd, dataDir), 'bastion.db');
    if (!existsSync(db)) return `no data directory at ${quote(dataDir)} (no bastion.db in it)`;
    return openSqliteApprovalStore(db);
  }
  const url = postgresUrlOption(postgres ?? '', io);
  if (typeof url !== 'string') return url.error;
  const pool = guardPool(new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 10_000 }));
  const name = redactPostgresUrl(url);
  try {
    const present = await pool.query<{ present: boolean }>("SELECT to_regclass('approval_records') IS NOT NULL AS present");
    if (present.rows[0]?.present !== true) {
      await pool.end();
      return { ok: false, errors: [bastionError('STATE_STORAGE', `while opening ${quote(name)}: the database holds no approvals (its schema was never migrated: \`bastion migrate\`)`)] };
    }
    return { ok: true, value: await openPostgresApprovalStore(pool, { migrate: false, ownsPool: true }) };
  } catch (err) {
    await pool.end().catch(() => undefined);
    const message = err instanceof Error ? err.message || (err as NodeJS.ErrnoException).code || err.name : String(err);
    return { ok: false, errors: [bastionError('STATE_STORAGE', `while opening ${quote(name)}: ${message.split('\n')[0]}`)] };
  }
}

export const approvalsCommand: Command = {
  name: 'approvals',
  summary: 'list, show, approve, deny or cancel approvals on a running service',
  help: HELP_ALL,
  ownSubcommands: ['list', 'show', 'approve', 'deny', 'cancel'],
  async run(args: string[], io: CliIo): Promise<number> {
    const first = args[0];
    if (first !== undefined && first.startsWith('-') && first !== '--help' && first !== '-h') {
      return badInput(io, 'approvals', `unknown option \`${first}\`; run \`bastion approvals --help\` for the options`);
    }
    const [sub, ...rest] = args;
    if (sub === undefined) return badInput(io, 'approvals', 'missing subcommand: list, show, approve, deny or cancel');
    if (!SUBCOMMANDS.includes(sub as Sub)) return badInput(io, 'approvals', `unknown subcommand ${quote(sub)} (expected ${SUBCOMMANDS.join(', ')})`);
    const name = sub as Sub;
    const where = `approvals ${name}`;
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(HELP[name]);
      return EXIT.OK;
    }
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          server: { type: 'string' },
          'data-dir': { type: 'string' },
          postgres: { type: 'string' },
          json: { type: 'boolean', default: false },
          status: { type: 'string' },
          requester: { type: 'string' },
          limit: { type: 'string' },
          cursor: { type: 'string' },
          wait: { type: 'string' },
          comment: { type: 'string' },
          evidence: { type: 'string', multiple: true },
        },
      });
    } catch (err) {
      return badInput(io, where, (err as Error).message.replace(/^Unknown option '(.*)'.*$/s, 'unknown option `$1`'));
    }
    const v = parsed.values;
    const allowed: Record<Sub, string[]> = {
      list: ['server', 'data-dir', 'postgres', 'json', 'status', 'requester', 'limit', 'cursor'],
      show: ['server', 'data-dir', 'postgres', 'json', 'wait'],
      approve: ['server', 'json', 'comment', 'evidence'],
      deny: ['server', 'json', 'comment'],
      cancel: ['server', 'json', 'comment'],
    };
    for (const key of Object.keys(v))
      if (key !== 'json' && !allowed[name].includes(key)) return badInput(io, where, `option \`--${key}\` does not apply to \`${where}\` (see \`bastion ${where} --help\`)`);
    const positionals = parsed.positionals;
    if (name === 'list' ? positionals.length > 0 : positionals.length !== 1)
      return badInput(io, where, name === 'list' ? `unexpected argument ${quote(positionals[0])}` : 'name exactly one approval id');
    const id = positionals[0] ?? '';
    if ([v.server, v['data-dir'], v.postgres].filter((x) => x !== undefined).length !== 1) {
      return badInput(
        io,
        where,
        name === 'list' || name === 'show' ? 'give one of --server URL, --data-dir DIR and --postgres URL' : 'give --server URL (deciding needs the service, which verifies who you are)',
      );
    }
    if (v.wait !== undefined && (!/^[0-9]{1,2}$/.test(v.wait) || Number(v.wait) > 60)) return badInput(io, where, `--wait must be a whole number of seconds from 0 to 60, got ${quote(v.wait)}`);
    if (v.wait !== undefined && v.server === undefined) return badInput(io, where, '--wait needs --server');
    const print = (value: unknown, human: string): number => {
      io.stdout.write(v.json ? `${JSON.stringify(value, null, 2)}\n` : human);
      return EXIT.OK;
    };

    if (v['data-dir'] !== undefined || v.postgres !== undefined) {
      const opened = await directStore(v['data-dir'], v.postgres, io);
      if (typeof opened === 'string') return badInput(io, where, opened);
      if (!opened.ok) return failWith(io, where, opened.errors);
      const service = createApprovalService({ store: opened.value });
      try {
        if (name === 'show') {
          const r = await service.get(id);
          return r.ok ? print(r.value, details(r.value)) : failWith(io, where, r.errors);
        }
        const filter: Record<string, unknown> = {};
        if (v.status !== undefined) filter['status'] = v.status;
        if (v.requester !== undefined) filter['requester'] = v.requester;
        if (v.cursor !== undefined) filter['cursor'] = v.cursor;
        if (v.limit !== undefined) filter['limit'] = /^[0-9]+$/.test(v.limit) ? Number(v.limit) : v.limit;
        const r = await service.list(filter);
        if (!r.ok) return failWith(io, where, r.errors);
        return print(r.value, listText(r.value));
      } finally {
        await opened.value.close();
      }
    }

    const server = v.server as string;
    const enc = encodeURIComponent(id);
    if (name === 'list') {
      const q = new URLSearchParams();
      for (const key of ['status', 'requester', 'limit', 'cursor'] as const) if (v[key] !== undefined) q.set(key, v[key] as string);
      const r = await callServer({ server, method: 'GET', path: `/v1/approvals${q.size > 0 ? `?${q}` : ''}` }, io.env);
      if (!r.ok) return failWith(io, where, r.errors);
      return print(r.value.body, listText(r.value.body as { approvals: ApprovalView[]; nextCursor?: string }));
    }
    if (name === 'show') {
      const wait = v.wait === undefined ? undefined : Number(v.wait);
      const r = await callServer(
        { server, method: 'GET', path: `/v1/approvals/${enc}${wait !== undefined ? `?wait=${wait}` : ''}`, ...(wait !== undefined ? { timeoutMs: (wait + 30) * 1000 } : {}) },
        io.env,
      );
      if (!r.ok) return failWith(io, where, r.errors);
      return print(r.value.body, details(r.value.body as ApprovalView));
    }
    const body: Record<string, unknown> = {};
    if (v.comment !== undefined) body['comment'] = v.comment;
    if (v.evidence !== undefined) {
      const evidence: Record<string, string> = {};
      for (const pair of v.evidence) {
        const at = pair.indexOf('=');
        if (at <= 0) return badInput(io, where, `--evidence must be NAME=VALUE such as change_ticket=CHG-1042, got ${quote(pair)}`);
        evidence[pair.slice(0, at)] = pair.slice(at + 1);
      }
      body['evidence'] = evidence;
    }
    const r = await callServer({ server, method: 'POST', path: `/v1/approvals/${enc}/${name}`, body }, io.env);
    if (!r.ok) return failWith(io, where, r.errors);
    const a = r.value.body as ApprovalView;
    return print(a, `${a.id}: ${a.status} (${a.approvals} of ${a.quorum} approvals)\n`);
  },
};

function listText(page: { approvals: ApprovalView[]; nextCursor?: string }): string {
  if (page.approvals.length === 0) return 'no approvals\n';
  const lines = page.approvals.map(line);
  if (page.nextCursor !== undefined) lines.push(`more: --cursor ${page.nextCursor}`);
  return `${lines.join('\n')}\n`;
}
