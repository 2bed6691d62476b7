/**
 * `bastion audit verify|query|export|detect|proof|public-key`: the operator's view of the audit
 * trail. Everything here opens the log read-only; nothing here can change it.
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuditEvent, AuditFilter, BusinessHours, Checkpoint, DetectionMatch, ExportFormat, OpenedReader, SigmaRule, VerifyOptions } from '../../audit/index.js';
import { checkpointShapeProblem, createDetector, DEFAULT_BUSINESS_HOURS, EXPORT_FORMATS, exportLine, parseSigmaRules, toDetectionFinding, toOcsf, verifyInclusionProof } from '../../audit/index.js';
import { loadConfig } from '../../config/index.js';
import { openPostgresAuditReader, openSqliteAuditReader } from '../../storage/index.js';
import { isRisk } from '../../core/risk.js';
import { BastionException, quote } from '../../core/errors.js';
import type { CliIo, Command, Subcommand } from '../command.js';
import { badInput, commandGroup, errorLine, EXIT, failWith, parseOptions } from '../command.js';

const WHERE = `Where the log is:
  --db <path>            the SQLite file (default DIR/bastion.db)
  --data-dir <dir>       the data directory (default .bastion)
  --postgres <url>       the PostgreSQL database the replicas share; \`--postgres env\` reads
                         the URL from BASTION_POSTGRES_URL (no password on the command line)
  --key-dir <dir>        with --postgres: the signing key files (default: the public key
                         kept in the database)
  --public-key <file>    verify against this public key instead of the one next to the log`;

const HELP = `Usage: bastion audit <subcommand> [options]

Subcommands:
  verify                 recompute the hash chain, Merkle roots and checkpoint signatures
  query [filters]        list events (table, or --json)
  export --format F      write events as JSON lines: ocsf (OCSF 6003), jsonl (as stored), zyx
  detect                 run Sigma detection rules over the log and print what they find
  proof <seq>            print an inclusion proof of one event against a signed checkpoint
  public-key             print the Ed25519 public key that signs the checkpoints

${WHERE}

Run \`bastion audit <subcommand> --help\` for the options of each.
`;

const VERIFY_HELP = `Usage: bastion audit verify [--db PATH | --data-dir DIR | --postgres URL] [--public-key FILE] [--checkpoint FILE]… [--json]

Recomputes the hash chain, the Merkle roots and the checkpoint signatures of the whole log,
with a progress bar on stderr when stderr is a terminal.

${WHERE}
  --checkpoint <file>    also check against checkpoints kept elsewhere (JSON or JSON lines)
  --threads N            threads that check the events (default: one per core, at most 4,
                         for logs of 50,000 events or more; 1 for this thread alone)
  --json                 print the report as JSON

Exit 0 when intact, 1 naming the first bad sequence number when not, 2 on bad input.
`;

const QUERY_HELP = `Usage: bastion audit query [filters] [--limit N] [--json] [--db PATH | --data-dir DIR | --postgres URL]

Lists events as a table, or (--json) as a JSON array, written as the events are read: a
query over millions of events (--limit 0) streams in bounded memory.

Filters (every one given must hold):
  --decision allow|deny|require_approval   --principal ID   --group G   --action NAME (* glob)
  --risk LEVEL (this level or above)   --trace ID   --type TYPE   --since TIME   --until TIME
  --limit N              the most recent N matches (default 100; 0 for all), in seq order
  --json                 a JSON array of the events

${WHERE}

Example:
  bastion audit query --decision deny --since 2026-05-01 --limit 0 --json | jq length
`;

const EXPORT_HELP = `Usage: bastion audit export --format ocsf|jsonl|zyx [range] [--since TIME] [--until TIME] [--db PATH | --data-dir DIR | --postgres URL]

Writes events as JSON lines on stdout, in seq order: ocsf (OCSF API Activity 6003), jsonl (the
events as stored) or zyx. A progress bar goes to stderr when stderr is a terminal; the last
line on stderr says how many events were written and the last seq, to resume from.

Range (bound and resume a long export):
  --after-seq N          start after seq N (resume: pass the last seq written)
  --from-seq N           start at seq N (inclusive)
  --to-seq M             stop at seq M (inclusive)
  --limit N              write at most N events
  --since TIME, --until TIME   only events in this time range (inclusive)

${WHERE}

Examples:
  bastion audit export --format ocsf --limit 100000 > part-1.jsonl
  bastion audit export --format ocsf --after-seq 100000 --limit 100000 > part-2.jsonl
`;

const DETECT_HELP = `Usage: bastion audit detect [--rules PATH]… [--config FILE] [--since TIME] [--until TIME] [--format text|json|ocsf] [--db PATH | --data-dir DIR]

Runs Sigma rules over the log's events as OCSF API Activity (what \`audit export --format
ocsf\` writes) and prints the matches: rule, level, the events' seq numbers, principal,
action and time. Correlation rules (type event_count) count matches per group within their
timespan. The rules Bastion ships (detections/ in the package) cover the ZYX seed's list.

  --rules <path>         a rule file or a directory of *.yml / *.yaml rules (repeatable;
                         default: \`detections.rules\` of --config, else the bundled rules)
  --config <file>        bastion.yaml: \`detections\` gives business hours, service accounts,
                         expected networks, approvers and other placeholder values, and
                         \`dataDir\` the log when neither --db nor --data-dir is given
  --since TIME, --until TIME   only events in this time range (inclusive)
  --format text|json|ocsf      a table (default), one JSON object {events, rules, skipped,
                         matches}, or OCSF Detection Finding (class 2004) events as JSON lines
${WHERE}

A rule whose placeholder (%service_accounts%, %expected_networks%, %approvers%, …) has no
configured value is skipped, with a note on stderr. Business hours (default 08:00-18:00 UTC,
Monday to Friday) reach the rules as the field \`unmapped.business_hours\`.

Exit 0 when nothing matched, 1 when a rule matched, 2 on bad input (a malformed rule names
its file and field).

Example:
  bastion audit detect --data-dir .bastion --config config/bastion.yaml --format ocsf > findings.jsonl
`;

const PROOF_HELP = `Usage: bastion audit proof <seq> [--db PATH | --data-dir DIR | --postgres URL] [--public-key FILE]

Prints (JSON) the inclusion proof of event <seq> against the latest signed checkpoint that
covers it, and whether it verifies. Exit 0 when it verifies, 1 when not, 2 on bad input.

${WHERE}
`;

const PUBLIC_KEY_HELP = `Usage: bastion audit public-key [--db PATH | --data-dir DIR | --postgres URL]

Prints the Ed25519 public key (PEM) that signs the log's checkpoints, to keep elsewhere and
pass back with --public-key.

${WHERE}
`;

export const LOCATION = {
  db: { type: 'string' },
  'data-dir': { type: 'string' },
  postgres: { type: 'string' },
  'key-dir': { type: 'string' },
  'public-key': { type: 'string' },
} as const;

interface LocationValues {
  db?: string | undefined;
  'data-dir'?: string | undefined;
  postgres?: string | undefined;
  'key-dir'?: string | undefined;
  'public-key'?: string | undefined;
}

export async function openReader(values: LocationValues, io: CliIo): Promise<OpenedReader | string> {
  if (values.postgres !== undefined && (values.db !== undefined || values['data-dir'] !== undefined)) return '--postgres cannot be combined with --db or --data-dir';
  if (values['key-dir'] !== undefined && values.postgres === undefined) return '--key-dir goes with --postgres (a SQLite log has its key files beside it)';
  const path = values.db !== undefined ? resolve(io.cwd, values.db) : resolve(io.cwd, values['data-dir'] ?? '.bastion', 'bastion.db');
  let publicKeyPem: string | undefined;
  if (values['public-key'] !== undefined) {
    try {
      publicKeyPem = readFileSync(resolve(io.cwd, values['public-key']), 'utf8');
    } catch {
      return `cannot read public key ${quote(values['public-key'])}`;
    }
  }
  if (values.postgres !== undefined) {
    // `env` keeps the URL (and its password) off the command line, where `ps` would show it.
    const url = values.postgres === 'env' ? (io.env.BASTION_POSTGRES_URL ?? '') : values.postgres;
    if (url === '') return '--postgres env: BASTION_POSTGRES_URL is not set';
    if (!/^postgres(ql)?:\/\//.test(url)) return '--postgres takes a postgres:// URL (or `env`)';
    const keyDir = values['key-dir'] === undefined ? undefined : resolve(io.cwd, values['key-dir']);
    const opened = await openPostgresAuditReader(url, { ...(publicKeyPem === undefined ? {} : { publicKeyPem }), ...(keyDir === undefined ? {} : { keyDir }) });
    return opened.ok ? opened.value : opened.errors.map((e) => e.message).join('; ');
  }
  const opened = await openSqliteAuditReader(path, publicKeyPem === undefined ? {} : { publicKeyPem });
  return opened.ok ? opened.value : opened.errors.map((e) => e.message).join('; ');
}

function isTty(stream: unknown): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/** A progress bar on stderr, only when stderr is a terminal (never in pipes, logs or tests). */
function progressBar(io: CliIo, label = 'verifying'): ((done: number, total: number) => void) | undefined {
  if (!isTty(io.stderr)) return undefined;
  return (done, total) => {
    const width = 30;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * width);
    io.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
    if (done >= total) io.stderr.write('\n');
  };
}

