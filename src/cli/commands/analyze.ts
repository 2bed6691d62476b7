/**
 * `bastion analyze`: what a shell command (or a SQL query) really does, as the analyzers
 * see it — one analysis for `-- '<command>'`, or one per line with `--jsonl`.
 */

import { createAnalyzer, type Analyzer, type ShellAnalysis, type ShellOptions, type SqlAnalysis } from '../../analysis/index.js';
import { badInput, EXIT, forEachLine, jsonlError, parseOptions, type CliIo, type Command } from '../command.js';

const HELP = `usage: bastion analyze [--json] [--cwd DIR] -- '<command>'
       bastion analyze --jsonl            (lines {"command": "...", "cwd"?: "..."} on stdin)
       bastion analyze [--json] --sql '<query>'

Analyzes a shell command with a real bash parser and prints its risk, categories, the
commands it runs and the findings with evidence. Exit 0 when analyzed, 2 on bad input
(with --jsonl a bad line prints {"error": "line N: ..."} and the run exits 2 at the end).

options:
  --json        print the analysis as JSON
  --jsonl       read JSON lines from stdin, write one analysis per line
  --cwd DIR     working directory the command runs in (absolute)
  --sql QUERY   analyze a SQL query (or MongoDB shell call) instead
`;

function contract(a: ShellAnalysis): Record<string, unknown> {
  const out: Record<string, unknown> = {
    command: a.command,
    parsed: a.parsed,
    risk: a.risk,
    categories: a.categories,
    commands: a.commands,
    findings: a.findings,
  };
  if (a.paths !== undefined) out['paths'] = a.paths;
  if (a.hosts !== undefined) out['hosts'] = a.hosts;
  return out;
}

function summary(a: ShellAnalysis | SqlAnalysis): string {
  const lines = [`risk: ${a.risk}${a.parsed ? '' : ' (not parsed: fails closed)'}`, `categories: ${a.categories.length > 0 ? a.categories.join(', ') : '(none)'}`];
  if ('commands' in a && a.commands.length > 0) lines.push(`commands: ${a.commands.map((c) => c.program).join(', ')}`);
  if ('statements' in a && a.statements.length > 0) lines.push(`statements: ${a.statements.join(', ')}`);
  for (const f of a.findings) lines.push(`  ${f.risk.padEnd(8)} ${f.category.padEnd(18)} ${f.evidence}`);
  return lines.join('\n') + '\n';
}

/** The caller's home directory makes `~` mean what it means on this machine. */
function shellOptions(io: CliIo, cwd: string | undefined): ShellOptions {
  const options: ShellOptions = {};
  if (cwd !== undefined) options.cwd = cwd;
  const home = io.env['HOME'];
  if (home !== undefined && home.startsWith('/')) options.home = home;
  return options;
}

async function jsonl(analyzer: Analyzer, io: CliIo): Promise<number> {
  let failed = false;
  await forEachLine(io.stdin, (line, n) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      failed = true;
      io.stdout.write(jsonlError(n, `invalid JSON: ${(e as Error).message}`) + '\n');
      return;
    }
    const obj = value as Record<string, unknown> | null;
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj) || typeof obj['command'] !== 'string') {
      failed = true;
      io.stdout.write(jsonlError(n, `expected an object with a string \`command\``) + '\n');
      return;
    }
    const cwd = obj['cwd'];
    if (cwd !== undefined && (typeof cwd !== 'string' || !cwd.startsWith('/'))) {
      failed = true;
      io.stdout.write(jsonlError(n, `\`cwd\` must be an absolute path`) + '\n');
      return;
    }
    const r = analyzer.shell(obj['command'], shellOptions(io, cwd));
    io.stdout.write(JSON.stringify(contract(r)) + '\n');
  });
  return failed ? EXIT.BAD_INPUT : EXIT.OK;
}

export const analyzeCommand: Command = {
  name: 'analyze',
  summary: 'show what a shell command or SQL query really does (risk, categories, evidence)',
  help: HELP,
  async run(args, io) {
    const parsed = parseOptions(io, 'analyze', args, {
      help: HELP,
      positionals: true,
      options: { json: { type: 'boolean' }, jsonl: { type: 'boolean' }, cwd: { type: 'string' }, sql: { type: 'string' } },
    });
    if (!parsed.ok) return parsed.exit;
    const { values, positionals } = parsed;
    if (values.cwd !== undefined && !values.cwd.startsWith('/')) return badInput(io, 'analyze', `--cwd must be an absolute path, got \`${values.cwd}\``);
    const analyzer = await createAnalyzer();
    if (values.jsonl === true) {
      if (positionals.length > 0 || values.sql !== undefined) return badInput(io, 'analyze', '--jsonl reads commands from stdin only');
      return jsonl(analyzer, io);
    }
    if (values.sql !== undefined) {
      const r = analyzer.sql(values.sql);
      io.stdout.write(values.json === true ? JSON.stringify(r) + '\n' : summary(r));
      return EXIT.OK;
    }
    if (positionals.length === 0) return badInput(io, 'analyze', "expected a command: bastion analyze --json -- '<command>'");
    const command = positionals.join(' ');
    const r = analyzer.shell(command, shellOptions(io, values.cwd));
    io.stdout.write(values.json === true ? JSON.stringify(contract(r)) + '\n' : summary(r));
    return EXIT.OK;
  },
};
