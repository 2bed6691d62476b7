/**
 * Egress: the destinations text points at (URLs, bare hosts and IP addresses, e-mail
 * recipients) and whether a policy lets an agent reach them. Lists match on whole domain
 * labels and CIDR ranges (src/core/net.ts), never by suffix, so `evilexample.com` does not pass an
 * allowlist of `example.com`; internal and metadata addresses are refused unless listed;
 * IDN look-alikes of allowed names are named as such.
 */

import { domainToUnicode } from 'node:url';
import { classifyHost, hostMatches, normalizeHost, parseUrl } from '../core/net.js';
import type { HostClass } from '../core/net.js';
import { quote } from '../core/errors.js';
import type { ScanFinding } from './types.js';

export interface Destination {
  kind: 'url' | 'host' | 'email';
  value: string;
  host: string;
  hostClass: HostClass;
  start: number;
  end: number;
}

export interface EgressPolicy {
  /** Hosts, `*.domain` (subdomains only), IPs or CIDR ranges that may be reached. */
  allow?: string[];
  /** Entries that may never be reached; deny wins over allow. */
  deny?: string[];
  /** Refuse loopback, private, link-local and unspecified addresses (default true). */
  blockInternal?: boolean;
}

const URL_RE = /\b(?:https?|ftp|wss?|sftp|ssh|git|s3|gs|file):\/\/[^\s<>"'`)\]}|\\^]{1,2048}/gi;
const TLDS =
  'com|net|org|io|ai|dev|app|co|me|xyz|info|biz|cloud|site|online|top|tech|ru|cn|de|fr|uk|nl|es|it|pl|se|ch|at|be|br|in|jp|kr|au|ca|us|eu|tk|ml|ga|cf|gq|cc|tv|ly|gg|so|to|pw|su|ir|kp|onion|link|click|live|store|shop|zip|mov|xn--[a-z0-9-]{1,59}';
const HOST_RE = new RegExp(`(?<![\\w.@/:-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.){1,10}(?:${TLDS})(?::[0-9]{1,5})?(?![\\w@-]|\\.[a-z0-9])`, 'gi');
const IP_RE = /(?<![\w.:])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?::[0-9]{1,5})?(?![\w.])|\[[0-9a-f:.]{2,45}\](?::[0-9]{1,5})?/gi;
/** A prefix length right after a bare IPv4 address: `0.0.0.0/0`, `10.8.0.0/22` name a network range (a CIDR block), not a place to connect to. */
const CIDR_SUFFIX = /\/(?:3[0-2]|[12]?[0-9])(?![\w/%-]|\.[\w])/y;
const NAMED_RE = /(?<![\w.-])(?:localhost|metadata\.google\.internal)(?::[0-9]{1,5})?(?![\w-])/gi;
const EMAIL_RE = /(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@((?:[A-Za-z0-9-]{1,63}\.){1,10}[A-Za-z]{2,24})(?![\w-])/g;
const HOST_AT = new RegExp(HOST_RE.source, 'iy');
const DOT_LETTER = /\.[A-Za-z]/g;
const NAMED_HINT = /localhost|metadata\.google\.internal/i;
const NAMED_AT = new RegExp(NAMED_RE.source, 'iy');
/** The names NAMED_RE matches, for a caller's shared keyword walk ({@link extractDestinations}). */
export const NAMED_HOST_KEYWORDS: readonly string[] = ['localhost', 'metadata.google.internal'];

/** NAMED_RE's matches, tried only where one of its names occurs (sorted, non-overlapping as matchAll). */
function namedMatchesAt(text: string, hits: readonly number[]): Match[] {
  const starts: number[] = [];
  for (let h = 1; h < hits.length; h += 2) starts.push(hits[h] as number);
  starts.sort((a, b) => a - b);
  const out: Match[] = [];
  let lastEnd = 0;
  for (const start of starts) {
    if (start < lastEnd) continue;
    NAMED_AT.lastIndex = start;
    const m = NAMED_AT.exec(text);
    if (m === null) continue;
    out.push(m);
    lastEnd = start + m[0].length;
  }
  return out;
}
const EMAIL_AT = new RegExp(EMAIL_RE.source, 'y');

/** Characters of a host name run (`\w`, `.`, `-`): HOST_RE's lookbehind forbids one before a match. */
function isHostRunChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45;
}

interface Match {
  index: number;
  0: string;
  1?: string | undefined;
}

/**
 * What `text.matchAll(HOST_RE)` finds, trying the pattern only where it can start. HOST_RE's
 * lookbehind forbids `\w`, `.`, `-`, `@`, `/` and `:` before a match, so a match begins where a
 * run of `[\w.-]` begins (not after `@`, `/` or `:`), at a letter or digit; and it holds a dot
 * followed by a letter (the top-level domain). A native scan finds those dots; each one's run
 * is tried once, so prose costs a few sticky matches per sentence, not one attempt per letter.
 */