/** Writes to stdout, waiting while the reader is behind (a pipe to a slow consumer): memory stays bounded. */
async function write(io: CliIo, text: string): Promise<void> {
  if (!io.stdout.write(text)) await new Promise((r) => io.stdout.once('drain', r));
}

/**
 * Reads checkpoints kept elsewhere: one JSON document or JSON lines, each a checkpoint, an
 * array of them, the answer of `GET /v1/audit/checkpoints` (`{logId, checkpoints: […]}`), a
 * SIEM batch (`{logId, checkpoint, events}`) or a Splunk HEC line (`sourcetype
 * bastion:checkpoint`; the HEC lines of events are passed over). Anything else is an error
 * naming where it is: a witness file that silently yields nothing would check nothing.
 */
function readCheckpoints(file: string): Checkpoint[] | string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return `cannot read checkpoint file ${quote(file)}`;
  }
  const documents: Array<{ value: unknown; where: string }> = [];
  try {
    documents.push({ value: JSON.parse(text) as unknown, where: '' });
  } catch {
    const lines = text.split('\n');
    for (const [i, line] of lines.entries()) {
      if (line.trim() === '') continue;
      try {
        documents.push({ value: JSON.parse(line) as unknown, where: `line ${i + 1}` });
      } catch {
        return `checkpoint file ${quote(file)}: line ${i + 1} is not JSON (expected JSON or JSON lines)`;
      }
    }
  }
  const found: Checkpoint[] = [];
  const take = (value: unknown, where: string): string | undefined => {
    const at = (more: string): string => [where, more].filter((w) => w !== '').join(', ');
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) {
        const problem = take(item, at(`item ${i + 1}`));
        if (problem) return problem;
      }
      return undefined;
    }
    const object = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
    if (object && Array.isArray(object['checkpoints'])) return take(object['checkpoints'], at('`checkpoints`'));
    if (object && 'checkpoint' in object && !('signature' in object)) return object['checkpoint'] === null ? undefined : take(object['checkpoint'], at('`checkpoint`'));
    if (object && typeof object['sourcetype'] === 'string') {
      return object['sourcetype'] === 'bastion:checkpoint' ? take(object['event'], at('`event`')) : undefined;
    }
    const problem = checkpointShapeProblem(value);
    if (problem) return `checkpoint file ${quote(file)}: ${where === '' ? 'the document' : where} is not a checkpoint: ${problem}`;
    found.push(value as Checkpoint);
    return undefined;
  };
  for (const { value, where } of documents) {
    const problem = take(value, where);
    if (problem) return problem;
  }
  if (found.length === 0) return `checkpoint file ${quote(file)} holds no checkpoints`;
  return found;
}

