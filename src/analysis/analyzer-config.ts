/**
 * Which analyzer sees which argument, per action (the `analyzers:` block of a config or
 * policy file), plus the allowed path roots and URL allow/deny lists. Actions without an
 * entry use the defaults: `command`, `cmd`, `script` → shell; `sql`, `query` → SQL; `path`,
 * `file`, `filename` → path; `url`, `uri` → URL.
 *
 * `AnalyzerConfigSchema` is the one definition: the policy schema embeds it, so a bad block
 * is reported by the policy loader with its line and column, and `docs/policy.schema.json`
 * describes it. Action globs are the policy glob (`src/core/glob.ts`): `db.?` means the same
 * here as in a rule's `actions`.
 */

import * as z from 'zod';
import type { Result } from '../core/result.js';
import { fail, ok } from '../core/result.js';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import { compileGlob } from '../core/glob.js';
import { fieldName, issueParams, schemaProblems, strictObject } from '../core/schema.js';

export const ANALYZER_KINDS = ['shell', 'sql', 'path', 'url'] as const;
export type AnalyzerKind = (typeof ANALYZER_KINDS)[number];

/** One string or a list of non-empty strings; the parsed value is always a list. */
function stringOrStrings(description: string) {
  const message = (iss: { input?: unknown }) => `expected a list of non-empty strings, got ${quote(iss.input)}`;
  const item = z.string({ error: message }).min(1, { error: message });
  return z
    .union([item, z.array(item, { error: message })], { error: message })
    .transform((v) => (typeof v === 'string' ? [v] : v))
    .meta({ description });
}

/** Argument paths; a leading `args.` is dropped (`args.statement` and `statement` are one). */
function argumentPaths(description: string) {
  return stringOrStrings(description).transform((paths) => paths.map((p) => p.replace(/^args\./, '')));
}

const ArgumentMapSchema = strictObject(
  {
    shell: argumentPaths('Arguments holding shell commands.').exactOptional(),
    sql: argumentPaths('Arguments holding SQL.').exactOptional(),
    path: argumentPaths('Arguments holding file paths.').exactOptional(),
    url: argumentPaths('Arguments holding URLs.').exactOptional(),
  },
  { what: 'in the analyzers of an action', notObject: 'expected a mapping of analyzer to argument paths' },
);

/**
 * The `analyzers:` block.
 *
 * @example AnalyzerConfigSchema.parse({ actions: { 'db.*': { sql: 'args.statement' } } }) // sql: ['statement']
 */
export const AnalyzerConfigSchema = strictObject(
  {
    actions: z
      .record(z.string(), ArgumentMapSchema, { error: 'expected a mapping of action globs' })
      .superRefine((actions, ctx) => {
        for (const glob of Object.keys(actions)) {
          const compiled = compileGlob(glob);
          if (!compiled.ok) ctx.addIssue({ code: 'custom', path: [glob], message: `invalid glob ${quote(glob)}: ${compiled.message}`, params: issueParams('POLICY_BAD_GLOB') });
        }
      })
      .meta({ description: 'Action glob → the argument paths each analyzer reads; the first matching glob wins. Globs as in rules: `*`, `?`, `[abc]`.' })
      .exactOptional(),
    paths: strictObject(
      {
        allowedRoots: stringOrStrings('Absolute directories; a path argument outside them is a finding.')
          .superRefine((roots, ctx) => {
            const bad = roots.find((r) => !r.startsWith('/'));
            if (bad !== undefined) ctx.addIssue({ code: 'custom', message: `${quote(bad)} is not an absolute path` });
          })
          .exactOptional(),
      },
      { what: 'in the path analyzer settings', notObject: 'expected a mapping' },
    )
      .meta({ description: 'Path analyzer settings.' })
      .exactOptional(),
    urls: strictObject(
      {
        allow: stringOrStrings('When set, a URL whose host is not on this list (whole-label domain match, or CIDR) is a high-risk `net.egress` finding.').exactOptional(),
        deny: stringOrStrings('A URL whose host is on this list is a critical-risk `net.egress` finding.').exactOptional(),
      },
      { what: 'in the URL analyzer settings', notObject: 'expected a mapping' },
    )
      .meta({ description: 'URL analyzer settings.' })
      .exactOptional(),
    cacheSize: z
      .int({ error: (iss) => `expected a non-negative integer, got ${quote(iss.input)}` })
      .min(0, { error: (iss) => `expected a non-negative integer, got ${quote(iss.input)}` })
      .meta({ description: 'Entries in the shell result cache (default 10,000; 0 turns it off).' })
      .exactOptional(),
  },
  { what: 'in analyzers', notObject: 'expected a mapping' },
).meta({
  description:
    'Analyzer configuration. Without it: `command`, `cmd`, `script` go to the shell analyzer; `sql`, `query` to SQL; `path`, `file`, `filename` to paths; `url`, `uri` to URLs. Only the first policy (in priority order) that has this block is used.',
});

