/**
 * The analyzer the gateway calls: picks which arguments of an action request go to which
 * analyzer (config, then defaults), runs them, and merges everything into one `Analysis`
 * — parsed, risk = max, sorted categories, findings tagged with their source — with the
 * per-analyzer details alongside. Shell results are cached per (command, cwd, home, env, the trace's earlier downloads).
 */

import { deepFreeze } from '../core/freeze.js';
import { posix } from 'node:path';
import type { Parser } from 'web-tree-sitter';
import type { Category } from '../core/categories.js';
import { maxRisk, type Risk } from '../core/risk.js';
import type { ActionRequest, Analysis, AnalysisFinding } from '../core/types.js';
import { actionMatches, BUILTIN_ACTION_ARGUMENTS, DEFAULT_ARGUMENTS, type AnalyzerConfig, type AnalyzerKind, type ArgumentMap } from './analyzer-config.js';
import { bashParser } from './bash-grammar.js';
import { LruCache } from './lru-cache.js';
import { analyzePath, type PathAnalysis, type PathOptions } from './path-analyzer.js';
import { analyzeShell, type ShellAnalysis, type ShellOptions } from './shell-analyzer.js';
import { isKnownProgram } from './programs/index.js';
import { analyzeSqlText, type SqlAnalysis } from './sql-analyzer.js';
import { analyzeUrl, type UrlAnalysis, type UrlOptions } from './url-analyzer.js';

export interface Analyzer {
  /**
   * Analyzes every analyzable argument of a request and merges the results. Details:
   * `shell` (ShellAnalysis[]), `sql`, `paths`, `urls`, `hosts` (string[]), `commands`,
   * `downloads` (string[]: files the shell commands download to).
   */
  analyze(request: ActionRequest, options?: AnalyzeOptions): Analysis;
  shell(command: string, options?: ShellOptions): ShellAnalysis;
  sql(text: string): SqlAnalysis;
  path(path: string, options?: PathOptions): PathAnalysis;
  url(url: string, options?: UrlOptions): UrlAnalysis;
}

/** What the trace's earlier calls left that the analysis of this one depends on. */
export interface AnalyzeOptions {
  /** Files earlier calls of the trace downloaded (`Analysis.downloads` of those calls). */
  downloaded?: readonly string[];
}

/**
 * Returns a synchronous analyzer (the bash grammar is loaded once, when the analysis stage is
 * imported). It used to return a promise; `await createAnalyzer()` still works.
 *
 * @example
 * const analyzer = createAnalyzer();
 * analyzer.shell('rm -r -f /var/log').risk; // 'critical'
 */
export function createAnalyzer(config: AnalyzerConfig = {}): Analyzer {
  return new DefaultAnalyzer(bashParser(), config);
}