async function verifyCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseOptions(io, 'audit verify', args, {
    help: VERIFY_HELP,
    options: { ...LOCATION, checkpoint: { type: 'string', multiple: true }, threads: { type: 'string' }, json: { type: 'boolean' } },
  });
  if (!parsed.ok) return parsed.exit;
  const { values } = parsed;
  let threads: number | undefined;
  if (values.threads !== undefined) {
    threads = /^\d{1,2}$/.test(values.threads) ? Number(values.threads) : Number.NaN;
    if (!(threads >= 1 && threads <= 64)) return badInput(io, 'audit verify', `--threads ${quote(values.threads)} is not a whole number from 1 to 64`);
  }
  const trusted: Checkpoint[] = [];
  for (const file of values.checkpoint ?? []) {
    const cps = readCheckpoints(resolve(io.cwd, file));
    if (typeof cps === 'string') return badInput(io, 'audit verify', cps);
    trusted.push(...cps);
  }
  const reader = await openReader(values, io);
  if (typeof reader === 'string') return badInput(io, 'audit verify', reader);
  try {
    const onProgress = progressBar(io);
    const given: VerifyOptions = values.checkpoint === undefined ? {} : { trusted };
    if (threads !== undefined) given.threads = threads;
    if (onProgress) given.onProgress = onProgress;
    const report = await reader.verify(given);
    if (reader.keySource === 'database' && !values.json) {
      io.stderr.write('note: the public key was read from the log itself; pass --public-key <file> to check against a key kept elsewhere\n');
    }
    if (values.json) {
      io.stdout.write(JSON.stringify({ ...report, keySource: reader.keySource }) + '\n');
    } else if (report.ok) {
      const latest = report.latestCheckpoint;
      const outside = report.trusted;
      io.stdout.write(
        `audit log intact: ${report.events} events (seq ${report.firstSeq}..${report.lastSeq}), ` +
          `${report.checkpointsVerified} signed checkpoints verified` +
          (latest ? `, latest at size ${latest.size} (${latest.time})` : '') +
          `\nroot ${report.root}\n`,
      );
      if (outside) {
        io.stdout.write(
          `outside checkpoints: ${outside.given} checked, ${outside.verified} against the events` + (outside.pruned > 0 ? `, ${outside.pruned} inside the pruned prefix (signature only)` : '') + '\n',
        );
      }
      if (report.prunedBy !== undefined) {
        io.stdout.write(`note: events 1..${report.firstSeq - 1} were pruned, as the signed event ${report.prunedBy} records\n`);
      }
      if (latest && latest.size < report.lastSeq) {
        io.stdout.write(`note: events ${latest.size + 1}..${report.lastSeq} are not covered by a signed checkpoint yet\n`);
      }
    } else {
      const f = report.failure;
      const where = f?.seq !== undefined ? `first bad sequence number ${f.seq}: ` : f?.checkpointSize !== undefined ? `checkpoint at size ${f.checkpointSize}: ` : '';
      io.stdout.write(`audit log NOT intact: ${where}${f?.reason ?? 'unknown failure'}\n`);
    }
    return report.ok ? EXIT.OK : EXIT.FAILED;
  } finally {
    await reader.close();
  }
}

