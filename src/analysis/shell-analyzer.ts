/**
 * The shell analyzer: parses a command line with the tree-sitter bash grammar and walks it
 * the way bash would run it — lists, pipelines, redirections, substitutions, functions,
 * aliases, variables assigned earlier on the line, `cd` — handing every simple command to
 * the program rules (programs/). Anything it cannot model makes the result
 * `parsed: false` with risk at least `high`: it fails closed, never open.
 */

import { posix } from 'node:path';
import type { Node, Parser } from 'web-tree-sitter';
import type { Category } from '../core/categories.js';
import { maxRisk, riskRank, type Risk } from '../core/risk.js';
import { classifyHost, type HostClass } from '../core/net.js';
import { pathZone, resolvePath } from './path-classes.js';
import type { PathZone } from './risk-table.js';
import { classifyWrite, envHooks, globCandidates, isBareShell, isKnownProgram, readRedirect, ruleFor, unknownProgram } from './programs/index.js';
import { mergeOut } from './programs/effects.js';
import type { Arg, Invocation, Site } from './shell-types.js';
import { joinContinuations, resolveWord, type SubOutput, type Word, type WordScope } from './shell-words.js';

export interface ShellOptions {
  /** Absolute working directory the command runs in. */
  cwd?: string;
  /** Environment the command runs with (only used to resolve variables). */
  env?: Record<string, string>;
  /** Home directory; defaults to `env.HOME`, then `/home/user`. */
  home?: string;
  /**
   * Files earlier calls of the same trace downloaded (resolved paths, as `downloads` reports
   * them): running one is `exec.remote_code` critical, as when the download is in the same
   * command line.
   */
  downloaded?: readonly string[];
}

export interface ShellFinding {
  category: Category;
  risk: Risk;
  evidence: string;
}

export interface ShellAnalysis {
  command: string;
  parsed: boolean;
  risk: Risk;
  categories: Category[];
  commands: { program: string; argv: string[] }[];
  findings: ShellFinding[];
  /** Paths the command touches, resolved against the working directory when known. */
  paths?: { path: string; access: 'read' | 'write' | 'delete' }[];
  /** Network destinations. */
  hosts?: { host: string; hostClass: HostClass }[];
  /**
   * Files the command downloads to (resolved against the working directory when known), so
   * a later call of the trace that runs one is seen as running downloaded code.
   */
  downloads?: string[];
}

const MAX_DEPTH = 8;
const MAX_COMMANDS = 500;
const MAX_SOURCE = 100_000;
/** Wrappers inside wrappers (`sudo env nice … cmd`) beyond this are cut off, fail closed. */
const MAX_WRAPPERS = 32;
/** A command-name glob matching more known programs than this is not resolved (still high). */
const MAX_GLOB_CANDIDATES = 48;
/** Directories on a usual PATH: a program copied there runs under its new bare name. */
const PATH_DIRS = new Set(['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']);

const STATEMENTS = new Set([
  'program',
  'list',
  'compound_statement',
  'subshell',
  'do_group',
  'if_statement',
  'elif_clause',
  'else_clause',
  'while_statement',
  'case_statement',
  'case_item',
  'negated_command',
]);
const WORDISH = new Set([
  'word',
  'string',
  'raw_string',
  'ansi_c_string',
  'concatenation',
  'simple_expansion',
  'expansion',
  'number',
  'command_substitution',
  'process_substitution',
  'arithmetic_expansion',
  'translated_string',
  'brace_expression',
]);
const IGNORED = new Set([
  'comment',
  ';',
  '&',
  '&&',
  '||',
  '|',
  '|&',
  ';;',
  ';&',
  ';;&',
  '(',
  ')',
  '{',
  '}',
  'do',
  'done',
  'then',
  'fi',
  'else',
  'elif',
  'if',
  'while',
  'until',
  'case',
  'esac',
  'in',
  '!',
  '\n',
]);

interface RunHow {
  env: Record<string, string>;
  stdin: SubOutput | undefined;
  piped: boolean;
  text: string;
  remote?: string;
  socket?: string;
}

/** Arguments kept per recorded command; the rest is summarized. */
const MAX_RECORDED_ARGS = 256;

interface Frame {
  vars: Map<string, string>;
  cwd: string | undefined;
  /** The working directory was changed to something not literal. */
  cwdLost: boolean;
  functions: Map<string, Node>;
  aliases: Map<string, string>;
  depth: number;
  remote: string | undefined;
  /** File descriptors opened on raw sockets by a bare `exec 3<>/dev/tcp/…`: fd → host. */
  sockets: Map<number, string>;
  /** A raw socket the whole frame inherits (`bash -c '…' >& /dev/tcp/…`): its host. */
  socket: string | undefined;
}

/** What a command's redirects did: raw sockets, and the files its stdout fills. */
interface Io {
  /** Host of a `/dev/tcp|udp` redirect, when any fd of the command is a raw socket. */
  socket?: string;
  socketStdin: boolean;
  socketStdout: boolean;
  /** Raw sockets opened with an explicit fd (`3</dev/tcp/…`), for a bare `exec`. */
  fds: Map<number, string>;
  /** Resolved literal files stdout is written to; `append` for `>>`. */
  outFiles: { path: string; append: boolean }[];
}

function newIo(): Io {
  return { socketStdin: false, socketStdout: false, fds: new Map(), outFiles: [] };
}