/** The `analyzers:` block as parsed: every list a list, argument paths without `args.`. */
export type AnalyzerConfig = z.output<typeof AnalyzerConfigSchema>;

/** For one action glob: the dotted argument paths each analyzer reads. */
export type ArgumentMap = Partial<Record<AnalyzerKind, string[]>>;

export const DEFAULT_ARGUMENTS: Required<ArgumentMap> = {
  shell: ['command', 'cmd', 'script'],
  sql: ['sql', 'query'],
  path: ['path', 'file', 'filename'],
  url: ['url', 'uri'],
};

/**
 * The argument maps of the agent CLIs' built-in tools (Claude Code's names, which Codex's
 * hooks reuse), used when no `analyzers.actions` glob of the policies matches: `Bash`'s
 * `command` is a shell command, the file tools' `file_path` (`notebook_path`) a path, and
 * `WebFetch`'s `url` a URL. The analyzer takes the access (read, write) from the action name,
 * so `Write`, `Edit`, `MultiEdit` and `NotebookEdit` are writes and `Read` a read.
 */
export const BUILTIN_ACTION_ARGUMENTS: Readonly<Record<string, ArgumentMap>> = Object.freeze({
  Bash: { shell: ['command'] },
  Write: { path: ['file_path'] },
  Edit: { path: ['file_path'] },
  MultiEdit: { path: ['file_path'] },
  NotebookEdit: { path: ['notebook_path'] },
  Read: { path: ['file_path'] },
  Glob: { path: ['path'] },
  Grep: { path: ['path'] },
  LS: { path: ['path'] },
  WebFetch: { url: ['url'] },
});

/**
 * Validates the `analyzers:` block. `where` prefixes every message (e.g. the file name);
 * fields are named from `analyzers`.
 *
 * @example parseAnalyzerConfig({ actions: { 'db.*': { sql: ['statement'] } } }, '`bastion.yaml`')
 */
export function parseAnalyzerConfig(raw: unknown, where: string): Result<AnalyzerConfig, BastionError> {
  if (raw === undefined || raw === null) return ok({});
  const parsed = AnalyzerConfigSchema.safeParse(raw);
  if (parsed.success) return ok(parsed.data);
  return fail(
    ...schemaProblems(parsed.error.issues, 'CONFIG_INVALID').map((p) => {
      const field = fieldName(['analyzers', ...p.path]);
      return bastionError('CONFIG_INVALID', `${where}: field ${quote(field)}: ${p.message}`, { field });
    }),
  );
}

/** Compiled action globs, by pattern; analyzer configs name a handful, reused on every call. */
const GLOBS = new Map<string, (action: string) => boolean>();

/**
 * Does the action glob match the action? The policy glob (`*`, `?`, `[abc]`, `\`), compiled
 * once per pattern; a malformed pattern (which `parseAnalyzerConfig` refuses) matches nothing.
 */
export function actionMatches(glob: string, action: string): boolean {
  let test = GLOBS.get(glob);
  if (test === undefined) {
    const compiled = compileGlob(glob);
    test = compiled.ok ? compiled.test : () => false;
    if (GLOBS.size < 10_000) GLOBS.set(glob, test);
  }
  return test(action);
}
