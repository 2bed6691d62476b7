/**
 * The scanners as an analyzer of one action request: every string in `request.args` (with
 * its dotted field path) is scanned for secrets, personal data, injection and destinations,
 * and the result is shaped for the core analysis (`analysis.secrets`, `analysis.pii`,
 * `analysis.injection`, `analysis.destinations`, plus core findings).
 *
 * A credential in an outbound argument is reported as a `secret.read` finding: the agent is
 * holding and moving a secret it must have read, and policies that guard `secret.read` should
 * see it before it leaves. Destinations become `net.egress` findings whose risk follows the
 * host class (metadata `critical`, internal `high`, public `low`).
 */

import type { AnalysisFinding, ActionRequest } from '../core/types.js';
import type { Risk } from '../core/risk.js';
import type { HostClass } from '../net/index.js';
import { extractDestinations } from './egress.js';
import { detectInjection } from './injection.js';
import { findPii } from './pii.js';
import { findSecrets } from './secrets.js';
import type { ScanFinding, ScanOptions } from './types.js';
import { kindEnabled } from './types.js';

export interface RequestScan {
  secrets: (ScanFinding & { field: string })[];
  pii: (ScanFinding & { field: string })[];
  injection: { score: number; attack: boolean; techniques: string[] } | undefined;
  destinations: { field: string; host: string; hostClass: HostClass; value: string }[];
  findings: AnalysisFinding[];
}

const MAX_DEPTH = 32;

function eachString(value: unknown, path: string, depth: number, visit: (field: string, text: string) => void, seen: Set<object>): void {
  if (typeof value === 'string') {
    visit(path, value);
    return;
  }
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) value.forEach((item, i) => eachString(item, `${path}[${i}]`, depth + 1, visit, seen));
  else for (const [k, item] of Object.entries(value)) eachString(item, `${path}.${k}`, depth + 1, visit, seen);
}

const EGRESS_RISK: Readonly<Record<HostClass, Risk>> = {
  metadata: 'critical', 'link-local': 'high', loopback: 'high', private: 'high', unspecified: 'high', invalid: 'high', public: 'low',
};

/**
 * @example scanRequest({ principal, action: 'slack_post_message', args: { text: 'key AKIA…' } }).secrets[0]?.field // 'args.text'
 */
export function scanRequest(request: ActionRequest, options?: ScanOptions): RequestScan {
  const result: RequestScan = { secrets: [], pii: [], injection: undefined, destinations: [], findings: [] };
  const techniques = new Set<string>();
  let score = 0;
  let scanned = false;
  eachString(request.args ?? {}, 'args', 0, (field, text) => {
    scanned = true;
    if (kindEnabled(options, 'secret')) for (const f of findSecrets(text)) result.secrets.push({ ...f, field });
    if (kindEnabled(options, 'pii')) for (const f of findPii(text, options?.pii)) result.pii.push({ ...f, field });
    if (kindEnabled(options, 'injection')) {
      const inj = detectInjection(text);
      score = Math.max(score, inj.score);
      for (const t of inj.techniques) techniques.add(t.technique);
    }
    if (kindEnabled(options, 'url')) for (const d of extractDestinations(text)) result.destinations.push({ field, host: d.host, hostClass: d.hostClass, value: d.value });
  }, new Set());
  if (scanned && kindEnabled(options, 'injection')) result.injection = { score, attack: score >= 0.5, techniques: [...techniques].sort() };
  for (const s of result.secrets) {
    result.findings.push({ category: 'secret.read', risk: s.confidence >= 0.9 ? 'high' : 'medium', evidence: `${s.rule} in ${s.field} (${s.evidence ?? 'masked'})`, source: `scan:${s.field}` });
  }
  const seenHosts = new Set<string>();
  for (const d of result.destinations) {
    if (seenHosts.has(d.host)) continue;
    seenHosts.add(d.host);
    result.findings.push({ category: 'net.egress', risk: EGRESS_RISK[d.hostClass], evidence: `${d.host} (${d.hostClass}) in ${d.field}`, source: `scan:${d.field}` });
  }
  return result;
}
