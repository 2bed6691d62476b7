/**
 * The service configuration file (`bastion serve --config FILE`, and `npm start` with
 * `config/bastion.yaml`). Paths in it are relative to the file. Unknown fields are
 * rejected, so a typo never silently falls back to a default; every problem names the file,
 * line, column and field.
 *
 *   server: { host: 127.0.0.1, port: 8700 }
 *   dataDir: .bastion
 *   policies: [./native]
 *   baseline: { enabled: true }
 *   audit: { durable: true, retentionDays: 2555 }
 *   admin_groups: [bastion-admins]
 *   limits: { onStoreError: closed }
 *
 * `ConfigFileSchema` is the file's one definition. The sections later issues add (identity,
 * approvals, limits, storage, mcp) extend it: `ConfigFileSchema.extend({ identity: … })`.
 */

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import * as z from 'zod';
import type { Result } from '../core/result.js';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import { schemaErrors, schemaProblems, strictObject } from '../core/schema.js';
import { yamlLocator } from '../core/yaml-position.js';

const HTTP_URL = /^https?:\/\//;
const bool = z.boolean({ error: 'must be true or false' });

/** Streaming the audit log to a SIEM. The token comes from `BASTION_SIEM_TOKEN`, never the file. */
export const SiemConfigSchema = strictObject(
  {
    url: z.string({ error: 'must be an http(s) URL' }).regex(HTTP_URL, { error: 'must be an http(s) URL' }),
    format: z.enum(['splunk-hec', 'json'], { error: 'must be `splunk-hec` or `json`' }).default('splunk-hec'),
    eventFormat: z.enum(['ocsf', 'jsonl', 'zyx'], { error: 'must be `ocsf`, `jsonl` or `zyx`' }).default('ocsf'),
  },
  { what: 'in `audit.siem`', notObject: 'must be a mapping with `url` and `format`', hint: 'the token comes from BASTION_SIEM_TOKEN' },
);

export type SiemConfig = z.output<typeof SiemConfigSchema>;

/** `bastion.yaml` as written. */
export const ConfigFileSchema = strictObject(
  {
    server: strictObject(
      {
        host: z.string({ error: 'must be a host name or address' }).min(1, { error: 'must be a host name or address' }).exactOptional(),
        port: z
          .int({ error: 'must be a port number from 0 to 65535' })
          .min(0, { error: 'must be a port number from 0 to 65535' })
          .max(65535, { error: 'must be a port number from 0 to 65535' })
          .exactOptional(),
      },
      { what: 'in `server`', notObject: 'must be a mapping with `host` and `port`' },
    ).exactOptional(),
    dataDir: z.string({ error: 'must be a directory path' }).min(1, { error: 'must be a directory path' }).exactOptional(),
    policies: z
      .array(z.string({ error: 'must be a list of policy files or directories' }).min(1, { error: 'must be a list of policy files or directories' }), {
        error: 'must be a list of policy files or directories',
      })
      .exactOptional(),
    baseline: strictObject({ enabled: bool }, { what: 'in `baseline`', notObject: 'must be `{ enabled: true | false }`' }).exactOptional(),
    audit: strictObject(
      {
        durable: bool.exactOptional(),
        retentionDays: z.int({ error: 'must be a whole number of days' }).min(1, { error: 'must be a whole number of days' }).exactOptional(),
        siem: SiemConfigSchema.exactOptional(),
      },
      { what: 'in `audit`', notObject: 'must be a mapping' },
    ).exactOptional(),
    upstream: z.string({ error: 'must be an http(s) URL' }).regex(HTTP_URL, { error: 'must be an http(s) URL' }).exactOptional(),
    dev: bool.exactOptional(),
    admin_groups: z
      .array(z.string({ error: 'must be a non-empty list of group names' }).min(1, { error: 'must be a non-empty list of group names' }), {
        error: 'must be a non-empty list of group names',
      })
      .min(1, { error: 'must be a non-empty list of group names (leave it out for the default `[bastion-admins]`)' })
      .exactOptional(),
    limits: strictObject(
      {
        onStoreError: z.enum(['closed', 'open'], { error: 'must be `closed` (refuse rate-limited calls while the limit store fails) or `open` (let them through, audited)' }).exactOptional(),
      },
      { what: 'in `limits`', notObject: 'must be a mapping such as `{ onStoreError: closed }`' },
    ).exactOptional(),
  },
  { what: 'in the configuration', notObject: 'the configuration must be a mapping' },
);

