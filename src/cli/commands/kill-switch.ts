/**
 * `bastion kill-switch show|set`: the operator's kill switch, on a running service
 * (`--server URL`, token from `BASTION_TOKEN`, through `callServer`) or directly on the
 * store of a data directory (`--data-dir DIR`, audited as the local operator).
 */

import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { type BastionError, bastionError, quote } from '../../core/errors.js';
import { type KillSwitchState, parseKillSwitchChange } from '../../killswitch/index.js';
import type { StateStores } from '../../storage/index.js';
import { callServer } from '../client.js';
import { badInput, type CliIo, type Command, EXIT, failWith } from '../command.js';
import { openStateStores, type StateTarget, stateTarget } from '../state.js';

const WHERE = `Where (one of):
  --server <url>        a running service (\`bastion serve\`); the token comes from BASTION_TOKEN
                        and must name a principal in \`admin_groups\` to change anything
  --data-dir <dir>      the store of a data directory, directly (default .bastion); a change is
                        audited as the local operator
  --postgres <url>      the PostgreSQL database replicas share, directly (\`env\`: the URL from
                        BASTION_POSTGRES_URL); every replica applies a change within about a
                        second; audited as the local operator`;

const SHOW_HELP = `Usage: bastion kill-switch show [--server URL | --data-dir DIR]

Prints the kill switch as JSON. With --server: the effective state (the policy files'
\`kill_switch\` blocks combined with the runtime state: either can disable) and both sources,
as \`GET /v1/kill-switch\` answers. With --data-dir: the runtime state in the store, with its
version and the time of its last change (policy files are not read).

${WHERE}

Examples:
  BASTION_TOKEN=… bastion kill-switch show --server http://127.0.0.1:8700
  bastion kill-switch show --data-dir .bastion
`;

const SET_HELP = `Usage: bastion kill-switch set [switches] --reason TEXT [--server URL | --data-dir DIR]

Changes the runtime kill switch; what is not named keeps its value. It cannot switch back on
what a policy file's \`kill_switch\` block switches off (edit the file for that).

Switches:
  --all-write-tools-disabled true|false
  --read-only true|false
  --disable-connector X   --enable-connector X   (a connector, or a single tool/action name)
  --disable-user U        --enable-user U
  --disable-workflow W    --enable-workflow W
  (each list flag may be repeated)
  --reason TEXT           why: required, recorded in the audit event and shown in the state

${WHERE}

Prints the state after the change as JSON. Exit 0 when changed, 2 on bad input or when the
service refused the change (401, 403).

Examples:
  BASTION_TOKEN=… bastion kill-switch set --read-only true --reason "incident 42" --server http://127.0.0.1:8700
  bastion kill-switch set --disable-user intern@example.com --reason "offboarded" --data-dir .bastion
`;

const WHERE_OPTIONS = { server: { type: 'string' }, 'data-dir': { type: 'string' }, postgres: { type: 'string' } } as const;
const SET_OPTIONS = {
  ...WHERE_OPTIONS,
  'all-write-tools-disabled': { type: 'string' },
  'read-only': { type: 'string' },
  'disable-connector': { type: 'string', multiple: true },
  'enable-connector': { type: 'string', multiple: true },
  'disable-user': { type: 'string', multiple: true },
  'enable-user': { type: 'string', multiple: true },
  'disable-workflow': { type: 'string', multiple: true },
  'enable-workflow': { type: 'string', multiple: true },
  reason: { type: 'string' },
} as const;

const LISTS = [
  ['connector', 'disabled_connectors'],
  ['user', 'disabled_users'],
  ['workflow', 'disabled_workflows'],
] as const;

export const killSwitchCommand: Command = {
  name: 'kill-switch',
  summary: 'show or change the kill switch (on a running service or a data directory)',
  help: `Usage:
  bastion kill-switch show [--server URL | --data-dir DIR]
  bastion kill-switch set [switches] --reason TEXT [--server URL | --data-dir DIR]

Run \`bastion kill-switch show --help\` or \`bastion kill-switch set --help\` for the details.
`,
  ownSubcommands: ['show', 'set'],
  async run(args, io) {
    const first = args[0];
    if (first !== undefined && first.startsWith('-') && first !== '--help' && first !== '-h') {
      return badInput(io, 'kill-switch', `unknown option \`${first}\`; run \`bastion kill-switch --help\` for the options`);
    }
    const [sub, ...rest] = args;
    if (sub === 'show') return rest.includes('--help') || rest.includes('-h') ? help(io, SHOW_HELP) : show(rest, io);
    if (sub === 'set') return rest.includes('--help') || rest.includes('-h') ? help(io, SET_HELP) : set(rest, io);
    return badInput(io, 'kill-switch', sub === undefined ? 'missing subcommand: show or set' : `unknown subcommand ${quote(sub)} (expected show or set)`);
  },
};

function help(io: CliIo, text: string): number {
  io.stdout.write(text);
  return EXIT.OK;
}

function print(io: CliIo, value: unknown): number {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  return EXIT.OK;
}

type Where = { server: string } | StateTarget;

function where(values: { server?: string | undefined; 'data-dir'?: string | undefined; postgres?: string | undefined }, io: CliIo): Where | string {
  if (values.server !== undefined && values['data-dir'] !== undefined) return 'give --server or --data-dir, not both';
  if (values.server !== undefined && values.postgres !== undefined) return 'give --server or --postgres, not both';
  if (values.server !== undefined) return { server: values.server };
  const target = stateTarget(values, io);
  return 'error' in target ? target.error : target;
}