export function parseTime(value: string | undefined, flag: string): string | undefined | Error {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? new Error(`option --${flag}: ${quote(value)} is not a date or time`) : new Date(ms).toISOString();
}

function cell(value: unknown, width: number): string {
  const text = value === undefined || value === null ? '-' : String(value);
  return text.length > width ? text.slice(0, width - 1) + '~' : text.padEnd(width);
}

const TABLE_HEAD = `${cell('SEQ', 7)} ${cell('TIME', 24)} ${cell('TYPE', 19)} ${cell('PRINCIPAL', 22)} ${cell('ACTION', 22)} ${cell('DECISION', 16)} ${cell('RISK', 8)} TRACE\n`;

function tableRows(events: AuditEvent[]): string {
  return events
    .map((e) => `${cell(e.seq, 7)} ${cell(e.time, 24)} ${cell(e.type, 19)} ${cell(e.principal?.id, 22)} ${cell(e.action, 22)} ${cell(e.decision, 16)} ${cell(e.risk, 8)} ${e.traceId ?? '-'}\n`)
    .join('');
}

/** One event as an element of `JSON.stringify(events, null, 2)`: the streamed array is byte for byte the one built whole. */
function arrayElement(event: AuditEvent): string {
  // JSON text has no raw line breaks inside strings, so indenting after each one is exact.
  return '  ' + JSON.stringify(event, null, 2).replace(/\n/g, '\n  ');
}

