/**
 * The scanners as an analyzer of one action request: every string in `request.args`, object
 * keys included (with its dotted field path), is scanned for secrets, personal data, injection
 * and destinations; the strings read one after the other are scanned again for a secret split
 * across them. The result is shaped for the core analysis (`analysis.secrets`, `analysis.pii`,
 * `analysis.injection`, `analysis.destinations`, plus core findings).
 *
 * A credential in an outbound argument is reported as a `secret.read` finding: the agent is
 * holding and moving a secret it must have read, and policies that guard `secret.read` should
 * see it before it leaves. Destinations become `net.egress` findings whose risk follows the
 * host class (metadata `critical`, internal `high`, public `low`).
 */

import type { AnalysisFinding, ActionRequest } from '../core/types.js';
import type { Risk } from '../core/risk.js';
import type { HostClass } from '../core/net.js';
import { extractDestinations } from './egress.js';
import { detectInjection } from './injection.js';
import { findPii } from './pii.js';
import { applyRedactions } from './redact.js';
import { findSecrets } from './secrets.js';
import type { ScanFinding, ScanOptions } from './types.js';
import { kindEnabled } from './types.js';

export interface RequestScan {
  /** `split`: found only across strings, so no one string can be redacted to remove it. */
  secrets: (ScanFinding & { field: string; split?: true })[];
  pii: (ScanFinding & { field: string })[];
  injection: { score: number; attack: boolean; techniques: string[] } | undefined;
  destinations: { field: string; host: string; hostClass: HostClass; value: string }[];
  findings: AnalysisFinding[];
}

const MAX_DEPTH = 32;

/** One string of the arguments: a value, or an object key (`key` true), with its field path. */
interface Piece {
  field: string;
  text: string;
  key: boolean;
}

/**
 * Every string in `value` in order, object keys included (a key comes before its value). A key
 * holding a secret is written redacted in the field paths, so no path carries it in clear.
 */
function eachString(value: unknown, path: string, depth: number, visit: (piece: Piece) => void, seen: Set<object>): void {
  if (typeof value === 'string') {
    visit({ field: path, text: value, key: false });
    return;
  }
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) value.forEach((item, i) => eachString(item, `${path}[${i}]`, depth + 1, visit, seen));
  else {
    for (const [k, item] of Object.entries(value)) {
      const secrets = findSecrets(k);
      const field = `${path}.${secrets.length === 0 ? k : applyRedactions(k, secrets)}`;
      visit({ field: `${field} (key)`, text: k, key: true });
      eachString(item, field, depth + 1, visit, seen);
    }
  }
}

/**
 * How much of each end of a string the concatenation keeps: a secret split across strings
 * is found when it lies within this reach of the boundary (a private-key block is at most
 * 12,000 characters long).
 */
const SPLIT_REACH = 16_384;

/**
 * Secrets that only appear when the strings are read one after the other (`AKIAZ7VQ3X` in
 * one argument, `KPL2M4N5TR` in the next): the findings in the concatenation that span two or
 * more strings, reported for the fields they span. Bounded: a long string contributes only its
 * first and last {@link SPLIT_REACH} characters (with a NUL between, which no rule reads
 * across), so the concatenation is at most twice that per string.
 */
function splitSecrets(pieces: readonly Piece[]): (ScanFinding & { field: string; split: true })[] {
  if (pieces.length < 2) return [];
  // Segments of the concatenation: where each starts, which piece it is from, at which offset.
  const segStart: number[] = [];
  const segPiece: number[] = [];
  const segOffset: number[] = [];
  let joined = '';
  pieces.forEach((p, i) => {
    const add = (from: number, to: number): void => {
      segStart.push(joined.length);
      segPiece.push(i);
      segOffset.push(from);
      joined += p.text.slice(from, to);
    };
    if (p.text.length <= 2 * SPLIT_REACH) add(0, p.text.length);
    else {
      add(0, SPLIT_REACH);
      joined += '\0';
      add(p.text.length - SPLIT_REACH, p.text.length);
    }
  });
  const segmentAt = (offset: number): number => {
    let lo = 0;
    let hi = segStart.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((segStart[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const out: (ScanFinding & { field: string; split: true })[] = [];
  for (const f of findSecrets(joined)) {
    const a = segmentAt(f.start);
    const b = segmentAt(f.end - 1);
    const first = segPiece[a] as number;
    const last = segPiece[b] as number;
    if (first === last) continue;
    const fields = last - first < 3 ? pieces.slice(first, last + 1).map((p) => p.field) : [(pieces[first] as Piece).field, '…', (pieces[last] as Piece).field];
    const start = f.start - (segStart[a] as number) + (segOffset[a] as number);
    const end = f.end - (segStart[b] as number) + (segOffset[b] as number);
    out.push({ ...f, start, end, field: fields.join(' + '), split: true });
  }
  return out;
}

const EGRESS_RISK: Readonly<Record<HostClass, Risk>> = {
  metadata: 'critical',
  'link-local': 'high',
  loopback: 'high',
  private: 'high',
  unspecified: 'high',
  invalid: 'high',
  public: 'low',
};

/**
 * @example scanRequest({ principal, action: 'slack_post_message', args: { text: 'key AKIA…' } }).secrets[0]?.field // 'args.text'
 */
export function scanRequest(request: ActionRequest, options?: ScanOptions): RequestScan {
  const result: RequestScan = { secrets: [], pii: [], injection: undefined, destinations: [], findings: [] };
  const techniques = new Set<string>();
  let score = 0;
  let scanned = false;
  const pieces: Piece[] = [];
  eachString(
    request.args ?? {},
    'args',
    0,
    (piece) => {
      pieces.push(piece);
      const { field, text } = piece;
      // A key counts as content for the injection result only when it holds an attack.
      if (!piece.key) scanned = true;
      if (kindEnabled(options, 'secret')) for (const f of findSecrets(text)) result.secrets.push({ ...f, field });
      if (kindEnabled(options, 'pii')) for (const f of findPii(text, options?.pii)) result.pii.push({ ...f, field });
      if (kindEnabled(options, 'injection')) {
        const inj = detectInjection(text);
        score = Math.max(score, inj.score);
        if (inj.techniques.length > 0) scanned = true;
        for (const t of inj.techniques) techniques.add(t.technique);
      }
      if (kindEnabled(options, 'url')) for (const d of extractDestinations(text)) result.destinations.push({ field, host: d.host, hostClass: d.hostClass, value: d.value });
    },
    new Set(),
  );
  if (kindEnabled(options, 'secret')) {
    // Values are read one after the other, and keys: a key between two values would otherwise
    // cut the secret split across them.
    result.secrets.push(...splitSecrets(pieces.filter((p) => !p.key)), ...splitSecrets(pieces.filter((p) => p.key)));
  }
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