export type ConfigFile = z.output<typeof ConfigFileSchema>;

/** The resolved configuration: defaults filled in, paths absolute. */
export interface BastionConfig {
  host: string;
  port: number;
  dataDir: string;
  policies: string[];
  baseline: { enabled: boolean };
  audit: { durable: boolean; retentionDays?: number; siem?: SiemConfig };
  upstream?: string;
  dev: boolean;
  /** Groups whose members may change the kill switch; default `[bastion-admins]`. */
  adminGroups: string[];
  /** The limits declared in policy: what rate limits do while the limit store fails (budgets always fail closed). */
  limits: { onStoreError: 'closed' | 'open' };
  /** The file the configuration came from, if any. */
  source?: string;
}

export const DEFAULT_CONFIG: BastionConfig = {
  host: '127.0.0.1',
  port: 8700,
  dataDir: '.bastion',
  policies: [],
  baseline: { enabled: true },
  audit: { durable: true },
  dev: false,
  adminGroups: ['bastion-admins'],
  limits: { onStoreError: 'closed' },
};

/**
 * Reads a configuration file; every problem names the file, and where it can, the line,
 * column and field.
 *
 * @example
 * const r = loadConfig('config/bastion.yaml');
 * if (r.ok) console.log(r.value.port); // 8700
 */
export function loadConfig(file: string, cwd = process.cwd()): Result<BastionConfig, BastionError> {
  const path = resolve(cwd, file);
  const at = (pos?: { line: number; column: number }) => `while loading ${quote(file)}: ${pos ? `line ${pos.line}, column ${pos.column}: ` : ''}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, errors: [bastionError('CONFIG_INVALID', `${at()}${e.code === 'ENOENT' ? 'no such file' : (e.message.split('\n')[0] ?? 'cannot read')}`, { file })] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    const pos = lineCounter.linePos(syntax.pos[0]);
    return {
      ok: false,
      errors: [bastionError('CONFIG_INVALID', `${at({ line: pos.line, column: pos.col })}${syntax.message.split('\n')[0] ?? 'cannot parse'}`, { file, line: pos.line, column: pos.col })],
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { ok: false, errors: [bastionError('CONFIG_INVALID', `${at()}${(err as Error).message.split('\n')[0] ?? 'cannot parse'}`, { file })] };
  }
  const parsed = ConfigFileSchema.safeParse(raw);
  if (!parsed.success) {
    const locate = yamlLocator(doc, lineCounter);
    const problems = schemaProblems(parsed.error.issues, 'CONFIG_INVALID');
    const errors = schemaErrors(problems, (p) => {
      const pos = p.path.length > 0 ? locate(p.path, p.atKey) : undefined;
      return { prefix: at(pos), file, ...(pos ? { line: pos.line, column: pos.column } : {}) };
    });
    // In document order (the schema reports a mapping's unknown keys after its fields).
    return { ok: false, errors: errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0)) };
  }
  return { ok: true, value: resolveConfig(parsed.data, path) };
}

/** Fills in defaults and resolves the file's paths against its directory. */
function resolveConfig(c: ConfigFile, path: string): BastionConfig {
  const dir = dirname(path);
  const config: BastionConfig = {
    ...DEFAULT_CONFIG,
    host: c.server?.host ?? DEFAULT_CONFIG.host,
    port: c.server?.port ?? DEFAULT_CONFIG.port,
    source: path,
    dataDir: resolve(dir, c.dataDir ?? DEFAULT_CONFIG.dataDir),
    policies: (c.policies ?? []).map((p) => resolve(dir, p)),
    baseline: { enabled: c.baseline?.enabled ?? true },
    audit: { durable: c.audit?.durable ?? DEFAULT_CONFIG.audit.durable },
    dev: c.dev ?? false,
    adminGroups: [...new Set(c.admin_groups ?? DEFAULT_CONFIG.adminGroups)],
    limits: { onStoreError: c.limits?.onStoreError ?? DEFAULT_CONFIG.limits.onStoreError },
  };
  if (c.audit?.retentionDays !== undefined) config.audit.retentionDays = c.audit.retentionDays;
  if (c.audit?.siem !== undefined) config.audit.siem = c.audit.siem;
  if (c.upstream !== undefined) config.upstream = c.upstream;
  return config;
}