/** Events per page of `audit query`: small enough that a page is a few MB, large enough that the queries are few. */
const QUERY_PAGE = 1000;

async function queryCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseOptions(io, 'audit query', args, {
    help: QUERY_HELP,
    options: {
      ...LOCATION,
      decision: { type: 'string' },
      principal: { type: 'string' },
      group: { type: 'string' },
      action: { type: 'string' },
      risk: { type: 'string' },
      trace: { type: 'string' },
      type: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (!parsed.ok) return parsed.exit;
  const { values } = parsed;
  const filter: AuditFilter = {};
  if (values.decision !== undefined) {
    if (!['allow', 'deny', 'require_approval'].includes(values.decision)) return badInput(io, 'audit query', `option --decision: unknown decision ${quote(values.decision)}`);
    filter.decision = values.decision;
  }
  if (values.risk !== undefined) {
    if (!isRisk(values.risk)) return badInput(io, 'audit query', `option --risk: unknown risk ${quote(values.risk)}`);
    filter.risk = values.risk;
  }
  if (values.principal !== undefined) filter.principal = values.principal;
  if (values.group !== undefined) filter.group = values.group;
  if (values.action !== undefined) filter.action = values.action;
  if (values.trace !== undefined) filter.traceId = values.trace;
  if (values.type !== undefined) filter.type = values.type;
  for (const flag of ['since', 'until'] as const) {
    const t = parseTime(values[flag], flag);
    if (t instanceof Error) return badInput(io, 'audit query', t.message);
    if (t !== undefined) filter[flag] = t;
  }
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isSafeInteger(limit) || limit < 0) return badInput(io, 'audit query', `option --limit: ${quote(values.limit)} is not a whole number`);
  if (limit > 0) filter.limit = limit;
  const reader = await openReader(values, io);
  if (typeof reader === 'string') return badInput(io, 'audit query', reader);
  try {
    // Written page by page as read: never the whole result in memory (or in one string).
    let count = 0;
    if (!values.json) await write(io, TABLE_HEAD);
    for await (const page of reader.queryPages(filter, QUERY_PAGE)) {
      if (values.json) {
        await write(io, (count === 0 ? '[\n' : ',\n') + page.map(arrayElement).join(',\n'));
      } else await write(io, tableRows(page));
      count += page.length;
    }
    if (values.json) await write(io, count === 0 ? '[]\n' : '\n]\n');
    return EXIT.OK;
  } catch (err) {
    if (err instanceof BastionException) return badInput(io, 'audit query', err.message);
    throw err;
  } finally {
    await reader.close();
  }
}

const EXPORT_PAGE = 2048;

function seqOption(value: string | undefined, flag: string, min: number): number | undefined | Error {
  if (value === undefined) return undefined;
  const n = Number(value);
  return /^\d+$/.test(value) && Number.isSafeInteger(n) && n >= min ? n : new Error(`option --${flag}: ${quote(value)} is not a whole number${min > 0 ? ` of at least ${min}` : ''}`);
}

async function exportCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseOptions(io, 'audit export', args, {
    help: EXPORT_HELP,
    options: {
      ...LOCATION,
      format: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      'after-seq': { type: 'string' },
      'from-seq': { type: 'string' },
      'to-seq': { type: 'string' },
      limit: { type: 'string' },
    },
  });
  if (!parsed.ok) return parsed.exit;
  const { values } = parsed;
  const format = values.format;
  if (format === undefined || !(EXPORT_FORMATS as readonly string[]).includes(format)) {
    return badInput(io, 'audit export', `option --format: expected one of ${EXPORT_FORMATS.join(', ')}${format === undefined ? '' : `, got ${quote(format)}`}`);
  }
  const since = parseTime(values.since, 'since');
  const until = parseTime(values.until, 'until');
  if (since instanceof Error) return badInput(io, 'audit export', since.message);
  if (until instanceof Error) return badInput(io, 'audit export', until.message);
  const afterSeq = seqOption(values['after-seq'], 'after-seq', 0);
  const fromSeq = seqOption(values['from-seq'], 'from-seq', 1);
  const toSeq = seqOption(values['to-seq'], 'to-seq', 0);
  const limit = seqOption(values.limit, 'limit', 1);
  for (const v of [afterSeq, fromSeq, toSeq, limit]) if (v instanceof Error) return badInput(io, 'audit export', v.message);
  if (afterSeq !== undefined && fromSeq !== undefined) return badInput(io, 'audit export', 'give --after-seq or --from-seq, not both');
  let after = (afterSeq as number | undefined) ?? ((fromSeq as number | undefined) ?? 1) - 1;
  const through = (toSeq as number | undefined) ?? Number.MAX_SAFE_INTEGER;
  const most = (limit as number | undefined) ?? Number.POSITIVE_INFINITY;
  if (through <= after) return badInput(io, 'audit export', `option --to-seq: ${through} is not after the start (seq ${after})`);
  const reader = await openReader(values, io);
  if (typeof reader === 'string') return badInput(io, 'audit export', reader);
  let written = 0;
  let first: number | undefined;
  let lastWritten: number | undefined;
  try {
    const logId = (await reader.latestCheckpoint())?.logId;
    const meta = logId === undefined ? {} : { logId };
    const highest = Math.min(through, Number((await reader.store.extent())?.highest ?? 0));
    const start = after;
    const progress = progressBar(io, 'exporting');
    let more = false;
    while (after < highest) {
      const page = await reader.eventsAfter(after, EXPORT_PAGE);
      if (page.length === 0) break;
      const lines: string[] = [];
      for (const event of page) {
        if (event.seq > through) break;
        if (written + lines.length >= most) {
          more = true;
          break;
        }
        after = event.seq;
        if (since !== undefined && event.time < since) continue;
        if (until !== undefined && event.time > until) continue;
        lines.push(exportLine(event, format as ExportFormat, meta));
        first ??= event.seq;
        lastWritten = event.seq;
      }
      if (lines.length > 0) await write(io, lines.join('\n') + '\n');
      written += lines.length;
      progress?.(Math.min(after, highest) - start, highest - start);
      if (more || (page[page.length - 1]?.seq ?? 0) >= through) break;
    }
    if (progress && after < highest) progress(highest - start, highest - start);
    const range = first === undefined ? '' : ` (seq ${first}..${lastWritten})`;
    const resume = more || after < highest ? `; more remain: resume with --after-seq ${after}` : `; resume later with --after-seq ${after}`;
    io.stderr.write(`bastion audit export: wrote ${written} event${written === 1 ? '' : 's'}${range}, read through seq ${after}${resume}\n`);
    return EXIT.OK;
  } catch (err) {
    if (err instanceof BastionException) return badInput(io, 'audit export', err.message);
    throw err;
  } finally {
    await reader.close();
  }
}

