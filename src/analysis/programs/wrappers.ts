/**
 * Wrappers hand their inner command back to the walker (`sudo`, `env`, `timeout`, `xargs`,
 * `find -exec` …); environment variables that make another program run something.
 */

import { posix } from 'node:path';
import type { Risk } from '../../core/risk.js';
import { type Arg, lit, type ProgramRule } from '../shell-types.js';
import type { SubOutput } from '../shell-words.js';
import { classifyWrite, clip, deleteTargets, ev, SECRET_NAME, SECRET_VAR } from './effects.js';
import type { ProgramFamily } from './family.js';
import { interpreterFamily } from './interpreters.js';
import { has, opts, val } from './options.js';
import { SHELLS, stdinCode } from './shells.js';
import { unknownProgram } from './unknown.js';

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
  if (inv.name === 'runuser') {
    // `runuser -u user [--] cmd …` runs the command itself, without a shell.
    const r = opts(inv.argv.slice(1), 'ugG', ['user', 'group', 'supp-group'], true);
    const user = val(r, 'u', 'user');
    if (user !== undefined && r.rest.length > 0) {
      site.add('priv.escalate', 'high', ev(inv, `runs as ${user.value}`));
      return site.run(r.rest, inv);
    }
  }
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

const commandRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  if (args.some((a) => a.value === '-v' || a.value === '-V')) return {};
  const rest = args.filter((a, k) => !(k === 0 && a.value === '-p'));
  return rest.length > 0 ? site.run(rest, inv) : {};
};

const niceRule: ProgramRule = (inv, site) => {
  // `nice -10 cmd` is the old form of `-n 10`: the number is not the program.
  const argv = inv.argv[1] !== undefined && /^-\d+$/.test(inv.argv[1].value) ? [inv.argv[0] as Arg, ...inv.argv.slice(2)] : inv.argv;
  return wrapper('n', ['adjustment'])({ ...inv, argv }, site);
};

/** chrt, taskset: a priority or CPU mask, then the command. */
const schedulerRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), '', [], true);
  return o.rest.length > 1 ? site.run(o.rest.slice(1), inv) : {};
};

const flockRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'wEc', ['timeout', 'conflict-exit-code', 'command'], true);
  const c = val(o, 'c', 'command');
  if (c !== undefined) return site.shell(c.value, inv);
  // `flock file -c 'cmd'`: the option comes after the lock file.
  const after = o.rest[1]?.value;
  if ((after === '-c' || after === '--command') && o.rest[2] !== undefined) return site.shell(o.rest[2].value, inv);
  return o.rest.length > 1 ? site.run(o.rest.slice(1), inv) : {};
};

const chrootRule: ProgramRule = (inv, site) => {
  site.add('priv.escalate', 'high', ev(inv, 'chroot'));
  const o = opts(inv.argv.slice(1), '', ['userspec', 'groups'], true);
  return o.rest.length > 1 ? site.run(o.rest.slice(1), inv) : {};
};

const busyboxRule: ProgramRule = (inv, site) => (inv.argv.length > 1 ? site.run(inv.argv.slice(1), inv) : {});

/**
 * Programs that drop to another user, then run the command: `gosu USER cmd`, `su-exec`,
 * `s6-setuidgid`, `setuidgid` (the user is the first operand); `chpst -u USER cmd`,
 * `setpriv --reuid=… cmd` (by option). Rated like `sudo -u`.
 */
