/**
 * Which analyzer sees which argument, per action (the `analyzers:` block of a config or
 * policy file), plus the allowed path roots and URL allow/deny lists. Actions without an
 * entry use the defaults: `command`, `cmd`, `script` → shell; `sql`, `query` → SQL; `path`,
 * `file`, `filename` → path; `url`, `uri` → URL.
 */

import type { Result } from '../core/result.js';
import { fail, ok } from '../core/result.js';
import { bastionError, quote, type BastionError } from '../core/errors.js';

export const ANALYZER_KINDS = ['shell', 'sql', 'path', 'url'] as const;
export type AnalyzerKind = (typeof ANALYZER_KINDS)[number];

/** For one action glob: the dotted argument paths each analyzer reads. */
export type ArgumentMap = Partial<Record<AnalyzerKind, string[]>>;

export interface AnalyzerConfig {
  /** Action glob (`db.*`, `sys:execute`, `*`) → arguments per analyzer; first match wins. */
  actions?: Record<string, ArgumentMap>;
  paths?: { allowedRoots?: string[] };
  urls?: { allow?: string[]; deny?: string[] };
  /** Entries in the shell result cache; 10,000 by default, 0 turns it off. */
  cacheSize?: number;
}

export const DEFAULT_ARGUMENTS: Required<ArgumentMap> = {
  shell: ['command', 'cmd', 'script'],
  sql: ['sql', 'query'],
  path: ['path', 'file', 'filename'],
  url: ['url', 'uri'],
};

function stringList(raw: unknown, where: string, errors: BastionError[]): string[] | undefined {
  if (raw === undefined) return undefined;
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && x !== '')) {
    errors.push(bastionError('CONFIG_INVALID', `${where}: expected a list of non-empty strings, got ${quote(raw)}`, { field: where.split(': ').at(-1) ?? where }));
    return undefined;
  }
  return list as string[];
}

/**
 * Validates the `analyzers:` block. `where` prefixes every message (e.g. the file name).
 *
 * @example parseAnalyzerConfig({ actions: { 'db.*': { sql: ['statement'] } } }, '`bastion.yaml`')
 */
export function parseAnalyzerConfig(raw: unknown, where: string): Result<AnalyzerConfig, BastionError> {
  const errors: BastionError[] = [];
  const config: AnalyzerConfig = {};
  if (raw === undefined || raw === null) return ok(config);
  if (typeof raw !== 'object' || Array.isArray(raw)) return fail(bastionError('CONFIG_INVALID', `${where}: analyzers: expected a mapping, got ${quote(raw)}`, { field: 'analyzers' }));
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!['actions', 'paths', 'urls', 'cacheSize'].includes(key)) errors.push(bastionError('CONFIG_INVALID', `${where}: analyzers: unknown key ${quote(key)}`, { field: `analyzers.${key}` }));
  }
  if (obj['actions'] !== undefined) {
    const actions = obj['actions'];
    if (typeof actions !== 'object' || actions === null || Array.isArray(actions)) {
      errors.push(bastionError('CONFIG_INVALID', `${where}: analyzers.actions: expected a mapping of action globs`, { field: 'analyzers.actions' }));
    } else {
      config.actions = {};
      for (const [glob, entry] of Object.entries(actions as Record<string, unknown>)) {
        const field = `analyzers.actions.${glob}`;
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
          errors.push(bastionError('CONFIG_INVALID', `${where}: ${field}: expected a mapping of analyzer to argument paths`, { field }));
          continue;
        }
        const map: ArgumentMap = {};
        for (const [kind, paths] of Object.entries(entry as Record<string, unknown>)) {
          if (!(ANALYZER_KINDS as readonly string[]).includes(kind)) {
            errors.push(bastionError('CONFIG_INVALID', `${where}: ${field}: unknown analyzer ${quote(kind)} (expected shell, sql, path or url)`, { field: `${field}.${kind}` }));
            continue;
          }
          const list = stringList(paths, `${where}: ${field}.${kind}`, errors);
          if (list !== undefined) map[kind as AnalyzerKind] = list.map((p) => p.replace(/^args\./, ''));
        }
        config.actions[glob] = map;
      }
    }
  }
  if (obj['paths'] !== undefined) {
    const p = obj['paths'] as Record<string, unknown> | null;
    const roots = typeof p === 'object' && p !== null ? stringList(p['allowedRoots'], `${where}: analyzers.paths.allowedRoots`, errors) : undefined;
    if (typeof p !== 'object' || p === null) errors.push(bastionError('CONFIG_INVALID', `${where}: analyzers.paths: expected a mapping`, { field: 'analyzers.paths' }));
    else if (roots !== undefined) {
      const bad = roots.find((r) => !r.startsWith('/'));
      if (bad !== undefined) errors.push(bastionError('CONFIG_INVALID', `${where}: analyzers.paths.allowedRoots: ${quote(bad)} is not an absolute path`, { field: 'analyzers.paths.allowedRoots' }));
      config.paths = { allowedRoots: roots };
    }
  }
  if (obj['urls'] !== undefined) {
    const u = obj['urls'] as Record<string, unknown> | null;
    if (typeof u !== 'object' || u === null) errors.push(bastionError('CONFIG_INVALID', `${where}: analyzers.urls: expected a mapping`, { field: 'analyzers.urls' }));
    else {
      const allow = stringList(u['allow'], `${where}: analyzers.urls.allow`, errors);
      const deny = stringList(u['deny'], `${where}: analyzers.urls.deny`, errors);
      config.urls = {};
      if (allow !== undefined) config.urls.allow = allow;
      if (deny !== undefined) config.urls.deny = deny;
    }
  }
  if (obj['cacheSize'] !== undefined) {
    const n = obj['cacheSize'];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) errors.push(bastionError('CONFIG_INVALID', `${where}: analyzers.cacheSize: expected a non-negative integer, got ${quote(n)}`, { field: 'analyzers.cacheSize' }));
    else config.cacheSize = n;
  }
  return errors.length > 0 ? fail(...errors) : ok(config);
}

/**
 * Action glob matching: `*` matches any run of characters, everything else literally. No
 * backtracking: the text before the first star must start the action, the text after the
 * last star end it, and each piece in between is found leftmost after the previous one, so
 * `*-*-*-*-*-prod` against a long action costs O(action length × glob length).
 */
export function actionMatches(glob: string, action: string): boolean {
  if (glob === '*' || glob === action) return true;
  if (!glob.includes('*')) return false;
  const pieces = glob.split('*');
  const first = pieces[0] as string;
  const last = pieces[pieces.length - 1] as string;
  if (action.length < first.length + last.length || !action.startsWith(first) || !action.endsWith(last)) return false;
  const limit = action.length - last.length;
  let pos = first.length;
  for (const piece of pieces.slice(1, -1)) {
    const found = action.indexOf(piece, pos);
    if (found < 0 || found + piece.length > limit) return false;
    pos = found + piece.length;
  }
  return true;
}
