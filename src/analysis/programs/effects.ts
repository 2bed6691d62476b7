/**
 * The effects the program rules share: evidence text, writes, reads, deletes and egress, each
 * classified through the documented risk table (risk-table.ts).
 */

import { parseUrl } from '../../core/net.js';
import { maxRisk, type Risk } from '../../core/risk.js';
import { isBlockDevice, isSecretPath, sensitiveWriteTarget } from '../path-classes.js';
import { deleteRisk, hostRisk, writeRisk } from '../risk-table.js';
import type { Arg, Invocation, ProgramRule, Site } from '../shell-types.js';
import type { SubOutput, Word } from '../shell-words.js';

export function clip(text: string): string {
  // Only the head is shown, so only the head is normalized: evidence stays linear in a long chain.
  const head = text.length > 2_000 ? text.slice(0, 2_000) : text;
  const one = head.replace(/\s+/g, ' ').trim();
  return one.length > 120 || head !== text ? one.slice(0, 117) + '...' : one;
}

export function ev(inv: Invocation, what: string): string {
  return `${what}: ${clip(inv.text)}`;
}

export function mergeOut(...outs: SubOutput[]): SubOutput {
  const r: SubOutput = {};
  for (const o of outs) {
    if (o.download) r.download = true;
    if (o.decoded) r.decoded = true;
    if (o.secret) r.secret = true;
  }
  return r;
}

export function subsOf(args: Arg[]): SubOutput {
  return mergeOut(...args.flatMap((a) => a.subs));
}

export const SECRET_VAR = /(SECRET|TOKEN|PASSW|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|ACCESS_KEY|SESSION|AUTH)/i;

/** File globs that select secret files (`--include=*.env`, `-name id_rsa`). */
export const SECRET_NAME =
  /id_(rsa|dsa|ecdsa|ed25519)|\.pem\b|\.key\b|\.p12|\.pfx|\.kdbx|\.env\b|credentials|\.git-credentials|\.netrc|\.pgpass|authorized_keys|shadow|\.aws|\.kube|wallet\.dat|\.ovpn|\.ppk|\.jks|\.keystore|\.tfstate|\.npmrc|\.pypirc|secrets?\.(json|ya?ml|toml)|\.htpasswd|\.bash_history/i;

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
export function readFiles(files: Arg[], inv: Invocation, site: Site, risk: Risk = 'high'): SubOutput {
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

export function deleteTargets(targets: Arg[], recursive: boolean, inv: Invocation, site: Site, how: string): void {
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

export function egress(host: string, inv: Invocation, site: Site, upload: boolean, what: string, secret = false): void {
  const cls = site.host(host);
  let risk = hostRisk(cls, upload);
  if (secret) risk = 'critical';
  const where = cls === 'metadata' ? 'cloud metadata endpoint' : `${cls} host`;
  site.add('net.egress', risk, ev(inv, `${what} ${upload ? 'sends data to' : 'to'} ${where} ${host}`));
  if (secret) site.add('secret.read', 'critical', ev(inv, `secrets sent to ${host}`));
}

export function urlHost(raw: string): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  return parseUrl(withScheme)?.host;
}

export const noop: ProgramRule = (inv) => (inv.stdin !== undefined && (inv.name === 'sort' || inv.name === 'uniq') ? { ...inv.stdin } : {});