const asUserRule: ProgramRule = (inv, site) => {
  if (inv.name === 'chpst' || inv.name === 'setpriv') {
    const o = opts(
      inv.argv.slice(1),
      inv.name === 'chpst' ? 'uUbeln/Cmdofpcr' : '',
      ['reuid', 'regid', 'groups', 'inh-caps', 'ambient-caps', 'bounding-set', 'securebits', 'pdeathsig', 'selinux-label', 'apparmor-profile', 'landlock-access', 'landlock-rule'],
      true,
    );
    if (o.rest.length === 0) return {};
    const who = (inv.name === 'chpst' ? val(o, 'u', 'U') : val(o, 'reuid'))?.value;
    if (who !== undefined) site.add('priv.escalate', 'high', ev(inv, `runs as ${who.split(':')[0]}`));
    return site.run(o.rest, inv);
  }
  const o = opts(inv.argv.slice(1), '', [], true);
  const user = o.rest[0];
  if (user === undefined || o.rest.length < 2) return {};
  site.add('priv.escalate', 'high', ev(inv, `runs as ${user.value.split(':')[0]}`));
  return site.run(o.rest.slice(1), inv);
};

/** `entr [-acdnprz] cmd …`; with `-s` the one argument is a shell command line. */
const entrRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), '', [], true);
  if (o.rest.length === 0) return {};
  return has(o, 's') ? site.shell(o.rest.map((a) => a.value).join(' '), { ...inv, stdin: undefined }) : site.run(o.rest, inv);
};

/** `distrobox enter|ephemeral [NAME] [options] -- cmd …`: the command runs in the container. */
const distroboxRule: ProgramRule = (inv, site) => {
  if (!/^(enter|ephemeral)$/.test(inv.argv[1]?.value ?? '')) return unknownProgram(inv, site);
  const sep = inv.argv.findIndex((a) => a.value === '--');
  return sep > 0 && sep + 1 < inv.argv.length ? site.run(inv.argv.slice(sep + 1), inv) : {};
};

/** What makes a transient unit a scheduled or triggered one (a timer, path or socket unit). */
const SYSTEMD_RUN_TRIGGERS = [
  'on-calendar',
  'on-active',
  'on-boot',
  'on-startup',
  'on-unit-active',
  'on-unit-inactive',
  'on-clock-change',
  'on-timezone-change',
  'timer-property',
  'path-property',
  'socket-property',
];
const SYSTEMD_RUN_VALUED = [
  'unit',
  'property',
  'setenv',
  'machine',
  'host',
  'uid',
  'gid',
  'slice',
  'description',
  'working-directory',
  'nice',
  'service-type',
  'expand-environment',
  ...SYSTEMD_RUN_TRIGGERS,
];

/**
 * `systemd-run [options] cmd …` starts the command as a transient unit: a service-manager
 * change (`service.control`), high when it is scheduled or triggered (a timer, path or socket
 * unit: persistence, as cron is) or started by the system manager (as root), medium for a
 * plain `--user` unit; the command is analyzed as itself.
 */
const systemdRunRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'uPpEMHGtqdr', SYSTEMD_RUN_VALUED, true);
  const triggered = has(o, ...SYSTEMD_RUN_TRIGGERS);
  const user = has(o, 'user');
  if (triggered) site.add('service.control', 'high', ev(inv, 'systemd-run schedules a command (a transient timer, path or socket unit)'));
  else site.add('service.control', user ? 'medium' : 'high', ev(inv, user ? 'systemd-run starts a transient user unit' : 'systemd-run starts a transient system unit'));
  return o.rest.length === 0 ? {} : site.run(o.rest, inv);
};

/** `mise exec|x [TOOL@VERSION …] [--] cmd …`: the tools come before `--` when there is one. */
const miseRule: ProgramRule = (inv, site) => {
  if (!/^(exec|x)$/.test(inv.argv[1]?.value ?? '')) return unknownProgram(inv, site);
  const args = inv.argv.slice(2);
  const sep = args.findIndex((a) => a.value === '--');
  if (sep >= 0) return sep + 1 < args.length ? site.run(args.slice(sep + 1), inv) : {};
  const o = opts(args, 'Cj', ['cd', 'jobs', 'command'], true);
  const c = val(o, 'command');
  if (c !== undefined) return site.shell(c.value, { ...inv, stdin: undefined });
  const rest = o.rest.filter((a) => !/@/.test(a.value));
  return rest.length === 0 ? {} : site.run(rest, inv);
};

