/**
 * Interpreters (python, node, perl …), awk, editors and debuggers: the options that carry
 * inline code, the modules that serve files, the escapes that run a shell.
 */

import { parseUrl } from '../../core/net.js';
import { embeddedShell, scanCode } from '../inline-code.js';
import { isSecretPath, sensitiveWriteTarget } from '../path-classes.js';
import { type Arg, lit, type ProgramRule } from '../shell-types.js';
import { classifyWrite, ev, mergeOut, readFiles } from './effects.js';
import type { ProgramFamily } from './family.js';
import { has, opts, val } from './options.js';
import { pkgRule } from './packages.js';
import { codeWrites, inlineCode, scriptOperand, stdinCode, stdinEscapes } from './shells.js';

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

export function interpreterFamily(name: string): string | undefined {
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

export const interpreterRule: ProgramRule = (inv, site) => {
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

/** bun is a package manager for its install verbs and a JavaScript runtime otherwise. */
const bunRule: ProgramRule = (inv, site) => {
  const verb = inv.argv[1]?.value ?? '';
  if (!/^(install|i|add|x|update|upgrade)$/.test(verb)) return interpreterRule(inv, site);
  return pkgRule(inv, site);
};

const debuggerRule: ProgramRule = (inv, site) => {
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
};

/** Interpreters, awk, editors and debuggers: programs that run code they are given. */
export const INTERPRETER_PROGRAMS: ProgramFamily = {
  title: 'Interpreters, editors and debuggers',
  rules: [
    ['awk gawk mawk nawk', awkRule],
    ['python python2 python3 pypy pypy3 node nodejs perl ruby php lua luajit Rscript osascript pwsh powershell deno tclsh julia', interpreterRule],
    ['bun', bunRule],
    ['vi vim nvim view ex ed nano emacs pico micro', editorRule],
    ['gdb gcore', debuggerRule],
  ],
};