async function withStores<T>(target: StateTarget, use: (stores: StateStores) => Promise<T>): Promise<T | BastionError[]> {
  const opened = await openStateStores(target);
  if (!opened.ok) return opened.errors;
  try {
    return await use(opened.value);
  } finally {
    await opened.value.close();
  }
}

async function show(args: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: WHERE_OPTIONS, allowPositionals: false, strict: true });
  } catch (err) {
    return badInput(io, 'kill-switch show', (err as Error).message);
  }
  const w = where(parsed.values, io);
  if (typeof w === 'string') return badInput(io, 'kill-switch show', w);
  if ('server' in w) {
    const r = await callServer({ server: w.server, method: 'GET', path: '/v1/kill-switch' }, io.env);
    return r.ok ? print(io, r.value.body) : failWith(io, 'kill-switch show', r.errors);
  }
  const out = await withStores(w, async (s) => {
    const snap = await s.killSwitch.snapshot();
    return { ...snap.state, version: snap.version, updatedAt: snap.updatedAt === null ? null : new Date(snap.updatedAt).toISOString() };
  });
  return Array.isArray(out) ? failWith(io, 'kill-switch show', out) : print(io, out);
}

function bool(flag: string, value: string | undefined): boolean | string | undefined {
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return `--${flag} must be true or false, got ${quote(value)}`;
}

/** The change the flags ask for, given the runtime lists it starts from. */
function changeFrom(values: Record<string, unknown>, current: KillSwitchState): Partial<KillSwitchState> {
  const change: Record<string, unknown> = {};
  const writes = values['all-write-tools-disabled'];
  if (writes !== undefined) change['all_write_tools_disabled'] = writes;
  const readOnly = values['read-only'];
  if (readOnly !== undefined) change['read_only_mode'] = readOnly;
  for (const [word, field] of LISTS) {
    const add = (values[`disable-${word}`] as string[] | undefined) ?? [];
    const remove = (values[`enable-${word}`] as string[] | undefined) ?? [];
    if (add.length === 0 && remove.length === 0) continue;
    change[field] = [...new Set([...current[field], ...add])].filter((n) => !remove.includes(n));
  }
  change['reason'] = values['reason'];
  return change as Partial<KillSwitchState>;
}

async function set(args: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: SET_OPTIONS, allowPositionals: false, strict: true });
  } catch (err) {
    return badInput(io, 'kill-switch set', (err as Error).message);
  }
  const v = parsed.values;
  const w = where(v, io);
  if (typeof w === 'string') return badInput(io, 'kill-switch set', w);
  const writes = bool('all-write-tools-disabled', v['all-write-tools-disabled']);
  const readOnly = bool('read-only', v['read-only']);
  for (const b of [writes, readOnly]) if (typeof b === 'string') return badInput(io, 'kill-switch set', b);
  if (v.reason === undefined || v.reason.trim() === '') return badInput(io, 'kill-switch set', '--reason is required: say why, it is recorded in the audit log');
  const switches = { ...v, 'all-write-tools-disabled': writes, 'read-only': readOnly };
  const named = ['all-write-tools-disabled', 'read-only', ...LISTS.flatMap(([word]) => [`disable-${word}`, `enable-${word}`])].some((f) => (v as Record<string, unknown>)[f] !== undefined);
  if (!named) return badInput(io, 'kill-switch set', 'changes nothing: name a switch such as --read-only true (see --help)');

  if ('server' in w) {
    // The lists are read first to add to or remove from them; a change another operator
    // makes between the read and the write to the same list is overwritten (last write wins).
    const got = await callServer({ server: w.server, method: 'GET', path: '/v1/kill-switch' }, io.env);
    if (!got.ok) return failWith(io, 'kill-switch set', got.errors);
    const runtime = (got.value.body as { sources?: { runtime?: KillSwitchState } }).sources?.runtime;
    if (runtime === undefined) return failWith(io, 'kill-switch set', [bastionError('SERVICE_CALL_FAILED', 'the service answered a kill-switch state without `sources.runtime`')]);
    const change = changeFrom(switches, runtime);
    const checked = parseKillSwitchChange(change, 'kill-switch set');
    if (!checked.ok) return failWith(io, 'kill-switch set', checked.errors);
    const put = await callServer({ server: w.server, method: 'PUT', path: '/v1/kill-switch', body: checked.value }, io.env);
    return put.ok ? print(io, put.value.body) : failWith(io, 'kill-switch set', put.errors);
  }

  const operator = localOperator();
  const out = await withStores(w, async (s) => {
    const stores = s;
    const change = changeFrom(switches, await stores.killSwitch.get());
    const checked = parseKillSwitchChange(change, 'kill-switch set');
    if (!checked.ok) return checked.errors;
    const runtime = await stores.killSwitch.update(checked.value);
    // The same event the service records, so the audit trail reads alike whoever changed it.
    await stores.audit?.append({ type: 'kill_switch.changed', data: { by: operator, via: 'cli', reason: checked.value.reason ?? null, change: { ...checked.value }, runtime } });
    await stores.audit?.checkpoint('kill switch changed');
    const snap = await stores.killSwitch.snapshot();
    return { ...runtime, version: snap.version, updatedAt: snap.updatedAt === null ? null : new Date(snap.updatedAt).toISOString() };
  });
  if (Array.isArray(out)) return failWith(io, 'kill-switch set', out);
  io.stderr.write('bastion kill-switch set: runtime state changed; a running service applies it at its next decision (policy files can still switch things off)\n');
  return print(io, out);
}

function localOperator(): string {
  try {
    return `local operator (${userInfo().username})`;
  } catch {
    return 'local operator';
  }
}