/** `faketime TIMESPEC cmd …`, or `faketime -f TIMESPEC cmd …`. */
const faketimeRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'f', [], true);
  const rest = has(o, 'f') ? o.rest : o.rest.slice(1);
  return rest.length === 0 ? {} : site.run(rest, inv);
};

/** `sg GROUP -c 'cmd'` or `sg GROUP cmd`: the command as a member of another group. */
const sgRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  // `sg` is also ast-grep's command: its subcommands and options are not a group name.
  if (/^(run|scan|test|new|lsp|completions|help)$|^-/.test(args[0]?.value ?? '') && args[0]?.value !== '-') {
    if (args.some((a) => /^(-U|--update-all|-i|--interactive)$/.test(a.value))) site.add('fs.write', 'low', ev(inv, 'ast-grep rewrites files'));
    return {};
  }
  const at = args[0]?.value === '-' ? 1 : 0;
  const group = args[at];
  const rest = args.slice(at + 1);
  if (group === undefined) return {};
  if (rest.length === 0) {
    site.add('priv.escalate', 'high', ev(inv, `interactive shell in group ${group.value}`));
    return {};
  }
  site.add('priv.escalate', 'high', ev(inv, `runs in group ${group.value}`));
  if (rest[0]?.value === '-c') return rest[1] === undefined ? {} : site.shell(rest[1].value, inv);
  return site.shell(rest.map((a) => a.value).join(' '), inv);
};

/** `capsh … -- ARGS` runs /bin/bash with ARGS (`-- -c 'cmd'`); `--` alone is an interactive shell. */
const capshRule: ProgramRule = (inv, site) => {
  const sep = inv.argv.findIndex((a, k) => k > 0 && a.value === '--');
  if (sep < 0) return {};
  const args = inv.argv.slice(sep + 1);
  if (args.length === 0) {
    site.add('exec.obfuscated', 'high', ev(inv, 'capsh starts an interactive shell'));
    return {};
  }
  return site.run([lit('bash'), ...args], inv);
};

/** `tmux new[-session] [-d] [-s name …] 'cmd'`: tmux hands the command to a shell. */
const tmuxRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  // `tmux -c CMD` runs CMD with the default shell, as a login shell would.
  if (args[0]?.value === '-c') return args[1] === undefined ? {} : site.shell(args[1].value, { ...inv, stdin: undefined });
  const at = args.findIndex((a) => /^(new|new-session|new-window|neww|split-window|splitw|respawn-pane|respawnp|run-shell|run)$/.test(a.value));
  if (at < 0) return unknownProgram(inv, site);
  const o = opts(args.slice(at + 1), 'scnxyFtPeblLpw', ['start-directory', 'environment'], true);
  return o.rest.length === 0 ? {} : site.shell(o.rest.map((a) => a.value).join(' '), { ...inv, stdin: undefined });
};

/** `nix-shell --run 'cmd'` / `--command 'cmd'`: the command in a shell. */
const nixShellRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'pIEA', ['run', 'command', 'packages', 'attr', 'arg', 'argstr', 'option', 'include'], false);
  const c = val(o, 'run', 'command');
  return c === undefined ? {} : site.shell(c.value, { ...inv, stdin: undefined });
};

/**
 * `tool SUB [options] [N operands] cmd …`: the command after a subcommand word
 * (`direnv exec DIR cmd`, `distrobox enter BOX -- cmd`, `perf record -- cmd`). Another
 * subcommand runs no command.
 */
function afterSubcommand(subs: RegExp, valued = '', longValued: readonly string[] = [], skipOperands = 0): ProgramRule {
  return (inv, site) => {
    const sub = inv.argv[1];
    // Another subcommand is judged as an unknown program's arguments are (secret files, shells, downloads).
    if (sub === undefined || !subs.test(sub.value)) return unknownProgram(inv, site);
    return wrapper(valued, longValued, skipOperands)({ ...inv, argv: [inv.argv[0] as Arg, ...inv.argv.slice(2)] }, site);
  };
}