/** Collects what one analysis found; shared by every recursion level. */
class Collector {
  parsed = true;
  readonly findings: ShellFinding[] = [];
  readonly commands: { program: string; argv: string[] }[] = [];
  readonly paths: { path: string; access: 'read' | 'write' | 'delete' }[] = [];
  readonly hosts: { host: string; hostClass: HostClass }[] = [];
  private readonly seen = new Set<string>();
  /** Files downloaded earlier in the command line (resolved). */
  readonly downloaded = new Set<string>();
  /** Files earlier calls of the trace downloaded (`ShellOptions.downloaded`). */
  readonly traceDownloads = new Set<string>();
  /** Files written earlier in the command line (resolved). */
  readonly written = new Set<string>();
  /** Files that hold a copy of a program: resolved path → the program's path. */
  readonly copies = new Map<string, string>();
  /** Files whose whole text is known: resolved path → text. */
  readonly scripts = new Map<string, string>();
  /** How many wrappers deep the current command is (`sudo env nice …`). */
  wrappers = 0;
  /** Command lines handed to unknown programs looked into so far (`Site.commandIn`); none when nested. */
  probes = 0;
  nested = false;

  add(category: Category, risk: Risk, evidence: string): void {
    const key = category + '\0' + risk + '\0' + evidence;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.findings.push({ category, risk, evidence: evidence.length > 200 ? evidence.slice(0, 197) + '...' : evidence });
  }

  failClosed(evidence: string): void {
    this.parsed = false;
    this.add('exec.obfuscated', 'high', evidence);
  }
}

/**
 * Analyzes one command line. Synchronous; never throws on bad input.
 *
 * @example analyzeShell(parser, 'rm -r -f /var/log').risk // 'critical'
 */
export function analyzeShell(parser: Parser, command: string, options: ShellOptions = {}): ShellAnalysis {
  return analyze(parser, command, options, false);
}

/** How many command lines handed to unknown programs one analysis looks into, and how long each may be. */
const MAX_PROBES = 4;
const MAX_PROBE_TEXT = 10_000;

function analyze(parser: Parser, command: string, options: ShellOptions, nested: boolean): ShellAnalysis {
  const out = new Collector();
  out.nested = nested;
  for (const path of options.downloaded ?? []) out.traceDownloads.add(path);
  const env = options.env ?? {};
  const home = trimSlash(options.home ?? env['HOME'] ?? '/home/user');
  const cwd = options.cwd !== undefined && options.cwd.startsWith('/') ? trimSlash(posix.normalize(options.cwd)) : undefined;
  const walker = new Walker(parser, out, home, env);
  try {
    walker.source(command, { vars: new Map(), cwd, cwdLost: false, functions: new Map(), aliases: new Map(), depth: 0, remote: undefined, sockets: new Map(), socket: undefined });
  } catch (error) {
    // A bug in a rule must not turn into an allow.
    out.failClosed(`analyzer error: ${error instanceof Error ? error.message : String(error)}`);
  }
  let risk: Risk = 'low';
  for (const f of out.findings) risk = maxRisk(risk, f.risk);
  if (!out.parsed) risk = maxRisk(risk, 'high');
  const categories = [...new Set(out.findings.map((f) => f.category))].sort();
  const result: ShellAnalysis = { command, parsed: out.parsed, risk, categories, commands: out.commands, findings: out.findings };
  if (out.paths.length > 0) result.paths = out.paths;
  if (out.hosts.length > 0) result.hosts = out.hosts;
  if (out.downloaded.size > 0) result.downloads = [...out.downloaded];
  return result;
}

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

class Walker {
  private frame!: Frame;
  private readonly calling = new Set<string>();

  constructor(
    private readonly parser: Parser,
    private readonly out: Collector,
    private readonly home: string,
    private readonly env: Record<string, string>,
  ) {}

  /** Parses and walks shell source at a given frame (top level or recursion). */
  source(text: string, frame: Frame, stdin?: SubOutput): SubOutput {
    if (frame.depth > MAX_DEPTH) {
      this.out.failClosed(`nesting deeper than ${MAX_DEPTH} levels`);
      return {};
    }
    if (text.length > MAX_SOURCE) {
      this.out.failClosed(`command longer than ${MAX_SOURCE} characters`);
      return {};
    }
    const joined = joinContinuations(text);
    let tree = this.parser.parse(joined);
    if (tree === null) {
      this.out.failClosed('the bash parser returned no tree');
      return {};
    }
    // Valid bash the grammar rejects (`if (cmd) then`, extglob `!(x)`): read a repaired text
    // when that one parses cleanly; otherwise the error stands (fail closed).
    if (tree.rootNode.hasError) {
      const fixed = repairBash(joined);
      const again = fixed === joined ? null : this.parser.parse(fixed);
      if (again !== null && !again.rootNode.hasError) {
        tree.delete();
        tree = again;
      } else again?.delete();
    }
    const saved = this.frame;
    this.frame = frame;
    try {
      const root = tree.rootNode;
      if (root.hasError) this.out.failClosed(`shell syntax error in ${clip(text)}`);
      return this.walk(root, stdin);
    } finally {
      this.frame = saved ?? frame;
      tree.delete();
    }
  }

