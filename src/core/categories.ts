/**
 * The canonical analysis categories: what a command or call does. These names appear in
 * policies (`analysis.categories`), decisions and audit events, so they are part of the
 * public contract.
 */

export const CATEGORIES = [
  'fs.read',
  'fs.write',
  'fs.delete',
  'fs.write_sensitive',
  'disk.wipe',
  'vcs.destructive',
  'net.egress',
  'net.listen',
  'exec.remote_code',
  'exec.obfuscated',
  'exec.interpreter',
  'priv.escalate',
  'secret.read',
  'proc.kill',
  'pkg.install',
  'service.control',
  'db.destructive',
  'db.write',
  'cloud.mutate',
] as const;

export type Category = (typeof CATEGORIES)[number];

const CATEGORY_SET: ReadonlySet<string> = new Set(CATEGORIES);

export function isCategory(value: unknown): value is Category {
  return typeof value === 'string' && CATEGORY_SET.has(value);
}