function hostMatchesIn(text: string): Match[] {
  const out: Match[] = [];
  const n = text.length;
  let done = 0;
  DOT_LETTER.lastIndex = 0;
  for (let d = DOT_LETTER.exec(text); d !== null; d = DOT_LETTER.exec(text)) {
    if (d.index < done) continue;
    let start = d.index;
    while (start > 0 && isHostRunChar(text.charCodeAt(start - 1))) start--;
    let end = d.index + 1;
    while (end < n && isHostRunChar(text.charCodeAt(end))) end++;
    done = end;
    DOT_LETTER.lastIndex = end;
    const before = start === 0 ? 0 : text.charCodeAt(start - 1);
    const first = text.charCodeAt(start);
    if (before === 64 || before === 47 || before === 58 || first === 95 || first === 46 || first === 45) continue;
    HOST_AT.lastIndex = start;
    const m = HOST_AT.exec(text);
    if (m === null) continue;
    out.push(m);
    // A match may run past the run (a port); nothing can start inside it.
    done = Math.max(end, start + m[0].length);
    DOT_LETTER.lastIndex = done;
  }
  DOT_LETTER.lastIndex = 0;
  return out;
}

/** Local-part characters of an address; EMAIL_RE's lookbehind forbids one before a match. */
function isLocalChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 37 || c === 43 || c === 45;
}

/**
 * What `text.matchAll(EMAIL_RE)` finds, tried only before each `@`: the lookbehind forbids a
 * local-part character before the match, so it starts where the run of them before the `@`
 * starts, and only if that run is at most 64 long.
 */
function emailMatches(text: string): Match[] {
  const out: Match[] = [];
  let lastEnd = 0;
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let s = at;
    while (s > 0 && at - s <= 64 && isLocalChar(text.charCodeAt(s - 1))) s--;
    if (s === at || at - s > 64 || s < lastEnd) continue;
    EMAIL_AT.lastIndex = s;
    const m = EMAIL_AT.exec(text);
    if (m === null) continue;
    out.push(m);
    lastEnd = s + m[0].length;
  }
  return out;
}

function stripTrailing(value: string): string {
  return value.replace(/[.,;:!?*]+$/, '');
}

/**
 * Every destination in a text, with offsets, normalized host and host class.
 *
 * @param namedHits hits of {@link NAMED_HOST_KEYWORDS} in `text` (`[keyword, start, …]`), when
 *   a caller walked the text once for several scanners
 * @example extractDestinations('see https://Example.com/x')[0]?.host // 'example.com'
 */
