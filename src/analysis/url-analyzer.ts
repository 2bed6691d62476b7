/**
 * The URL analyzer, for tools that take a URL argument (`fetch`, `http_request`, webhooks):
 * scheme, host, port and host class (loopback, private, link-local, metadata, public, via
 * src/core/net.ts), allow and deny lists matched on whole domain labels, credentials in the URL.
 */

import type { Category } from '../core/categories.js';
import { maxRisk, type Risk } from '../core/risk.js';
import { hostInList, parseUrl, type HostClass } from '../core/net.js';

export interface UrlOptions {
  /** Hosts, `*.domain` entries or CIDRs; when non-empty, any other host is flagged `high`. */
  allow?: string[];
  /** Hosts, `*.domain` entries or CIDRs that are always flagged `critical`. */
  deny?: string[];
}

export interface UrlAnalysis {
  url: string;
  parsed: boolean;
  risk: Risk;
  categories: Category[];
  scheme?: string;
  host?: string;
  port?: number;
  hostClass?: HostClass;
  /** Present when an allow or deny list was given. */
  allowed?: boolean;
  findings: { category: Category; risk: Risk; evidence: string }[];
}

const CLASS_RISK: Record<HostClass, Risk> = {
  public: 'low',
  loopback: 'medium',
  private: 'medium',
  unspecified: 'medium',
  'link-local': 'high',
  metadata: 'critical',
  invalid: 'high',
};

/**
 * Analyzes one URL argument. Never throws.
 *
 * @example analyzeUrl('http://169.254.169.254/latest/meta-data/').risk // 'critical'
 * @example analyzeUrl('https://evilexample.com', { allow: ['example.com'] }).allowed // false
 */
export function analyzeUrl(url: string, options: UrlOptions = {}): UrlAnalysis {
  const findings: UrlAnalysis['findings'] = [];
  const add = (category: Category, risk: Risk, evidence: string) => findings.push({ category, risk, evidence });
  const u = parseUrl(url.trim());
  if (u === undefined) {
    if (/^file:/i.test(url)) {
      add('fs.read', 'high', `file URL ${url}`);
      return finish(url, true, findings, { scheme: 'file' });
    }
    add('net.egress', 'high', `not a URL with a host: ${url.slice(0, 100)}`);
    return finish(url, false, findings, {});
  }
  const extra: Partial<UrlAnalysis> = { scheme: u.scheme, host: u.host, hostClass: u.hostClass };
  if (u.port !== undefined) extra.port = u.port;
  if (!['http', 'https', 'ws', 'wss'].includes(u.scheme)) add('net.egress', u.scheme === 'ftp' ? 'medium' : 'high', `unusual scheme ${u.scheme}:`);
  add('net.egress', CLASS_RISK[u.hostClass], `${u.hostClass} host ${u.host}`);
  if (u.hasCredentials) add('secret.read', 'medium', 'credentials in the URL');
  const deny = options.deny ?? [];
  const allow = options.allow ?? [];
  if (deny.length > 0 || allow.length > 0) extra.allowed = true;
  if (deny.length > 0 && hostInList(u.host, deny)) {
    extra.allowed = false;
    add('net.egress', 'critical', `host ${u.host} is on the deny list`);
  } else if (allow.length > 0 && !hostInList(u.host, allow)) {
    extra.allowed = false;
    add('net.egress', 'high', `host ${u.host} is not on the allow list`);
  }
  return finish(url, true, findings, extra);
}

function finish(url: string, parsed: boolean, findings: UrlAnalysis['findings'], extra: Partial<UrlAnalysis>): UrlAnalysis {
  let risk: Risk = parsed ? 'low' : 'high';
  for (const f of findings) risk = maxRisk(risk, f.risk);
  const categories = [...new Set(findings.map((f) => f.category))].sort();
  return { url, parsed, risk, categories, ...extra, findings };
}
