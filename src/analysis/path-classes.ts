/**
 * What a file path means for safety: where it points (its zone, see risk-table.ts), whether
 * it holds secrets (keys, credentials, `.env`, `/etc/shadow`) and whether writing to it
 * changes how the machine or the user's tools behave (startup files, `~/.ssh`, `/etc`,
 * crontab, global git config, `/usr/local/bin`). Shared by the shell and path analyzers.
 */

import { posix } from 'node:path';
import type { PathZone } from './risk-table.js';

export interface PathContext {
  /** Absolute working directory, when known. */
  cwd?: string | undefined;
  /** Absolute home directory. */
  home: string;
}

/** Joins a path onto the working directory (when known) and normalizes it. */
export function resolvePath(path: string, ctx: PathContext): string {
  if (path.startsWith('/')) return posix.normalize(path);
  if (ctx.cwd !== undefined) return posix.join(ctx.cwd, path);
  return posix.normalize(path);
}

const SYSTEM_ROOTS = [
  '/etc',
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/boot',
  '/var',
  '/opt',
  '/srv',
  '/root',
  '/home',
  '/Users',
  '/dev',
  '/proc',
  '/sys',
  '/run',
  '/mnt',
  '/media',
  '/snap',
  '/System',
  '/Library',
  '/Applications',
  '/private',
];
const TEMP_ROOTS = ['/tmp', '/var/tmp', '/dev/shm', '/private/tmp'];
const HARMLESS_DEVICES = new Set(['/dev/null', '/dev/stdout', '/dev/stderr', '/dev/stdin', '/dev/tty', '/dev/zero', '/dev/random', '/dev/urandom']);

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root === '/' ? '/' : root + '/');
}

/** True when `dir` is a place no project lives in: `/`, a system root, `/home`, the home itself. */
function isProtectedDir(dir: string, home: string): boolean {
  if (dir === '/' || dir === home) return true;
  if (within(home, dir)) return true;
  return SYSTEM_ROOTS.includes(dir);
}

/**
 * The zone of a (literal) path. A trailing `/*` or a bare `*` counts as the directory itself,
 * since it deletes or writes all of it.
 *
 * @example pathZone('/var/log', { home: '/home/u' }) // 'system'
 */
export function pathZone(raw: string, ctx: PathContext): PathZone {
  const globAll = /(^|\/)\*$/.test(raw) || raw === '.' || raw === './';
  const base = globAll ? raw.replace(/\/?\*$/, '') || (raw.startsWith('/') ? '/' : '.') : raw;
  const path = resolvePath(base === '' ? '.' : base, ctx);
  if (HARMLESS_DEVICES.has(path)) return 'temp';
  if (!path.startsWith('/')) {
    // Relative to an unknown working directory: the project, unless it climbs out of it.
    if (path === '..' || path.startsWith('../')) return 'outside';
    if (path === '.') return 'workspace-root';
    return 'workspace';
  }
  if (ctx.cwd !== undefined && !isProtectedDir(ctx.cwd, ctx.home)) {
    if (path === ctx.cwd) return 'workspace-root';
    if (within(path, ctx.cwd)) return globAll && path === ctx.cwd ? 'workspace-root' : 'workspace';
  }
  if (TEMP_ROOTS.some((r) => within(path, r) && path !== r)) return 'temp';
  if (within(path, posix.join(ctx.home, '.cache')) && path !== posix.join(ctx.home, '.cache')) return 'temp';
  if (path === '/' || SYSTEM_ROOTS.some((r) => within(path, r) && !within(path, ctx.home))) {
    // Inside the home directory tree below /home is handled by the home rules.
    return 'system';
  }
  if (path === ctx.home || posix.dirname(path) === ctx.home) return 'home';
  if (within(path, ctx.home)) return 'outside';
  return 'outside';
}