export function extractDestinations(text: string, namedHits?: readonly number[]): Destination[] {
  const out: Destination[] = [];
  // Characters already inside a destination (a URL's host is not reported again as a host).
  const taken = new Uint8Array(text.length + 1);
  const covered = (s: number, e: number): boolean => taken[s] === 1 || taken[e - 1] === 1;
  const take = (d: Destination): void => {
    taken.fill(1, d.start, d.end);
    out.push(d);
  };
  // Parsing and classifying cost microseconds each (WHATWG URL parser, IDN mapping, address
  // lists); a text names the same hosts and links again and again, so each distinct string is
  // resolved once per call. The functions are pure: the results are the same.
  const urls = new Map<string, { host: string; hostClass: HostClass } | undefined>();
  const hosts = new Map<string, { host: string; hostClass: HostClass } | undefined>();
  const resolveHost = (raw: string): { host: string; hostClass: HostClass } | undefined => {
    if (hosts.has(raw)) return hosts.get(raw);
    const host = normalizeHost(raw);
    const resolved = host === undefined ? undefined : { host, hostClass: classifyHost(host) };
    hosts.set(raw, resolved);
    return resolved;
  };
  if (text.includes('://')) {
    for (const m of text.matchAll(URL_RE)) {
      const value = stripTrailing(m[0]);
      let parsed = urls.get(value);
      if (parsed === undefined && !urls.has(value)) {
        const p = parseUrl(value);
        parsed = p === undefined ? undefined : { host: p.host, hostClass: p.hostClass };
        urls.set(value, parsed);
      }
      if (parsed === undefined) continue;
      take({ kind: 'url', value, host: parsed.host, hostClass: parsed.hostClass, start: m.index, end: m.index + value.length });
    }
  }
  if (text.includes('@')) {
    for (const m of emailMatches(text)) {
      const end = m.index + m[0].length;
      if (covered(m.index, end)) continue;
      const resolved = resolveHost(m[1] as string);
      if (resolved === undefined) continue;
      take({ kind: 'email', value: m[0], host: resolved.host, hostClass: resolved.hostClass, start: m.index, end });
    }
  }
  for (const matches of [hostMatchesIn(text), text.matchAll(IP_RE), namedHits !== undefined ? namedMatchesAt(text, namedHits) : NAMED_HINT.test(text) ? text.matchAll(NAMED_RE) : []]) {
    for (const m of matches) {
      const end = m.index + m[0].length;
      if (covered(m.index, end)) continue;
      const hostPart = m[0].startsWith('[') ? m[0].slice(0, m[0].indexOf(']') + 1) : m[0].replace(/:[0-9]{1,5}$/, '');
      // A security group rule or a firewall note names ranges; `169.254.169.254/latest/…` stays a destination.
      if (hostPart === m[0] && /^[0-9.]+$/.test(hostPart)) {
        CIDR_SUFFIX.lastIndex = end;
        if (CIDR_SUFFIX.test(text)) continue;
      }
      const resolved = resolveHost(hostPart);
      if (resolved === undefined) continue;
      take({ kind: 'host', value: m[0], host: resolved.host, hostClass: resolved.hostClass, start: m.index, end });
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

/** Latin look-alikes of Cyrillic and Greek letters, for naming IDN impersonation. */
const CONFUSABLES: Readonly<Record<string, string>> = {
  а: 'a',
  е: 'e',
  о: 'o',
  р: 'p',
  с: 'c',
  у: 'y',
  х: 'x',
  і: 'i',
  ј: 'j',
  ѕ: 's',
  һ: 'h',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ӏ: 'l',
  α: 'a',
  ο: 'o',
  ρ: 'p',
  ν: 'v',
  τ: 't',
  ι: 'i',
  κ: 'k',
  χ: 'x',
  υ: 'u',
  ε: 'e',
};

function skeleton(asciiHost: string): string {
  const unicode = domainToUnicode(asciiHost);
  let out = '';
  for (const ch of unicode.normalize('NFKC')) out += CONFUSABLES[ch] ?? ch;
  return out;
}

function hostOf(hostOrUrl: string): string | undefined {
  const trimmed = hostOrUrl.trim();
  if (trimmed.includes('://')) return parseUrl(trimmed)?.host;
  const at = trimmed.lastIndexOf('@');
  const bare = at >= 0 ? trimmed.slice(at + 1) : trimmed;
  const withoutPort = /^\[.*\](?::\d+)?$/.test(bare) ? bare.slice(0, bare.indexOf(']') + 1) : bare.replace(/:\d{1,5}$/, '');
  return normalizeHost(withoutPort.replace(/\/.*$/, ''));
}

/**
 * Decides whether a host, URL or e-mail address may be reached under a policy: invalid hosts
 * and metadata endpoints are always refused; deny entries win; internal addresses are refused
 * unless allow-listed (with `blockInternal`, the default); with an allow list, only what it
 * lists passes.
 *
 * @example checkEgress('https://evilexample.com', { allow: ['example.com'] }).allowed // false
 */
export function checkEgress(hostOrUrl: string, policy: EgressPolicy): { allowed: boolean; reason: string } {
  const host = hostOf(hostOrUrl);
  if (host === undefined) return { allowed: false, reason: `invalid destination ${quote(hostOrUrl)}` };
  const cls = classifyHost(host);
  if (cls === 'metadata') return { allowed: false, reason: `host ${quote(host)} is a cloud metadata endpoint` };
  const denied = policy.deny?.find((entry) => hostMatches(host, entry));
  if (denied !== undefined) return { allowed: false, reason: `host ${quote(host)} matches deny entry ${quote(denied)}` };
  const allowed = policy.allow?.find((entry) => hostMatches(host, entry));
  if (allowed !== undefined) return { allowed: true, reason: `host ${quote(host)} matches allow entry ${quote(allowed)}` };
  if (policy.blockInternal !== false && (cls === 'loopback' || cls === 'private' || cls === 'link-local' || cls === 'unspecified')) {
    return { allowed: false, reason: `host ${quote(host)} is ${cls === 'unspecified' ? 'an unspecified' : `a ${cls}`} address` };
  }
  if (policy.allow !== undefined) {
    if (host.split('.').some((label) => label.startsWith('xn--'))) {
      const look = skeleton(host);
      const imitated = policy.allow.find((entry) => look === entry || look.endsWith('.' + entry.replace(/^\*\./, '')));
      if (imitated !== undefined) return { allowed: false, reason: `host ${quote(host)} is a look-alike of allowed ${quote(imitated)}` };
    }
    return { allowed: false, reason: `host ${quote(host)} is not in the allow list` };
  }
  return { allowed: true, reason: `host ${quote(host)} is not denied` };
}

/** URL and host findings for scanText: rule `url`, or `url-<class>` for non-public hosts. */
export function urlFindings(text: string, namedHits?: readonly number[]): ScanFinding[] {
  return extractDestinations(text, namedHits)
    .filter((d) => d.kind !== 'email')
    .map((d) => ({ type: 'url', rule: d.hostClass === 'public' ? 'url' : `url-${d.hostClass}`, start: d.start, end: d.end, confidence: d.kind === 'url' ? 1 : 0.8, evidence: d.host }));
}
