/**
 * What each program does, in the canonical categories: one rule per program (or family),
 * reading its options the way the program does. Wrappers (`sudo`, `env`, `timeout`, `xargs`
 * …) hand their inner command back to the walker; shells, `eval`, `ssh host '…'` and
 * `find -exec` recurse. Risk levels come from risk-table.ts.
 */

import { posix } from 'node:path';
import type { Risk } from '../core/risk.js';
import { maxRisk } from '../core/risk.js';
import { parseUrl, type HostClass } from '../core/net.js';
import { compileGlob } from '../core/glob.js';
import { embeddedShell, scanCode, writtenPaths } from './inline-code.js';
import { isBlockDevice, isSecretPath, sensitiveWriteTarget } from './path-classes.js';
import { deleteRisk, writeRisk } from './risk-table.js';
import { analyzeSqlText } from './sql-analyzer.js';
import { lit, type Arg, type Invocation, type ProgramRule, type Site } from './shell-types.js';
import { decodeAnsiC, type SubOutput, type Word } from './shell-words.js';

// ---------------------------------------------------------------------------------------
// helpers

function clip(text: string): string {
  // Only the head is shown, so only the head is normalized: evidence stays linear in a long chain.
  const head = text.length > 2_000 ? text.slice(0, 2_000) : text;
  const one = head.replace(/\s+/g, ' ').trim();
  return one.length > 120 || head !== text ? one.slice(0, 117) + '...' : one;
}

function ev(inv: Invocation, what: string): string {
  return `${what}: ${clip(inv.text)}`;
}

interface Opts {
  flags: Map<string, Arg | true>;
  operands: Arg[];
  /** Index in argv (after argv[0]) where operands began when stopAtOperand is set. */
  rest: Arg[];
}

/**
 * Parses getopt-style options. `valued` lists short letters taking a value; `longValued`
 * long names (without `--`) taking one. With `stopAtOperand`, parsing ends at the first
 * operand and everything from there is `rest` (for wrappers).
 */
function opts(args: Arg[], valued = '', longValued: readonly string[] = [], stopAtOperand = false): Opts {
  const flags = new Map<string, Arg | true>();
  const operands: Arg[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Arg;
    const v = a.value;
    if (v === '--') {
      const rest = args.slice(i + 1);
      return { flags, operands: operands.concat(rest), rest };
    }
    if (v.startsWith('--') && v.length > 2) {
      const eq = v.indexOf('=');
      const name = eq > 0 ? v.slice(2, eq) : v.slice(2);
      if (eq > 0) flags.set(name, { ...a, value: v.slice(eq + 1) });
      else if (longValued.includes(name) && i + 1 < args.length) flags.set(name, args[++i] as Arg);
      else flags.set(name, true);
      continue;
    }
    if (v.startsWith('-') && v.length > 1 && !/^-\d+$/.test(v)) {
      for (let j = 1; j < v.length; j++) {
        const c = v[j] as string;
        if (valued.includes(c)) {
          const inline = v.slice(j + 1);
          if (inline !== '') flags.set(c, { ...a, value: inline });
          else if (i + 1 < args.length) flags.set(c, args[++i] as Arg);
          break;
        }
        flags.set(c, true);
      }
      continue;
    }
    if (stopAtOperand) {
      const rest = args.slice(i);
      return { flags, operands: rest, rest };
    }
    operands.push(a);
  }
  return { flags, operands, rest: [] };
}

function has(o: Opts, ...names: string[]): boolean {
  return names.some((n) => o.flags.has(n));
}

function val(o: Opts, ...names: string[]): Arg | undefined {
  for (const n of names) {
    const v = o.flags.get(n);
    if (v !== undefined && v !== true) return v;
  }
  return undefined;
}

function mergeOut(...outs: SubOutput[]): SubOutput {
  const r: SubOutput = {};
  for (const o of outs) {
    if (o.download) r.download = true;
    if (o.decoded) r.decoded = true;
    if (o.secret) r.secret = true;
  }
  return r;
}

function subsOf(args: Arg[]): SubOutput {
  return mergeOut(...args.flatMap((a) => a.subs));
}

const SECRET_VAR = /(SECRET|TOKEN|PASSW|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|ACCESS_KEY|SESSION|AUTH)/i;

// ---------------------------------------------------------------------------------------
// file effects

/** Classifies a write to `arg` (a redirect target or a program's output file). */
export function classifyWrite(arg: Arg, site: Site, text: string, truncate = false): void {
  if (!arg.literal) {
    site.add('fs.write', 'medium', `write to a computed path ${clip(arg.raw)}: ${clip(text)}`);
    return;
  }
  const path = site.touch(arg.value, 'write');
  site.forget(arg.value);
  if (path === '/dev/null' || path === '/dev/stdout' || path === '/dev/stderr' || path === '/dev/tty') return;
  if (isBlockDevice(path)) {
    site.add('disk.wipe', 'critical', `write to block device ${path}: ${clip(text)}`);
    return;
  }
  const sensitive = sensitiveWriteTarget(path, site.home);
  if (sensitive !== undefined) {
    if (sensitive.privilege) site.add('priv.escalate', 'critical', `write to ${sensitive.what} ${path}: ${clip(text)}`);
    site.add('fs.write_sensitive', sensitive.critical || sensitive.privilege ? 'critical' : 'high', `write to ${sensitive.what} ${path}: ${clip(text)}`);
    return;
  }
  const zone = site.zone(arg);
  let risk = writeRisk(zone);
  if (truncate && (zone === 'system' || zone === 'home')) risk = maxRisk(risk, 'high');
  site.add('fs.write', risk, `write to ${path}: ${clip(text)}`);
}

/** A `< file` redirect: a read, and the output is secret when the file is. */
export function readRedirect(word: Word, site: Site, text: string): SubOutput {
  const value = word.values[0] ?? '';
  if (!word.literal) return {};
  const path = site.touch(value, 'read');
  if (isBlockDevice(path)) site.add('secret.read', 'high', `raw read of block device ${path}: ${clip(text)}`);
  if (isSecretPath(path)) {
    site.add('secret.read', 'high', `reads secret file ${path}: ${clip(text)}`);
    return { secret: true };
  }
  return {};
}

/** Reads files given as operands; secret files make the output secret. */
function readFiles(files: Arg[], inv: Invocation, site: Site, risk: Risk = 'high'): SubOutput {
  let secret = false;
  for (const f of files) {
    if (!f.literal) continue;
    const path = site.touch(f.value, 'read');
    if (isSecretPath(path) || isSecretPath(f.value)) {
      secret = true;
      site.add('secret.read', risk, ev(inv, `reads secret file ${path}`));
    } else if (isBlockDevice(path)) {
      secret = true;
      site.add('secret.read', 'high', ev(inv, `raw read of block device ${path}`));
    }
  }
  return secret ? { secret: true } : {};
}

function deleteTargets(targets: Arg[], recursive: boolean, inv: Invocation, site: Site, how: string): void {
  for (const t of targets) {
    const zone = site.zone(t);
    const allGlob = t.glob && /(^|\/)\*$/.test(t.value);
    const risk = deleteRisk(zone, recursive || allGlob);
    const path = t.literal ? site.touch(t.value, 'delete') : t.raw;
    site.add('fs.delete', risk, ev(inv, `${how} ${path} (${zone})`));
    if (t.literal && /(^|\/)\.git\/?$/.test(t.value)) site.add('vcs.destructive', 'high', ev(inv, 'deletes a git repository'));
    if (t.literal && isBlockDevice(path)) site.add('disk.wipe', 'critical', ev(inv, `deletes device ${path}`));
  }
}

// ---------------------------------------------------------------------------------------
// code fed to shells and interpreters

const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'mksh', 'ash', 'fish', 'tcsh', 'csh', 'rbash', 'yash', 'elvish', 'nu', 'xonsh']);

/** A shell or interpreter running what arrives on stdin. */
function stdinCode(inv: Invocation, site: Site, kind: 'shell' | 'interpreter'): SubOutput {
  if (inv.socket !== undefined) site.add('exec.remote_code', 'critical', ev(inv, `reverse shell: a ${kind} wired to a raw socket to ${inv.socket}`));
  const input = inv.stdin;
  const fed: SubOutput = kind === 'shell' ? { shell: true } : {};
  if (input === undefined) return fed;
  if (input.download) site.add('exec.remote_code', 'critical', ev(inv, 'runs code downloaded from the network'));
  if (input.decoded) site.add('exec.obfuscated', 'critical', ev(inv, 'runs decoded code'));
  if (input.text !== undefined) {
    if (!input.decoded && kind === 'shell') site.add('exec.obfuscated', 'medium', ev(inv, 'command text piped into a shell'));
    if (kind === 'shell') return site.shell(input.text, { ...inv, stdin: undefined });
    inlineCode(input.text, inv, site);
    return {};
  }
  if (!input.download && !input.decoded) site.add('exec.interpreter', 'medium', ev(inv, `${kind} reads its program from stdin`));
  return fed;
}

/** A network client whose input is a shell's output: the shell's commands come from the peer. */
function shellToSocket(inv: Invocation, site: Site, peer: string): void {
  if (inv.stdin?.shell === true) site.add('exec.remote_code', 'critical', ev(inv, `reverse shell: a shell's output sent to ${peer}`));
}

/**
 * An argv that starts an interactive shell (`sh`, `bash -p`, `/bin/sh -i`: no `-c`, no script):
 * run by another program (`find -exec`, `xargs`, `env`), it escapes whatever that program was
 * allowed to do.
 */
export function isBareShell(argv: readonly Arg[]): boolean {
  const first = argv[0];
  if (first === undefined || !first.literal || !SHELLS.has(posix.basename(first.value))) return false;
  return argv.slice(1).every((a) => a.literal && /^[-+][a-bd-zA-Z]+$/.test(a.value));
}

/** Inline code given to an interpreter. */
function inlineCode(code: string, inv: Invocation, site: Site, arg?: Arg): void {
  if (arg !== undefined && !arg.literal) {
    const s = subsOf([arg]);
    if (s.download) site.add('exec.remote_code', 'critical', ev(inv, 'runs downloaded code'));
    if (s.decoded) site.add('exec.obfuscated', 'critical', ev(inv, 'runs decoded code'));
  }
  let risk: Risk = 'medium';
  for (const f of scanCode(code)) {
    site.add(f.category, f.risk, ev(inv, `inline code ${f.what}`));
    if (f.category === 'exec.interpreter') risk = 'high';
  }
  site.add('exec.interpreter', risk, ev(inv, 'inline interpreter code'));
  codeWrites(code, inv, site);
  for (const cmd of embeddedShell(code)) site.shell(cmd, { ...inv, stdin: undefined });
}

/** Files inline code writes, classified like any write (`authorized_keys` critical, cron high). */
function codeWrites(code: string, inv: Invocation, site: Site): void {
  for (const p of writtenPaths(code)) classifyWrite(lit(p), site, inv.text);
}

/** A shell script named as a program argument: process substitutions and downloads matter. */
function scriptOperand(script: Arg, inv: Invocation, site: Site, kind: 'shell' | 'interpreter'): SubOutput {
  const s = subsOf([script]);
  if (s.download) site.add('exec.remote_code', 'critical', ev(inv, 'runs a downloaded script'));
  if (s.decoded) site.add('exec.obfuscated', 'critical', ev(inv, 'runs a decoded script'));
  if (script.value === '/dev/stdin' || script.value === '-') return stdinCode(inv, site, kind);
  if (!script.literal) {
    const text = script.subs.length === 1 ? script.subs[0]?.text : undefined;
    if (text !== undefined && kind === 'shell') return site.shell(text, { ...inv, stdin: undefined });
    if (!s.download && !s.decoded) site.add('exec.obfuscated', 'high', ev(inv, `runs a computed script ${clip(script.raw)}`));
    return {};
  }
  if (site.wasDownloaded(script.value)) site.add('exec.remote_code', 'critical', ev(inv, `runs ${script.value}, downloaded earlier`));
  if (/^https?:\/\//.test(script.value)) site.add('exec.remote_code', 'critical', ev(inv, 'runs a script from a URL'));
  const text = site.scriptText(script.value);
  if (text === undefined && kind === 'shell' && !site.wasDownloaded(script.value)) {
    // A script in a world-writable directory whose text is not known here: often a download from an earlier call.
    const where = site.touch(script.value, 'read');
    if (/^\/dev\/shm\//.test(where)) site.add('exec.obfuscated', 'high', ev(inv, `runs ${where} from shared memory`));
    else if (/^\/(tmp|var\/tmp)\//.test(where)) site.add('exec.obfuscated', 'medium', ev(inv, `runs ${where} from a world-writable directory`));
  }
  if (text !== undefined) {
    if (kind === 'shell') return site.shell(text, { ...inv, stdin: undefined });
    inlineCode(text, inv, site);
  }
  return {};
}

const shellRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  let command: Arg | undefined;
  let readStdin = false;
  let i = 0;
  for (; i < args.length; i++) {
    const v = (args[i] as Arg).value;
    if (v === '--' || v === '-') {
      i++;
      break;
    }
    if (/^[-+]o$/.test(v) || v === '--rcfile' || v === '--init-file') {
      i++;
      continue;
    }
    if (v.startsWith('-') || v.startsWith('+')) {
      if (!v.startsWith('--') && v.includes('c')) command = args[++i];
      if (!v.startsWith('--') && v.includes('s')) readStdin = true;
      if (command !== undefined) break;
      continue;
    }
    break;
  }
  if (command !== undefined) {
    if (command.literal) return site.shell(command.value, inv);
    const s = subsOf([command]);
    if (s.download) site.add('exec.remote_code', 'critical', ev(inv, 'runs downloaded commands'));
    if (s.decoded) site.add('exec.obfuscated', 'critical', ev(inv, 'runs decoded commands'));
    const text = command.subs.length === 1 ? command.subs[0]?.text : undefined;
    if (text !== undefined) return site.shell(text, inv);
    if (!s.download && !s.decoded) site.add('exec.obfuscated', 'high', ev(inv, `shell runs a computed command ${clip(command.raw)}`));
    return {};
  }
  const script = readStdin ? undefined : args[i];
  if (script === undefined) return stdinCode(inv, site, 'shell');
  // `sh -i 0</dev/tcp/…`: tree-sitter can read the fd as an argument; a shell on a socket is a reverse shell.
  if (inv.socket !== undefined && (/^\d+$/.test(script.value) || args.some((a) => /^-[a-zA-Z]*i/.test(a.value)))) {
    site.add('exec.remote_code', 'critical', ev(inv, `reverse shell: a shell wired to a raw socket to ${inv.socket}`));
  }
  return scriptOperand(script, inv, site, 'shell');
};

/** Eval inside eval beyond this is cut off (the walker nests no deeper either). */
const MAX_EVAL_CHAIN = 8;

const evalRule: ProgramRule = (inv, site) => {
  let args = inv.argv.slice(1);
  // `eval eval … eval cmd`: each level re-parses the words joined by spaces. When the
  // remaining words hold nothing bash would re-interpret, that is the identity, so the chain
  // is read in one parse instead of one per level (which made long chains quadratic).
  let chain = 0;
  while (args[0] !== undefined && args[0].literal && args[0].value === 'eval') {
    args = args.slice(1);
    chain++;
  }
  if (chain > 0) {
    const plain = args.every((a) => a.literal && /^[A-Za-z0-9_@%+=:,./-]+$/.test(a.value));
    if (!plain && chain >= MAX_EVAL_CHAIN) {
      site.failClosed(ev(inv, `eval nested ${chain + 1} levels deep`));
      return {};
    }
    if (!plain) args = inv.argv.slice(1);
  }
  if (args.every((a) => a.literal)) {
    site.add('exec.obfuscated', 'medium', ev(inv, 'eval'));
    return site.shell(args.map((a) => a.value).join(' '), inv);
  }
  const s = subsOf(args);
  if (s.download) site.add('exec.remote_code', 'critical', ev(inv, 'evaluates downloaded commands'));
  if (s.decoded) site.add('exec.obfuscated', 'critical', ev(inv, 'evaluates decoded commands'));
  const texts = args.map((a) => (a.literal ? a.value : a.subs.length === 1 ? a.subs[0]?.text : undefined));
  if (texts.every((t) => t !== undefined)) return site.shell(texts.join(' '), inv);
  site.add('exec.obfuscated', 'high', ev(inv, 'eval of a computed string'));
  return {};
};

const sourceRule: ProgramRule = (inv, site) => {
  const script = inv.argv[1];
  if (script === undefined) return {};
  return scriptOperand(script, inv, site, 'shell');
};

interface InterpreterSpec {
  /** Options whose value is inline code. */
  code: readonly string[];
  /** Options that take a (non-code) value. */
  valued: readonly string[];
}

const INTERPRETERS: Record<string, InterpreterSpec> = {
  python: { code: ['-c'], valued: ['-m', '-W', '-X', '-Q'] },
  node: { code: ['-e', '--eval', '-p', '--print'], valued: ['-r', '--require', '--import', '--input-type', '--loader', '-C', '--conditions'] },
  perl: { code: ['-e', '-E'], valued: ['-I', '-M', '-m', '-x'] },
  ruby: { code: ['-e'], valued: ['-I', '-r', '-C', '-E'] },
  php: { code: ['-r', '-B', '-R', '-E'], valued: ['-d', '-c', '-z', '-S', '-t'] },
  lua: { code: ['-e'], valued: ['-l'] },
  rscript: { code: ['-e'], valued: [] },
  osascript: { code: ['-e'], valued: ['-l'] },
  pwsh: { code: ['-c', '-command', '-Command', '-C'], valued: ['-File', '-f', '-ExecutionPolicy'] },
  bun: { code: ['-e', '--eval', '-p', '--print'], valued: [] },
  deno: { code: [], valued: [] },
  tclsh: { code: [], valued: [] },
  julia: { code: ['-e', '-E'], valued: [] },
};

function interpreterFamily(name: string): string | undefined {
  if (/^python[0-9.]*$|^pypy[0-9.]*$/.test(name)) return 'python';
  if (name === 'node' || name === 'nodejs') return 'node';
  if (/^perl[0-9.]*$/.test(name)) return 'perl';
  if (/^ruby[0-9.]*$/.test(name)) return 'ruby';
  if (/^php[0-9.]*$/.test(name)) return 'php';
  if (/^lua(jit|[0-9.]*)$/.test(name)) return 'lua';
  if (name === 'Rscript') return 'rscript';
  if (name === 'powershell' || name === 'pwsh' || name === 'powershell.exe') return 'pwsh';
  if (['osascript', 'bun', 'deno', 'tclsh', 'julia'].includes(name)) return name;
  return undefined;
}

const interpreterRule: ProgramRule = (inv, site) => {
  const family = interpreterFamily(inv.name) ?? 'python';
  const spec = INTERPRETERS[family] as InterpreterSpec;
  const args = inv.argv.slice(1);
  if (family === 'deno' || (family === 'bun' && ['run', 'x', 'eval'].includes(args[0]?.value ?? ''))) {
    const sub = args[0]?.value;
    if (sub === 'eval') {
      const code = args[1];
      if (code !== undefined) inlineCode(code.value, inv, site, code);
      return {};
    }
    const target = args.find((a, k) => k > 0 && !a.value.startsWith('-'));
    if (target !== undefined && /^(https?|npm|jsr):/.test(target.value)) {
      site.add(/^https?:/.test(target.value) ? 'exec.remote_code' : 'pkg.install', /^https?:/.test(target.value) ? 'critical' : 'medium', ev(inv, `runs remote module ${target.value}`));
      const u = parseUrl(target.value);
      if (u !== undefined) site.host(u.host);
    }
    if (sub === 'x') site.add('pkg.install', 'medium', ev(inv, 'runs a package from the registry'));
    return {};
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Arg;
    const v = a.value;
    if (v === '--') break;
    if (family === 'pwsh' && /^-(e|ec|enc|encodedcommand)$/i.test(v)) {
      site.add('exec.obfuscated', 'critical', ev(inv, 'runs a base64-encoded PowerShell command'));
      return {};
    }
    const eq = v.indexOf('=');
    const key = v.startsWith('--') && eq > 0 ? v.slice(0, eq) : v;
    if (spec.code.includes(key) || (family === 'perl' && /^-[a-zA-Z]*[eE]$/.test(v)) || (family === 'ruby' && /^-[a-zA-Z]+e$/.test(v)) || (family === 'python' && /^-[a-zA-Z]*c$/.test(v))) {
      const code = key !== v ? { ...a, value: v.slice(eq + 1) } : args[i + 1];
      if (code !== undefined) inlineCode(code.value, inv, site, code);
      return {};
    }
    if (family === 'python' && v === '-m') {
      const mod = args[i + 1]?.value ?? '';
      const rest = args.slice(i + 2);
      if (mod === 'http.server' || mod === 'SimpleHTTPServer' || mod === 'pyftpdlib' || mod === 'uploadserver' || mod === 'smtpd') {
        const bind = rest.findIndex((r) => r.value === '--bind' || r.value === '-b');
        const local = bind >= 0 && /^(127\.|localhost$|::1$)/.test(rest[bind + 1]?.value ?? '');
        site.add('net.listen', local ? 'medium' : 'high', ev(inv, local ? 'serves files over HTTP on loopback' : 'serves the directory to the network'));
      } else if (mod === 'pip') return pkgRule({ ...inv, name: 'pip', argv: [lit('pip'), ...rest] }, site);
      else if (mod === 'base64' && rest.some((r) => r.value === '-d')) return { decoded: true };
      return {};
    }
    if (family === 'php' && v === '-S') {
      const local = /^(127\.|localhost(:|$)|\[::1\])/.test(args[i + 1]?.value ?? '');
      site.add('net.listen', local ? 'medium' : 'high', ev(inv, local ? 'serves files over HTTP on loopback' : 'serves the directory to the network'));
    }
    if (family === 'ruby' && (v === '-run' || (v === '-r' && args[i + 1]?.value === 'un')) && args.some((x) => x.value === 'httpd')) {
      site.add('net.listen', 'high', ev(inv, 'serves the directory to the network'));
      return {};
    }
    if (spec.valued.includes(key) && key === v) {
      i++;
      continue;
    }
    if (v.startsWith('-') && v !== '-') continue;
    return scriptOperand(a, inv, site, 'interpreter');
  }
  return stdinCode(inv, site, 'interpreter');
};

const awkRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'fvFi', ['include', 'file'], true);
  if (/^inplace$/.test(val(o, 'i', 'include')?.value ?? '')) for (const f of o.operands.slice(has(o, 'f') ? 0 : 1)) classifyWrite(f, site, inv.text);
  if (has(o, 'f')) return readFiles(o.operands, inv, site);
  const program = o.operands[0];
  if (program === undefined) return {};
  const findings = scanCode(program.value);
  const shells = embeddedShell(program.value);
  // `cmd | getline`, `print | cmd`, `print |& cmd` with the command in a variable: awk runs it.
  const bare = program.value
    .replace(/"(?:\\.|[^"\\])*"/g, '""')
    .replace(/(^|[~(,!{;&|]\s*)\/(?:\\.|\[[^\]]*\]|[^/\\\n])*\//g, '$1//')
    .replace(/\|\|/g, '');
  const piped = /\|&|\|\s*[A-Za-z_]\w*|[A-Za-z_]\w*\s*\|\s*getline/.test(bare);
  if (/\bsystem\s*\(|\|\s*getline|\|\s*"/.test(program.value) || piped || findings.some((f) => f.category === 'exec.interpreter')) {
    site.add('exec.interpreter', 'high', ev(inv, 'awk program runs commands'));
  }
  if (piped) for (const m of [...program.value.matchAll(/"((?:\\.|[^"\\])*\s(?:\\.|[^"\\])*)"/g)].slice(0, 8)) site.shell(m[1] ?? '', { ...inv, stdin: undefined });
  const fromFiles = [...program.value.matchAll(/getline\s*(?:[A-Za-z_]\w*\s*)?<\s*"([^"]+)"/g)].map((m) => lit(m[1] ?? ''));
  const fileOut = fromFiles.length > 0 ? readFiles(fromFiles, inv, site) : {};
  for (const f of findings) if (f.category !== 'exec.interpreter') site.add(f.category, f.risk, ev(inv, `awk program ${f.what}`));
  codeWrites(program.value, inv, site);
  for (const cmd of shells) site.shell(cmd, { ...inv, stdin: undefined });
  return mergeOut(readFiles(o.operands.slice(1), inv, site), fileOut, inv.stdin ?? {});
};

// ---------------------------------------------------------------------------------------
// wrappers

function wrapper(valued: string, longValued: readonly string[] = [], skipOperands = 0): ProgramRule {
  return (inv, site) => {
    const o = opts(inv.argv.slice(1), valued, longValued, true);
    const rest = o.rest.slice(skipOperands);
    if (rest.length === 0) return {};
    return site.run(rest, inv);
  };
}

const sudoRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'ugCDhpPrtTU', ['user', 'group', 'chdir', 'host', 'prompt', 'role', 'type', 'close-from', 'other-user', 'command-timeout'], true);
  const user = val(o, 'u', 'user')?.value;
  const asWho = user === undefined || user === 'root' || user === '0' || user === '#0' ? 'root' : user;
  if (inv.name === 'sudoedit' || has(o, 'e', 'edit')) {
    site.add('priv.escalate', 'high', ev(inv, 'edits files as root'));
    for (const f of o.rest) classifyWrite(f, site, inv.text);
    return {};
  }
  if (has(o, 'l', 'list', 'v', 'validate', 'k', 'K', 'V', 'version', 'reset-timestamp', 'remove-timestamp', 'h', 'help') && o.rest.length === 0) return {};
  if (o.rest.length === 0 && (has(o, 's', 'shell', 'i', 'login') || inv.name === 'su')) {
    site.add('priv.escalate', 'critical', ev(inv, `interactive shell as ${asWho}`));
    return {};
  }
  site.add('priv.escalate', 'high', ev(inv, `runs as ${asWho}`));
  if (o.rest.length === 0) return {};
  const inner = o.rest[0]?.value ?? '';
  if (SHELLS.has(posix.basename(inner)) && o.rest.length === 1) site.add('priv.escalate', 'critical', ev(inv, `root shell`));
  if (inner === 'su' && o.rest.length <= 2) site.add('priv.escalate', 'critical', ev(inv, 'root shell'));
  return site.run(o.rest, inv);
};

const suRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'cgGsw', ['command', 'group', 'shell', 'whitelist-environment', 'session-command']);
  const cmd = val(o, 'c', 'command', 'session-command');
  const user = o.operands.find((a) => a.value !== '-')?.value ?? 'root';
  if (cmd === undefined) {
    site.add('priv.escalate', 'critical', ev(inv, `interactive shell as ${user}`));
    return {};
  }
  site.add('priv.escalate', 'high', ev(inv, `runs as ${user}`));
  if (!cmd.literal) {
    site.add('exec.obfuscated', 'high', ev(inv, 'computed command'));
    return {};
  }
  return site.shell(cmd.value, inv);
};

/** Variables whose value another program runs as a command line (pagers, editors, ssh for git). */
const COMMAND_VARS =
  /^(PAGER|MANPAGER|GIT_PAGER|SYSTEMD_PAGER|PSQL_PAGER|BAT_PAGER|LESSOPEN|LESSCLOSE|EDITOR|VISUAL|GIT_EDITOR|GIT_SEQUENCE_EDITOR|SUDO_EDITOR|FCEDIT|GIT_SSH_COMMAND|GIT_SSH|GIT_PROXY_COMMAND|GIT_ASKPASS|SSH_ASKPASS|SUDO_ASKPASS|BROWSER|TERMINAL)$/;
/**
 * A command value that hides more than a program with arguments: shell syntax, a `!` escape,
 * or a shell, interpreter or network tool as the program (`sh -c …`, `python -c …`, `nc …`).
 * Anything else (`less -R`, `code --wait`, `sed -i -e 's/pick/squash/'`) is still analyzed.
 */
function hidesCommands(value: string): boolean {
  if (/^\s*!|[;|&$`<>()\n]/.test(value)) return true;
  const first = posix.basename(value.trim().split(/\s+/)[0] ?? '');
  return SHELLS.has(first) || interpreterFamily(first) !== undefined || /^(nc|ncat|netcat|socat|telnet|curl|wget|busybox|env|xargs|eval|exec|awk|gawk|openssl)$/.test(first);
}
/** Variables that make an interpreter or the loader run extra code. */
const CODE_VARS = /^(PERL5OPT|RUBYOPT|NODE_OPTIONS|LUA_INIT(_5_\d)?|LD_AUDIT|DYLD_INSERT_LIBRARIES|GCONV_PATH|PYTHONSTARTUP|PYTHONWARNINGS|GIT_CONFIG_PARAMETERS|GIT_EXEC_PATH|GIT_TEMPLATE_DIR)$/;

/**
 * Environment variables that make another program run something (`PAGER='sh -c …' git -p`,
 * `PERL5OPT='-Mstrict;system(…)'`, `NODE_OPTIONS=--require /tmp/x.js`): the findings, and the
 * command lines to analyze as shell.
 */
export function envHooks(name: string, value: string): { risk: Risk; evidence: string; command?: string }[] {
  if (COMMAND_VARS.test(name)) {
    const v = value.replace(/^!/, '');
    return [{ risk: hidesCommands(value) ? 'high' : 'low', evidence: `${name} is a command another program runs: ${clip(value)}`, command: v }];
  }
  if (!CODE_VARS.test(name)) return [];
  let risky: boolean;
  if (name === 'NODE_OPTIONS') risky = /(^|\s)(-r|--require|--import|--loader|--experimental-loader|-e|--eval|-p|--print)(\s|=|$)/.test(value);
  else if (name === 'PERL5OPT' || name === 'RUBYOPT')
    risky =
      value.length > 1024 ||
      /[;()`$"'{}]|(^|\s)-[eEx]|-[MmIr]\s*\S*\//.test(value) ||
      !value
        .split(/\s+/)
        .filter((t) => t !== '')
        .every((t) => /^-[wWTtUdCc]+$|^-M-?[A-Za-z][\w:]*(=[\w,]+)?$|^-r[a-z][\w/]*$/.test(t));
  else if (name === 'PYTHONWARNINGS') risky = /[:=].*[A-Za-z_]+\.[A-Za-z_]/.test(value) && /\b(os|subprocess|antigravity)\b/.test(value);
  else risky = true;
  return risky ? [{ risk: 'high', evidence: `${name} makes the program load code: ${clip(value)}` }] : [];
}

const envRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  const env = { ...inv.env };
  let i = 0;
  for (; i < args.length; i++) {
    const v = (args[i] as Arg).value;
    if (v === '--') {
      i++;
      break;
    }
    if (v === '-S' || v === '--split-string' || v.startsWith('-S') || v.startsWith('--split-string=')) {
      const s = v === '-S' || v === '--split-string' ? (args[++i]?.value ?? '') : v.replace(/^-S|^--split-string=/, '');
      const rest = args
        .slice(i + 1)
        .map((a) => a.value)
        .join(' ');
      return site.shell(s + (rest === '' ? '' : ' ' + rest), { ...inv, env });
    }
    if (v === '-u' || v === '--unset' || v === '-C' || v === '--chdir' || v === '-P') {
      if (v === '-C' || v === '--chdir') site.chdir(args[i + 1]);
      i++;
      continue;
    }
    if (v.startsWith('-')) continue;
    const eq = v.indexOf('=');
    if (eq > 0) {
      env[v.slice(0, eq)] = v.slice(eq + 1);
      for (const h of envHooks(v.slice(0, eq), v.slice(eq + 1))) {
        if (h.risk !== 'low') site.add('exec.obfuscated', h.risk, ev(inv, h.evidence));
        if (h.command !== undefined && h.command.trim() !== '') site.shell(h.command, { ...inv, stdin: undefined });
      }
      continue;
    }
    break;
  }
  const rest = args.slice(i);
  if (rest.length === 0) {
    site.add('secret.read', inv.piped ? 'high' : 'medium', ev(inv, 'dumps the environment'));
    return { secret: true };
  }
  for (const k of Object.keys(env)) {
    if (k === 'LD_PRELOAD' || k === 'BASH_ENV' || k === 'ENV' || k === 'PROMPT_COMMAND') site.add('exec.obfuscated', 'high', ev(inv, `sets ${k}`));
  }
  return site.run(rest, { ...inv, env });
};

const printenvRule: ProgramRule = (inv, site) => {
  const names = inv.argv.slice(1).filter((a) => !a.value.startsWith('-'));
  if (names.length === 0) {
    site.add('secret.read', inv.piped ? 'high' : 'medium', ev(inv, 'dumps the environment'));
    return { secret: true };
  }
  if (names.some((n) => SECRET_VAR.test(n.value))) {
    site.add('secret.read', 'medium', ev(inv, 'prints a secret variable'));
    return { secret: true };
  }
  return {};
};

const xargsRule: ProgramRule = (inv, site) => {
  // `-0` is xargs's --null, not a count like `head -20`: read as an operand it became the program.
  const args = inv.argv.slice(1).map((a) => (a.value === '-0' ? { ...a, value: '--null' } : a));
  const o = opts(args, 'IiEeLlnPsda', ['replace', 'eof', 'max-lines', 'max-args', 'max-procs', 'max-chars', 'delimiter', 'arg-file', 'process-slot-var'], true);
  const from = inv.stdin?.pathsUnder;
  const input: Arg = from !== undefined ? { ...lit(from), glob: from.endsWith('*') } : { value: '<stdin>', literal: false, glob: false, raw: '<stdin>', subs: [], unknownVars: [] };
  const inner = o.rest.length === 0 ? [lit('echo')] : o.rest;
  const repl = val(o, 'I', 'i', 'replace')?.value ?? (has(o, 'i', 'replace') ? '{}' : undefined);
  const argv = repl !== undefined ? inner.map((a) => (a.value.includes(repl) ? { ...input, value: a.value.split(repl).join(input.value) } : a)) : [...inner, input];
  return site.run(argv, { ...inv, stdin: undefined });
};

const watchRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'nqs', ['interval', 'differences', 'equexit'], true);
  if (o.rest.length === 0) return {};
  if (has(o, 'x', 'exec')) return site.run(o.rest, inv);
  return site.shell(o.rest.map((a) => a.value).join(' '), inv);
};

const timeoutRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'sk', ['signal', 'kill-after'], true);
  return o.rest.length > 1 ? site.run(o.rest.slice(1), inv) : {};
};

const findRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  const roots: Arg[] = [];
  let i = 0;
  while (i < args.length && /^-[HLP]$|^-D$|^-O\d$/.test((args[i] as Arg).value)) i += (args[i] as Arg).value === '-D' ? 2 : 1;
  for (; i < args.length; i++) {
    const v = (args[i] as Arg).value;
    if (v.startsWith('-') || v === '(' || v === '!' || v === ')') break;
    roots.push(args[i] as Arg);
  }
  if (roots.length === 0) roots.push(lit('.'));
  // With a real filter (-name, -mtime …) find selects some files, not the whole tree.
  const filtered = args.slice(i).some((a) => /^-(i?name|i?path|i?wholename|i?regex|mtime|mmin|atime|amin|ctime|cmin|newer|size|empty|user|group|perm|links|inum|samefile)$/.test(a.value));
  const found = (r: Arg): Arg => ({ ...r, value: r.value.replace(/\/$/, '') + (filtered ? '/<found>' : '/*'), glob: !filtered });
  // `find / -name id_rsa`, `find ~ -name '*.kdbx' -exec cp {} …`: a hunt for secret files.
  const huntsSecrets = args.some((a, k) => /^-(i?name|i?path|i?wholename|i?regex)$/.test(args[k - 1]?.value ?? '') && SECRET_NAME.test(a.value));
  let secret = false;
  if (huntsSecrets) {
    const wide = roots.some((r) => ['system', 'home', 'outside', 'unknown'].includes(site.zone(r)));
    site.add('secret.read', wide ? 'high' : 'medium', ev(inv, `looks for secret files ${wide ? 'across the system' : 'in the workspace'}`));
    secret = wide;
  }
  for (; i < args.length; i++) {
    const v = (args[i] as Arg).value;
    if (v === '-delete') deleteTargets(roots.map(found), true, inv, site, 'find -delete under');
    else if (v === '-exec' || v === '-execdir' || v === '-ok' || v === '-okdir') {
      const inner: Arg[] = [];
      for (i++; i < args.length; i++) {
        const w = args[i] as Arg;
        if (w.value === ';' || w.value === '+') break;
        inner.push(w);
      }
      const root = roots[0] as Arg;
      const expanded = inner.map((a) => (a.value.includes('{}') ? { ...found(root), value: a.value.split('{}').join(found(root).value) } : a));
      site.run(expanded, { ...inv, stdin: undefined });
    } else if (v === '-fprint' || v === '-fprint0' || v === '-fprintf' || v === '-fls') {
      const f = args[++i];
      if (f !== undefined) classifyWrite(f, site, inv.text);
    }
  }
  const first = roots[0] as Arg;
  const out: SubOutput = first.literal ? { pathsUnder: found(first).value } : {};
  return secret ? { ...out, secret: true } : out;
};

// ---------------------------------------------------------------------------------------
// deletion, disks, permissions

const rmRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1));
  const recursive = has(o, 'r', 'R', 'recursive');
  if (has(o, 'no-preserve-root')) site.add('fs.delete', 'critical', ev(inv, 'rm --no-preserve-root'));
  const how = recursive ? (has(o, 'f', 'force') ? 'recursive forced delete of' : 'recursive delete of') : 'delete of';
  deleteTargets(o.operands, recursive, inv, site, how);
  return {};
};

const rmdirRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1));
  for (const t of o.operands) {
    const zone = site.zone(t);
    site.add('fs.delete', zone === 'workspace' || zone === 'temp' ? 'low' : 'medium', ev(inv, `removes empty directory ${t.value}`));
  }
  return {};
};

const shredRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'nsx', ['iterations', 'size', 'random-source']);
  for (const t of o.operands) {
    const path = t.literal ? site.touch(t.value, 'delete') : t.raw;
    if (t.literal && isBlockDevice(path)) site.add('disk.wipe', 'critical', ev(inv, `shreds device ${path}`));
    else site.add('fs.delete', maxRisk('high', deleteRisk(site.zone(t), false)), ev(inv, `shreds ${path}`));
  }
  return {};
};

const ddRule: ProgramRule = (inv, site) => {
  let out: SubOutput = inv.stdin ?? {};
  let input: Arg | undefined;
  let output: Arg | undefined;
  for (const a of inv.argv.slice(1)) {
    const m = /^(if|of)=(.*)$/.exec(a.value);
    if (m === null) continue;
    const file = { ...a, value: m[2] as string };
    if (m[1] === 'of') {
      classifyWrite(file, site, inv.text);
      output = file;
    } else {
      out = readFiles([file], inv, site);
      input = file;
    }
  }
  if (input !== undefined && output !== undefined && input.literal && output.literal) site.markCopy(output.value, input.value);
  else if (input !== undefined && input.literal && output === undefined) out = { ...out, program: input.value };
  return out;
};

const diskRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1).map((a) => a.value);
  if (inv.name === 'cryptsetup') {
    const verb = args.find((a) => !a.startsWith('-')) ?? '';
    if (/^(luksDump|status|isLuks|luksUUID|tcryptDump|bitlkDump|fvault2Dump|benchmark|--version|--help)$/.test(verb) || args.length === 0 || args.every((a) => a.startsWith('-'))) return {};
    if (/^(open|luksOpen|close|luksClose|plainOpen|loopaesOpen|tcryptOpen|bitlkOpen|resize|refresh|luksSuspend|luksResume)$/.test(verb)) {
      site.add('priv.escalate', 'high', ev(inv, `cryptsetup ${verb} maps an encrypted device`));
      return {};
    }
    if (/^(luksHeaderBackup|luksAddKey|luksChangeKey|luksConvertKey|token|config|luksHeaderRestore)$/.test(verb)) {
      site.add('secret.read', 'high', ev(inv, `cryptsetup ${verb} handles the volume's keys`));
      return {};
    }
  }
  if ((inv.name === 'fdisk' || inv.name === 'sfdisk' || inv.name === 'parted' || inv.name === 'sgdisk') && args.some((a) => /^(-l|--list|-s|--print|print|-p)$/.test(a))) return {};
  const dev = args.find((a) => a.startsWith('/dev/')) ?? args.at(-1) ?? '';
  site.add('disk.wipe', 'critical', ev(inv, `formats or repartitions ${dev}`));
  return {};
};

const chmodRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1));
  const recursive = has(o, 'R', 'recursive');
  const [mode, ...files] = o.operands;
  if (mode === undefined) return {};
  const m = mode.value;
  if ((/^[0-7]*[4-7][0-7]{3}$/.test(m) && m.length === 4 && /^[2467]/.test(m)) || /[ug]?\+[rwx]*s|^[ug]*=.*s/.test(m)) {
    site.add('priv.escalate', 'critical', ev(inv, `sets the setuid/setgid bit (${m})`));
  }
  const worldWritable = /^0?[0-7]?[0-7][0-7][2367]$/.test(m) || (/(^|,)[oa]*[+=][rx]*w/.test(m) && /[oa]/.test(m.split(/[+=]/)[0] ?? '')) || m === '+w';
  for (const f of files) {
    const zone = site.zone(f);
    const path = f.literal ? site.touch(f.value, 'write') : f.raw;
    const sensitive = f.literal ? sensitiveWriteTarget(path, site.home) : undefined;
    let risk: Risk = 'low';
    if (worldWritable) risk = 'medium';
    if (recursive && (zone === 'system' || zone === 'home' || zone === 'outside')) risk = 'critical';
    else if (zone === 'system' || zone === 'home') risk = maxRisk(risk, worldWritable ? 'high' : 'medium');
    const restrictive = /^0?[0-7]?[0-7]00$/.test(m) || (/^[ugoa]*-[rwxXst]+$/.test(m) && !m.startsWith('u'));
    if (sensitive !== undefined && restrictive) {
      site.add('fs.write', 'low', ev(inv, `restricts permissions of ${path}`));
      continue;
    }
    if (sensitive !== undefined) {
      site.add('fs.write_sensitive', worldWritable || recursive ? 'critical' : 'high', ev(inv, `changes permissions of ${sensitive.what} ${path}`));
      continue;
    }
    site.add('fs.write', risk, ev(inv, `chmod ${m} ${path}`));
  }
  return {};
};

const chownRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), '', ['reference', 'from']);
  const recursive = has(o, 'R', 'recursive');
  const files = o.operands.slice(1);
  for (const f of files) {
    const zone = site.zone(f);
    const path = f.literal ? site.touch(f.value, 'write') : f.raw;
    const risk: Risk = recursive && (zone === 'system' || zone === 'home') ? 'critical' : zone === 'system' ? 'high' : 'low';
    site.add(zone === 'system' ? 'fs.write_sensitive' : 'fs.write', risk, ev(inv, `changes owner of ${path}`));
  }
  return {};
};

const copyRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'tSm', ['target-directory', 'suffix', 'mode', 'backup']);
  const target = val(o, 't', 'target-directory');
  const sources = target !== undefined ? o.operands : o.operands.slice(0, -1);
  const dest = target ?? o.operands.at(-1);
  if (inv.name === 'ln') {
    const linkTo = o.operands[0];
    if (linkTo !== undefined && linkTo.literal && (isSecretPath(linkTo.value) || sensitiveWriteTarget(linkTo.value, site.home) !== undefined)) {
      site.add('secret.read', 'medium', ev(inv, `links to sensitive path ${linkTo.value}`));
    }
    if (dest !== undefined && o.operands.length > 1) classifyWrite(dest, site, inv.text);
    if (linkTo?.value === '/dev/null' && dest !== undefined && /(^|\/)\.(\w+_history|histfile|lesshst|viminfo)$/.test(dest.value)) {
      site.add('fs.delete', 'high', ev(inv, 'sends the shell history to /dev/null'));
    }
    const linked = o.operands.length === 1 && linkTo !== undefined ? { ...linkTo, value: posix.basename(linkTo.value) } : dest;
    markCopies(o.operands.length === 1 ? o.operands : sources, linked, target !== undefined, site);
    return {};
  }
  const read = readFiles(sources, inv, site);
  if (inv.name === 'mv') {
    for (const s of sources) {
      const zone = site.zone(s);
      if (zone === 'system' || zone === 'home') site.add('fs.delete', 'high', ev(inv, `moves away ${s.value}`));
    }
  }
  if (inv.name === 'install') {
    const mode = val(o, 'm', 'mode')?.value ?? '';
    if (/^[2467][0-7]{3}$/.test(mode) || /s/.test(mode)) site.add('priv.escalate', 'critical', ev(inv, `installs a setuid file (${mode})`));
  }
  if (dest !== undefined) {
    if (dest.value === '/dev/null' && inv.name === 'mv') deleteTargets(sources, true, inv, site, 'moves to /dev/null');
    else classifyWrite(dest, site, inv.text);
  }
  markCopies(sources, dest, target !== undefined, site);
  return read;
};

/**
 * A copied, moved, installed or linked file keeps its identity under the new name:
 * `cp /bin/sh /tmp/x` makes `/tmp/x` a shell for the rest of the command line. The
 * destination may be a directory, so both `dest` and `dest/<basename>` are remembered.
 */
function markCopies(sources: Arg[], dest: Arg | undefined, intoDirectory: boolean, site: Site): void {
  if (dest === undefined || !dest.literal || sources.length === 0) return;
  for (const src of sources) {
    if (!src.literal || src.glob) continue;
    const base = posix.basename(src.value);
    site.markCopy(dest.value.replace(/\/+$/, '') + '/' + base, src.value);
    if (sources.length === 1 && !intoDirectory && !dest.value.endsWith('/')) site.markCopy(dest.value, src.value);
  }
}

const teeRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1));
  const append = has(o, 'a', 'append');
  for (const f of o.operands) {
    if (f.literal && /^\/dev\/(tcp|udp)\//.test(f.value)) {
      egress(f.value.split('/')[3] ?? '', inv, site, true, 'tee to a raw socket', inv.stdin?.secret === true);
      continue;
    }
    classifyWrite(f, site, inv.text, !append);
    const text = inv.stdin?.text;
    if (f.literal && !append && text !== undefined) site.markScript(f.value, text);
    if (f.literal && !append && inv.stdin?.program !== undefined) site.markCopy(f.value, inv.stdin.program);
  }
  return inv.stdin ?? {};
};

const truncateRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'sr', ['size', 'reference']);
  for (const f of o.operands) classifyWrite(f, site, inv.text, true);
  return {};
};

// ---------------------------------------------------------------------------------------
// reading and transforming data

const READ_VALUED: Record<string, string> = {
  head: 'nc',
  tail: 'ncs',
  sort: 'kotTS',
  cut: 'dfbc',
  grep: 'efmABCD',
  egrep: 'efmABCD',
  fgrep: 'efmABCD',
  jq: '',
  diff: 'CUWxX',
  wc: '',
  nl: 'bvwis',
  od: 'AjNtw',
  hexdump: 'ensC',
  strings: 'ntoe',
};

/** cat, head, less, grep …: reading files; secrets make the output secret. */
const readerRule: ProgramRule = (inv, site) => {
  const name = inv.name;
  const o = opts(inv.argv.slice(1), READ_VALUED[name] ?? '', [
    'regexp',
    'file',
    'max-count',
    'context',
    'after-context',
    'before-context',
    'include',
    'exclude',
    'exclude-dir',
    'color',
    'type',
    'glob',
    'pre',
    'pre-glob',
    'sort',
    'arg',
  ]);
  let files = o.operands;
  if (name === 'sort') {
    const out = val(o, 'o', 'output');
    if (out !== undefined) classifyWrite(out, site, inv.text);
  }
  if (name === 'uniq' && files[1] !== undefined) {
    classifyWrite(files[1], site, inv.text);
    files = files.slice(0, 1);
  }
  if (/^(e|f)?grep$|^rg$|^ag$|^ack$/.test(name) && !has(o, 'e', 'f', 'regexp', 'file')) files = files.slice(1);
  if (name === 'jq' || name === 'yq') files = files.slice(1);
  if (name === 'rg') {
    const pre = val(o, 'pre');
    if (pre !== undefined) {
      site.add('exec.obfuscated', 'high', ev(inv, `rg --pre runs ${pre.value} on every file`));
      site.run([pre], { ...inv, stdin: undefined });
    }
  }
  if ((name === 'less' || name === 'more') && (inv.env['LESSOPEN'] !== undefined || inv.env['LESSCLOSE'] !== undefined)) {
    site.add('exec.obfuscated', 'high', ev(inv, 'LESSOPEN runs a program'));
  }
  if (name === 'man' && (has(o, 'P', 'pager', 'H', 'html') || inv.env['MANPAGER'] !== undefined || inv.env['PAGER'] !== undefined)) {
    site.add('exec.obfuscated', 'high', ev(inv, 'man runs a custom pager'));
  }
  if (
    name === 'man' ||
    name === 'info' ||
    name === 'whatis' ||
    name === 'apropos' ||
    name === 'which' ||
    name === 'type' ||
    name === 'ls' ||
    name === 'stat' ||
    name === 'file' ||
    name === 'du' ||
    (name === 'wc' && files.length === 0)
  ) {
    return name === 'ls' ? { pathsUnder: (files[0]?.value ?? '.').replace(/\/$/, '') + '/*' } : {};
  }
  const hunt = /^(e|f)?grep$|^rg$|^ag$|^ack$/.test(name) ? credentialHunt(o, inv, site) : {};
  const read = mergeOut(readFiles(files, inv, site), hunt);
  if (files.length === 0 && inv.stdin !== undefined) {
    const passthrough: SubOutput = { ...inv.stdin };
    if (name !== 'cat' && name !== 'tac') delete passthrough.text;
    if (name !== 'cat') delete passthrough.program;
    delete passthrough.pathsUnder;
    return passthrough;
  }
  const only = files[0];
  // `cat /bin/sh > /tmp/x`: the file it fills is a copy of the program.
  if (name === 'cat' && files.length === 1 && only !== undefined && only.literal && !only.glob) return { ...read, program: only.value };
  return read;
};

/** Patterns that look for credentials: passwords, tokens, keys, cloud key ids, private-key headers. */
const CREDENTIAL_PATTERN = /pass(w(or)?d)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_ -]?key|BEGIN [A-Z ]*PRIVATE|aws_|AKIA|credential|auth|bearer|ssh-rsa|client[_-]?secret/i;
/** File globs that select secret files (`--include=*.env`, `-name id_rsa`). */
const SECRET_NAME =
  /id_(rsa|dsa|ecdsa|ed25519)|\.pem\b|\.key\b|\.p12|\.pfx|\.kdbx|\.env\b|credentials|\.git-credentials|\.netrc|\.pgpass|authorized_keys|shadow|\.aws|\.kube|wallet\.dat|\.ovpn|\.ppk|\.jks|\.keystore|\.tfstate|\.npmrc|\.pypirc|secrets?\.(json|ya?ml|toml)|\.htpasswd|\.bash_history/i;

/**
 * A recursive search for credentials (`grep -rIl password /etc`, `rg -i aws_secret ~`):
 * outside the workspace it reads whatever secrets it finds, high; in the workspace medium.
 */
function credentialHunt(o: Opts, inv: Invocation, site: Site): SubOutput {
  const recursive = inv.name === 'rg' || inv.name === 'ag' || inv.name === 'ack' || has(o, 'r', 'R', 'recursive', 'dereference-recursive');
  if (!recursive) return {};
  const patterns = has(o, 'e', 'regexp') ? [val(o, 'e', 'regexp')] : [o.operands[0]];
  const include = [val(o, 'include'), val(o, 'glob'), val(o, 'g')].map((a) => a?.value ?? '').join(' ');
  const wanted = patterns.some((p) => p !== undefined && CREDENTIAL_PATTERN.test(p.value)) || SECRET_NAME.test(include);
  if (!wanted) return {};
  const roots = has(o, 'e', 'regexp', 'f', 'file') ? o.operands : o.operands.slice(1);
  const zones = (roots.length === 0 ? [lit('.')] : roots).map((r) => site.zone(r));
  const wide = zones.some((z) => z === 'system' || z === 'home' || z === 'outside' || z === 'unknown');
  site.add('secret.read', wide ? 'high' : 'medium', ev(inv, `searches ${wide ? 'the system' : 'the workspace'} for credentials`));
  return wide ? { secret: true } : {};
}

const sedRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'efl', ['expression', 'file', 'line-length']);
  const inPlace = has(o, 'i', 'in-place');
  const scripts = [val(o, 'e', 'expression')].filter((a): a is Arg => a !== undefined);
  let files = o.operands;
  if (scripts.length === 0 && !has(o, 'f', 'file')) {
    if (files[0] !== undefined) scripts.push(files[0]);
    files = files.slice(1);
  }
  for (const s of scripts) {
    if (/(^|[;\n}0-9$/])\s*e(\s|$)|\/[gpI0-9]*e[gpI0-9]*\s*($|;)/.test(s.value)) site.add('exec.obfuscated', 'high', ev(inv, 'sed script executes commands'));
    const w = /(?:^|[;\n])\s*w\s+(\S+)|\/w\s+(\S+)/.exec(s.value);
    if (w !== null) classifyWrite(lit(w[1] ?? w[2] ?? ''), site, inv.text);
  }
  if (inPlace) for (const f of files) classifyWrite(f, site, inv.text);
  return mergeOut(readFiles(files, inv, site), files.length === 0 ? (inv.stdin ?? {}) : {});
};

const echoRule: ProgramRule = (inv, site) => {
  let args = inv.argv.slice(1);
  let escapes = inv.name === 'printf';
  if (inv.name === 'echo') {
    while (args[0] !== undefined && /^-[neE]+$/.test(args[0].value)) {
      if (args[0].value.includes('e')) escapes = true;
      args = args.slice(1);
    }
  }
  for (const a of args) {
    if (a.unknownVars.some((v) => SECRET_VAR.test(v))) {
      site.add('secret.read', inv.piped ? 'high' : 'medium', ev(inv, `prints secret variable $${a.unknownVars.find((v) => SECRET_VAR.test(v)) ?? ''}`));
      return { secret: true, ...mergeOut(subsOf(args)) };
    }
  }
  const subs = subsOf(args);
  if (!args.every((a) => a.literal)) return subs;
  let text: string;
  if (inv.name === 'printf') {
    const [fmt, ...rest] = args.map((a) => a.value);
    let k = 0;
    text = decodeAnsiC((fmt ?? '').replace(/%%/g, '\u0000'))
      .replace(/%[-0-9.]*[sbdqcx]/g, () => rest[k++] ?? '')
      .replace(/\u0000/g, '%');
    text += rest.slice(Math.max(k, 0)).length > 0 && k === 0 ? '' : '';
  } else {
    text = args.map((a) => a.value).join(' ');
    if (escapes) text = decodeAnsiC(text);
  }
  return { ...subs, text };
};

function tryBase64(text: string): string | undefined {
  const clean = text.replace(/\s+/g, '');
  if (clean === '' || !/^[A-Za-z0-9+/_-]+=*$/.test(clean)) return undefined;
  const decoded = Buffer.from(clean, 'base64').toString('utf8');
  return /[\u0000-\u0008\u000e-\u001f\ufffd]/.test(decoded) ? undefined : decoded;
}

const decodeRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1).map((a) => a.value);
  const name = inv.name;
  let decoding = false;
  if (name === 'base64' || name === 'base32' || name === 'basenc') decoding = args.some((a) => /^-[a-zA-Z]*[dD]|^--decode$/.test(a));
  else if (name === 'xxd') decoding = args.some((a) => /^-[a-z]*r/.test(a) || a === '-revert');
  else if (name === 'openssl') decoding = (args.includes('-d') || (args.includes('-a') && args.includes('-d'))) && /^(enc|base64|aes|des|bf|cast|rc)/.test(args[0] ?? '');
  else if (name === 'uudecode' || name === 'rev') decoding = true;
  else if (/^(gunzip|zcat|bunzip2|bzcat|xzcat|unxz|zstdcat|unzstd|lzcat)$/.test(name)) decoding = true;
  else if (/^(gzip|bzip2|xz|zstd|lzma)$/.test(name)) decoding = args.some((a) => /^-[a-z]*d|^--decompress$/.test(a));
  else if (name === 'tr') decoding = /A-Z.*N-Z|N-Z.*A-M|a-z.*n-z/i.test(args.join(' '));
  const files = inv.argv.slice(1).filter((a) => !a.value.startsWith('-') && !(name === 'tr') && !(name === 'openssl' && /^(enc|base64)$/.test(a.value)));
  const read = readFiles(files, inv, site);
  if (/^(gzip|bzip2|xz|zstd|lzma|gunzip|bunzip2|unxz|unzstd)$/.test(name) && inv.stdin === undefined) compressesInPlace(inv, site);
  if (name === 'openssl') return opensslRule(inv, site);
  if (!decoding) return mergeOut(read, inv.stdin ?? {});
  const out: SubOutput = { decoded: true };
  if (read.secret || inv.stdin?.secret) out.secret = true;
  const input = inv.stdin?.text;
  if (input !== undefined && (name === 'base64' || name === 'basenc')) {
    const text = tryBase64(input);
    if (text !== undefined) out.text = text;
  } else if (input !== undefined && name === 'rev') out.text = [...input.replace(/\n$/, '')].reverse().join('') + '\n';
  else if (input !== undefined && name === 'xxd') {
    const hex = input.replace(/[^0-9a-fA-F]/g, '');
    if (hex.length % 2 === 0) out.text = Buffer.from(hex, 'hex').toString('utf8');
  }
  return out;
};

const opensslRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  const sub = args[0]?.value ?? '';
  const connect = args.findIndex((a) => a.value === '-connect');
  if (sub === 's_client' && connect >= 0) {
    const target = args[connect + 1]?.value ?? '';
    const host = target.replace(/:\d+$/, '');
    shellToSocket(inv, site, host);
    egress(host, inv, site, inv.stdin?.secret === true || inv.stdin?.text !== undefined, 'TLS connection');
    return { download: true };
  }
  const inIdx = args.findIndex((a) => a.value === '-in');
  // Certificates, requests and CRLs are public material even in `.pem` files.
  const publicInput = /^(x509|req|verify|crl|crl2pkcs7|asn1parse|s_server)$/.test(sub) && !args.some((a) => a.value === '-key' || a.value === '-signkey');
  const read = inIdx >= 0 && !publicInput ? readFiles([args[inIdx + 1] ?? lit('')], inv, site) : {};
  const outIdx = args.findIndex((a) => a.value === '-out');
  if (outIdx >= 0 && args[outIdx + 1] !== undefined) classifyWrite(args[outIdx + 1] as Arg, site, inv.text);
  const decoding = args.some((a) => a.value === '-d') && /^(enc|base64|aes|des|bf|cast|rc|chacha)/.test(sub);
  return decoding ? { ...read, decoded: true } : read;
};

// ---------------------------------------------------------------------------------------
// network

function hostRisk(cls: HostClass, upload: boolean): Risk {
  switch (cls) {
    case 'loopback':
    case 'private':
    case 'unspecified':
      return upload ? 'medium' : 'low';
    case 'link-local':
      return 'high';
    case 'metadata':
      return 'critical';
    case 'invalid':
      return 'high';
    case 'public':
      return upload ? 'high' : 'medium';
  }
}

function egress(host: string, inv: Invocation, site: Site, upload: boolean, what: string, secret = false): void {
  const cls = site.host(host);
  let risk = hostRisk(cls, upload);
  if (secret) risk = 'critical';
  const where = cls === 'metadata' ? 'cloud metadata endpoint' : `${cls} host`;
  site.add('net.egress', risk, ev(inv, `${what} ${upload ? 'sends data to' : 'to'} ${where} ${host}`));
  if (secret) site.add('secret.read', 'critical', ev(inv, `secrets sent to ${host}`));
}

function urlHost(raw: string): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  return parseUrl(withScheme)?.host;
}

function argHostUnknown(a: Arg): boolean {
  return !a.literal;
}

const CURL_VALUED = 'dFTodHXuAebcxKwmrCEyYzUQtD';
const CURL_LONG = [
  'data',
  'data-raw',
  'data-binary',
  'data-urlencode',
  'data-ascii',
  'json',
  'form',
  'form-string',
  'upload-file',
  'output',
  'header',
  'request',
  'user',
  'proxy',
  'url',
  'config',
  'cookie',
  'cookie-jar',
  'cert',
  'key',
  'cacert',
  'connect-to',
  'resolve',
  'max-time',
  'retry',
  'write-out',
  'referer',
  'user-agent',
  'output-dir',
  'dump-header',
  'oauth2-bearer',
  'interface',
  'limit-rate',
  'connect-timeout',
  'range',
  'proto',
  'proto-redir',
  'expect100-timeout',
  'retry-delay',
  'retry-max-time',
  'unix-socket',
  'aws-sigv4',
  'variable',
  'trace',
  'trace-ascii',
  'stderr',
  'ciphers',
  'socks5',
  'socks5-hostname',
  'preproxy',
  'noproxy',
];

const curlRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), CURL_VALUED, CURL_LONG);
  const urls = [...o.operands, ...[val(o, 'url')].filter((a): a is Arg => a !== undefined)];
  let upload = false;
  let secret = inv.stdin?.secret === true;
  const dataFlags = ['d', 'data', 'data-raw', 'data-binary', 'data-urlencode', 'data-ascii', 'json', 'F', 'form', 'T', 'upload-file'];
  for (let i = 1; i < inv.argv.length; i++) {
    const a = inv.argv[i] as Arg;
    const next = inv.argv[i + 1];
    let key: string | undefined;
    let value: Arg | undefined;
    const m = /^--([a-z0-9-]+)=(.*)$/s.exec(a.value);
    if (m !== null) {
      key = m[1];
      value = { ...a, value: m[2] as string };
    } else if (/^--/.test(a.value)) {
      key = a.value.slice(2);
      value = next;
    } else if (/^-[a-zA-Z]+$/.test(a.value)) {
      const last = a.value.at(-1) as string;
      key = last;
      value = a.value.length > 2 && CURL_VALUED.includes(a.value[1] as string) ? { ...a, value: a.value.slice(2) } : next;
      if (a.value.length > 2) {
        const letters = a.value.slice(1);
        const firstValued = [...letters].findIndex((c) => CURL_VALUED.includes(c));
        if (firstValued >= 0 && firstValued < letters.length - 1) {
          key = letters[firstValued];
          value = { ...a, value: letters.slice(firstValued + 1) };
        }
      }
    }
    if (key === undefined || value === undefined || !dataFlags.includes(key)) continue;
    upload = true;
    const s = subsOf([value]);
    if (s.secret) secret = true;
    if (value.unknownVars.some((v) => SECRET_VAR.test(v))) secret = true;
    const fileMatch =
      key === 'T' || key === 'upload-file'
        ? value.value
        : /^@(.+)$|^<(.+)$|^[^=]*=@([^;]+)|^[^=]*=<([^;]+)/
            .exec(value.value)
            ?.slice(1)
            .find((x) => x !== undefined);
    if (fileMatch !== undefined && fileMatch !== '-') {
      if (readFiles([{ ...value, value: fileMatch }], inv, site).secret) secret = true;
    }
  }
  const out = val(o, 'o', 'output');
  if (out !== undefined && out.value !== '-') {
    classifyWrite(out, site, inv.text);
    if (out.literal) site.markDownloaded(out.value);
  }
  if (has(o, 'O', 'remote-name')) {
    for (const u of urls) {
      const file = posix.basename(u.value.split('?')[0] ?? '');
      if (file !== '') site.markDownloaded(file);
    }
  }
  if (urls.length === 0 && !upload) return {};
  if (urls.length === 0) site.add('net.egress', 'high', ev(inv, 'request to an unknown destination'));
  for (const u of urls) {
    if (argHostUnknown(u)) {
      const s = subsOf([u]);
      site.add('net.egress', s.secret || secret ? 'critical' : 'high', ev(inv, `request to a computed URL ${clip(u.raw)}`));
      if (s.secret || secret) site.add('secret.read', 'critical', ev(inv, 'secrets sent in a URL'));
      continue;
    }
    const host = urlHost(u.value);
    if (host === undefined) {
      site.add('net.egress', 'high', ev(inv, `request to an unparsable URL ${u.value}`));
      continue;
    }
    if (/^file:/i.test(u.value)) {
      readFiles([lit(u.value.replace(/^file:\/\//i, ''))], inv, site);
      continue;
    }
    egress(host, inv, site, upload, inv.name, secret);
  }
  return out === undefined && !has(o, 'O', 'remote-name') ? { download: true } : {};
};

const wgetRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'OoaiPTtwQUeYlAR', [
    'output-document',
    'post-file',
    'post-data',
    'body-file',
    'body-data',
    'method',
    'header',
    'input-file',
    'directory-prefix',
    'user-agent',
    'execute',
    'output-file',
    'append-output',
    'tries',
    'timeout',
    'level',
    'user',
    'password',
    'proxy-user',
    'proxy-password',
    'referer',
    'load-cookies',
    'save-cookies',
  ]);
  let upload = false;
  let secret = inv.stdin?.secret === true;
  const postFile = val(o, 'post-file', 'body-file');
  if (postFile !== undefined) {
    upload = true;
    if (readFiles([postFile], inv, site).secret) secret = true;
  }
  const postData = val(o, 'post-data', 'body-data');
  if (postData !== undefined) {
    upload = true;
    if (subsOf([postData]).secret || postData.unknownVars.some((v) => SECRET_VAR.test(v))) secret = true;
  }
  const execute = val(o, 'e', 'execute');
  if (execute !== undefined) site.add('exec.obfuscated', 'medium', ev(inv, `wget -e ${execute.value}`));
  const doc = val(o, 'O', 'output-document');
  if (doc !== undefined && doc.value !== '-') {
    classifyWrite(doc, site, inv.text);
    if (doc.literal) site.markDownloaded(doc.value);
  }
  for (const u of o.operands) {
    if (!u.literal) {
      site.add('net.egress', secret || subsOf([u]).secret ? 'critical' : 'high', ev(inv, `request to a computed URL ${clip(u.raw)}`));
      continue;
    }
    if (doc === undefined) site.markDownloaded(posix.basename(u.value.split('?')[0] ?? '') || 'index.html');
    const host = urlHost(u.value);
    if (host === undefined) site.add('net.egress', 'high', ev(inv, `request to an unparsable URL ${u.value}`));
    else egress(host, inv, site, upload, 'wget', secret);
  }
  return doc?.value === '-' ? { download: true } : {};
};

const ncRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'epcsiIOPqTwWxXbM', ['exec', 'sh-exec', 'lua-exec', 'source', 'proxy', 'wait', 'idle-timeout']);
  const execCmd = val(o, 'e', 'c', 'exec', 'sh-exec', 'lua-exec');
  const listening = has(o, 'l', 'listen');
  if (execCmd !== undefined) site.add('exec.remote_code', 'critical', ev(inv, listening ? 'bind shell' : 'reverse shell'));
  if (listening) {
    if (inv.stdin?.shell === true) site.add('exec.remote_code', 'critical', ev(inv, "bind shell: a shell's output served on a port"));
    const local = [val(o, 's', 'source')?.value, ...o.operands.map((a) => a.value)].some((h) => h !== undefined && /^(127\.|localhost$|::1$)/.test(h));
    site.add('net.listen', local ? 'medium' : 'high', ev(inv, local ? 'listens on a loopback port' : 'listens on a port on all interfaces'));
    return { download: true };
  }
  const host = o.operands[0];
  if (host === undefined) return {};
  if (!host.literal) {
    site.add('net.egress', 'high', ev(inv, `connects to a computed host ${clip(host.raw)}`));
    return { download: true };
  }
  const sending = inv.stdin !== undefined && !has(o, 'z');
  shellToSocket(inv, site, host.value);
  egress(host.value, inv, site, sending, inv.name, inv.stdin?.secret === true);
  return { download: true };
};

const socatRule: ProgramRule = (inv, site) => {
  // FILE:/OPEN:/GOPEN: addresses read or write files: sent to a socket, an upload.
  let fileIn: SubOutput | undefined;
  const addresses = inv.argv.slice(1).filter((a) => !a.value.startsWith('-'));
  for (const [k, a] of addresses.entries()) {
    const f = /^(?:FILE|OPEN|GOPEN|CREATE|CREAT):([^,]+)/i.exec(a.value);
    if (f === null) continue;
    if (k === 0 && !/^CREAT/i.test(a.value)) fileIn = readFiles([{ ...a, value: f[1] as string }], inv, site);
    else classifyWrite({ ...a, value: f[1] as string }, site, inv.text);
  }
  if (fileIn !== undefined) inv = { ...inv, stdin: mergeOut(inv.stdin ?? {}, fileIn) };
  for (const a of inv.argv.slice(1)) {
    const v = a.value;
    if (/^(EXEC|SYSTEM):/i.test(v)) {
      site.add('exec.remote_code', 'critical', ev(inv, 'socat connects a program to the network'));
      site.shell(v.replace(/^(EXEC|SYSTEM):/i, '').split(',')[0] ?? '', { ...inv, stdin: undefined });
    }
    const m = /^(?:TCP[46]?|UDP[46]?|SSL|OPENSSL)(?:-CONNECT)?:([^:,]+):/i.exec(v);
    if (m !== null) egress(m[1] as string, inv, site, inv.stdin !== undefined, 'socat', inv.stdin?.secret === true);
    if (/^(TCP|UDP|SSL|OPENSSL)[46]?-LISTEN:/i.test(v)) {
      const loopback = /,bind=(127\.|localhost|\[?::1)/i.test(v);
      site.add('net.listen', loopback ? 'medium' : 'high', ev(inv, loopback ? 'socat listens on a loopback port' : 'socat listens on all interfaces'));
    }
  }
  return { download: true };
};

const sshRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'bcDEeFIiJLlmOopQRSWwB', [], true);
  const option = val(o, 'o')?.value ?? '';
  for (const a of inv.argv) {
    const m = /^(?:-o)?\s*(ProxyCommand|LocalCommand|PermitLocalCommand|KnownHostsCommand)[= ](.*)$/i.exec(a.value);
    if (m !== null && m[1]?.toLowerCase() !== 'permitlocalcommand') {
      site.add('exec.obfuscated', 'high', ev(inv, `ssh ${m[1]} runs a local command`));
      site.shell(m[2] ?? '', { ...inv, stdin: undefined });
    }
  }
  void option;
  if (has(o, 'R')) site.add('net.listen', 'high', ev(inv, 'reverse tunnel exposes a local port'));
  const forward = val(o, 'L')?.value ?? '';
  if (has(o, 'D') || has(o, 'g') || /^(0\.0\.0\.0|\*|::):/.test(forward))
    site.add('net.listen', 'high', ev(inv, has(o, 'D') ? 'ssh SOCKS proxy into the remote network' : 'ssh forward open to other hosts'));
  else if (has(o, 'L')) site.add('net.listen', 'medium', ev(inv, 'ssh port forwarding'));
  const target = o.rest[0];
  if (target === undefined) return {};
  const host = target.value
    .replace(/^.*@/, '')
    .replace(/^ssh:\/\//, '')
    .replace(/:\d+$/, '');
  const remoteCmd = o.rest.slice(1);
  egress(host, inv, site, inv.stdin !== undefined && remoteCmd.length > 0, 'ssh', inv.stdin?.secret === true);
  if (remoteCmd.length > 0) {
    const source = remoteCmd.map((a) => a.value).join(' ');
    return site.shell(source, { ...inv, remote: host });
  }
  return {};
};

function remoteSpec(v: string): string | undefined {
  if (/^rsync:\/\//.test(v)) return urlHost(v);
  const m = /^(?:[^@/:]+@)?([^:/]+):/.exec(v);
  return m === null || /^[a-zA-Z]$/.test(m[1] ?? '') ? undefined : m[1];
}

const scpRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'cFiJloPSX');
  const ops = o.operands;
  const dest = ops.at(-1);
  const sources = ops.slice(0, -1);
  for (const a of inv.argv) if (/ProxyCommand/i.test(a.value)) site.add('exec.obfuscated', 'high', ev(inv, 'ssh ProxyCommand runs a local command'));
  if (dest === undefined) return {};
  const destHost = remoteSpec(dest.value);
  const localSources = sources.filter((s) => remoteSpec(s.value) === undefined);
  if (destHost !== undefined) {
    const secret = readFiles(localSources, inv, site).secret === true;
    egress(destHost, inv, site, localSources.length > 0, inv.name, secret);
  } else {
    for (const s of sources) {
      const h = remoteSpec(s.value);
      if (h !== undefined) egress(h, inv, site, false, inv.name);
    }
    classifyWrite(dest, site, inv.text);
  }
  return {};
};

const rsyncRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'eBfT', [
    'rsh',
    'rsync-path',
    'exclude',
    'include',
    'filter',
    'files-from',
    'password-file',
    'temp-dir',
    'backup-dir',
    'chmod',
    'chown',
    'link-dest',
    'compare-dest',
    'copy-dest',
  ]);
  const rsh = val(o, 'e', 'rsh');
  if (rsh !== undefined && !/^ssh(\s|$)/.test(rsh.value)) site.add('exec.obfuscated', 'high', ev(inv, `rsync runs ${rsh.value}`));
  const rpath = val(o, 'rsync-path');
  if (rpath !== undefined && rpath.value !== 'rsync' && !/sudo rsync$/.test(rpath.value)) site.add('exec.obfuscated', 'high', ev(inv, 'rsync --rsync-path runs a command'));
  const dest = o.operands.at(-1);
  const sources = o.operands.slice(0, -1);
  const deletes = [...o.flags.keys()].some((k) => /^(delete|del|delete-.*|remove-source-files)$/.test(k));
  if (dest === undefined) return {};
  const destHost = remoteSpec(dest.value);
  if (deletes) {
    if (destHost !== undefined) site.add('fs.delete', 'high', ev(inv, `rsync --delete on remote ${dest.value}`));
    else deleteTargets([{ ...dest, value: dest.value.replace(/\/$/, '') + '/*', glob: true }], true, inv, site, 'rsync --delete in');
  }
  if (destHost !== undefined) {
    const local = sources.filter((s) => remoteSpec(s.value) === undefined);
    egress(destHost, inv, site, local.length > 0, 'rsync', readFiles(local, inv, site).secret === true);
  } else {
    for (const s of sources) {
      const h = remoteSpec(s.value);
      if (h !== undefined) egress(h, inv, site, false, 'rsync');
    }
    readFiles(sources, inv, site);
    classifyWrite(dest, site, inv.text);
  }
  return {};
};

const dnsRule: ProgramRule = (inv, site) => {
  icmpPayload(inv, site);
  const o = opts(inv.argv.slice(1), 'cWiIstwpqfbQlTmxgP', []);
  for (const h of o.operands) {
    if (h.value.startsWith('@')) continue;
    if (!h.literal) {
      const s = subsOf([h]);
      site.add('net.egress', s.secret ? 'critical' : 'high', ev(inv, `lookup of a computed name ${clip(h.raw)} (DNS exfiltration)`));
      if (s.secret) site.add('secret.read', 'critical', ev(inv, 'secrets sent through DNS'));
      continue;
    }
    if (/^[A-Za-z]+$/.test(h.value) && /^(A|AAAA|MX|TXT|NS|CNAME|SOA|ANY|PTR|SRV)$/i.test(h.value)) continue;
    const cls = site.host(h.value);
    site.add('net.egress', cls === 'metadata' ? 'critical' : 'low', ev(inv, `${inv.name} ${h.value}`));
  }
  return {};
};

/** `ping -p <hex>`: data carried in the ICMP payload. */
function icmpPayload(inv: Invocation, site: Site): void {
  if (/^ping6?$/.test(inv.name) && inv.argv.some((a, k) => a.value === '-p' || (/^-p[0-9a-fA-F]+$/.test(a.value) && k > 0))) site.add('net.egress', 'high', ev(inv, 'data sent in ICMP payloads'));
}

const listenRule: ProgramRule = (inv, site) => {
  const exposes = /^(ngrok|cloudflared|lt|localtunnel|bore|frpc|serveo|chisel|sshuttle|iodine|iodined|dnscat|dnscat2|ptunnel|ptunnel-ng|gost|pwncat|pwncat-cs)$/.test(inv.name);
  site.add('net.listen', exposes ? 'high' : 'medium', ev(inv, exposes ? 'exposes a local port to the internet' : 'serves on a port'));
  return {};
};

// ---------------------------------------------------------------------------------------
// version control

const GIT_EXEC_KEYS =
  /^(core\.(pager|editor|sshcommand|fsmonitor|hookspath|gitproxy|askpass)|alias\..*|credential\.helper|diff\..*\.(command|textconv)|diff\.external|sequence\.editor|filter\..*\.(clean|smudge|process)|protocol\.ext\.allow|uploadpack\.packobjectshook|gpg\.program|merge\..*\.driver|pager\..*|web\.browser|include\.path|includeif\..*)$/i;

const gitRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  let i = 0;
  for (; i < args.length; i++) {
    const v = (args[i] as Arg).value;
    if (v === '-c') {
      const kv = args[++i]?.value ?? '';
      const key = kv.split('=')[0] ?? '';
      if (GIT_EXEC_KEYS.test(key)) {
        site.add('exec.obfuscated', 'high', ev(inv, `git -c ${key} runs a program`));
        const value = kv.slice(key.length + 1).replace(/^!/, '');
        if (value !== '' && !/^(less|more|cat)\b/.test(value)) site.shell(value, { ...inv, stdin: undefined });
      }
      continue;
    }
    if (v === '-C' || v === '--git-dir' || v === '--work-tree' || v === '--namespace' || v === '--config-env') {
      i++;
      continue;
    }
    if (v.startsWith('--exec-path=') || v.startsWith('--config-env=')) {
      site.add('exec.obfuscated', 'medium', ev(inv, v));
      continue;
    }
    if (v.startsWith('-')) continue;
    break;
  }
  const sub = args[i]?.value ?? '';
  const rest = args.slice(i + 1);
  const values = rest.map((a) => a.value);
  const flag = (...names: string[]) => values.some((v) => names.includes(v) || names.some((n) => n.startsWith('--') && v.startsWith(n + '=')));
  const short = (letter: string) => values.some((v) => /^-[a-zA-Z]+$/.test(v) && v.includes(letter));
  for (const v of values) {
    if (/^--(upload-pack|receive-pack|exec)=/.test(v) || v === '--upload-pack' || v === '--receive-pack') site.add('exec.obfuscated', 'high', ev(inv, `git ${v.split('=')[0]} runs a program`));
    if (/^ext::/.test(v)) site.add('exec.remote_code', 'critical', ev(inv, 'git ext:: transport runs a command'));
    if (/^--open-files-in-pager|^-O./.test(v) && sub === 'grep') site.add('exec.obfuscated', 'high', ev(inv, 'git grep runs a pager'));
  }
  const operands = values.filter((v) => !v.startsWith('-'));
  const changes = (what: string) => site.add('fs.write', 'low', ev(inv, `git ${sub} ${what}`));
  switch (sub) {
    case 'push': {
      const force = flag('--force', '--force-with-lease', '--mirror', '--delete', '--prune', '--force-if-includes') || short('f') || short('d') || values.some((v) => /^\+|^:[^/]/.test(v));
      if (force) site.add('vcs.destructive', 'high', ev(inv, 'rewrites or deletes remote history'));
      if (flag('--dry-run', '-n') || short('n')) return {};
      // A push writes to another machine: egress, whatever the remote is called. A routine
      // push stays low (normal allow rules allow it); the kill switch sees the category.
      let risk: Risk = 'low';
      for (const v of operands) {
        const host = /^[a-z]+:\/\//.test(v) ? urlHost(v) : /^[^@/\s]+@[^:]+:/.test(v) ? v.replace(/^.*@/, '').split(':')[0] : undefined;
        const cls = host === undefined ? undefined : site.host(host);
        if (cls !== undefined && cls !== 'public') risk = maxRisk(risk, hostRisk(cls, false));
      }
      site.add('net.egress', risk, ev(inv, 'pushes commits to a remote'));
      return {};
    }
    case 'reset':
      if (flag('--hard', '--merge', '--keep')) site.add('vcs.destructive', 'high', ev(inv, 'discards uncommitted work'));
      changes('moves HEAD or the index');
      return {};
    case 'clean':
      if (!flag('--dry-run', '-n') && !short('n') && (short('f') || flag('--force')))
        site.add('vcs.destructive', short('x') || short('d') || short('X') ? 'high' : 'medium', ev(inv, 'deletes untracked files'));
      return {};
    case 'checkout':
    case 'restore':
    case 'switch':
      // The whole tree (`.`, `:/`, `*`, `-f`, `--discard-changes`): every uncommitted change is lost, with no reflog.
      if (values.some((v) => v === '.' || v === ':/' || v === '*' || v === './') || flag('--force', '-f', '--discard-changes'))
        site.add('vcs.destructive', 'high', ev(inv, 'discards all uncommitted changes'));
      if (values.length > 0) changes('changes the working tree');
      return {};
    case 'branch':
      if (flag('-D') || (flag('--delete', '-d') && flag('--force', '-f'))) site.add('vcs.destructive', 'medium', ev(inv, 'force-deletes a branch'));
      if (
        flag('-d', '-D', '--delete', '-m', '-M', '--move', '-c', '-C', '--copy', '-u', '--set-upstream-to', '--unset-upstream', '--edit-description', '-f', '--force') ||
        (operands.length > 0 && !flag('-l', '--list', '--contains', '--no-contains', '--merged', '--no-merged', '--points-at'))
      )
        changes('changes branches');
      return {};
    case 'tag':
      if (flag('-d', '--delete')) site.add('vcs.destructive', 'medium', ev(inv, 'deletes a tag'));
      if (operands.length > 0 && !flag('-l', '--list', '-v', '--verify', '--contains', '--no-contains', '--merged', '--no-merged', '--points-at')) changes('changes tags');
      return {};
    case 'stash':
      if (values[0] === 'clear' || values[0] === 'drop')
        site.add('vcs.destructive', values[0] === 'clear' ? 'high' : 'medium', ev(inv, values[0] === 'clear' ? 'drops all stashed work' : 'drops stashed work'));
      if (values[0] !== 'list' && values[0] !== 'show') changes('saves or restores work');
      return {};
    case 'remote':
      if (operands.length > 0 && !/^(show|get-url)$/.test(operands[0] ?? '')) changes('changes remotes');
      break;
    case 'worktree':
      if (operands[0] === 'remove' && flag('--force', '-f')) site.add('vcs.destructive', 'high', ev(inv, 'removes a worktree with its uncommitted changes'));
      if (operands.length > 0 && !/^(list)$/.test(operands[0] ?? '')) changes(`${operands[0] ?? ''} changes the repository`);
      return {};
    case 'notes':
    case 'bisect':
    case 'sparse-checkout':
    case 'lfs':
      if (operands.length > 0 && !/^(list|show|log|visualize|view|ls-files|status|env)$/.test(operands[0] ?? '')) changes(`${operands[0] ?? ''} changes the repository`);
      return {};
    case 'submodule':
      if (operands[0] === 'foreach') {
        const cmd = rest.slice(1).filter((a) => !/^(--recursive|-q|--quiet)$/.test(a.value));
        if (cmd.length > 0) site.shell(cmd.map((a) => a.value).join(' '), { ...inv, stdin: undefined });
      }
      if (operands.length > 0 && !/^(status|summary)$/.test(operands[0] ?? '')) changes('changes submodules');
      return {};
    case 'rm':
      if (!flag('--cached', '-n', '--dry-run'))
        deleteTargets(
          rest.filter((a) => !a.value.startsWith('-')),
          flag('-r') || short('r'),
          inv,
          site,
          'git rm of',
        );
      changes('removes files from the index');
      return {};
    case 'apply':
      if (!flag('--check', '--stat', '--numstat', '--summary')) changes('patches files');
      return {};
    case 'archive':
    case 'format-patch':
    case 'bundle': {
      const out = values.find((v) => /^--output(-directory)?=|^-o$/.test(v));
      if (out !== undefined || sub !== 'archive') changes('writes files');
      return {};
    }
    case 'credential':
      if (values[0] === 'fill') {
        site.add('secret.read', 'high', ev(inv, 'prints stored git credentials'));
        return { secret: true };
      }
      changes('changes stored credentials');
      return {};
    case 'filter-branch':
    case 'filter-repo':
      site.add('vcs.destructive', 'high', ev(inv, 'rewrites history'));
      return {};
    case 'reflog':
      if (values[0] === 'expire' || values[0] === 'delete') site.add('vcs.destructive', 'high', ev(inv, 'expires the reflog'));
      return {};
    case 'gc':
      if (values.some((v) => /^--prune=(now|all)/.test(v))) site.add('vcs.destructive', 'medium', ev(inv, 'prunes unreachable objects'));
      changes('rewrites the object store');
      return {};
    case 'update-ref':
      // A ref deleted with update-ref leaves no reflog entry to recover it from.
      if (flag('-d')) site.add('vcs.destructive', 'high', ev(inv, 'deletes a ref'));
      changes('changes a ref');
      return {};
    case 'config': {
      const global = flag('--global', '--system');
      const editing = flag('--unset', '--unset-all', '--remove-section', '--rename-section', '--edit', '-e', '--add', '--replace-all');
      const reading =
        !editing &&
        (flag('--get', '--get-all', '--list', '-l', '--get-regexp', '--show-origin', '--get-urlmatch', '--get-color', '--get-colorbool') || values.filter((v) => !v.startsWith('-')).length < 2);
      if (reading) return {};
      const key = values.find((v) => !v.startsWith('-')) ?? '';
      if (GIT_EXEC_KEYS.test(key)) site.add('fs.write_sensitive', 'high', ev(inv, `git config ${key} makes git run a program`));
      else if (global) site.add('fs.write_sensitive', 'medium', ev(inv, 'changes the global git config'));
      else changes('changes the repository config');
      return {};
    }
    default:
      break;
  }
  switch (sub) {
    case 'clone':
    case 'fetch':
    case 'pull':
    case 'ls-remote':
    case 'remote': {
      for (const v of values) {
        const host = /^[a-z]+:\/\//.test(v) ? urlHost(v) : /^[^@/\s]+@[^:]+:/.test(v) ? v.replace(/^.*@/, '').split(':')[0] : undefined;
        if (host !== undefined) egress(host, inv, site, false, `git ${sub}`);
      }
      if (sub === 'clone') changes('creates a repository');
      else if (sub === 'fetch' || sub === 'pull') {
        if (!flag('--dry-run')) changes('updates the repository');
      }
      return {};
    }
    default:
      // Unknown subcommands (aliases, plumbing) may change the repository: fail closed.
      if (sub !== '' && !GIT_READ.test(sub)) changes('changes the repository');
      return {};
  }
};