  private walk(node: Node, stdin?: SubOutput): SubOutput {
    switch (node.type) {
      case 'command':
        return this.simpleCommand(node, stdin, false);
      case 'pipeline':
        return this.pipeline(node.children, stdin);
      case 'redirected_statement':
        return this.redirected(node, stdin);
      case 'variable_assignment':
        this.assign(node, this.frame.vars);
        return {};
      case 'variable_assignments':
        for (const c of node.namedChildren) if (c) this.assign(c, this.frame.vars);
        return {};
      case 'declaration_command':
        return this.declaration(node);
      case 'unset_command':
        for (const c of node.namedChildren) {
          if (!c) continue;
          this.frame.vars.delete(c.text);
          if (/^HIST(FILE|SIZE|FILESIZE)$/.test(c.text)) this.out.add('exec.obfuscated', 'high', `shell history turned off (hides what runs next): ${clip(node.text)}`);
        }
        return {};
      case 'function_definition':
        return this.defineFunction(node);
      case 'for_statement':
      case 'c_style_for_statement':
      case 'select_statement':
        return this.loop(node);
      case 'test_command':
      case 'binary_expression':
      case 'unary_expression':
      case 'parenthesized_expression':
      case 'ternary_expression':
      case 'postfix_expression':
        for (const c of node.descendantsOfType(['command_substitution', 'process_substitution'])) if (c) this.substitute(c);
        return {};
      case 'ERROR':
        this.out.failClosed(`shell syntax error near ${clip(node.text)}`);
        return this.sequence(node, stdin);
      case 'comment':
        return {};
      default:
        if (STATEMENTS.has(node.type)) {
          if (node.type === 'subshell' || node.type === 'compound_statement') {
            const saved = { ...this.frame, vars: new Map(this.frame.vars) };
            const result = this.sequence(node, stdin);
            if (node.type === 'subshell') this.frame = saved;
            return result;
          }
          return this.sequence(node, stdin);
        }
        if (WORDISH.has(node.type)) {
          this.word(node);
          return {};
        }
        if (IGNORED.has(node.type) || !node.isNamed) return {};
        this.out.failClosed(`unsupported shell construct \`${node.type}\``);
        return this.sequence(node, stdin);
    }
  }

  private sequence(node: Node, stdin?: SubOutput): SubOutput {
    let last: SubOutput = {};
    let first = true;
    for (const child of node.namedChildren) {
      if (child === null) continue;
      last = this.walk(child, first ? stdin : undefined);
      first = false;
    }
    return last;
  }

  private pipeline(children: (Node | null)[], stdin: SubOutput | undefined): SubOutput {
    const stages = children.filter((c): c is Node => c !== null && c.isNamed && c.type !== 'comment');
    let flow = stdin;
    stages.forEach((stage, i) => {
      const piped = i < stages.length - 1;
      flow = stage.type === 'command' ? this.simpleCommand(stage, flow, piped) : this.walk(stage, flow);
    });
    return flow ?? {};
  }

  private redirected(node: Node, stdin: SubOutput | undefined): SubOutput {
    let input = stdin;
    let after: Node[] = [];
    const io = newIo();
    const body = node.childForFieldName('body');
    for (const r of node.children) {
      if (r === null || (body !== null && r.id === body.id) || !r.isNamed) continue;
      const res = this.redirect(r, io);
      if (res.stdin !== undefined) input = res.stdin;
      after = after.concat(res.after);
    }
    let output: SubOutput;
    if (body === null) output = {};
    else if (body.type === 'command') output = this.simpleCommand(body, input, after.length > 0, io);
    else output = this.afterRedirects(io, this.walk(body, input), node.text);
    // tree-sitter nests `cat <<EOF | sh` as a pipeline inside the heredoc redirect.
    for (const next of after) {
      output = next.type === 'pipeline' ? this.pipeline([null, ...next.children], output) : next.type === 'command' ? this.simpleCommand(next, output, false) : this.walk(next, output);
    }
    return output;
  }