function get(obj: Record<string, unknown>, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function quoteArgv(argv: string[]): string {
  return argv.map((s) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function accessFor(action: string): 'read' | 'write' | 'delete' {
  if (/delete|remove|unlink|rmdir|(^|[^a-z])rm([^a-z]|$)|erase|destroy/i.test(action)) return 'delete';
  if (/write|save|create|put|upload|edit|append|move|rename|copy|patch|update|mkdir|touch/i.test(action)) return 'write';
  return 'read';
}

class DefaultAnalyzer implements Analyzer {
  private readonly cache: LruCache<string, ShellAnalysis>;

  constructor(
    private readonly parser: Parser,
    private readonly config: AnalyzerConfig,
  ) {
    this.cache = new LruCache(config.cacheSize ?? 10_000);
  }

  shell(command: string, options: ShellOptions = {}): ShellAnalysis {
    if (typeof command !== 'string') return this.nonString(command);
    const downloaded = options.downloaded === undefined || options.downloaded.length === 0 ? '' : JSON.stringify(options.downloaded);
    const key = `${options.cwd ?? ''}\0${options.home ?? ''}\0${options.env === undefined ? '' : JSON.stringify(options.env)}\0${downloaded}\0${command}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const result = deepFreeze(analyzeShell(this.parser, command, options));
    this.cache.set(key, result);
    return result;
  }

  sql(text: string): SqlAnalysis {
    return analyzeSqlText(String(text));
  }

  path(path: string, options: PathOptions = {}): PathAnalysis {
    const o: PathOptions = { ...options };
    if (o.allowedRoots === undefined && this.config.paths?.allowedRoots !== undefined) o.allowedRoots = this.config.paths.allowedRoots;
    return analyzePath(String(path), o);
  }

  url(url: string, options: UrlOptions = {}): UrlAnalysis {
    const o: UrlOptions = { ...options };
    if (o.allow === undefined && this.config.urls?.allow !== undefined) o.allow = this.config.urls.allow;
    if (o.deny === undefined && this.config.urls?.deny !== undefined) o.deny = this.config.urls.deny;
    return analyzeUrl(String(url), o);
  }

  private nonString(value: unknown): ShellAnalysis {
    return {
      command: typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)),
      parsed: false,
      risk: 'high',
      categories: ['exec.obfuscated'],
      commands: [],
      findings: [{ category: 'exec.obfuscated', risk: 'high', evidence: `expected a command string, got ${value === null ? 'null' : typeof value}` }],
    };
  }

  private argumentsFor(action: string): ArgumentMap {
    for (const [glob, map] of Object.entries(this.config.actions ?? {})) if (actionMatches(glob, action)) return map;
    return Object.hasOwn(BUILTIN_ACTION_ARGUMENTS, action) ? (BUILTIN_ACTION_ARGUMENTS[action] as ArgumentMap) : DEFAULT_ARGUMENTS;
  }

  analyze(request: ActionRequest, options: AnalyzeOptions = {}): Analysis {
    const args = (typeof request.args === 'object' && request.args !== null ? request.args : {}) as Record<string, unknown>;
    const context = (typeof request.context === 'object' && request.context !== null ? request.context : {}) as Record<string, unknown>;
    const cwdRaw = args['cwd'] ?? args['workdir'] ?? context['cwd'];
    const cwd = typeof cwdRaw === 'string' && cwdRaw.startsWith('/') ? cwdRaw : undefined;
    const envRaw = context['env'];
    const env =
      typeof envRaw === 'object' && envRaw !== null && !Array.isArray(envRaw) ? Object.fromEntries(Object.entries(envRaw).filter((e): e is [string, string] => typeof e[1] === 'string')) : undefined;
    const homeRaw = context['home'] ?? env?.['HOME'];
    const shellOptions: ShellOptions = {};
    if (cwd !== undefined) shellOptions.cwd = cwd;
    if (env !== undefined) shellOptions.env = env;
    if (typeof homeRaw === 'string' && homeRaw.startsWith('/')) shellOptions.home = homeRaw;
    if (options.downloaded !== undefined && options.downloaded.length > 0) shellOptions.downloaded = options.downloaded;

    const findings: AnalysisFinding[] = [];
    let parsed = true;
    let risk: Risk = 'low';
    const shell: ShellAnalysis[] = [];
    const sql: SqlAnalysis[] = [];
    const paths: PathAnalysis[] = [];
    const urls: UrlAnalysis[] = [];
    const hosts = new Set<string>();
    const commands: { program: string; argv: string[] }[] = [];
    const downloads = new Set<string>();
    const take = (source: string, r: { parsed: boolean; risk: Risk; findings: { category: Category; risk: Risk; evidence: string }[] }) => {
      if (!r.parsed) parsed = false;
      risk = maxRisk(risk, r.risk);
      for (const f of r.findings) findings.push({ category: f.category, risk: f.risk, evidence: f.evidence, source });
    };
    const map = this.argumentsFor(request.action);
    for (const kind of Object.keys(map) as AnalyzerKind[]) {
      for (const argPath of map[kind] ?? []) {
        const value = get(args, argPath);
        if (value === undefined || value === null) continue;
        const source = `${kind}:args.${argPath}`;
        switch (kind) {
          case 'shell': {
            const text = Array.isArray(value) && value.every((v) => typeof v === 'string') ? quoteArgv(value) : value;
            const r = typeof text === 'string' ? this.shell(text, shellOptions) : this.nonString(text);
            shell.push(r);
            take(source, r);
            commands.push(...r.commands);
            for (const h of r.hosts ?? []) hosts.add(h.host);
            for (const d of r.downloads ?? []) downloads.add(d);
            break;
          }
          case 'sql': {
            const r =
              typeof value === 'string'
                ? this.sql(value)
                : {
                    ...this.sql(''),
                    parsed: false,
                    risk: 'high' as Risk,
                    findings: [{ category: 'db.destructive' as Category, risk: 'high' as Risk, evidence: `expected a query string, got ${typeof value}` }],
                  };
            sql.push(r);
            take(source, r);
            break;
          }
          case 'path': {
            const list = Array.isArray(value) ? value : [value];
            for (const p of list) {
              const o: PathOptions = { access: accessFor(request.action) };
              if (cwd !== undefined) o.cwd = cwd;
              if (shellOptions.home !== undefined) o.home = shellOptions.home;
              const r = typeof p === 'string' ? this.path(p, o) : { ...this.path('', o), path: String(p) };
              paths.push(r);
              take(source, r);
            }
            break;
          }
          case 'url': {
            const list = Array.isArray(value) ? value : [value];
            for (const u of list) {
              const r = this.url(typeof u === 'string' ? u : '');
              urls.push(r);
              take(source, r);
              if (r.host !== undefined) hosts.add(r.host);
            }
            break;
          }
        }
      }
    }
    if (!parsed) risk = maxRisk(risk, 'high');
    const categories = [...new Set(findings.map((f) => f.category))].sort();
    const analysis: Analysis = { parsed, risk, categories, findings };
    if (shell.length > 0) analysis['shell'] = shell;
    if (sql.length > 0) analysis['sql'] = sql;
    if (paths.length > 0) analysis['paths'] = paths;
    if (urls.length > 0) analysis['urls'] = urls;
    if (hosts.size > 0) analysis['hosts'] = [...hosts];
    if (downloads.size > 0) analysis['downloads'] = [...downloads];
    if (commands.length > 0) {
      analysis['commands'] = commands;
      const unknown = [...new Set(commands.map((c) => posix.basename(c.program)).filter((p) => !isKnownProgram(p)))];
      if (unknown.length > 0) analysis['unknownPrograms'] = unknown;
    }
    return analysis;
  }
}