/** The rules `bastion audit detect` runs when neither --rules nor the config names any. */
const BUNDLED_DETECTIONS = fileURLToPath(new URL('../../../detections/', import.meta.url));

/** Reads Sigma rules from files and directories (recursively, `*.yml` and `*.yaml`, in name order). */
function loadRules(paths: readonly string[], cwd: string): SigmaRule[] | string {
  const rules: SigmaRule[] = [];
  const files: string[] = [];
  const walk = (path: string, given: boolean): string | undefined => {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      return `option --rules: no such file or directory ${quote(relative(cwd, path) || path)}`;
    }
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        const problem = walk(join(path, name), false);
        if (problem) return problem;
      }
    } else if (given || /\.ya?ml$/.test(path)) files.push(path);
    return undefined;
  };
  for (const p of paths) {
    const problem = walk(resolve(cwd, p), true);
    if (problem) return problem;
  }
  if (files.length === 0) return `no rule files (*.yml, *.yaml) in ${paths.map((p) => quote(p)).join(', ')}`;
  for (const file of files) {
    const shown = relative(cwd, file).startsWith('..') ? file : relative(cwd, file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return `cannot read rule file ${quote(shown)}`;
    }
    const parsed = parseSigmaRules(text, shown);
    if (!parsed.ok) return errorLine(parsed.errors);
    rules.push(...parsed.value);
  }
  return rules;
}

