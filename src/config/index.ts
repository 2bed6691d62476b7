/**
 * The service configuration file (`bastion serve --config FILE`, and `npm start` with
 * `examples/bastion.yaml`). Paths in it are relative to the file. Unknown fields are
 * rejected, so a typo never silently falls back to a default.
 *
 *   server: { host: 127.0.0.1, port: 8700 }
 *   dataDir: .bastion
 *   policies: [./native]
 *   baseline: { enabled: true }
 *   audit: { durable: true, retentionDays: 2555 }
 */

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Result } from '../core/result.js';
import { bastionError, quote, type BastionError } from '../core/errors.js';

export interface BastionConfig {
  host: string;
  port: number;
  dataDir: string;
  policies: string[];
  baseline: { enabled: boolean };
  audit: { durable: boolean; retentionDays?: number; siem?: SiemConfig };
  upstream?: string;
  dev: boolean;
  /** The file the configuration came from, if any. */
  source?: string;
}

/** Streaming the audit log to a SIEM. The token comes from `BASTION_SIEM_TOKEN`, never the file. */
export interface SiemConfig {
  url: string;
  format: 'splunk-hec' | 'json';
  eventFormat: 'ocsf' | 'jsonl' | 'zyx';
}

export const DEFAULT_CONFIG: BastionConfig = {
  host: '127.0.0.1',
  port: 8700,
  dataDir: '.bastion',
  policies: [],
  baseline: { enabled: true },
  audit: { durable: true },
  dev: false,
};

const TOP = ['server', 'dataDir', 'policies', 'baseline', 'audit', 'upstream', 'dev'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a configuration file; every problem names the file and field. */
export function loadConfig(file: string, cwd = process.cwd()): Result<BastionConfig, BastionError> {
  const path = resolve(cwd, file);
  const errors: BastionError[] = [];
  const fail = (field: string, msg: string) => errors.push(bastionError('CONFIG_INVALID', `while loading ${quote(file)}: field ${quote(field)}: ${msg}`, { file, field }));
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'), { uniqueKeys: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, errors: [bastionError('CONFIG_INVALID', `while loading ${quote(file)}: ${e.code === 'ENOENT' ? 'no such file' : (e.message.split('\n')[0] ?? 'cannot parse')}`, { file })] };
  }
  if (!isObject(raw)) return { ok: false, errors: [bastionError('CONFIG_INVALID', `while loading ${quote(file)}: the configuration must be a mapping`, { file })] };
  for (const k of Object.keys(raw)) if (!TOP.includes(k)) fail(k, `unknown field (expected one of ${TOP.join(', ')})`);
  const dir = dirname(path);
  const config: BastionConfig = { ...DEFAULT_CONFIG, source: path, dataDir: resolve(dir, DEFAULT_CONFIG.dataDir) };
  const server = raw['server'];
  if (server !== undefined) {
    if (!isObject(server)) fail('server', 'must be a mapping with `host` and `port`');
    else {
      for (const k of Object.keys(server)) if (k !== 'host' && k !== 'port') fail(`server.${k}`, 'unknown field (expected host, port)');
      if (server['host'] !== undefined) {
        if (typeof server['host'] !== 'string' || server['host'] === '') fail('server.host', 'must be a host name or address');
        else config.host = server['host'];
      }
      if (server['port'] !== undefined) {
        const port = server['port'];
        if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) fail('server.port', 'must be a port number from 0 to 65535');
        else config.port = port;
      }
    }
  }
  if (raw['dataDir'] !== undefined) {
    if (typeof raw['dataDir'] !== 'string' || raw['dataDir'] === '') fail('dataDir', 'must be a directory path');
    else config.dataDir = resolve(dir, raw['dataDir']);
  }
  const policies = raw['policies'];
  if (policies !== undefined) {
    if (!Array.isArray(policies) || policies.some((p) => typeof p !== 'string' || p === '')) fail('policies', 'must be a list of policy files or directories');
    else config.policies = policies.map((p: string) => resolve(dir, p));
  }
  const baseline = raw['baseline'];
  if (baseline !== undefined) {
    if (!isObject(baseline) || Object.keys(baseline).some((k) => k !== 'enabled') || typeof baseline['enabled'] !== 'boolean') fail('baseline', 'must be `{ enabled: true | false }`');
    else config.baseline = { enabled: baseline['enabled'] };
  }
  const audit = raw['audit'];
  if (audit !== undefined) {
    if (!isObject(audit)) fail('audit', 'must be a mapping');
    else {
      for (const k of Object.keys(audit)) if (k !== 'durable' && k !== 'retentionDays' && k !== 'siem') fail(`audit.${k}`, 'unknown field (expected durable, retentionDays, siem)');
      const siem = audit['siem'];
      if (siem !== undefined) {
        if (!isObject(siem)) fail('audit.siem', 'must be a mapping with `url` and `format`');
        else {
          for (const k of Object.keys(siem)) if (!['url', 'format', 'eventFormat'].includes(k)) fail(`audit.siem.${k}`, 'unknown field (expected url, format, eventFormat; the token comes from BASTION_SIEM_TOKEN)');
          const url = siem['url'];
          const format = siem['format'] ?? 'splunk-hec';
          const eventFormat = siem['eventFormat'] ?? 'ocsf';
          if (typeof url !== 'string' || !/^https?:\/\//.test(url)) fail('audit.siem.url', 'must be an http(s) URL');
          if (format !== 'splunk-hec' && format !== 'json') fail('audit.siem.format', 'must be `splunk-hec` or `json`');
          if (eventFormat !== 'ocsf' && eventFormat !== 'jsonl' && eventFormat !== 'zyx') fail('audit.siem.eventFormat', 'must be `ocsf`, `jsonl` or `zyx`');
          if (typeof url === 'string' && (format === 'splunk-hec' || format === 'json') && (eventFormat === 'ocsf' || eventFormat === 'jsonl' || eventFormat === 'zyx')) {
            config.audit = { ...config.audit, siem: { url, format, eventFormat } };
          }
        }
      }
      if (audit['durable'] !== undefined && typeof audit['durable'] !== 'boolean') fail('audit.durable', 'must be true or false');
      else if (audit['durable'] !== undefined) config.audit.durable = audit['durable'] as boolean;
      const days = audit['retentionDays'];
      if (days !== undefined && (typeof days !== 'number' || !Number.isInteger(days) || days < 1)) fail('audit.retentionDays', 'must be a whole number of days');
      else if (days !== undefined) config.audit = { ...config.audit, retentionDays: days as number };
    }
  }
  if (raw['upstream'] !== undefined) {
    if (typeof raw['upstream'] !== 'string' || !/^https?:\/\//.test(raw['upstream'])) fail('upstream', 'must be an http(s) URL');
    else config.upstream = raw['upstream'];
  }
  if (raw['dev'] !== undefined) {
    if (typeof raw['dev'] !== 'boolean') fail('dev', 'must be true or false');
    else config.dev = raw['dev'];
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: config };
}
