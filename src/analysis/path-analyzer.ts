/**
 * The path analyzer, for tools that take a file path argument (`write_file`, `read_file`):
 * traversal (`..`), absolute paths outside the allowed roots, secrets, sensitive write
 * targets (startup files, `/etc`, `~/.ssh`) and paths that follow symlinks into other
 * processes or the host (`/proc/self/root`, `/dev/fd`).
 */

import { posix } from 'node:path';
import type { Category } from '../core/categories.js';
import { maxRisk, type Risk } from '../core/risk.js';
import { isBlockDevice, isSecretPath, pathZone, resolvePath, sensitiveWriteTarget } from './path-classes.js';
import { deleteRisk, writeRisk, type PathZone } from './risk-table.js';

export interface PathOptions {
  cwd?: string;
  home?: string;
  /** Absolute directories the path must stay inside; empty or absent means no restriction. */
  allowedRoots?: string[];
  /** What the tool does with the path; `read` by default. */
  access?: 'read' | 'write' | 'delete';
}

export interface PathAnalysis {
  path: string;
  /** The path resolved against the working directory (when known) and normalized. */
  resolved: string;
  parsed: boolean;
  risk: Risk;
  categories: Category[];
  zone: PathZone;
  access: 'read' | 'write' | 'delete';
  findings: { category: Category; risk: Risk; evidence: string }[];
}

const ACCESS_CATEGORY: Record<'read' | 'write' | 'delete', Category> = { read: 'fs.read', write: 'fs.write', delete: 'fs.delete' };

/**
 * Analyzes one path argument. Never throws.
 *
 * @example analyzePath('../../etc/passwd', { cwd: '/srv/app', access: 'write' }).risk // 'critical'
 */
export function analyzePath(path: string, options: PathOptions = {}): PathAnalysis {
  const access = options.access ?? 'read';
  const home = options.home ?? '/home/user';
  const cwd = options.cwd !== undefined && options.cwd.startsWith('/') ? posix.normalize(options.cwd) : undefined;
  const findings: PathAnalysis['findings'] = [];
  const add = (category: Category, risk: Risk, evidence: string) => findings.push({ category, risk, evidence });
  let parsed = true;
  if (path === '' || path.includes('\0') || /[\u0001-\u001f]/.test(path)) {
    parsed = false;
    add(ACCESS_CATEGORY[access], 'high', 'empty path or control characters in the path');
  }
  const expanded = path === '~' ? home : path.startsWith('~/') ? home + path.slice(1) : path.replace(/^file:\/\//, '');
  const resolved = resolvePath(expanded, { cwd, home });
  const zone = pathZone(expanded, { cwd, home });
  const category = ACCESS_CATEGORY[access];
  if (expanded.split(/[\\/]/).includes('..')) {
    const escapes = cwd === undefined ? posix.normalize(expanded).startsWith('..') : !resolved.startsWith(cwd + '/') && resolved !== cwd;
    add(category, escapes ? 'high' : 'medium', `path traversal with \`..\`: ${path}`);
  }
  const roots = (options.allowedRoots ?? []).map((r) => posix.normalize(r).replace(/\/$/, '') || '/');
  if (roots.length > 0) {
    const inside = roots.some((r) => r === '/' || resolved === r || resolved.startsWith(r + '/'));
    const relativeOk = !resolved.startsWith('/') && !resolved.startsWith('..') && cwd === undefined;
    if (!inside && !relativeOk) add(category, 'high', `outside the allowed roots: ${resolved}`);
  } else if (resolved.startsWith('/') && zone !== 'workspace' && zone !== 'temp' && access !== 'read') {
    add(category, access === 'delete' ? deleteRisk(zone, false) : writeRisk(zone), `${access} outside the working directory: ${resolved}`);
  }
  if (isSecretPath(resolved)) add('secret.read', 'high', `secret file ${resolved}`);
  if (/^\/proc\/[^/]+\/(root|cwd|fd|mem|environ)|^\/dev\/fd\/|^\/proc\/self\//.test(resolved)) add(category, 'high', `follows a process symlink: ${resolved}`);
  if (access !== 'read') {
    const sensitive = sensitiveWriteTarget(resolved, home);
    if (sensitive !== undefined) {
      if (sensitive.privilege) add('priv.escalate', 'critical', `${access} of ${sensitive.what} ${resolved}`);
      add('fs.write_sensitive', sensitive.critical || sensitive.privilege ? 'critical' : 'high', `${access} of ${sensitive.what} ${resolved}`);
    }
    if (isBlockDevice(resolved)) add('disk.wipe', 'critical', `${access} of block device ${resolved}`);
  }
  if (findings.length === 0) add(category, 'low', `${access} ${resolved}`);
  let risk: Risk = parsed ? 'low' : 'high';
  for (const f of findings) risk = maxRisk(risk, f.risk);
  const categories = [...new Set(findings.map((f) => f.category))].sort();
  return { path, resolved, parsed, risk, categories, zone, access, findings };
}