  /** Handles one redirect; returns what it feeds to stdin and any statements nested in it. */
  private redirect(r: Node, io: Io): { stdin?: SubOutput; after: Node[] } {
    const text = r.text;
    if (r.type === 'herestring_redirect') {
      const w = r.namedChildren.find((c) => c !== null && WORDISH.has(c.type));
      if (w === undefined || w === null) return { after: [] };
      const word = this.word(w);
      return { stdin: word.literal ? { text: word.values.join(' ') } : mergeSubs(word.subs), after: [] };
    }
    if (r.type === 'heredoc_redirect') {
      let body = '';
      const after: Node[] = [];
      for (const c of r.namedChildren) {
        if (c === null) continue;
        if (c.type === 'heredoc_body') {
          body = c.text;
          for (const s of c.descendantsOfType(['command_substitution'])) if (s) this.substitute(s);
        } else if (c.type === 'file_redirect') {
          // tree-sitter nests the redirect of `cat <<EOF > file` inside the heredoc.
          after.push(...this.redirect(c, io).after);
        } else if (c.type !== 'heredoc_start' && c.type !== 'heredoc_end') after.push(c);
      }
      return { stdin: { text: body }, after };
    }
    if (r.type !== 'file_redirect') {
      this.out.failClosed(`unsupported redirect \`${r.type}\``);
      return { after: [] };
    }
    const op = r.children.find((c) => c !== null && !c.isNamed)?.type ?? '>';
    const dest = r.childForFieldName('destination') ?? r.namedChildren.filter((c) => c !== null && c.type !== 'file_descriptor').at(-1) ?? null;
    if (dest === null) return { after: [] };
    const fdText = r.namedChildren.find((c) => c !== null && c.type === 'file_descriptor')?.text;
    const fd = fdText === undefined ? undefined : Number(fdText);
    const word = this.word(dest);
    const target = word.values[0] ?? '';
    if (op === '>&' || op === '<&' || op === '>&-' || op === '<&-') {
      if (/^\d+$|^-$/.test(target)) {
        // Duplicating a raw socket's fd (`0>&1` after `>& /dev/tcp/…`, `<&3` after `exec 3</dev/tcp/…`)
        // makes it the command's input too. tree-sitter misplaces the fd of `0>&1`, so any dup
        // on a command that already has a socket counts as reading from it.
        const shared = this.frame.sockets.get(Number(target));
        if (shared !== undefined) io.socket = shared;
        if (io.socket !== undefined && target !== '-') {
          io.socketStdin = true;
          if (op === '>&') io.socketStdout = true;
          return { stdin: { download: true }, after: [] };
        }
        return { after: [] };
      }
    }
    const site = this.site(undefined);
    if (/^\/dev\/(tcp|udp)\//.test(target)) {
      const host = target.split('/')[3] ?? '';
      const cls = site.host(host);
      // A raw socket is a hand-made network channel whatever the peer: nothing routine uses one.
      this.out.add('net.egress', cls === 'loopback' ? 'medium' : 'high', `raw socket redirect to ${host}: ${clip(text)}`);
      io.socket = host;
      if (fd !== undefined) io.fds.set(fd, host);
      const reads = op.includes('<') && (fd === undefined || fd === 0);
      const writes = op.includes('>') && (fd === undefined || fd === 1 || op === '&>' || op === '&>>');
      if (writes) io.socketStdout = true;
      if (reads) {
        io.socketStdin = true;
        return { stdin: { download: true }, after: [] };
      }
      return { after: [] };
    }
    if (op === '<' || op === '<<' || op === '<&') {
      return { stdin: readRedirect(word, site, text), after: [] };
    }
    const arg: Arg = { value: target, literal: word.literal, glob: word.glob, raw: word.raw, subs: word.subs, unknownVars: word.unknownVars };
    classifyWrite(arg, site, text, op === '>' || op === '>|' || op === '&>');
    if (word.literal && (fd === undefined || fd === 1) && op !== '<>') {
      io.outFiles.push({ path: resolvePath(target, { cwd: this.frame.cwdLost ? undefined : this.frame.cwd, home: this.home }), append: op === '>>' || op === '&>>' });
    }
    return { after: [] };
  }

  /**
   * What a command's output did once it ran: secrets sent into a raw socket, a program's
   * bytes, a download or a known script text saved to a file.
   */
  private afterRedirects(io: Io, output: SubOutput, text: string): SubOutput {
    if (io.socket !== undefined && io.socketStdout && output.secret) {
      this.out.add('net.egress', 'critical', `secrets sent to ${io.socket} through a raw socket: ${clip(text)}`);
      this.out.add('secret.read', 'critical', `secrets sent to ${io.socket}: ${clip(text)}`);
    }
    for (const f of io.outFiles) {
      if (output.program !== undefined && !f.append) this.out.copies.set(f.path, output.program);
      // `curl URL > x.sh` downloads as `curl -o x.sh URL` does.
      if (output.download === true) this.out.downloaded.add(f.path);
      if (output.text !== undefined) {
        const before = f.append ? (this.out.scripts.get(f.path) ?? '') : '';
        if (before.length + output.text.length <= MAX_SOURCE) this.out.scripts.set(f.path, before + output.text);
      } else this.out.scripts.delete(f.path);
    }
    return output;
  }

  private assign(node: Node, into: Map<string, string>): void {
    const name = node.childForFieldName('name')?.text ?? node.namedChildren[0]?.text;
    const valueNode = node.childForFieldName('value');
    if (name === undefined) return;
    if (valueNode === null) {
      into.set(name, '');
      return;
    }
    const w = this.word(valueNode);
    if (w.literal) into.set(name, w.values.join(' '));
    else {
      const known = w.subs.length === 1 && w.subs[0]?.text !== undefined && /^\$\(.*\)$|^`.*`$/s.test(w.raw) ? w.subs[0].text.trim() : undefined;
      if (known !== undefined) into.set(name, known);
      else into.delete(name);
    }
    if (name === 'IFS') this.out.add('exec.obfuscated', 'high', `IFS reassigned: ${clip(node.text)}`);
    if ((name === 'HISTFILE' && /^\/dev\/null$|^$/.test(into.get(name) ?? '')) || (/^HIST(FILE)?SIZE$/.test(name) && into.get(name) === '0')) {
      this.out.add('exec.obfuscated', 'high', `shell history turned off (hides what runs next): ${clip(node.text)}`);
    }
    const value = into.get(name);
    if (value !== undefined) {
      for (const h of envHooks(name, value)) {
        if (h.risk !== 'low') this.out.add('exec.obfuscated', h.risk, `${h.evidence}: ${clip(node.text)}`);
        if (h.command !== undefined && h.command.trim() !== '') this.source(h.command, { ...this.frame, vars: new Map(this.frame.vars), depth: this.frame.depth + 1 });
      }
    }
    if (name === 'PATH' || name === 'LD_PRELOAD' || name === 'LD_LIBRARY_PATH' || name === 'BASH_ENV' || name === 'PROMPT_COMMAND') {
      this.out.add('exec.obfuscated', name === 'LD_PRELOAD' || name === 'PROMPT_COMMAND' ? 'high' : 'medium', `${name} changed: ${clip(node.text)}`);
      // PROMPT_COMMAND runs before every prompt: what it holds is a command.
      const value = into.get(name);
      if (name === 'PROMPT_COMMAND' && value !== undefined && value.trim() !== '') this.source(value, { ...this.frame, vars: new Map(this.frame.vars), depth: this.frame.depth + 1 });
    }
  }

