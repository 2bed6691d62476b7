/**
 * Network facts shared by the shell analyzer and the egress scanner: normalizing a host
 * (IDN to punycode, case, trailing dot, IPv4 in odd notations), classifying it (loopback,
 * private, link-local, metadata endpoint, public) and matching it against allow and deny
 * lists on whole domain labels, so that `evilexample.com` never passes `example.com`.
 */

import { BlockList, isIP } from 'node:net';
import { domainToASCII } from 'node:url';

export type HostClass = 'loopback' | 'private' | 'link-local' | 'metadata' | 'unspecified' | 'public' | 'invalid';

/** Cloud instance-metadata endpoints: reaching one from an agent is credential theft. */
const METADATA_HOSTS: ReadonlySet<string> = new Set(['169.254.169.254', 'fd00:ec2::254', '169.254.170.2', '100.100.100.200', 'metadata.google.internal', 'metadata']);

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

const PRIVATE = new BlockList();
PRIVATE.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE.addSubnet('100.64.0.0', 10, 'ipv4');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');

const LINK_LOCAL = new BlockList();
LINK_LOCAL.addSubnet('169.254.0.0', 16, 'ipv4');
LINK_LOCAL.addSubnet('fe80::', 10, 'ipv6');

/**
 * Normalizes a host name or address: lowercase, no trailing dot, no IPv6 brackets, IDN to
 * punycode, IPv4 in decimal/octal/hex notations (`2130706433`, `0x7f.1`) to dotted quads.
 * Returns `undefined` for something that is not a host.
 *
 * @example normalizeHost('ExAmple.COM.') // 'example.com'
 */
export function normalizeHost(input: string): string | undefined {
  let host = input.trim().toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '') return undefined;
  if (isIP(host) === 6) return host;
  const ipv4 = parseIpv4Loose(host);
  if (ipv4 !== undefined) return ipv4;
  // The WHATWG URL parser does the IDN mapping (and rejects forbidden code points).
  const ascii = domainToASCII(host);
  if (ascii === '' || !/^[a-z0-9_.-]+$/.test(ascii)) return undefined;
  return ascii;
}

/** Parses IPv4 the way `inet_aton` (and so curl and browsers) does, or returns undefined. */
function parseIpv4Loose(host: string): string | undefined {
  const parts = host.split('.');
  if (parts.length > 4 || parts.some((p) => p === '')) return undefined;
  const nums: number[] = [];
  for (const part of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/.test(part)) n = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) n = parseInt(part, 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) n = Number(part);
    else return undefined;
    nums.push(n);
  }
  const last = nums.pop() as number;
  if (nums.some((n) => n > 255)) return undefined;
  const width = 4 - nums.length;
  if (last >= 256 ** width) return undefined;
  const bytes = [...nums];
  for (let i = width - 1; i >= 0; i--) bytes.push(Math.floor(last / 256 ** i) % 256);
  return bytes.join('.');
}

/**
 * Classifies a host. Names are classified by what they are known to mean (`localhost`,
 * metadata names); other names are `public`, since DNS is not consulted.
 *
 * @example classifyHost('169.254.169.254') // 'metadata'
 */
export function classifyHost(input: string): HostClass {
  const host = normalizeHost(input);
  if (host === undefined) return 'invalid';
  if (METADATA_HOSTS.has(host)) return 'metadata';
  const family = isIP(host);
  if (family === 0) {
    if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
    return 'public';
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (host === '0.0.0.0' || host === '::') return 'unspecified';
  const mapped = type === 'ipv6' ? ipv4Mapped(host) : undefined;
  if (mapped !== undefined) return classifyHost(mapped);
  if (LOOPBACK.check(host, type)) return 'loopback';
  if (LINK_LOCAL.check(host, type)) return 'link-local';
  if (PRIVATE.check(host, type)) return 'private';
  return 'public';
}

function ipv4Mapped(host: string): string | undefined {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  return m?.[1];
}

/**
 * Matches a host against one list entry on whole labels: `example.com` matches
 * `example.com` and `api.example.com`, never `evilexample.com`; `*.example.com` matches
 * subdomains only; an IP entry or CIDR (`10.0.0.0/8`) matches addresses in it.
 *
 * @example hostMatches('api.example.com', 'example.com') // true
 * @example hostMatches('evilexample.com', 'example.com') // false
 */
export function hostMatches(hostInput: string, entryInput: string): boolean {
  const host = normalizeHost(hostInput);
  if (host === undefined) return false;
  const slash = entryInput.indexOf('/');
  if (slash > 0) {
    const net = entryInput.slice(0, slash);
    const bits = Number(entryInput.slice(slash + 1));
    const family = isIP(net);
    const hostFamily = isIP(host);
    if (family === 0 || hostFamily !== family || !Number.isInteger(bits)) return false;
    const list = new BlockList();
    list.addSubnet(net, bits, family === 4 ? 'ipv4' : 'ipv6');
    return list.check(host, family === 4 ? 'ipv4' : 'ipv6');
  }
  const subdomainsOnly = entryInput.startsWith('*.');
  const entry = normalizeHost(subdomainsOnly ? entryInput.slice(2) : entryInput);
  if (entry === undefined) return false;
  if (host === entry) return !subdomainsOnly;
  return isIP(host) === 0 && host.endsWith('.' + entry);
}

/** True when the host matches any entry of the list. */
export function hostInList(host: string, list: readonly string[]): boolean {
  return list.some((entry) => hostMatches(host, entry));
}

export interface ParsedUrl {
  url: string;
  scheme: string;
  host: string;
  port: number | undefined;
  hostClass: HostClass;
  /** True when the host part carried user info (`https://user:pass@host`). */
  hasCredentials: boolean;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443, ftp: 21, ws: 80, wss: 443 };

/**
 * Parses a URL with the WHATWG parser (as browsers and curl-alikes resolve it), returning
 * the normalized host and its class, or `undefined` when it is not a URL with a host.
 *
 * @example parseUrl('https://user@EXAMPLE.com:8443/x')?.host // 'example.com'
 */
export function parseUrl(text: string): ParsedUrl | undefined {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return undefined;
  }
  if (u.hostname === '') return undefined;
  const host = normalizeHost(u.hostname);
  if (host === undefined) return undefined;
  const scheme = u.protocol.replace(/:$/, '');
  return {
    url: text,
    scheme,
    host,
    port: u.port === '' ? DEFAULT_PORTS[scheme] : Number(u.port),
    hostClass: classifyHost(host),
    hasCredentials: u.username !== '' || u.password !== '',
  };
}