const DETECT_FORMATS = ['text', 'json', 'ocsf'] as const;

function matchRow(m: DetectionMatch): string {
  const seqs = m.seqs.length > 4 ? `${m.seqs[0]}..${m.seqs[m.seqs.length - 1]} (${m.seqs.length})` : m.seqs.join(',');
  return `${cell(m.rule.level, 13)} ${cell(m.rule.title, 50)} ${cell(seqs, 14)} ${cell(m.principal, 20)} ${cell(m.action, 26)} ${m.time}\n`;
}

async function detectCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseOptions(io, 'audit detect', args, {
    help: DETECT_HELP,
    options: { ...LOCATION, rules: { type: 'string', multiple: true }, config: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, format: { type: 'string' } },
  });
  if (!parsed.ok) return parsed.exit;
  const { values } = parsed;
  const format = values.format ?? 'text';
  if (!(DETECT_FORMATS as readonly string[]).includes(format)) return badInput(io, 'audit detect', `option --format: expected one of ${DETECT_FORMATS.join(', ')}, got ${quote(format)}`);
  const since = parseTime(values.since, 'since');
  const until = parseTime(values.until, 'until');
  if (since instanceof Error) return badInput(io, 'audit detect', since.message);
  if (until instanceof Error) return badInput(io, 'audit detect', until.message);
  let businessHours: BusinessHours = DEFAULT_BUSINESS_HOURS;
  let placeholders: Record<string, string[]> = {};
  let configured: string[] = [];
  const location = { ...values };
  if (values.config !== undefined) {
    const loaded = loadConfig(values.config, io.cwd);
    if (!loaded.ok) return failWith(io, 'audit detect', loaded.errors);
    const d = loaded.value.detections;
    if (d !== undefined) {
      businessHours = d.businessHours;
      placeholders = d.placeholders;
      configured = d.rules;
    }
    if (values.db === undefined && values['data-dir'] === undefined && values.postgres === undefined) location['data-dir'] = loaded.value.dataDir;
  }
  const rules = loadRules(values.rules ?? (configured.length > 0 ? configured : [BUNDLED_DETECTIONS]), io.cwd);
  if (typeof rules === 'string') return badInput(io, 'audit detect', rules);
  const detector = createDetector(rules, { placeholders, businessHours });
  if (!detector.ok) return failWith(io, 'audit detect', detector.errors);
  for (const s of detector.value.skipped) io.stderr.write(`note: rule ${quote(s.rule.title)} (${s.rule.file}) skipped: ${s.reason}\n`);
  const reader = await openReader(location, io);
  if (typeof reader === 'string') return badInput(io, 'audit detect', reader);
  // Only --format json holds the matches (one document); the others write them as found.
  const matches: DetectionMatch[] = [];
  let count = 0;
  let events = 0;
  try {
    const logId = (await reader.latestCheckpoint())?.logId;
    const meta = logId === undefined ? {} : { logId };
    const highest = Number((await reader.store.extent())?.highest ?? 0);
    if (format === 'text') await write(io, `${cell('LEVEL', 13)} ${cell('RULE', 50)} ${cell('SEQ', 14)} ${cell('PRINCIPAL', 20)} ${cell('ACTION', 26)} TIME\n`);
    let after = 0;
    while (after < highest) {
      const page = await reader.eventsAfter(after, EXPORT_PAGE);
      if (page.length === 0) break;
      const found: DetectionMatch[] = [];
      for (const event of page) {
        after = event.seq;
        if (since !== undefined && event.time < since) continue;
        if (until !== undefined && event.time > until) continue;
        events++;
        found.push(...detector.value.push(toOcsf(event, meta)));
      }
      count += found.length;
      if (format === 'json') matches.push(...found);
      if (format === 'text' && found.length > 0) await write(io, found.map(matchRow).join(''));
      if (format === 'ocsf' && found.length > 0) await write(io, found.map((m) => JSON.stringify(toDetectionFinding(m, meta)) + '\n').join(''));
    }
    if (format === 'json') {
      const rulesRun = detector.value.active.map((r) => ({ title: r.title, id: r.id ?? null, level: r.level, file: r.file }));
      const skipped = detector.value.skipped.map((s) => ({ title: s.rule.title, file: s.rule.file, reason: s.reason }));
      io.stdout.write(JSON.stringify({ events, rules: rulesRun, skipped, matches }, null, 2) + '\n');
    }
    io.stderr.write(`bastion audit detect: ${detector.value.active.length} rules over ${events} event${events === 1 ? '' : 's'}: ${count} match${count === 1 ? '' : 'es'}\n`);
    return count > 0 ? EXIT.FAILED : EXIT.OK;
  } catch (err) {
    if (err instanceof BastionException) return badInput(io, 'audit detect', err.message);
    throw err;
  } finally {
    await reader.close();
  }
}