  private declaration(node: Node): SubOutput {
    let assignments = 0;
    for (const c of node.namedChildren) {
      if (c === null) continue;
      if (c.type === 'variable_assignment') {
        assignments++;
        this.assign(c, this.frame.vars);
      } else if (c.type !== 'variable_name') this.word(c);
    }
    if (assignments === 0 && node.namedChildren.every((c) => c === null || c.type === 'word')) {
      // `export -p`, `declare -x`: dumps the environment.
      this.out.add('secret.read', 'medium', `environment dump: ${clip(node.text)}`);
      return { secret: true };
    }
    return {};
  }

  private defineFunction(node: Node): SubOutput {
    const name = node.childForFieldName('name')?.text;
    const body = node.childForFieldName('body');
    if (name === undefined || body === null) return {};
    // A function that pipes into or backgrounds itself is a fork bomb.
    const calls = body.descendantsOfType('command_name').filter((c) => c !== null && c.text === name);
    if (calls.length >= 2 || (calls.length >= 1 && /&/.test(body.text))) {
      this.out.add('proc.kill', 'critical', `fork bomb: ${clip(node.text)}`);
    }
    this.frame.functions.set(name, body);
    return {};
  }

  private loop(node: Node): SubOutput {
    const variable = node.childForFieldName('variable')?.text;
    const values: string[] = [];
    let literal = true;
    const bodies: Node[] = [];
    for (const c of node.namedChildren) {
      if (c === null || c.type === 'variable_name') continue;
      if (WORDISH.has(c.type)) {
        const w = this.word(c);
        if (w.literal && !w.glob) values.push(...w.values);
        else literal = false;
      } else bodies.push(c);
    }
    // Walk the body once per literal value (bounded), so `for d in /etc; do rm -rf $d` is seen.
    const rounds = variable !== undefined && literal && values.length > 0 ? values.slice(0, 8) : [undefined];
    let last: SubOutput = {};
    for (const v of rounds) {
      if (variable !== undefined) {
        if (v === undefined) this.frame.vars.delete(variable);
        else this.frame.vars.set(variable, v);
      }
      for (const b of bodies) last = this.walk(b);
    }
    return last;
  }

  private simpleCommand(node: Node, stdin: SubOutput | undefined, piped: boolean, io: Io = newIo()): SubOutput {
    const env: Record<string, string> = {};
    const argv: Arg[] = [];
    let input = stdin;
    let hasName = false;
    const after: Node[] = [];
    for (const c of node.children) {
      if (c === null || !c.isNamed) continue;
      if (c.type === 'variable_assignment') {
        const m = new Map<string, string>();
        this.assign(c, m);
        for (const [k, v] of m) env[k] = v;
      } else if (c.type === 'command_name') {
        hasName = true;
        const inner = c.namedChildren[0] ?? c;
        pushWord(argv, this.word(inner));
      } else if (c.type === 'file_redirect' || c.type === 'herestring_redirect' || c.type === 'heredoc_redirect') {
        const res = this.redirect(c, io);
        if (res.stdin !== undefined) input = res.stdin;
        after.push(...res.after);
      } else if (c.type === 'comment') continue;
      else pushWord(argv, this.word(c));
    }
    if (!hasName) {
      for (const [k, v] of Object.entries(env)) this.frame.vars.set(k, v);
      return {};
    }
    const how: RunHow = { env, stdin: input, piped: piped || after.length > 0, text: node.text };
    const socket = io.socket ?? this.frame.socket;
    if (socket !== undefined) how.socket = socket;
    let output = this.afterRedirects(io, this.run(argv, how), node.text);
    // A bare `exec 3<>/dev/tcp/…` keeps the socket open for the commands that follow.
    if (argv.length === 1 && argv[0]?.value === 'exec') for (const [fd, host] of io.fds) this.frame.sockets.set(fd, host);
    for (const next of after) {
      output = next.type === 'pipeline' ? this.pipeline([null, ...next.children], output) : this.walk(next, output);
    }
    return output;
  }