const SECRET_PATTERNS: RegExp[] = [
  /(^|\/)\.ssh\/(id_[^/]*|.*_key|identity)$/,
  /(^|\/)\.ssh\/?$/,
  /(^|\/)id_(rsa|dsa|ecdsa|ed25519)$/,
  /(^|\/)\.aws\/(credentials|config)$/,
  /(^|\/)\.aws\/?$/,
  /(^|\/)\.config\/gcloud(\/|$)/,
  /(^|\/)\.azure(\/|$)/,
  /(^|\/)\.kube\/config$/,
  /(^|\/)\.docker\/config\.json$/,
  /(^|\/)\.(netrc|npmrc|pypirc|git-credentials|pgpass|my\.cnf|vault-token)$/,
  /(^|\/)\.gnupg(\/|$)/,
  /(^|\/)\.password-store(\/|$)/,
  /(^|\/)\.env(\.(?!example$|sample$|template$|dist$|defaults$)[^/]+)?$/,
  /(^|\/)[^/]*\.(pem|key|p12|pfx|jks|keystore|kdbx)$/,
  /(^|\/)(credentials|secrets?)\.(json|ya?ml|toml|ini|txt)$/,
  /(^|\/)service[-_]account[^/]*\.json$/,
  /^\/etc\/(shadow|gshadow|sudoers|master\.passwd)(-|$)/,
  /^\/etc\/ssh\/ssh_host_[^/]*_key$/,
  /^\/proc\/[^/]+\/(environ|mem)$/,
  /^\/dev\/(mem|kmem|port)$/,
  /(^|\/)\.mozilla\/firefox\/[^/]+\/(logins\.json|key[34]\.db|cookies\.sqlite)$/,
  /(^|\/)\.config\/(google-chrome|chromium|BraveSoftware\/Brave-Browser|microsoft-edge)\/[^/]+\/(Login Data|Cookies|Web Data)$/,
  /(^|\/)wp-config\.php$/,
  /^\/etc\/ssl\/private(\/|$)/,
  /(^|\/)\.htpasswd$/,
  /(^|\/)\.config\/gh\/hosts\.ya?ml$/,
  /^\/var\/lib\/jenkins\/secrets(\/|$)/,
  /^\/proc\/kcore$/,
  /^\/(var\/)?run\/secrets(\/|$)/,
  /(^|\/)\.(bash|zsh)_history$/,
  /(^|\/)\.terraform\.d\/credentials\.tfrc\.json$/,
  /(^|\/)terraform\.tfstate$/,
];

/**
 * True when the path names secrets (keys, credentials, tokens, `.env`). Example files like
 * `.env.example` and public keys are not secrets.
 *
 * @example isSecretPath('/home/u/.ssh/id_ed25519') // true
 */
export function isSecretPath(path: string): boolean {
  if (path.endsWith('.pub')) return false;
  return SECRET_PATTERNS.some((re) => re.test(path));
}

/** How bad a write to a sensitive path is: `critical` ones grant root or persistence as root. */
export interface SensitiveTarget {
  what: string;
  critical: boolean;
  /** Writing here is privilege escalation, not just a sensitive write. */
  privilege: boolean;
}

const STARTUP_FILES = /(^|\/)\.(bashrc|bash_profile|bash_login|bash_logout|profile|zshrc|zshenv|zprofile|zlogin|kshrc|cshrc|tcshrc|inputrc|xinitrc|xprofile)$/;

/**
 * Classifies a write target: `undefined` when it is an ordinary path.
 *
 * @example sensitiveWriteTarget('/home/u/.bashrc', '/home/u')?.what // 'shell startup file'
 */
export function sensitiveWriteTarget(path: string, home: string): SensitiveTarget | undefined {
  if (/^\/etc\/(sudoers|sudoers\.d(\/|$)|passwd|shadow|group|gshadow|doas\.conf)/.test(path)) {
    return { what: 'account or sudo configuration', critical: true, privilege: true };
  }
  if (STARTUP_FILES.test(path) || /(^|\/)\.config\/fish\/config\.fish$/.test(path) || /^\/etc\/(profile|bash\.bashrc|zsh)/.test(path)) {
    return { what: 'shell startup file', critical: false, privilege: false };
  }
  if (/(^|\/)\.ssh(\/|$)/.test(path)) return { what: 'ssh configuration', critical: /authorized_keys/.test(path), privilege: false };
  if (/^\/(etc\/cron|var\/spool\/cron)/.test(path)) return { what: 'crontab', critical: false, privilege: false };
  if (path === posix.join(home, '.gitconfig') || /(^|\/)\.config\/git\/config$/.test(path) || path === '/etc/gitconfig') {
    return { what: 'global git config', critical: false, privilege: false };
  }
  if (/(^|\/)\.git\/hooks\//.test(path)) return { what: 'git hook', critical: false, privilege: false };
  if (/(^|\/)\.config\/(autostart|systemd)\//.test(path) || /(^|\/)Library\/Launch(Agents|Daemons)\//.test(path)) {
    return { what: 'autostart entry', critical: false, privilege: false };
  }
  if (/^\/(usr\/local\/s?bin|usr\/s?bin|s?bin|lib|lib64|usr\/lib|boot)(\/|$)/.test(path)) {
    return { what: 'system binaries', critical: true, privilege: false };
  }
  if (/^\/etc\/(ld\.so\.preload|ld\.so\.conf)/.test(path)) return { what: 'dynamic loader configuration', critical: true, privilege: true };
  if (/^\/etc(\/|$)/.test(path)) return { what: 'system configuration', critical: false, privilege: false };
  if (/^\/(proc|sys)\//.test(path)) return { what: 'kernel settings', critical: true, privilege: false };
  return undefined;
}

/** Block devices: writing to one destroys a file system. */
export function isBlockDevice(path: string): boolean {
  return /^\/dev\/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|disk\d|rdisk\d|mapper\/|md\d|dm-\d|loop\d|root)/.test(path);
}
