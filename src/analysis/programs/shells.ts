/**
 * Shells and the code they are fed: `sh -c`, scripts, stdin, `eval`, `source`, and the
 * builtins that matter. Inline code for interpreters is scanned here too (inline-code.ts).
 */

import { posix } from 'node:path';
import type { Risk } from '../../core/risk.js';
import { embeddedShell, scanCode, writtenPaths } from '../inline-code.js';
import { type Arg, type Invocation, lit, type ProgramRule, type Site } from '../shell-types.js';
import type { SubOutput } from '../shell-words.js';
import { classifyWrite, clip, ev, noop, subsOf } from './effects.js';
import type { ProgramFamily } from './family.js';

export const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'mksh', 'ash', 'fish', 'tcsh', 'csh', 'rbash', 'yash', 'elvish', 'nu', 'xonsh']);

/** A shell or interpreter running what arrives on stdin. */
export function stdinCode(inv: Invocation, site: Site, kind: 'shell' | 'interpreter'): SubOutput {
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
export function shellToSocket(inv: Invocation, site: Site, peer: string): void {
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
export function inlineCode(code: string, inv: Invocation, site: Site, arg?: Arg): void {
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
export function codeWrites(code: string, inv: Invocation, site: Site): void {
  for (const p of writtenPaths(code)) classifyWrite(lit(p), site, inv.text);
}

/** A shell script named as a program argument: process substitutions and downloads matter. */
export function scriptOperand(script: Arg, inv: Invocation, site: Site, kind: 'shell' | 'interpreter'): SubOutput {
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
  const downloaded = site.downloadedWhen(script.value);
  if (downloaded !== undefined) site.add('exec.remote_code', 'critical', ev(inv, `runs ${script.value}, downloaded ${downloaded}`));
  if (/^https?:\/\//.test(script.value)) site.add('exec.remote_code', 'critical', ev(inv, 'runs a script from a URL'));
  const text = site.scriptText(script.value);
  if (text === undefined && kind === 'shell' && downloaded === undefined) {
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

/**
 * Programs that read their own command language from stdin run `!cmd` lines (ed, ex, vim -es,
 * ftp, gdb, dc, mysql, psql, sqlite3 `.shell`): each such line is a shell command.
 */
export function stdinEscapes(inv: Invocation, site: Site): void {
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

const setRule: ProgramRule = (inv, site) => {
  if (inv.argv.length === 1) {
    site.add('secret.read', inv.piped ? 'high' : 'medium', ev(inv, 'dumps shell variables'));
    return { secret: true };
  }
  return {};
};

const historyRule: ProgramRule = (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  if (values.some((v) => /^-[a-z]*[cw]/.test(v))) site.add('fs.delete', 'high', ev(inv, 'clears or overwrites the shell history'));
  else if (values.some((v) => /^-[a-z]*d/.test(v))) site.add('fs.delete', 'medium', ev(inv, 'deletes shell history entries'));
  return {};
};

/** Shells, `eval`, `source`, and the builtins that matter (`cd`, `trap`, `set`, `history`). */
export const SHELL_PROGRAMS: ProgramFamily = {
  title: 'Shells and builtins',
  rules: [
    ['sh bash zsh dash ksh mksh ash fish tcsh csh rbash yash', shellRule],
    ['eval', evalRule],
    ['source .', sourceRule],
    ['trap', trapRule],
    ['cd pushd', cdRule],
    ['history', historyRule],
    ['set', setRule],
    ['true false test [ [[ pwd export declare local readonly unset shift read wait jobs fg bg hash exit return break continue shopt ulimit umask', noop],
  ],
};