  /** Runs one argv: obfuscation checks, aliases, functions, then the program rule. */
  run(argv: Arg[], how: RunHow): SubOutput {
    const first = argv[0];
    if (first === undefined) return {};
    if (this.out.commands.length >= MAX_COMMANDS) {
      this.out.failClosed(`more than ${MAX_COMMANDS} commands`);
      return {};
    }
    if (first.literal && first.glob) return this.globCommand(first, argv, how);
    let program = first;
    if (!first.literal) {
      const sub = first.subs.length === 1 ? first.subs[0] : undefined;
      const subs = mergeSubs(first.subs);
      if (subs.download) this.out.add('exec.remote_code', 'critical', `command name downloaded: ${clip(how.text)}`);
      if (subs.decoded) this.out.add('exec.obfuscated', 'critical', `command name decoded at run time: ${clip(how.text)}`);
      this.out.add('exec.obfuscated', 'high', `command name is not a literal (${clip(first.raw)}): ${clip(how.text)}`);
      if (sub?.text !== undefined && /^(\$\(|`)/.test(first.raw) && sub.text.trim() !== '') {
        program = { ...first, value: sub.text.trim().split(/\s+/)[0] ?? '', literal: true };
      } else {
        this.record(first.raw, argv);
        // Still look at the arguments: `$x -rf /` deletes whatever $x is.
        unknownProgram({ argv, name: first.raw, text: how.text, stdin: how.stdin, piped: how.piped, env: how.env }, this.site(how.remote));
        return {};
      }
    } else if (first.raw.includes('$') || first.raw.includes('`')) {
      this.out.add('exec.obfuscated', 'medium', `command name built from variables (${clip(first.raw)}): ${clip(how.text)}`);
    }
    if (how.remote === undefined) program = this.copied(program, how.text);
    const name = posix.basename(program.value);
    const alias = this.frame.aliases.get(name);
    if (alias !== undefined && !this.calling.has('alias:' + name)) {
      this.calling.add('alias:' + name);
      try {
        const rest = argv
          .slice(1)
          .map((a) => shellQuote(a.value))
          .join(' ');
        return this.source(alias + ' ' + rest, { ...this.frame, depth: this.frame.depth + 1 }, how.stdin);
      } finally {
        this.calling.delete('alias:' + name);
      }
    }
    const fn = this.frame.functions.get(name);
    if (fn !== undefined && !program.value.includes('/')) {
      if (this.calling.has(name)) return {};
      this.calling.add(name);
      try {
        return this.walk(fn, how.stdin);
      } finally {
        this.calling.delete(name);
      }
    }
    const full = program === first ? argv : [program, ...argv.slice(1)];
    this.record(name, full);
    const inv: Invocation = { argv: full, name, text: how.text, stdin: how.stdin, piped: how.piped, env: how.env };
    if (how.remote !== undefined) inv.remote = how.remote;
    if (how.socket !== undefined) inv.socket = how.socket;
    if (name === 'alias') return this.defineAlias(full);
    if (program.value.includes('/') && how.remote === undefined) {
      const script = this.out.scripts.get(this.resolve(program.value));
      if (script !== undefined) {
        // A file this command line wrote, run as a program: bash runs its text.
        this.out.add('exec.obfuscated', 'medium', `runs ${program.value}, a script written earlier: ${clip(how.text)}`);
        return this.site(how.remote).shell(script, { ...inv, stdin: undefined });
      }
    }
    const rule = ruleFor(name);
    return rule(inv, this.site(how.remote));
  }

  /** Records one command run, with its argv (bounded, so long wrapper chains stay linear). */
  private record(program: string, argv: Arg[]): void {
    const values = argv.length > MAX_RECORDED_ARGS ? [...argv.slice(0, MAX_RECORDED_ARGS).map((a) => a.value), `… ${argv.length - MAX_RECORDED_ARGS} more`] : argv.map((a) => a.value);
    this.out.commands.push({ program, argv: values });
  }

  private resolve(path: string): string {
    return resolvePath(path, { cwd: this.frame.cwdLost ? undefined : this.frame.cwd, home: this.home });
  }

  /**
   * A program run under a name this command line gave it (`cp /bin/sh /tmp/x; /tmp/x -c …`,
   * `ln -s /bin/rm d; ./d -rf /`) is analyzed as the program it copies. A file written
   * earlier and then run, with contents the analyzer cannot see, is at least high.
   */
  private copied(program: Arg, text: string): Arg {
    const value = program.value;
    let source: string | undefined;
    let path: string | undefined;
    if (value.includes('/')) {
      path = this.resolve(value);
      source = this.out.copies.get(path);
    } else {
      for (const [dest, src] of this.out.copies) {
        if (posix.basename(dest) === value && PATH_DIRS.has(posix.dirname(dest))) {
          path = dest;
          source = src;
        }
      }
    }
    if (source !== undefined) {
      this.out.add('exec.obfuscated', 'medium', `runs ${value}, a copy of ${source}: ${clip(text)}`);
      return { ...program, value: source };
    }
    if (path !== undefined && this.out.written.has(path) && !this.out.scripts.has(path) && !this.out.downloaded.has(path) && !this.out.traceDownloads.has(path)) {
      this.out.add('exec.obfuscated', 'high', `runs ${value}, a file written earlier in the command with contents not known: ${clip(text)}`);
    }
    return program;
  }

  /**
   * A command name with an unquoted glob (`/bin/r? -rf /`, `/???/r?`, `ba[s]h`): bash runs
   * whatever file the pattern matches. It is obfuscated in any case; each known program the
   * pattern can match is analyzed, so the worst of them counts.
   */
  private globCommand(first: Arg, argv: Arg[], how: RunHow): SubOutput {
    this.out.add('exec.obfuscated', 'high', `command name is a glob pattern (${clip(first.raw)}): ${clip(how.text)}`);
    const pattern = first.pattern ?? first.value;
    const cut = lastUnescapedSlash(pattern);
    const dir = first.value.slice(0, first.value.length - unescapeGlob(pattern.slice(cut + 1)).length);
    const candidates = globCandidates(pattern.slice(cut + 1));
    if (candidates.length === 0 || candidates.length > MAX_GLOB_CANDIDATES) {
      this.record(first.raw, argv);
      const unknown: Arg = { ...first, literal: false };
      unknownProgram({ argv: [unknown, ...argv.slice(1)], name: first.raw, text: how.text, stdin: how.stdin, piped: how.piped, env: how.env }, this.site(how.remote));
      return {};
    }
    const outs: SubOutput[] = [];
    for (const name of candidates) {
      const arg: Arg = { value: dir + name, literal: true, glob: false, raw: first.raw, subs: first.subs, unknownVars: first.unknownVars };
      outs.push(this.run([arg, ...argv.slice(1)], how));
    }
    const merged = mergeSubs(outs);
    if (outs.length === 1 && outs[0] !== undefined) return outs[0];
    return merged;
  }

  private defineAlias(argv: Arg[]): SubOutput {
    for (const a of argv.slice(1)) {
      const eq = a.value.indexOf('=');
      if (eq <= 0) continue;
      const name = a.value.slice(0, eq);
      const body = a.value.slice(eq + 1);
      this.frame.aliases.set(name, body);
      // An alias that puts something else behind a command people type (`alias sudo='…'`) is a trap.
      if (
        /^(sudo|su|doas|ssh|scp|ls|cd|cat|git|passwd|rm|cp|mv|curl|wget|docker|kubectl)$/.test(name) &&
        !body
          .trim()
          .split(/\s+/)
          .every((w, k) => (k === 0 ? w === name : /^-[\w=.-]+$/.test(w)))
      ) {
        this.out.add('exec.obfuscated', 'high', `alias ${name} runs something else: ${clip(a.value)}`);
        this.source(body, { ...this.frame, depth: this.frame.depth + 1 });
      }
    }
    return {};
  }

  private site(remote: string | undefined): Site {
    const frame = this.frame;
    const out = this.out;
    const ctx = () => ({ cwd: frame.cwdLost ? undefined : frame.cwd, home: this.home });
    return {
      home: this.home,
      get cwd() {
        return frame.cwdLost ? undefined : frame.cwd;
      },
      add: (category, risk, evidence) => out.add(category, risk, evidence),
      failClosed: (evidence) => out.failClosed(evidence),
      touch: (path, access) => {
        const resolved = remote === undefined ? resolvePath(path, ctx()) : `${remote}:${path}`;
        if (out.paths.length < 200 && !out.paths.some((p) => p.path === resolved && p.access === access)) out.paths.push({ path: resolved, access });
        if (access === 'write' && remote === undefined) out.written.add(resolved);
        return resolved;
      },
      zone: (arg): PathZone => {
        if (typeof arg !== 'string' && !arg.literal) return 'unknown';
        const value = typeof arg === 'string' ? arg : arg.value;
        if (frame.cwdLost && !value.startsWith('/')) return 'unknown';
        return pathZone(value, ctx());
      },
      host: (host) => {
        const cls = classifyHost(host);
        if (!out.hosts.some((h) => h.host === host)) out.hosts.push({ host, hostClass: cls });
        return cls;
      },
      shell: (source, inv) => {
        const child: Frame = { ...frame, vars: new Map(frame.vars), depth: frame.depth + 1, remote: inv.remote ?? frame.remote, socket: inv.socket ?? frame.socket };
        for (const [k, v] of Object.entries(inv.env)) child.vars.set(k, v);
        return this.source(source, child, inv.stdin);
      },
      run: (argv, inv, stdin) => {
        if (frame.depth > MAX_DEPTH) {
          out.failClosed(`nesting deeper than ${MAX_DEPTH} levels`);
          return {};
        }
        if (out.wrappers >= MAX_WRAPPERS) {
          out.failClosed(`more than ${MAX_WRAPPERS} wrappers around one command`);
          return {};
        }
        const how: RunHow = { env: inv.env, stdin: stdin ?? inv.stdin, piped: inv.piped, text: inv.text };
        // `find -exec sh`, `xargs bash`, `env sh -p`: another program hands over an interactive shell.
        if (
          how.stdin === undefined &&
          !/^(exec|command|builtin|sudo|doas|su|runuser|pkexec|run0|docker|podman|nerdctl|kubectl|oc|ssh|chroot|nsenter|unshare|script)$/.test(inv.name) &&
          isBareShell(argv)
        ) {
          out.add('exec.obfuscated', 'high', `${inv.name} starts an interactive shell: ${clip(inv.text)}`);
        }
        const r = inv.remote ?? remote;
        if (r !== undefined) how.remote = r;
        if (inv.socket !== undefined) how.socket = inv.socket;
        out.wrappers++;
        try {
          return this.run(argv, how);
        } finally {
          out.wrappers--;
        }
      },
      commandIn: (args) => {
        if (out.nested || out.probes >= MAX_PROBES) return [];
        // Only where the arguments plainly are a command line: a known program right after
        // `--` (`tool [options] -- cmd …`), or a shell given `-c` (`tool sh -c '…'`). A
        // subcommand that shares a program's name (`adb reboot`, `getent passwd`) is not one.
        const sep = args.findIndex((a) => a.literal && a.value === '--');
        const afterSep = sep >= 0 && args[sep + 1]?.literal === true && isKnownProgram(posix.basename(args[sep + 1]?.value ?? '')) ? sep + 1 : -1;
        const shellC = args.findIndex((a, k) => a.literal && /^(ba|da|z|k|mk|a|fi|tc|c|y)?sh$/.test(posix.basename(a.value)) && /^-[a-z]*c[a-z]*$/.test(args[k + 1]?.value ?? ''));
        const at = afterSep >= 0 && (shellC < 0 || afterSep < shellC) ? afterSep : shellC;
        if (at < 0 || at === args.length - 1) return [];
        const text = args
          .slice(at)
          .map((a) => a.raw)
          .join(' ');
        if (text.length > MAX_PROBE_TEXT) return [];
        out.probes++;
        const cwd = ctx().cwd;
        const inner = analyze(this.parser, text, { ...(cwd !== undefined ? { cwd } : {}), home: this.home, env: this.env }, true);
        return inner.findings.filter((f) => riskRank(f.risk) >= riskRank('high'));
      },
      markDownloaded: (path) => {
        out.downloaded.add(resolvePath(path, ctx()));
      },
      downloadedWhen: (path) => {
        const resolved = resolvePath(path, ctx());
        if (out.downloaded.has(resolved)) return 'earlier';
        return out.traceDownloads.has(resolved) ? 'by an earlier call of this trace' : undefined;
      },
      markCopy: (dest, source) => {
        if (remote !== undefined) return;
        const from = resolvePath(source, ctx());
        const to = resolvePath(dest, ctx());
        out.copies.set(to, out.copies.get(from) ?? from);
        // A downloaded file copied, moved or installed is still downloaded code under its new name.
        if (out.downloaded.has(from) || out.traceDownloads.has(from)) out.downloaded.add(to);
      },
      forget: (path) => {
        if (remote !== undefined) return;
        const resolved = resolvePath(path, ctx());
        out.copies.delete(resolved);
        out.scripts.delete(resolved);
      },
      markScript: (path, text) => {
        if (remote === undefined && text.length <= MAX_SOURCE) out.scripts.set(resolvePath(path, ctx()), text);
      },
      scriptText: (path) => (remote === undefined ? out.scripts.get(resolvePath(path, ctx())) : undefined),
      chdir: (arg) => {
        if (arg === undefined) {
          frame.cwd = this.home;
          frame.cwdLost = false;
        } else if (!arg.literal) frame.cwdLost = true;
        else if (arg.value === '-') frame.cwdLost = true;
        else {
          const next = resolvePath(arg.value, { cwd: frame.cwd, home: this.home });
          if (next.startsWith('/')) {
            frame.cwd = next;
            frame.cwdLost = false;
          } else if (frame.cwd === undefined) {
            // Still relative to an unknown project directory: stays in the workspace unless it climbs out.
            if (next === '..' || next.startsWith('../')) frame.cwdLost = true;
          }
        }
      },
    };
  }

  private word(node: Node): Word {
    const scope: WordScope = {
      home: this.home,
      cwd: this.frame.cwd,
      lookup: (name) => this.lookup(name),
      substitute: (n) => this.substitute(n),
      unknownNode: (n) => this.out.failClosed(`unsupported word part \`${n.type}\`: ${clip(n.text)}`),
    };
    return resolveWord(node, scope);
  }

  private lookup(name: string): string | undefined {
    const v = this.frame.vars.get(name);
    if (v !== undefined) return v;
    if (name === 'HOME') return this.home;
    if (name === 'PWD' && this.frame.cwd !== undefined && !this.frame.cwdLost) return this.frame.cwd;
    if (name === 'USER' || name === 'LOGNAME') return this.env[name] ?? posix.basename(this.home);
    return this.env[name];
  }

  /** Walks the commands of `$(…)`, `` `…` `` or `<(…)` and says what they output. */
  substitute(node: Node): SubOutput {
    const inner = node.namedChildren.filter((c): c is Node => c !== null);
    const saved = this.frame;
    this.frame = { ...saved, vars: new Map(saved.vars), depth: saved.depth + 1 };
    if (this.frame.depth > MAX_DEPTH) {
      this.frame = saved;
      this.out.failClosed(`nesting deeper than ${MAX_DEPTH} levels`);
      return {};
    }
    try {
      let last: SubOutput = {};
      for (const c of inner) last = this.walk(c);
      if (node.type === 'process_substitution' && node.text.startsWith('>(')) return {};
      return last;
    } finally {
      this.frame = saved;
    }
  }
}

function pushWord(argv: Arg[], w: Word): void {
  w.values.forEach((value, k) => {
    const arg: Arg = { value, literal: w.literal, glob: w.glob, raw: w.raw, subs: w.subs, unknownVars: w.unknownVars };
    const pattern = w.patterns?.[k];
    if (pattern !== undefined) arg.pattern = pattern;
    argv.push(arg);
  });
}

function lastUnescapedSlash(pattern: string): number {
  let last = -1;
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === '/') last = i;
  }
  return last;
}

function unescapeGlob(pattern: string): string {
  return pattern.replace(/\\(.)/g, '$1');
}

/** Combines the outputs of several substitutions. */
export function mergeSubs(subs: SubOutput[]): SubOutput {
  return mergeOut(...subs);
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function clip(text: string): string {
  // Only the head is shown, so only the head is normalized: evidence stays linear in a long chain.
  const head = text.length > 2_000 ? text.slice(0, 2_000) : text;
  const one = head.replace(/\s+/g, ' ').trim();
  return one.length > 120 || head !== text ? one.slice(0, 117) + '...' : one;
}

export { riskRank };

/**
 * Rewrites the valid bash that tree-sitter-bash cannot parse into an equivalent the analysis
 * reads the same way: a subshell or group directly before `then`/`do` gets the `;` the grammar
 * wants, and an extglob pattern (`!(keep)`, `@(a|b)`, `+(x)`) becomes the glob `*`, which
 * matches at least what it matches.
 *
 * @example repairBash('if (id) then ls; fi') // 'if (id); then ls; fi'
 */
function repairBash(text: string): string {
  return text.replace(/([)}])([ \t]*)(then|do)\b/g, '$1;$2$3').replace(/(^|[\s=/'"\w.,-])[?*+@!]\([^()\s]*\)/g, '$1*');
}