/** Programs that run another command line: privilege, environment, scheduling, find, xargs. */
export const WRAPPER_PROGRAMS: ProgramFamily = {
  title: 'Wrappers and the environment',
  rules: [
    ['sudo doas pkexec sudoedit run0', sudoRule],
    ['su runuser', suRule],
    ['env', envRule],
    ['printenv', printenvRule],
    ['command builtin', commandRule],
    ['exec', wrapper('a')],
    ['nice', niceRule],
    ['nohup setsid unbuffer caffeinate proxychains proxychains4 torsocks tsocks catchsegv xvfb-run dbus-launch fakeroot time sshpass firejail unshare', wrapper('pfnuoeOPC', ['format', 'output'])],
    ['timeout', timeoutRule],
    ['stdbuf', wrapper('ioe', ['input', 'output', 'error'])],
    ['ionice', wrapper('cnp', ['class', 'classdata'])],
    ['chrt taskset', schedulerRule],
    ['flock', flockRule],
    ['strace ltrace', wrapper('oeEpsuSPaXIb')],
    ['screen', wrapper('ScepTths')],
    ['chroot', chrootRule],
    ['busybox toybox', busyboxRule],
    ['gosu su-exec s6-setuidgid setuidgid chpst setpriv', asUserRule],
    ['sg', sgRule],
    ['capsh', capshRule],
    ['tmux', tmuxRule],
    ['nix-shell', nixShellRule],
    // Run the command as given: init shims, retries, resource limits, time and tracing tools.
    ['tini', wrapper('pe')],
    ['dumb-init', wrapper('r', ['rewrite'])],
    ['chronic with-contenv valgrind', wrapper('')],
    ['entr', entrRule],
    ['sem', wrapper('j', ['jobs', 'id'])],
    ['retry', wrapper('tdm', ['times', 'delay', 'max', 'until', 'while'])],
    ['ssh-agent', wrapper('aEPt')],
    ['dbus-run-session', wrapper('', ['config-file', 'dbus-daemon'])],
    ['daemonize', wrapper('ceopluE')],
    ['systemd-run', systemdRunRule],
    ['faketime', faketimeRule],
    ['cpulimit', wrapper('lpe', ['limit', 'pid', 'exe'])],
    ['numactl', wrapper('NmCPpilw', ['cpunodebind', 'membind', 'physcpubind', 'preferred', 'interleave', 'localalloc'])],
    ['timelimit', wrapper('tTsS')],
    ['softlimit', wrapper('amdsltpfcro')],
    ['envdir setlock', wrapper('', [], 1)],
    ['perf', afterSubcommand(/^(record|stat|trace|top|c2c|mem|lock|sched|kvm)$/, 'eocCpgFtaG', ['event', 'output', 'cpu', 'count', 'pid', 'tid', 'freq', 'call-graph', 'cgroup'])],
    ['direnv', afterSubcommand(/^exec$/, '', [], 1)],
    ['flatpak-spawn', wrapper('', ['env', 'directory', 'forward-fd', 'sandbox-expose', 'sandbox-expose-ro'])],
    ['distrobox', distroboxRule],
    ['toolbox', afterSubcommand(/^run$/, 'cdr', ['container', 'distro', 'release'])],
    ['mise rtx', miseRule],
    ['asdf rbenv pyenv nodenv goenv jenv', afterSubcommand(/^exec$/)],
    ['nvm', afterSubcommand(/^(exec|run)$/, '', [], 1)],
    ['bundle bundler', afterSubcommand(/^exec$/, '', ['gemfile'])],
    ['pipenv hatch rye', afterSubcommand(/^run$/, 'e', ['env'])],
    ['dotenv', wrapper('ecv', ['file'])],
    ['xargs', xargsRule],
    ['watch', watchRule],
    ['find', findRule],
    ['parallel', parallelRule],
    ['script', scriptRule],
  ],
};