async function proofCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseOptions(io, 'audit proof', args, { help: PROOF_HELP, positionals: true, options: { ...LOCATION } });
  if (!parsed.ok) return parsed.exit;
  const { values, positionals } = parsed;
  const seq = Number(positionals[0]);
  if (positionals.length !== 1 || !Number.isSafeInteger(seq) || seq < 1) {
    return badInput(io, 'audit proof', `expected one sequence number, got ${quote(positionals.join(' '))}`);
  }
  const reader = await openReader(values, io);
  if (typeof reader === 'string') return badInput(io, 'audit proof', reader);
  try {
    const proof = await reader.inclusionProof(seq);
    if (!proof.ok) return failWith(io, 'audit proof', proof.errors);
    const problem = verifyInclusionProof(proof.value, reader.publicKeyPem());
    io.stdout.write(JSON.stringify({ ...proof.value, verified: problem === undefined, ...(problem ? { problem } : {}) }, null, 2) + '\n');
    return problem === undefined ? EXIT.OK : EXIT.FAILED;
  } finally {
    await reader.close();
  }
}

async function publicKeyCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseOptions(io, 'audit public-key', args, { help: PUBLIC_KEY_HELP, options: { ...LOCATION } });
  if (!parsed.ok) return parsed.exit;
  const reader = await openReader(parsed.values, io);
  if (typeof reader === 'string') return badInput(io, 'audit public-key', reader);
  try {
    io.stdout.write(reader.publicKeyPem().trimEnd() + '\n');
    return EXIT.OK;
  } finally {
    await reader.close();
  }
}

const SUBCOMMANDS: Subcommand[] = [
  { name: 'verify', summary: 'recompute the hash chain, Merkle roots and checkpoint signatures', help: VERIFY_HELP, run: verifyCommand },
  { name: 'query', summary: 'list events (table, or --json)', help: QUERY_HELP, run: queryCommand },
  { name: 'export', summary: 'write events as JSON lines (ocsf, jsonl, zyx)', help: EXPORT_HELP, run: exportCommand },
  { name: 'detect', summary: 'run Sigma detection rules over the log', help: DETECT_HELP, run: detectCommand },
  { name: 'proof', summary: 'print an inclusion proof of one event', help: PROOF_HELP, run: proofCommand },
  { name: 'public-key', summary: 'print the public key that signs the checkpoints', help: PUBLIC_KEY_HELP, run: publicKeyCommand },
];

export const auditCommand: Command = commandGroup({
  name: 'audit',
  summary: 'verify, query, export and run detections over the tamper-evident audit trail',
  help: HELP,
  subcommands: SUBCOMMANDS,
});