/** git subcommands that only read the repository. */
const GIT_READ =
  /^(status|log|show|diff|blame|annotate|grep|ls-files|ls-tree|ls-remote|rev-parse|rev-list|describe|shortlog|cat-file|show-ref|for-each-ref|name-rev|whatchanged|help|version|count-objects|fsck|check-ignore|check-attr|check-ref-format|check-mailmap|merge-base|var|verify-commit|verify-tag|verify-pack|range-diff|cherry|diff-tree|diff-files|diff-index|show-branch|get-tar-commit-id|column|request-pull|difftool|reflog|--version|--help|-h|-v)$/;

// ---------------------------------------------------------------------------------------
// archives

const tarRule: ProgramRule = (inv, site) => {
  for (const a of inv.argv.slice(1)) {
    const m = /^--(checkpoint-action=exec|to-command|use-compress-program|rsh-command|info-script|new-volume-script)=(.*)$/s.exec(a.value);
    if (m !== null) {
      site.add('exec.obfuscated', 'high', ev(inv, `tar --${(m[1] ?? '').split('=')[0]} runs a program`));
      site.shell(m[2] ?? '', { ...inv, stdin: undefined });
    }
  }
  const i = inv.argv.findIndex((a) => a.value === '-I' || a.value === '--use-compress-program' || a.value === '--to-command');
  if (i > 0 && inv.argv[i + 1] !== undefined && !/^(gzip|pigz|zstd|xz|bzip2|lz4)( |$)/.test(inv.argv[i + 1]?.value ?? '')) {
    site.add('exec.obfuscated', 'high', ev(inv, `tar ${inv.argv[i]?.value} runs a program`));
    site.shell(inv.argv[i + 1]?.value ?? '', { ...inv, stdin: undefined });
  }
  const first = inv.argv[1]?.value ?? '';
  const extracting = /^-?[a-zA-Z]*x/.test(first) || inv.argv.some((a) => a.value === '--extract' || a.value === '--get');
  const cIdx = inv.argv.findIndex((a) => a.value === '-C' || a.value === '--directory');
  if (extracting) {
    const dir = cIdx > 0 ? inv.argv[cIdx + 1] : lit('.');
    if (dir !== undefined) classifyWrite(dir, site, inv.text);
    if (inv.argv.some((a) => a.value === '-P' || a.value === '--absolute-names')) site.add('fs.write', 'high', ev(inv, 'extracts absolute paths'));
    return {};
  }
  const creating = /^-?[a-zA-Z]*[cruA]/.test(first) || inv.argv.some((a) => /^--(create|append|update|catenate|concatenate|delete)$/.test(a.value));
  if (creating) {
    const archive = tarArchive(inv.argv.slice(1));
    if (archive !== undefined && archive.value !== '-') classifyWrite(archive, site, inv.text);
  }
  const files = inv.argv.slice(2).filter((a) => !a.value.startsWith('-'));
  return readFiles(files, inv, site);
};

/** The `-f` archive of a tar command line (`tar czf out.tgz …`, `-f out.tar`, `--file=out.tar`). */
function tarArchive(args: Arg[]): Arg | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Arg;
    if (a.value.startsWith('--file=')) return { ...a, value: a.value.slice(7) };
    if (a.value === '--file' || a.value === '-f') return args[i + 1];
    if ((i === 0 && /^-?[a-zA-Z]*f[a-zA-Z]*$/.test(a.value)) || /^-[a-zA-Z]*f$/.test(a.value)) return args[i + 1];
  }
  return undefined;
}

const zipRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  const tt = args.findIndex((a) => a.value === '-TT' || a.value.startsWith('--unzip-command'));
  if (tt >= 0) site.add('exec.obfuscated', 'high', ev(inv, 'zip -TT runs a program'));
  if (inv.name === 'unzip') {
    if (args.some((a) => /^-[a-zA-Z]*[lptvZ]/.test(a.value))) return {};
    const d = args.findIndex((a) => a.value === '-d');
    const dir = d >= 0 ? args[d + 1] : lit('.');
    if (dir !== undefined) classifyWrite(dir, site, inv.text);
    return {};
  }
  const operands = args.filter((a) => !a.value.startsWith('-'));
  if (operands[0] !== undefined) classifyWrite(operands[0], site, inv.text);
  return readFiles(operands.slice(1), inv, site);
};

// ---------------------------------------------------------------------------------------
// processes, services, packages, privileges

const killRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1).map((a) => a.value);
  if (args.some((a) => a === '-l' || a === '-L' || a === '--list')) return {};
  const targets = inv.argv.slice(1).filter((a, k) => !a.value.startsWith('-') || (/^-\d+$/.test(a.value) && k > 0 && (args.slice(0, k).some((p) => /^-/.test(p)) || a.value === '-1')));
  const all = args.includes('-1') && (args.indexOf('-1') > 0 || args.length === 1 || args.length >= 1);
  if (all && targets.some((t) => t.value === '-1')) {
    site.add('proc.kill', 'critical', ev(inv, 'kills every process'));
    return {};
  }
  if (targets.some((t) => t.value === '1')) {
    site.add('proc.kill', 'critical', ev(inv, 'kills init'));
    return {};
  }
  site.add('proc.kill', 'medium', ev(inv, 'kills a process'));
  return {};
};

const pkillRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1).map((a) => a.value);
  if (inv.name === 'killall5' || args.some((a) => a === '-u' || a === '--user' || a === '.' || a === '.*')) site.add('proc.kill', 'critical', ev(inv, 'kills processes wholesale'));
  else site.add('proc.kill', 'high', ev(inv, 'kills processes by name'));
  return {};
};

const SYSTEMCTL_READ = new Set([
  'status',
  'show',
  'list-units',
  'list-unit-files',
  'list-sockets',
  'list-timers',
  'list-jobs',
  'list-dependencies',
  'is-active',
  'is-enabled',
  'is-failed',
  'is-system-running',
  'cat',
  'help',
  'get-default',
  'show-environment',
  '',
]);

const systemctlRule: ProgramRule = (inv, site) => {
  const verb = inv.argv.slice(1).find((a) => !a.value.startsWith('-'))?.value ?? '';
  if (SYSTEMCTL_READ.has(verb)) return {};
  const critical = /^(poweroff|reboot|halt|kexec|rescue|emergency|isolate|suspend|hibernate|default)$/.test(verb);
  site.add('service.control', critical ? 'critical' : 'high', ev(inv, `systemctl ${verb}`));
  return {};
};

const serviceRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1).map((a) => a.value);
  if (args.includes('--status-all') || args[1] === 'status' || args.length < 2) return {};
  site.add('service.control', 'high', ev(inv, `service ${args.join(' ')}`));
  return {};
};

const powerRule: ProgramRule = (inv, site) => {
  if (inv.name === 'init' || inv.name === 'telinit') {
    const level = inv.argv[1]?.value ?? '';
    if (!/^[06sS1]$/.test(level)) return {};
  }
  if (inv.name === 'shutdown' && inv.argv.some((a) => a.value === '-c')) return {};
  site.add('service.control', 'critical', ev(inv, 'shuts down or reboots the machine'));
  return {};
};

const dockerRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  let i = 0;
  while (i < args.length && (args[i] as Arg).value.startsWith('-')) i += /^(-H|--host|--context|-c|--config|-l|--log-level)$/.test((args[i] as Arg).value) ? 2 : 1;
  let sub = args[i]?.value ?? '';
  let rest = args.slice(i + 1);
  if (['container', 'image', 'volume', 'network', 'system', 'builder', 'compose', 'service', 'stack', 'node', 'secret', 'plugin'].includes(sub) && rest[0] !== undefined) {
    const group = sub;
    sub = `${group} ${rest[0].value}`;
    rest = rest.slice(1);
    if (group === 'container' || group === 'image') sub = rest.length >= 0 ? (sub.split(' ')[1] ?? '') : sub;
    if (group === 'image' && sub === 'rm') sub = 'rmi';
    if (group === 'image' && sub === 'prune') sub = 'image prune';
  }
  if (/^(run|create)$/.test(sub)) {
    site.add('service.control', 'low', ev(inv, `${inv.name} ${sub} starts a container`));
    return containerRun(inv, site, rest);
  }
  if (/^(build|pull|tag|commit|load|import|buildx|image build|image pull|image tag|image load|image import|volume create|network create|compose build|compose pull)$/.test(sub)) {
    site.add('fs.write', 'low', ev(inv, `${inv.name} ${sub} changes local images, volumes or networks`));
  }
  if (sub === 'exec') {
    const o = opts(rest, 'euwi', ['env', 'user', 'workdir', 'env-file', 'detach-keys'], true);
    const container = o.rest[0];
    if (has(o, 'privileged')) site.add('priv.escalate', 'high', ev(inv, 'privileged exec'));
    const cmd = o.rest.slice(1);
    if (cmd.length > 0) site.run(cmd, { ...inv, remote: `container:${container?.value ?? '?'}` });
    return {};
  }
  if (
    /^(stop|kill|rm|rmi|restart|pause|unpause|system prune|volume rm|volume prune|network rm|network prune|prune|image prune|compose down|compose stop|compose rm|compose kill|compose restart|compose pause|service rm|stack rm|swarm leave|node rm|secret rm|builder prune)$/.test(
      sub,
    )
  ) {
    const wipesData =
      /volume|system prune/.test(sub) || (sub === 'compose down' && rest.some((a) => a.value === '-v' || a.value === '--volumes')) || (sub === 'rm' && rest.some((a) => /^-[a-z]*v/.test(a.value)));
    site.add('service.control', 'high', ev(inv, `${inv.name} ${sub}`));
    if (wipesData) site.add('fs.delete', 'high', ev(inv, 'removes container volumes'));
    return {};
  }
  if (/^(compose up|compose start|start|update|service create|service update|service scale|stack deploy)$/.test(sub)) {
    site.add('service.control', 'medium', ev(inv, `${inv.name} ${sub}`));
    return {};
  }
  if (sub === 'push') site.add('net.egress', 'medium', ev(inv, 'pushes an image'));
  if (sub === 'login') site.add('secret.read', 'medium', ev(inv, 'registry login'));
  if (sub === 'cp') {
    const dest = rest.filter((a) => !a.value.startsWith('-')).at(-1);
    if (dest !== undefined && !dest.value.includes(':')) classifyWrite(dest, site, inv.text);
  }
  return {};
};

function containerRun(inv: Invocation, site: Site, rest: Arg[]): SubOutput {
  const o = opts(
    rest,
    'ehlpuvwmc',
    [
      'env',
      'volume',
      'mount',
      'name',
      'network',
      'net',
      'user',
      'workdir',
      'publish',
      'entrypoint',
      'pid',
      'ipc',
      'uts',
      'userns',
      'cap-add',
      'security-opt',
      'device',
      'label',
      'memory',
      'cpus',
      'env-file',
      'platform',
      'restart',
      'hostname',
      'add-host',
      'tmpfs',
      'ulimit',
      'health-cmd',
      'log-driver',
      'gpus',
      'shm-size',
      'cgroupns',
      'dns',
    ],
    true,
  );
  const volumes = [...rest.entries()]
    .filter(([k, a]) => ['-v', '--volume', '--mount'].includes(a.value) || /^--(volume|mount)=/.test(a.value) || (/^-v./.test(a.value) && k >= 0))
    .map(([k, a]) => (a.value.includes('=') ? a.value.split('=').slice(1).join('=') : /^-v./.test(a.value) ? a.value.slice(2) : (rest[k + 1]?.value ?? '')));
  const dangerousMount = volumes.some((v) => /^(\/|\/etc|\/root|\/var\/run\/docker\.sock|\/run\/docker\.sock|\/proc|\/sys|\/dev|\/boot|\/usr|\/home)(:|$)|source=\/(,|$)|src=\/(,|$)/.test(v));
  const flagValue = (name: string) => val(o, name)?.value ?? '';
  if (
    has(o, 'privileged') ||
    dangerousMount ||
    /host/.test(flagValue('pid')) ||
    /SYS_ADMIN|ALL|SYS_PTRACE|SYS_MODULE/.test(flagValue('cap-add')) ||
    /unconfined/.test(flagValue('security-opt')) ||
    /host/.test(flagValue('userns'))
  ) {
    site.add('priv.escalate', 'critical', ev(inv, 'privileged container or host root mounted'));
  } else if (volumes.some((v) => v.startsWith('/') && !v.startsWith('/tmp'))) {
    site.add('fs.write', 'medium', ev(inv, 'container mounts a host directory'));
  }
  if (has(o, 'p', 'publish', 'P')) site.add('net.listen', 'medium', ev(inv, 'publishes a container port'));
  const image = o.rest[0];
  const cmd = o.rest.slice(1);
  if (cmd.length > 0) site.run(cmd, { ...inv, remote: `container:${image?.value ?? '?'}` });
  return {};
}

const KUBECTL_READ = /^(get|describe|logs|top|explain|version|api-resources|api-versions|cluster-info|diff|auth|wait|events|completion|plugin|kustomize|options|help|)$/;

const kubectlRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'ncolf', ['namespace', 'context', 'cluster', 'kubeconfig', 'output', 'selector', 'filename', 'container', 'user', 'server', 'token'], true);
  const sub = o.rest[0]?.value ?? '';
  const rest = o.rest.slice(1);
  const values = inv.argv.map((a) => a.value);
  if (sub === 'exec') {
    const dash = inv.argv.findIndex((a) => a.value === '--');
    const cmd = dash >= 0 ? inv.argv.slice(dash + 1) : [];
    if (cmd.length > 0) site.run(cmd, { ...inv, remote: `pod:${rest[0]?.value ?? '?'}` });
    return {};
  }
  if (sub === 'get' && rest.some((a) => /^secrets?$/.test(a.value) || /^secrets?\//.test(a.value))) {
    site.add('secret.read', 'high', ev(inv, 'reads Kubernetes secrets'));
    return { secret: true };
  }
  if (sub === 'create' && rest[0]?.value === 'token') {
    site.add('secret.read', 'high', ev(inv, 'issues a service-account token'));
    return { secret: true };
  }
  if (sub === 'config') {
    if (rest[0]?.value === 'view' && values.includes('--raw')) {
      site.add('secret.read', 'high', ev(inv, 'prints kubeconfig credentials'));
      return { secret: true };
    }
    return {};
  }
  if (KUBECTL_READ.test(sub)) return {};
  if (sub === 'port-forward' || sub === 'proxy') {
    site.add('net.listen', 'medium', ev(inv, `kubectl ${sub}`));
    return {};
  }
  if (sub === 'delete') {
    const wide = rest.some((a) => /^(ns|namespace|namespaces|node|nodes|pv|crd|--all|-A|--all-namespaces)$/.test(a.value) || /^(ns|namespace)\//.test(a.value));
    site.add('service.control', wide ? 'critical' : 'high', ev(inv, 'kubectl delete'));
    return {};
  }
  if (/^(drain|cordon|uncordon|taint|scale|rollout|autoscale)$/.test(sub)) {
    site.add('service.control', 'high', ev(inv, `kubectl ${sub}`));
    return {};
  }
  if (sub === 'cp') return {};
  site.add('cloud.mutate', 'high', ev(inv, `kubectl ${sub}`));
  return {};
};

const iacRule: ProgramRule = (inv, site) => {
  const words = inv.argv
    .slice(1)
    .map((a) => a.value)
    .filter((v) => !v.startsWith('-'));
  const sub = words[0] ?? '';
  const flags = inv.argv.map((a) => a.value);
  if (sub === 'destroy' || (sub === 'apply' && flags.includes('-destroy')) || (inv.name === 'pulumi' && sub === 'destroy')) {
    site.add('cloud.mutate', 'critical', ev(inv, 'destroys infrastructure'));
  } else if (
    /^(apply|import|taint|untaint|up|refresh|force-unlock)$/.test(sub) ||
    (sub === 'state' && /^(rm|mv|push|replace-provider)$/.test(words[1] ?? '')) ||
    (sub === 'workspace' && words[1] === 'delete')
  ) {
    site.add('cloud.mutate', 'high', ev(inv, `${inv.name} ${words.slice(0, 2).join(' ')}`));
  }
  return {};
};

const READ_VERB =
  /^(describe|list|get|head|wait|help|ls|batch-get|scan|query|filter|lookup|search|validate|estimate|preview|simulate|test|decode|generate|presign|show|info|version|whoami|status|check|print|read|view|export|logs?|tail|cat|config|auth|account|login|init|plan|history|inspect|explain|diff|output|find|select|download|fetch)(-|$)/;
const DESTROY_VERB = /^(delete|destroy|remove|rm|rb|terminate|purge|drop|deregister|disable|detach|revoke|wipe|erase|kill|uninstall)(-|$)/;

const cloudRule: ProgramRule = (inv, site) => {
  const words = inv.argv
    .slice(1)
    .map((a) => a.value)
    .filter((v) => !v.startsWith('-'));
  const flags = inv.argv.map((a) => a.value);
  if (
    words.some((w) => /^(get-secret-value|access|get-parameter|get-parameters|get-secret|secret)$/.test(w)) &&
    (words.includes('secretsmanager') || words.includes('secrets') || words.includes('ssm') || words.includes('keyvault') || flags.includes('--with-decryption'))
  ) {
    site.add('secret.read', 'high', ev(inv, 'reads a cloud secret'));
    return { secret: true };
  }
  const joined = words.join(' ');
  if (
    /\b(get-session-token|assume-role(-with-[a-z-]+)?|get-federation-token|get-login-password|get-login|export-credentials|get-authorization-token|print-access-token|print-identity-token|get-access-token|config-helper|auth:token|generate-db-auth-token|get-credentials-for-identity)\b/.test(
      joined,
    ) ||
    /\bconfigure get (aws_secret_access_key|aws_session_token|aws_access_key_id)\b/.test(joined) ||
    (/^(doctl|flyctl|fly|heroku|vercel|netlify|firebase)$/.test(inv.name) && /\bauth token\b|\bauth:token\b|\btokens? (create|print)\b/.test(joined))
  ) {
    site.add('secret.read', 'high', ev(inv, `${inv.name} prints cloud credentials`));
    return { secret: true };
  }
  if (inv.name === 'vault' && /^(read|kv)$/.test(words[0] ?? '') && !/^(put|delete|destroy|patch)$/.test(words[1] ?? '')) {
    site.add('secret.read', 'high', ev(inv, 'reads a Vault secret'));
    return { secret: true };
  }
  const destroy = words.find((w) => DESTROY_VERB.test(w));
  if (destroy !== undefined) {
    const wide =
      flags.some((f) => /^(--recursive|--force|-r|--skip-final-snapshot|--all|-rf|-fr)$/.test(f)) ||
      /^(rb|delete-bucket|delete-db-instance|delete-db-cluster|delete-stack|delete-cluster|delete-table|terminate-instances|delete-project)$/.test(destroy);
    site.add('cloud.mutate', wide ? 'critical' : 'high', ev(inv, `${inv.name} ${destroy}`));
    return {};
  }
  const mutate = words
    .slice(1)
    .find(
      (w) =>
        !READ_VERB.test(w) &&
        /^(create|put|update|modify|run|start|stop|reboot|attach|associate|set|add|apply|deploy|import|restore|copy|cp|mv|sync|scale|resize|enable|tag|untag|replace|patch|upload|publish|promote|rollback|invoke|send|reset|release|register|authorize|grant|change|move|restart|push|up|down|open|rotate)(-|$)/.test(
          w,
        ),
    );
  if (mutate !== undefined) {
    const download = /^(cp|sync|mv)$/.test(mutate) && words.slice(-2)[0]?.startsWith('s3://') === true && !(words.at(-1) ?? '').startsWith('s3://');
    if (!download) site.add('cloud.mutate', 'high', ev(inv, `${inv.name} ${mutate}`));
    const local = inv.argv.slice(1).filter((a) => !a.value.startsWith('-') && a.literal && !a.value.includes('://'));
    readFiles(local, inv, site);
  }
  return {};
};

const helmRule: ProgramRule = (inv, site) => {
  const sub = inv.argv.slice(1).find((a) => !a.value.startsWith('-'))?.value ?? '';
  if (/^(uninstall|delete|del|un)$/.test(sub)) site.add('service.control', 'high', ev(inv, `helm ${sub}`));
  else if (/^(install|upgrade|rollback)$/.test(sub)) site.add('cloud.mutate', 'high', ev(inv, `helm ${sub}`));
  return {};
};

const PKG_GLOBAL = /^(-g|--global|--location=global|-G)$/;
const PKG_INDEX = /^(-i|--index-url|--extra-index-url|--trusted-host|-f|--find-links|--registry|--source|--index|--default-index|--git)$/;

const pkgRule: ProgramRule = (inv, site) => {
  const name = inv.name;
  const args = inv.argv.slice(1);
  const values = args.map((a) => a.value);
  // apt/dpkg hooks given on the command line (`-o APT::Update::Pre-Invoke::=cmd`) run commands.
  for (const v of values) {
    const hook = /^(?:-o)?\s*(?:APT::[\w:-]*(?:Pre|Post)-Invoke[\w:-]*|DPkg::(?:Pre|Post)-Invoke[\w:-]*|DPkg::Pre-Install-Pkgs[\w:-]*|APT::Update::Post-Invoke-Success[\w:-]*)(?:::)?=(.*)$/i.exec(v);
    if (hook !== null) {
      site.add('exec.obfuscated', 'high', ev(inv, `${name} hook runs a command`));
      site.shell(hook[1] ?? '', { ...inv, stdin: undefined });
    }
  }
  const words = values.filter((v) => !v.startsWith('-'));
  let verb = words[0] ?? '';
  let specs = words.slice(1);
  const official = /^(https?:\/\/)?(registry\.npmjs\.org|registry\.yarnpkg\.com|pypi\.org|files\.pythonhosted\.org|rubygems\.org|crates\.io)(\/|$)/;
  if (
    verb === 'config' &&
    /^(set|add)$/.test(words[1] ?? '') &&
    /registry|index-url|index|source|trusted-host|extra-index/i.test(words[2] ?? '') &&
    !official.test(words[3] ?? (words[2] ?? '').split('=')[1] ?? '')
  ) {
    site.add('pkg.install', 'high', ev(inv, `${name} config points installs at another registry`));
    return {};
  }
  if (name === 'yarn' && verb === 'global') {
    site.add('pkg.install', 'high', ev(inv, 'global package install'));
    return {};
  }
  if ((name === 'uv' || name === 'poetry' || name === 'pdm') && verb === 'pip') {
    verb = words[1] ?? '';
    specs = words.slice(2);
  }
  if (
    name === 'npx' ||
    name === 'bunx' ||
    name === 'pnpx' ||
    name === 'uvx' ||
    (name === 'pipx' && verb === 'run') ||
    ((name === 'pnpm' || name === 'yarn') && verb === 'dlx') ||
    (name === 'npm' && (verb === 'exec' || verb === 'x'))
  ) {
    const pkg = (name === 'npx' || name === 'bunx' || name === 'pnpx' || name === 'uvx' ? words[0] : words[1]) ?? '';
    const remote = /^(https?:|git\+|git:|github:|gitlab:|bitbucket:|file:)|^[\w.-]+\/[\w.-]+(#.*)?$/.test(pkg) && !pkg.startsWith('@');
    site.add('pkg.install', remote ? 'high' : 'medium', ev(inv, remote ? `runs a package from ${pkg}` : `runs package ${pkg}`));
    if (values.some((v) => PKG_INDEX.test(v.split('=')[0] ?? ''))) site.add('pkg.install', 'high', ev(inv, 'custom package index'));
    return {};
  }
  const INSTALL = /^(install|i|add|ci|in|isntall|update|upgrade|up|require|get|reinstall|localinstall|sync|-S|-U|-Syu|-i)$/;
  const sysMgr = /^(apt|apt-get|aptitude|yum|dnf|zypper|apk|pacman|snap|flatpak|port|emerge|xbps-install|nix-env|dpkg|rpm|choco|winget|scoop)$/.test(name);
  const installs =
    INSTALL.test(verb) ||
    (name === 'pacman' && values.some((v) => /^-S/.test(v))) ||
    ((name === 'dpkg' || name === 'rpm') && values.some((v) => /^-(i|U|-install)/.test(v))) ||
    (name === 'go' && verb === 'get') ||
    name === 'easy_install';
  if (!installs) {
    if (/^(add-apt-repository|apt-key)$/.test(name)) site.add('pkg.install', 'high', ev(inv, 'adds a package source'));
    else if (
      (/^(npm|pnpm|yarn|bun|cnpm)$/.test(name) && /^(run|run-script|rum|urn|test|tst|t|start|stop|restart|build|exec|rebuild)$/.test(verb)) ||
      (/^(yarn|pnpm)$/.test(name) &&
        verb !== '' &&
        !/^(info|why|list|ls|outdated|view|show|help|config|cache|audit|licenses|search|whoami|bin|root|prefix|version|-v|--version|--help)$/.test(verb) &&
        !/^(publish|unpublish|deprecate|undeprecate|push|yank|owner|dist-tag|access|upload|release|uninstall|remove|rm|r|un|unlink|erase|purge|autoremove|prune|dedupe|link|init|create|new|lock)$/.test(
          verb,
        ))
    ) {
      // Project scripts run arbitrary code that builds, formats and caches: a write.
      site.add('fs.write', 'low', ev(inv, `${name} ${verb} runs project scripts, which write`));
    } else if (/^(publish|unpublish|deprecate|undeprecate|push|yank|owner|dist-tag|access|upload|release)$/.test(verb) && !values.includes('--dry-run')) {
      // A write to a registry: another machine changes, so it is egress.
      const destructive = /^(unpublish|yank|deprecate)$/.test(verb);
      site.add('net.egress', destructive ? 'high' : 'medium', ev(inv, `${name} ${verb} changes a package registry`));
    } else if (/^(uninstall|remove|rm|r|un|unlink|erase|purge|autoremove|prune|dedupe|link|version|init|create|new|lock|rebuild|audit)$/.test(verb) && !(verb === 'audit' && !values.includes('fix'))) {
      site.add(
        /^(uninstall|remove|rm|r|un|erase|purge|autoremove)$/.test(verb) ? 'pkg.install' : 'fs.write',
        sysMgr || values.some((v) => PKG_GLOBAL.test(v)) ? 'high' : 'low',
        ev(inv, `${name} ${verb} changes installed packages or project files`),
      );
    }
    return {};
  }
  let risk: Risk = 'medium';
  let why = 'installs packages';
  if (values.some((v) => PKG_GLOBAL.test(v))) {
    risk = 'high';
    why = 'global package install';
  }
  if (values.some((v) => PKG_INDEX.test(v.split('=')[0] ?? '') && !(name === 'pip' && v === '-i' && false))) {
    const idx = values.findIndex((v) => PKG_INDEX.test(v.split('=')[0] ?? ''));
    const target = values[idx]?.includes('=') ? values[idx]?.split('=').slice(1).join('=') : values[idx + 1];
    if (!(name === 'dpkg' || name === 'rpm')) {
      risk = 'high';
      why = `custom package index ${target ?? ''}`;
    }
  }
  if (values.some((v) => /^--break-system-packages$|^--allow-unauthenticated$|^--force-yes$|^--nogpgcheck$|^--unsafe-perm$/.test(v))) {
    risk = 'high';
    why = 'install bypassing safety checks';
  }
  if (specs.some((s) => /^(https?:|git\+|git:|github:|gitlab:|bitbucket:|ssh:)/.test(s) || (/^[\w.-]+\/[\w.-]+(#.*)?$/.test(s) && (name === 'npm' || name === 'yarn' || name === 'pnpm')))) {
    risk = 'high';
    why = 'installs a package from a URL or repository';
  }
  // System packages change the machine for every user and run maintainer scripts as root.
  if (sysMgr && risk === 'medium' && !/^(update|-Sy)$/.test(verb)) {
    risk = 'high';
    why = 'installs system packages';
  }
  site.add('pkg.install', risk, ev(inv, why));
  return {};
};

const privRule: ProgramRule = (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  const name = inv.name;
  if (name === 'usermod' || name === 'gpasswd' || name === 'adduser') {
    const joined = values.join(' ');
    if (/\b(sudo|wheel|admin|root|docker|lxd|disk|shadow)\b/.test(joined)) {
      site.add('priv.escalate', 'critical', ev(inv, 'adds a user to a privileged group'));
      return {};
    }
  }
  if (name === 'visudo' || name === 'setcap' || (name === 'nsenter' && values.some((v) => /^(-t|--target)$/.test(v) || /^--target=1$|^-t1$/.test(v)))) {
    site.add('priv.escalate', 'critical', ev(inv, name === 'setcap' ? 'grants file capabilities' : name === 'visudo' ? 'edits sudoers' : 'enters the host namespaces'));
    if (name === 'nsenter') {
      const dash = values.indexOf('--');
      const inner = dash >= 0 ? inv.argv.slice(dash + 2) : [];
      if (inner.length > 0) site.run(inner, inv);
    }
    return {};
  }
  site.add('priv.escalate', 'high', ev(inv, `${name}`));
  return {};
};

const crontabRule: ProgramRule = (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  if (values.includes('-l')) return {};
  if (values.includes('-r')) {
    site.add('fs.delete', 'high', ev(inv, 'removes the crontab'));
    return {};
  }
  site.add('fs.write_sensitive', 'high', ev(inv, 'installs a crontab'));
  if (inv.stdin?.text !== undefined) {
    for (const line of inv.stdin.text.split('\n')) {
      const cmd = line.trim().split(/\s+/).slice(5).join(' ');
      if (cmd !== '' && !line.trim().startsWith('#')) site.shell(cmd, { ...inv, stdin: undefined });
    }
  }
  return {};
};

const atRule: ProgramRule = (inv, site) => {
  if (inv.argv.slice(1).some((a) => a.value === '-l')) return {};
  site.add('fs.write_sensitive', 'medium', ev(inv, 'schedules a job'));
  if (inv.stdin?.text !== undefined) site.shell(inv.stdin.text, { ...inv, stdin: undefined });
  return {};
};

/**
 * Programs that read their own command language from stdin run `!cmd` lines (ed, ex, vim -es,
 * ftp, gdb, dc, mysql, psql, sqlite3 `.shell`): each such line is a shell command.
 */
function stdinEscapes(inv: Invocation, site: Site): void {
  const text = inv.stdin?.text;
  if (text === undefined) return;
  let n = 0;
  for (const line of text.split('\n')) {
    const m = /^\s*(?::?!|\\!|\.(?:shell|system)\s|shell\s|system\s)(.*)$/.exec(line);
    if (m === null || n++ >= 16) continue;
    site.add('exec.obfuscated', 'high', ev(inv, `${inv.name} runs a shell command from its input`));
    site.shell(m[1] ?? '', { ...inv, stdin: undefined });
  }
}

const editorRule: ProgramRule = (inv, site) => {
  stdinEscapes(inv, site);
  const args = inv.argv.slice(1);
  for (let i = 0; i < args.length; i++) {
    const v = (args[i] as Arg).value;
    const cmd = v === '-c' || v === '--cmd' ? args[i + 1]?.value : v.startsWith('+') ? v.slice(1) : undefined;
    if (cmd !== undefined && /^\s*:?\s*(!|call\s+system|silent\s*!|term|py|pyx|python|lua|perl|ruby|rub|exe|sh(ell)?\b|set\s+shell|r\s*!|w\s*!)/.test(cmd)) {
      site.add('exec.obfuscated', 'high', ev(inv, 'editor command runs a program'));
      const code = /^\s*:?\s*(?:py(?:thon)?3?|pyx|lua|perl|rub(?:y)?)\s+(.*)$/s.exec(cmd)?.[1];
      if (code !== undefined) inlineCode(code, inv, site);
      else {
        const sh = /!(.*)$/.exec(cmd)?.[1];
        if (sh !== undefined) site.shell(sh, { ...inv, stdin: undefined });
      }
    }
  }
  for (const f of args.filter((a) => !a.value.startsWith('-') && !a.value.startsWith('+'))) {
    if (f.literal && (isSecretPath(f.value) || sensitiveWriteTarget(site.touch(f.value, 'write'), site.home) !== undefined)) classifyWrite(f, site, inv.text);
  }
  return {};
};

const dbClientRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  const name = inv.name;
  const queries: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const v = (args[i] as Arg).value;
    const next = args[i + 1]?.value;
    if (
      (name === 'psql' && (v === '-c' || v === '--command')) ||
      (/^(mysql|mariadb)$/.test(name) && (v === '-e' || v === '--execute')) ||
      (name === 'sqlcmd' && (v === '-Q' || v === '-q')) ||
      (/^(clickhouse-client|clickhouse)$/.test(name) && (v === '-q' || v === '--query')) ||
      (name === 'cqlsh' && (v === '-e' || v === '--execute')) ||
      (name === 'influx' && (v === '-execute' || v === '--execute'))
    ) {
      if (next !== undefined) queries.push(next);
      i++;
    } else if (/^--(command|execute|query)=/.test(v)) queries.push(v.replace(/^--[a-z]+=/, ''));
    else if (/^(mongo|mongosh)$/.test(name) && v === '--eval' && next !== undefined) {
      queries.push(next);
      i++;
    } else if (/^-[ce].+/.test(v) && /^(psql|mysql|mariadb)$/.test(name)) queries.push(v.slice(2));
  }
  if (name === 'sqlite3') {
    const ops = args.filter((a) => !a.value.startsWith('-'));
    if (ops[1] !== undefined)
      queries.push(
        ops
          .slice(1)
          .map((a) => a.value)
          .join(' '),
      );
  }
  if (name === 'redis-cli') return redisRule(inv, site);
  stdinEscapes(inv, site);
  if (inv.stdin?.text !== undefined) {
    // Client commands on stdin (`.shell`, `\!`, `.tables`) are not SQL: escapes were analyzed above, dot-commands here.
    const lines = inv.stdin.text.split('\n');
    if (name === 'sqlite3') for (const l of lines.filter((x) => /^\s*\.(?!shell\s|system\s)/.test(x)).slice(0, 16)) sqliteDot(l, inv, site);
    const sql = lines.filter((x) => !/^\s*(\.|\\!|system\s)/.test(x)).join('\n');
    if (sql.trim() !== '') queries.push(sql);
  } else if (inv.stdin !== undefined && queries.length === 0) site.add('db.write', 'medium', ev(inv, 'runs statements from stdin the analyzer cannot see'));
  const file = args.find(
    (a, k) =>
      (name === 'psql' && (a.value === '-f' || a.value === '--file' || /^--file=/.test(a.value) || /^-f./.test(a.value))) ||
      (/^(mongo|mongosh)$/.test(name) && k > 0 && /\.(js|mongodb)$/.test(a.value)),
  );
  if (file !== undefined) site.add('db.write', 'medium', ev(inv, 'runs statements from a file the analyzer cannot see'));
  for (const q of queries) {
    // Client commands that run a shell: sqlite3 `.shell`/`.system`, psql and mysql `\!`, mysql `system`.
    const shellEscape = /^\s*(?:\.(?:shell|system)|\\!|system)\s+([\s\S]*)$/.exec(q);
    if (shellEscape !== null && (name !== 'psql' || !q.trimStart().startsWith('system'))) {
      site.add('exec.obfuscated', 'high', ev(inv, `${name} runs a shell command`));
      site.shell(shellEscape[1] ?? '', { ...inv, stdin: undefined });
      continue;
    }
    if (name === 'sqlite3' && /^\s*\./.test(q)) {
      sqliteDot(q, inv, site);
      continue;
    }
    // psql meta-commands (`\dt`, `\l`, `\d users`) describe the database; they are not SQL.
    if (name === 'psql' && /^\s*\\(d[a-zA-Z+]*|l\+?|conninfo|x|timing|dn|du|df|dv|dt|list|h|\?)(\s|$)/.test(q) && !q.includes(';')) continue;
    const sql = analyzeSqlText(q);
    // Carried as the SQL analyzer reports them: DML and DDL come back as `db.write` or `db.destructive`.
    for (const f of sql.findings) site.add(f.category, f.risk, ev(inv, f.evidence));
    if (!sql.parsed) site.add('db.destructive', 'medium', ev(inv, 'query the SQL parser could not read'));
  }
  return {};
};

/** sqlite3 dot-commands: reads, except `.load` (native code), `.output` (a file) and `.read`/`.import`. */
function sqliteDot(q: string, inv: Invocation, site: Site): void {
  const [cmd = '', arg] = q.trim().split(/\s+/);
  if (cmd === '.load') site.add('exec.obfuscated', 'high', ev(inv, 'sqlite3 loads a native extension'));
  else if ((cmd === '.output' || cmd === '.once' || cmd === '.save' || cmd === '.backup') && arg !== undefined) classifyWrite(lit(arg), site, inv.text);
  else if (cmd === '.read') site.add('db.write', 'medium', ev(inv, 'runs statements from a file the analyzer cannot see'));
  else if (cmd === '.import' || cmd === '.restore') site.add('db.write', 'low', ev(inv, `sqlite3 ${cmd}`));
}

const REDIS_VALUED = 'hpsaunridDt';
const REDIS_LONG = [
  'user',
  'pass',
  'askpass',
  'cacert',
  'cacertdir',
  'cert',
  'key',
  'sni',
  'pattern',
  'count',
  'quoted-pattern',
  'eval',
  'rdb',
  'functions-rdb',
  'memkeys-samples',
  'intrinsic-latency',
  'lru-test',
  'replica',
  'tls-ciphers',
  'tls-ciphersuites',
  'show-pushes',
];
/** Redis commands that change data (not destructive of a whole dataset): `db.write`. */
const REDIS_WRITE =
  /^(set|setnx|setex|psetex|mset|msetnx|append|incr|incrby|incrbyfloat|decr|decrby|getset|getdel|getex|setbit|setrange|bitop|bitfield|hset|hsetnx|hmset|hincrby|hincrbyfloat|hdel|lpush|rpush|lpushx|rpushx|lpop|rpop|lset|linsert|lrem|ltrim|rpoplpush|lmove|lmpop|blpop|brpop|brpoplpush|blmove|blmpop|sadd|srem|spop|smove|sinterstore|sunionstore|sdiffstore|zadd|zrem|zincrby|zpopmin|zpopmax|bzpopmin|bzpopmax|zmpop|bzmpop|zremrangebyscore|zremrangebyrank|zremrangebylex|zunionstore|zinterstore|zdiffstore|zrangestore|xadd|xdel|xtrim|xgroup|xack|xclaim|xautoclaim|xsetid|pfadd|pfmerge|geoadd|georadius|georadiusbymember|geosearchstore|expire|expireat|pexpire|pexpireat|persist|rename|renamenx|move|copy|restore|restore-asking|migrate|sort|publish|spublish|save|bgsave|bgrewriteaof|multi|exec|eval|evalsha|eval_ro|evalsha_ro|fcall|script|function|module|acl|client|cluster|failover|json\.\w+|ts\.\w+|bf\.\w+|cf\.\w+|ft\.\w+)$/i;
/** Redis commands that delete keys. */
const REDIS_DELETE = /^(del|unlink)$/i;

/** redis-cli: the command and its arguments come after the options; stdin holds commands when there are none. */
function redisRule(inv: Invocation, site: Site): SubOutput {
  const o = opts(inv.argv.slice(1), REDIS_VALUED, REDIS_LONG, true);
  if (val(o, 'eval') !== undefined) site.add('db.write', 'medium', ev(inv, 'runs a Lua script file in Redis'));
  if (has(o, 'pipe')) site.add('db.write', 'medium', ev(inv, 'mass insertion of the commands on stdin'));
  const rdb = val(o, 'rdb', 'functions-rdb');
  if (rdb !== undefined) classifyWrite(rdb, site, inv.text);
  const words = o.rest;
  if (words.length === 0) {
    const text = inv.stdin?.text;
    if (text !== undefined)
      for (const line of text.split('\n').slice(0, 64))
        redisCommand(
          line
            .trim()
            .split(/\s+/)
            .filter((w) => w !== ''),
          inv,
          site,
        );
    else if (inv.stdin !== undefined && !has(o, 'pipe')) site.add('db.write', 'medium', ev(inv, 'runs Redis commands from stdin'));
    return {};
  }
  redisCommand(
    words.map((w) => w.value),
    inv,
    site,
  );
  return {};
}

function redisCommand(words: string[], inv: Invocation, site: Site): void {
  const cmd = (words[0] ?? '').toLowerCase();
  const sub = (words[1] ?? '').toLowerCase();
  if (cmd === '') return;
  if (cmd === 'flushall' || cmd === 'flushdb' || cmd === 'shutdown') site.add('db.destructive', cmd === 'flushall' ? 'critical' : 'high', ev(inv, `redis ${cmd.toUpperCase()}`));
  else if (cmd === 'replicaof' || cmd === 'slaveof' || cmd === 'debug') site.add('db.destructive', 'high', ev(inv, `redis ${cmd.toUpperCase()} can replace or crash the dataset`));
  else if (cmd === 'config') {
    if (sub !== 'get' && sub !== 'help') site.add('db.destructive', 'medium', ev(inv, `redis CONFIG ${sub.toUpperCase()}`));
  } else if ((cmd === 'script' || cmd === 'function') && sub === 'flush') site.add('db.destructive', 'medium', ev(inv, `redis ${cmd.toUpperCase()} FLUSH`));
  else if (REDIS_DELETE.test(cmd)) site.add('db.write', 'medium', ev(inv, `redis ${cmd.toUpperCase()} deletes keys`));
  else if (REDIS_WRITE.test(cmd)) {
    // Read-only forms of the multi-purpose commands.
    const readOnly =
      ((cmd === 'script' || cmd === 'function') && /^(exists|list|stats|dump|help)$/.test(sub)) ||
      ((cmd === 'client' || cmd === 'cluster' || cmd === 'acl' || cmd === 'module') &&
        /^(list|info|getname|id|help|nodes|slots|shards|myid|whoami|cat|users|getuser|log|keyslot|countkeysinslot|getkeysinslot)$/.test(sub)) ||
      (cmd === 'sort' && !words.some((w) => w.toLowerCase() === 'store'));
    if (!readOnly)
      site.add(
        'db.write',
        /^(eval|evalsha|fcall|script|function|module|acl|client|cluster|failover|migrate|restore)$/.test(cmd) ? 'medium' : 'low',
        ev(inv, `redis ${cmd.toUpperCase()} changes data`),
      );
  }
}

const secretToolRule: ProgramRule = (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  const name = inv.name;
  const reads =
    (name === 'security' && values.some((v) => /^(find-generic-password|find-internet-password|dump-keychain|export)$/.test(v))) ||
    (name === 'gpg' && values.some((v) => /^--export-secret(-sub)?keys$/.test(v))) ||
    (name === 'pass' && (values[0] === 'show' || (values.length > 0 && !/^(ls|list|find|search|init|insert|generate|edit|rm|mv|cp|git|help|version)$/.test(values[0] ?? '')))) ||
    (name === 'op' && /^(read|item|document)$/.test(values[0] ?? '') && !values.includes('list')) ||
    (name === 'keyctl' && /^(print|pipe|read)$/.test(values[0] ?? '')) ||
    (name === 'secret-tool' && values[0] === 'lookup') ||
    name === 'aws-vault';
  if (reads) {
    site.add('secret.read', 'high', ev(inv, `${name} reveals secrets`));
    return { secret: true };
  }
  return {};
};

const mountRule: ProgramRule = (inv, site) => {
  if (inv.argv.length === 1 || inv.argv.slice(1).every((a) => /^-(l|t|a)$/.test(a.value))) return {};
  site.add('priv.escalate', 'high', ev(inv, `${inv.name} changes mounts`));
  return {};
};

const firewallRule: ProgramRule = (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  if (values.length === 0 || values.some((v) => /^(-L|--list|-S|--list-rules|status|show|list|--state|--list-all)$/.test(v))) return {};
  const opens = values.some(
    (v, k) =>
      (/^(-P|--policy)$/.test(v) && /^ACCEPT$/i.test(values[k + 2] ?? '')) ||
      (v === '-j' && /^ACCEPT$/i.test(values[k + 1] ?? '') && !values.some((w) => /^(-s|--source|-p|--protocol|--dport|-m)$/.test(w))),
  );
  site.add(
    'service.control',
    opens || values.some((v) => /^(-F|--flush|disable|flush|stop|-X|reset)$/.test(v)) ? 'high' : 'medium',
    ev(inv, opens ? `${inv.name} opens the firewall to all traffic` : `${inv.name} changes the firewall`),
  );
  return {};
};

const sysctlRule: ProgramRule = (inv, site) => {
  if (inv.argv.slice(1).some((a) => a.value === '-w' || a.value.includes('='))) site.add('fs.write_sensitive', 'high', ev(inv, 'changes kernel settings'));
  return {};
};

const ghRule: ProgramRule = (inv, site) => {
  const words = inv.argv.slice(1).map((a) => a.value);
  if (
    (words[1] === 'delete' && /^(repo|release|secret|variable|gist|ssh-key|gpg-key|run|cache|label)$/.test(words[0] ?? '')) ||
    (words[0] === 'api' && words.some((w, k) => /^(-X|--method)$/.test(w) && /^DELETE$/i.test(words[k + 1] ?? '')))
  ) {
    site.add('vcs.destructive', 'high', ev(inv, 'deletes GitHub resources'));
  }
  if (words[0] === 'gist' && /^(create|new|edit)$/.test(words[1] ?? '')) {
    const files = inv.argv.slice(3).filter((a) => a.literal && !a.value.startsWith('-'));
    const secret = readFiles(files, inv, site).secret === true || inv.stdin?.secret === true;
    site.add('net.egress', secret ? 'critical' : 'high', ev(inv, 'uploads files to a GitHub gist'));
    if (secret) site.add('secret.read', 'critical', ev(inv, 'secrets uploaded to a gist'));
  }
  if (words[0] === 'auth' && words[1] === 'token') {
    site.add('secret.read', 'high', ev(inv, 'prints the GitHub token'));
    return { secret: true };
  }
  return {};
};

const cdRule: ProgramRule = (inv, site) => {
  const target = inv.argv.slice(1).find((a) => !/^-[LPe@]$/.test(a.value));
  site.chdir(target);
  return {};
};

const trapRule: ProgramRule = (inv, site) => {
  const action = inv.argv[1];
  if (action !== undefined && action.literal && action.value !== '-' && !action.value.startsWith('-')) site.shell(action.value, { ...inv, stdin: undefined });
  return {};
};

const parallelRule: ProgramRule = (inv, site) => {
  const sep = inv.argv.findIndex((a) => a.value === ':::' || a.value === '::::');
  const cmd = inv.argv.slice(1, sep > 0 ? sep : undefined);
  while (cmd[0] !== undefined && cmd[0].value.startsWith('-')) cmd.shift();
  if (cmd.length === 0) return stdinCode(inv, site, 'shell');
  const inputs = sep > 0 ? inv.argv.slice(sep + 1).slice(0, 8) : [];
  const text = cmd.map((a) => a.value).join(' ');
  if (inputs.length === 0) return site.shell(text, { ...inv, stdin: undefined });
  for (const input of inputs) site.shell(text.includes('{}') ? text.split('{}').join(input.value) : `${text} ${input.value}`, { ...inv, stdin: undefined });
  return {};
};

const scriptRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'cEIOTt', ['command', 'log-io', 'log-in', 'log-out', 'log-timing']);
  const c = val(o, 'c', 'command');
  // A program of the same name in the project (`./script`) is not util-linux script.
  const path = inv.argv[0]?.value ?? '';
  if (path.includes('/') && !/^\/(usr\/)?bin\//.test(path)) return unknownProgram(inv, site);
  if (c !== undefined) return site.shell(c.value, { ...inv, stdin: undefined });
  // BSD form `script -q file cmd …` runs the command; without one, an interactive shell with a terminal.
  if (o.operands.length >= 2) return site.run(o.operands.slice(1), { ...inv, stdin: undefined });
  if (!has(o, 'V', 'version', 'h', 'help')) site.add('exec.obfuscated', 'high', ev(inv, 'script starts an interactive shell'));
  return {};
};

/** Programs that create or change the files named as operands (touch, mkdir, mkfifo …). */
function createsOperands(valued: string, longValued: readonly string[] = []): ProgramRule {
  return (inv, site) => {
    const o = opts(inv.argv.slice(1), valued, longValued);
    const files = inv.name === 'mknod' ? o.operands.slice(0, 1) : o.operands;
    for (const f of files) classifyWrite(f, site, inv.text);
    return {};
  };
}

const mktempRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'pt', ['tmpdir', 'suffix']);
  if (has(o, 'u', 'dry-run')) return {};
  const dir = val(o, 'p', 'tmpdir');
  if (dir !== undefined) classifyWrite(dir, site, inv.text);
  else site.add('fs.write', 'low', ev(inv, 'creates a temporary file'));
  return {};
};

const patchRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'pdoiBrFVYzDg', [
    'directory',
    'output',
    'input',
    'strip',
    'reject-file',
    'prefix',
    'suffix',
    'backup-if-mismatch',
    'fuzz',
    'version-control',
    'basename-prefix',
    'ifdef',
    'quoting-style',
  ]);
  if (has(o, 'dry-run', 'C', 'check')) return {};
  const target = val(o, 'o', 'output') ?? o.operands[0] ?? val(o, 'd', 'directory') ?? lit('.');
  classifyWrite(target, site, inv.text);
  const input = val(o, 'i', 'input');
  return input !== undefined ? readFiles([input], inv, site) : {};
};

/** split: pieces of the input go to files named after a prefix (`x` by default). */
const splitRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'abClnt', ['lines', 'bytes', 'line-bytes', 'number', 'suffix-length', 'additional-suffix', 'filter', 'separator']);
  classifyWrite(o.operands[1] ?? lit('x'), site, inv.text);
  const filter = val(o, 'filter');
  if (filter !== undefined) {
    if (isBareShell(filter.value.trim().split(/\s+/).map(lit))) site.add('exec.obfuscated', 'high', ev(inv, 'split --filter starts a shell on the input'));
    site.shell(filter.value, { ...inv, stdin: undefined });
  }
  return readFiles(o.operands.slice(0, 1), inv, site);
};

/** gzip file, xz file, gunzip file.gz …: the file is replaced by its (de)compressed form. */
function compressesInPlace(inv: Invocation, site: Site): void {
  const values = inv.argv.slice(1).map((a) => a.value);
  if (values.some((v) => /^-[a-zA-Z0-9]*[ctl]|^--(stdout|to-stdout|test|list)$/.test(v))) return;
  for (const f of inv.argv.slice(1).filter((a) => !a.value.startsWith('-'))) classifyWrite(f, site, inv.text);
}

const noop: ProgramRule = (inv) => (inv.stdin !== undefined && (inv.name === 'sort' || inv.name === 'uniq') ? { ...inv.stdin } : {});

/** Programs that only inspect a file, even a shell binary. */
const INSPECTORS = /^(ldd|readelf|objdump|nm|size|file|stat|sha\d*sum|md5sum|chsh|update-alternatives|ls|dpkg-query|rpm|getcap|namei|lsattr|shellcheck|shfmt|checkbashisms)$/;
/** A shell as a word of its own, or after `=`, `,`, `!`, `;` (`/bin/sh`, `-f /bin/bash`, `exec=/bin/sh`, `'!sh'`). */
const SHELL_WORD = /(?:^|[\s=,;:!'"(])(?:\/usr)?(?:\/bin\/)(?:ba|da|z|k|c|tc|a|fi|mk)?sh(?=$|[\s,;'")])|^!\s*(?:ba|da|z)?sh\b/;

/**
 * An unknown program handed a shell (`setarch x86_64 /bin/sh`, `gdb -ex '!sh'`,
 * `cpulimit -f /bin/sh`) or code that runs commands (`jrunscript -e "exec('…')"`): it runs it.
 */
function handsOverShell(inv: Invocation, site: Site): void {
  if (INSPECTORS.test(inv.name)) return;
  for (const a of inv.argv.slice(1)) {
    if (!a.literal) continue;
    if (SHELL_WORD.test(a.value)) {
      site.add('exec.obfuscated', 'high', ev(inv, `${inv.name} is handed a shell to run`));
      return;
    }
    if (a.value.length > 6 && /[("'`]/.test(a.value) && scanCode(a.value).some((f) => f.category === 'exec.interpreter')) {
      site.add('exec.interpreter', 'high', ev(inv, `${inv.name} is handed code that runs commands`));
      for (const cmd of embeddedShell(a.value)) site.shell(cmd, { ...inv, stdin: undefined });
      return;
    }
  }
}

/**
 * Programs the analyzer does not know: no category of their own, but secret files among the
 * arguments and downloaded scripts still count.
 */
export const unknownProgram: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  const read = readFiles(
    args.filter((a) => a.literal && !a.value.startsWith('-')),
    inv,
    site,
    'medium',
  );
  const program = inv.argv[0];
  if (program !== undefined && program.literal && site.wasDownloaded(program.value)) site.add('exec.remote_code', 'critical', ev(inv, `runs ${program.value}, downloaded earlier`));
  else if (program !== undefined && program.literal && program.value.includes('/')) {
    // Binaries run straight out of world-writable directories are how droppers start.
    const where = site.touch(program.value, 'read');
    if (/^\/(tmp|var\/tmp|dev\/shm|run\/user\/\d+)\//.test(where) && site.scriptText(program.value) === undefined) {
      site.add('exec.obfuscated', 'high', ev(inv, `runs ${where} from a world-writable directory`));
    }
  }
  for (const a of args) {
    if (a.literal && /^\/dev\/(tcp|udp)\//.test(a.value)) egress(a.value.split('/')[3] ?? '', inv, site, true, inv.name);
  }
  handsOverShell(inv, site);
  if (!(inv.argv[0]?.literal ?? true)) {
    const targets = args.filter((a) => !a.value.startsWith('-'));
    if (targets.some((t) => t.literal && (site.zone(t) === 'system' || site.zone(t) === 'home'))) site.add('exec.obfuscated', 'critical', ev(inv, 'unknown program aimed at system paths'));
  }
  return read;
};

// ---------------------------------------------------------------------------------------
// the table

const RULES = new Map<string, ProgramRule>();
function rule(names: string, r: ProgramRule): void {
  for (const n of names.split(/\s+/)) if (n !== '') RULES.set(n, r);
}

rule('sh bash zsh dash ksh mksh ash fish tcsh csh rbash yash', shellRule);
rule('eval', evalRule);
rule('source .', sourceRule);
rule('awk gawk mawk nawk', awkRule);
rule('sudo doas pkexec sudoedit run0', sudoRule);
rule('su runuser', suRule);
rule('env', envRule);
rule('printenv', printenvRule);
rule('command builtin', (inv, site) => {
  const args = inv.argv.slice(1);
  if (args.some((a) => a.value === '-v' || a.value === '-V')) return {};
  const rest = args.filter((a, k) => !(k === 0 && a.value === '-p'));
  return rest.length > 0 ? site.run(rest, inv) : {};
});
rule('exec', wrapper('a'));
rule('nice', (inv, site) => {
  // `nice -10 cmd` is the old form of `-n 10`: the number is not the program.
  const argv = inv.argv[1] !== undefined && /^-\d+$/.test(inv.argv[1].value) ? [inv.argv[0] as Arg, ...inv.argv.slice(2)] : inv.argv;
  return wrapper('n', ['adjustment'])({ ...inv, argv }, site);
});
rule('nohup setsid unbuffer caffeinate proxychains proxychains4 torsocks tsocks catchsegv xvfb-run dbus-launch fakeroot time sshpass firejail unshare', wrapper('pfnuoeOPC', ['format', 'output']));
rule('timeout', timeoutRule);
rule('stdbuf', wrapper('ioe', ['input', 'output', 'error']));
rule('ionice', wrapper('cnp', ['class', 'classdata']));
rule('chrt taskset', (inv, site) => {
  const o = opts(inv.argv.slice(1), '', [], true);
  return o.rest.length > 1 ? site.run(o.rest.slice(1), inv) : {};
});
rule('flock', (inv, site) => {
  const o = opts(inv.argv.slice(1), 'wEc', ['timeout', 'conflict-exit-code', 'command'], true);
  const c = val(o, 'c', 'command');
  if (c !== undefined) return site.shell(c.value, inv);
  return o.rest.length > 1 ? site.run(o.rest.slice(1), inv) : {};
});
rule('strace ltrace', wrapper('oeEpsuSPaXIb'));
rule('screen', wrapper('ScepTths'));
rule('chroot', (inv, site) => {
  site.add('priv.escalate', 'high', ev(inv, 'chroot'));
  const o = opts(inv.argv.slice(1), '', ['userspec', 'groups'], true);
  return o.rest.length > 1 ? site.run(o.rest.slice(1), inv) : {};
});
rule('busybox toybox', (inv, site) => (inv.argv.length > 1 ? site.run(inv.argv.slice(1), inv) : {}));
rule('xargs', xargsRule);
rule('watch', watchRule);
rule('find', findRule);
rule('parallel', parallelRule);
rule('script', scriptRule);
rule('trap', trapRule);
rule('cd pushd', cdRule);
rule('rm', rmRule);
rule('unlink', (inv, site) => {
  deleteTargets(inv.argv.slice(1), false, inv, site, 'unlink of');
  return {};
});
rule('rmdir', rmdirRule);
rule('shred srm wipe', shredRule);
rule('dd', ddRule);
rule('mkfs mkfs.ext4 mkfs.ext3 mkfs.ext2 mkfs.xfs mkfs.btrfs mkfs.vfat mkfs.fat mkfs.ntfs mke2fs mkswap wipefs blkdiscard fdisk sfdisk sgdisk parted cfdisk hdparm cryptsetup', diskRule);
rule('chmod', chmodRule);
rule('chown chgrp', chownRule);
rule('cp mv install ln', copyRule);
rule('tee', teeRule);
rule('truncate', truncateRule);
rule(
  'cat tac nl head tail less more most grep egrep fgrep rg ag ack strings od hexdump wc sort uniq cut jq yq diff cmp comm paste column fold fmt bat view man info ls stat file du which type whatis apropos tree md5sum sha1sum sha224sum sha256sum sha384sum sha512sum b2sum cksum sum',
  readerRule,
);
rule('sed', sedRule);
rule('echo printf', echoRule);
rule('base64 base32 basenc xxd uudecode rev gunzip zcat bunzip2 bzcat xzcat unxz zstdcat unzstd lzcat gzip bzip2 xz zstd lzma tr', decodeRule);
rule('openssl', opensslRule);
rule('curl', curlRule);
rule('wget', wgetRule);
rule('nc ncat netcat telnet', ncRule);
rule('socat', socatRule);
rule('ssh', sshRule);
rule('scp sftp', scpRule);
rule('rsync', rsyncRule);
rule('dig nslookup host ping ping6 traceroute tracepath whois drill mtr', dnsRule);
rule('ngrok cloudflared lt localtunnel bore frpc http-server serve live-server chisel sshuttle iodine iodined dnscat dnscat2 ptunnel ptunnel-ng gost pwncat pwncat-cs', listenRule);
rule('git', gitRule);
rule('tar', tarRule);
rule('zip unzip', zipRule);
rule('kill', killRule);
rule('pkill killall killall5 skill slay', pkillRule);
rule('systemctl', systemctlRule);
rule('service', serviceRule);
rule('shutdown reboot halt poweroff init telinit', powerRule);
rule('launchctl', (inv, site) => {
  const verb = inv.argv[1]?.value ?? '';
  if (/^(unload|remove|stop|bootout|disable|kill|load|bootstrap|enable|submit)$/.test(verb)) site.add('service.control', 'high', ev(inv, `launchctl ${verb}`));
  return {};
});
rule('pm2 supervisorctl', (inv, site) => {
  const verb = inv.argv[1]?.value ?? '';
  if (/^(stop|delete|kill|restart|reload|remove|shutdown)$/.test(verb)) site.add('service.control', 'high', ev(inv, `${inv.name} ${verb}`));
  return {};
});
rule('docker podman nerdctl docker-compose', (inv, site) =>
  inv.name === 'docker-compose' ? dockerRule({ ...inv, argv: [lit('docker'), lit('compose'), ...inv.argv.slice(1)] }, site) : dockerRule(inv, site),
);
rule('kubectl oc k3s microk8s.kubectl', kubectlRule);
rule('helm', helmRule);
rule('terraform tofu terragrunt pulumi cdk', iacRule);
rule('aws gcloud gsutil az doctl heroku flyctl fly vercel netlify firebase eksctl hcloud linode-cli scw oci ibmcloud vault wrangler', cloudRule);
rule(
  'npm pnpm yarn bun cnpm npx bunx pnpx pip pip3 pipx uv uvx poetry pdm conda mamba easy_install gem cargo go composer apt apt-get aptitude yum dnf zypper apk pacman snap flatpak brew port emerge xbps-install nix-env dpkg rpm choco winget scoop add-apt-repository apt-key',
  (inv, site) => {
    if (inv.name === 'bun') {
      const verb = inv.argv[1]?.value ?? '';
      if (!/^(install|i|add|x|update|upgrade)$/.test(verb)) return interpreterRule(inv, site);
    }
    if ((inv.name === 'go' || inv.name === 'cargo') && /^(build|run|test|bench|generate|fix|clean|fmt|doc|vet|update|new|init|mod|work)$/.test(inv.argv[1]?.value ?? '')) {
      if (!(inv.name === 'go' && /^(vet|doc)$/.test(inv.argv[1]?.value ?? '')))
        site.add('fs.write', 'low', ev(inv, `${inv.name} ${inv.argv[1]?.value ?? ''} builds or runs project code, which writes`));
      return {};
    }
    if (inv.name === 'go' && !/^(install|get)$/.test(inv.argv[1]?.value ?? '')) return {};
    if (inv.name === 'cargo' && !/^(install|publish|yank|owner|uninstall)$/.test(inv.argv[1]?.value ?? '')) return {};
    return pkgRule(inv, site);
  },
);
rule('python python2 python3 pypy pypy3 node nodejs perl ruby php lua luajit Rscript osascript pwsh powershell deno tclsh julia', interpreterRule);
rule('useradd usermod userdel groupadd groupdel gpasswd passwd chpasswd adduser deluser visudo setcap nsenter newgrp chattr', privRule);
rule('crontab', crontabRule);
rule('at batch', atRule);
rule('vi vim nvim view ex ed nano emacs pico micro', editorRule);
rule('psql mysql mariadb sqlite3 mongo mongosh redis-cli sqlcmd clickhouse-client cqlsh influx', dbClientRule);
rule('pg_restore', (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  if (values.some((v) => /^(-l|--list|--help|-\?|--version|-V)$/.test(v))) return {};
  const clean = values.some((v) => v === '--clean' || /^-[a-zA-Z]*c[a-zA-Z]*$/.test(v));
  site.add(clean ? 'db.destructive' : 'db.write', clean ? 'high' : 'medium', ev(inv, clean ? 'pg_restore --clean drops objects before restoring' : 'restores a dump into a database'));
  return {};
});
rule('etcdctl consul', (inv, site) => {
  const words = inv.argv.slice(1).map((a) => a.value);
  const ops = words.filter((w) => !w.startsWith('-'));
  const wide = words.some((w) => /^(--prefix|-recurse|--from-key)$/.test(w));
  const verb = inv.name === 'consul' ? (ops[0] === 'kv' ? (ops[1] ?? '') : '') : (ops[0] ?? '');
  if (/^(del|delete|rm)$/.test(verb)) site.add('db.destructive', wide ? 'critical' : 'medium', ev(inv, wide ? `${inv.name} deletes every key under a prefix` : `${inv.name} deletes a key`));
  else if (/^(put|txn|compaction|defrag|lease|import)$/.test(verb)) site.add('db.write', 'low', ev(inv, `${inv.name} ${verb}`));
  else if (/^(get|export|snapshot)$/.test(verb) && (wide || ops.some((o) => /secret|registry/.test(o)) || verb !== 'get')) {
    site.add('secret.read', 'high', ev(inv, `${inv.name} dumps the key-value store (it holds secrets)`));
    return { secret: true };
  }
  return {};
});
rule('security gpg pass op keyctl secret-tool aws-vault', secretToolRule);
rule('mount umount losetup', mountRule);
rule('iptables ip6tables nft ufw firewall-cmd', firewallRule);
rule('sysctl', sysctlRule);
rule('modprobe insmod rmmod', (inv, site) => {
  if (inv.argv.length > 1) site.add('priv.escalate', 'high', ev(inv, 'loads or removes kernel modules'));
  return {};
});
rule('gh', ghRule);
rule('nmap masscan zmap naabu', (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  const script = values.find((v, k) => /^--script=/.test(v) || (v === '--script' && k + 1 < values.length));
  const scriptValue = script?.startsWith('--script=') ? script.slice(9) : values[values.indexOf('--script') + 1];
  // NSE scripts are Lua with os.execute: a script file, or all of them, runs code.
  if (scriptValue !== undefined && /\/|\.nse$|^all$|^\*/.test(scriptValue)) site.add('exec.interpreter', 'high', ev(inv, `${inv.name} runs the Lua script ${scriptValue}`));
  if (values.includes('--interactive')) site.add('exec.obfuscated', 'high', ev(inv, 'nmap interactive mode runs shell commands'));
  site.add('net.egress', inv.name === 'nmap' ? 'medium' : 'high', ev(inv, `${inv.name} scans the network`));
  return {};
});
rule('xterm', (inv, site) => {
  const d = inv.argv.findIndex((a) => a.value === '-display' || a.value === '--display');
  const host = (inv.argv[d + 1]?.value ?? '').replace(/:\d+(\.\d+)?$/, '');
  if (d > 0 && host !== '' && !/^(localhost|127\.0\.0\.1|unix)$/.test(host)) {
    site.add('exec.remote_code', 'critical', ev(inv, `opens a shell on the X display of ${host}`));
    site.host(host);
  }
  return {};
});
rule('gdb gcore', (inv, site) => {
  stdinEscapes(inv, site);
  const values = inv.argv.slice(1).map((a) => a.value);
  const cmds = values.filter((v, k) => /^(-ex|--eval-command|-iex)$/.test(values[k - 1] ?? '') || /^--eval-command=/.test(v)).map((v) => v.replace(/^--eval-command=/, ''));
  for (const c of cmds) {
    const sh = /^\s*(?:!|shell\s+|pipe\s+[^|]*\|)(.*)$/s.exec(c);
    if (sh !== null) {
      site.add('exec.obfuscated', 'high', ev(inv, 'gdb runs a shell command'));
      site.shell(sh[1] ?? '', { ...inv, stdin: undefined });
    } else if (/^\s*(python|py|pi|guile)\b/.test(c)) inlineCode(c.replace(/^\s*\w+\s*/, ''), inv, site);
  }
  if (inv.name === 'gcore' || values.some((v) => /^(-p|--pid|attach)$/.test(v) || /^--pid=/.test(v)) || cmds.some((c) => /^\s*(attach|dump|gcore|generate-core-file)\b/.test(c))) {
    site.add('secret.read', 'high', ev(inv, 'reads the memory of a running process'));
    return { secret: true };
  }
  return {};
});
rule('unshadow john hashcat hydra medusa ncrack mimipenguin laZagne lazagne', (inv, site) => {
  site.add('secret.read', 'high', ev(inv, `${inv.name} recovers or guesses passwords`));
  readFiles(
    inv.argv.slice(1).filter((a) => a.literal && !a.value.startsWith('-')),
    inv,
    site,
  );
  return { secret: true };
});
rule('rclone', (inv, site) => {
  const words = inv.argv.slice(1).filter((a) => !a.value.startsWith('-'));
  const verb = words[0]?.value ?? '';
  if (!/^(copy|sync|move|copyto|moveto|bisync|rcat)$/.test(verb)) return {};
  const dest = words.at(-1)?.value ?? '';
  const sources = words.slice(1, -1);
  if (/^[\w.-]+:/.test(dest)) {
    const secret = readFiles(sources, inv, site).secret === true;
    site.add('net.egress', secret ? 'critical' : 'high', ev(inv, `rclone uploads to ${dest}`));
    if (secret) site.add('secret.read', 'critical', ev(inv, 'secrets uploaded'));
  } else site.add('net.egress', 'medium', ev(inv, 'rclone downloads'));
  return {};
});
rule('smbclient ftp tftp lftp ncftp ncftpput curlftpfs', (inv, site) => {
  stdinEscapes(inv, site);
  const text = inv.argv
    .slice(1)
    .map((a) => a.value)
    .join(' ');
  const put = /\b(put|mput|send|append)\b/.test(text) || inv.name === 'ncftpput' || /^put\b/.test(inv.stdin?.text ?? '');
  site.add('net.egress', put ? 'high' : 'medium', ev(inv, put ? `${inv.name} uploads files` : `${inv.name} opens a file-transfer session`));
  if (/(^|\s)!/.test(text)) site.add('exec.obfuscated', 'high', ev(inv, `${inv.name} runs a shell escape`));
  return {};
});
rule('tcpdump tshark dumpcap tcpflow ngrep ettercap bettercap termshark', (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  // Reading a saved capture or listing interfaces captures nothing.
  if (values.length === 0 ? false : values.some((v) => /^(-r|--read-file|-D|--list-interfaces|--version|-h|--help|-v|-L|--list-data-link-types)$/.test(v) && v !== '-v')) return {};
  site.add('secret.read', 'high', ev(inv, 'captures network traffic (credentials, tokens, sessions)'));
  const w = inv.argv.findIndex((a) => a.value === '-w');
  const file = w > 0 ? inv.argv[w + 1] : undefined;
  if (file !== undefined && file.value !== '-') classifyWrite(file, site, inv.text);
  return { secret: true };
});
rule('setenforce', (inv, site) => {
  const mode = inv.argv[1]?.value ?? '';
  if (/^(0|permissive)$/i.test(mode)) site.add('service.control', 'high', ev(inv, 'turns SELinux enforcement off'));
  else if (mode !== '') site.add('service.control', 'medium', ev(inv, 'changes the SELinux mode'));
  return {};
});
rule('auditctl', (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  if (values.length === 0 || values.every((v) => /^(-l|-s|-v|-h|--help|-m)$/.test(v) || !v.startsWith('-'))) return {};
  const blinds = values.some(
    (v, k) => v === '-D' || v === '-d' || v === '-W' || (v === '-e' && values[k + 1] === '0') || (v === '-a' && /never/.test(values[k + 1] ?? '')) || /^never,|,never$/.test(v),
  );
  site.add('service.control', blinds ? 'high' : 'medium', ev(inv, blinds ? 'disables or removes audit rules' : 'changes audit rules'));
  return {};
});
rule('fuser', (inv, site) => {
  if (inv.argv.slice(1).some((a) => /^-[a-zA-Z]*k/.test(a.value) || a.value === '--kill')) site.add('proc.kill', 'high', ev(inv, 'kills every process using a file or port'));
  return {};
});
rule('dropdb dropuser', (inv, site) => {
  if (!inv.argv.slice(1).some((a) => /^(--help|-\?|--version|-V)$/.test(a.value)))
    site.add('db.destructive', inv.name === 'dropdb' ? 'critical' : 'high', ev(inv, inv.name === 'dropdb' ? 'drops a database' : 'drops a database role'));
  return {};
});
rule('mysqladmin', (inv, site) => {
  const words = inv.argv
    .slice(1)
    .map((a) => a.value)
    .filter((v) => !v.startsWith('-'));
  if (words.includes('drop')) site.add('db.destructive', 'critical', ev(inv, 'drops a database'));
  if (words.includes('shutdown')) site.add('service.control', 'high', ev(inv, 'shuts the database server down'));
  if (words.some((w) => /^(kill|password|flush-privileges|reload|refresh)$/.test(w))) site.add('db.write', 'medium', ev(inv, 'changes the database server'));
  return {};
});
rule('history', (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  if (values.some((v) => /^-[a-z]*[cw]/.test(v))) site.add('fs.delete', 'high', ev(inv, 'clears or overwrites the shell history'));
  else if (values.some((v) => /^-[a-z]*d/.test(v))) site.add('fs.delete', 'medium', ev(inv, 'deletes shell history entries'));
  return {};
});
rule('journalctl', (inv, site) => {
  if (inv.argv.slice(1).some((a) => /^--(vacuum-(size|time|files)|rotate|flush)/.test(a.value))) site.add('fs.delete', 'high', ev(inv, 'deletes or rotates away the system journal'));
  return {};
});
rule('set', (inv, site) => {
  if (inv.argv.length === 1) {
    site.add('secret.read', inv.piped ? 'high' : 'medium', ev(inv, 'dumps shell variables'));
    return { secret: true };
  }
  return {};
});
rule('touch', createsOperands('rdtT', ['reference', 'date', 'time']));
rule('mkdir', createsOperands('mZ', ['mode', 'context']));
rule('mkfifo mknod', createsOperands('mZ', ['mode', 'context']));
rule('setfacl', createsOperands('mMxX', ['modify', 'modify-file', 'remove', 'remove-file', 'set', 'set-file', 'restore']));
rule('mktemp', mktempRule);
rule('patch', patchRule);
rule('make gmake cmake ninja meson bazel gradle mvn ant', (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  if (values.some((v) => /^(-n|--dry-run|--just-print|--recon|-q|--question|-p|--print-data-base|--version|--help|-h|query|--query)$/.test(v))) return {};
  site.add('fs.write', 'low', ev(inv, `${inv.name} runs build recipes, which write`));
  if (inv.name === 'make' || inv.name === 'gmake') makeRecipes(inv, site);
  return {};
});

/**
 * make runs its recipes with the shell: recipes given on the command line (`--eval`), in a
 * makefile whose text was written earlier on the line, and a replaced `SHELL`.
 */
function makeRecipes(inv: Invocation, site: Site): void {
  const args = inv.argv.slice(1);
  const texts: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const v = (args[i] as Arg).value;
    if (v === '--eval' || v === '-E') texts.push(args[++i]?.value ?? '');
    else if (v.startsWith('--eval=')) texts.push(v.slice(7));
    else if (v === '-f' || v === '--file' || v === '--makefile') file = args[++i]?.value;
    else if (/^--(file|makefile)=/.test(v)) file = v.replace(/^--[a-z]+=/, '');
    else if (/^-f./.test(v)) file = v.slice(2);
    else if (/^(SHELL|MAKESHELL|\.SHELLFLAGS)=/.test(v)) site.add('exec.obfuscated', 'high', ev(inv, `make with ${v.split('=')[0] ?? ''} replaced`));
  }
  if (texts.length > 0) site.add('exec.obfuscated', 'medium', ev(inv, 'make --eval runs recipes given on the command line'));
  for (const f of file !== undefined ? [file] : ['GNUmakefile', 'makefile', 'Makefile']) {
    const text = site.scriptText(f);
    if (text !== undefined) {
      texts.push(text);
      break;
    }
  }
  let lines = 0;
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (!line.startsWith('\t') || lines++ >= 64) continue;
      const cmd = line.replace(/^\t[-@+\s]*/, '');
      if (
        isBareShell(
          cmd
            .split(/\s+/)
            .filter((w) => w !== '')
            .map(lit),
        )
      )
        site.add('exec.obfuscated', 'high', ev(inv, 'make recipe starts an interactive shell'));
      site.shell(cmd, { ...inv, stdin: undefined });
    }
  }
}
rule('split', splitRule);
rule(
  'true false test [ [[ pwd whoami id uname date uptime free sleep hostname df ps top htop seq yes basename dirname realpath readlink export declare local readonly unset shift read wait jobs fg bg hash exit return break continue shopt ulimit umask tput clear reset lsblk lscpu lsof ss netstat ip ifconfig nproc getconf locale tty',
  noop,
);

/**
 * Whether the analyzer models a program (a basename): what it does is then known, so a
 * command of it with no write category is a read. Read-only mode counts a program the
 * analyzer does not know (`./deploy.sh`, `pytest`, an interpreter running a script file) as a
 * write.
 */
export function isKnownProgram(name: string): boolean {
  // An interpreter running a script file (`python3 app.py`) does whatever the file says.
  const rule = RULES.get(name);
  if (rule === undefined) return /^mkfs\./.test(name);
  return rule !== interpreterRule;
}

/** The rule for a program name (a basename); unknown programs get the generic rule. */
export function ruleFor(name: string): ProgramRule {
  const direct = RULES.get(name);
  if (direct !== undefined) return direct;
  if (interpreterFamily(name) !== undefined) return interpreterRule;
  if (/^mkfs\./.test(name)) return diskRule;
  return unknownProgram;
}

/** Versioned and common names a command glob may resolve to, beyond the rule table. */
const EXTRA_PROGRAMS = [
  'python3.6',
  'python3.7',
  'python3.8',
  'python3.9',
  'python3.10',
  'python3.11',
  'python3.12',
  'python3.13',
  'perl5',
  'php7',
  'php8',
  'ruby3',
  'lua5.1',
  'lua5.3',
  'lua5.4',
  'nodejs',
  'busybox',
  'ls',
  'ln',
  'cp',
  'mv',
];
let knownPrograms: string[] | undefined;

/**
 * The known programs a command-name glob (basename part, bash syntax with `\` escapes)
 * can match: `r?` → `rg`, `rm`; `ba[s]h` → `bash`. A pattern without metacharacters is its
 * own single candidate. Matching runs on short names only, so it stays cheap.
 *
 * @example globCandidates('r?') // ['rg', 'rm']
 */
export function globCandidates(pattern: string): string[] {
  // No file name is longer than 255 bytes; a longer pattern names no known program.
  if (pattern.length > 512) return [];
  // The policy glob matcher: linear time (a RegExp of `**…*x` backtracks for minutes), and
  // on basenames its `*` and bash's agree, as neither side holds a `/`.
  const glob = compileGlob(pattern);
  // A malformed class (`r[m`) is literal text to bash, naming no program the analyzer knows.
  if (!glob.ok) return [];
  if (glob.literal !== undefined) return [glob.literal];
  knownPrograms ??= [...new Set([...RULES.keys(), ...EXTRA_PROGRAMS])].sort();
  return knownPrograms.filter((name) => glob.test(name));
}
