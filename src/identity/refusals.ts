/**
 * Refused logins: what a surface may say about a request its authenticator refused, and the
 * aggregated audit of refusals.
 *
 * Every refusal is counted (`/metrics`) and logged by the surface; neither may hold the
 * credential. `credentialHint` gives what may be logged instead: an API key's id (public:
 * `keys list` shows it), a JWT's `kid`, and a short SHA-256 prefix of the token, enough to
 * tell one token's repeated attempts from many tokens' and useless for replaying it.
 *
 * Auditing each refusal would let anyone who can reach the port grow the hash-chained audit
 * log (and the SIEM bill) at the rate they can send requests, so `createRefusalAudit` writes
 * at most one `identity.refused` event per reason per window: the first refusal of a quiet
 * reason at once (so a first attempt is on record without delay), then one summary with the
 * count of those that followed, at the end of each window in which any did. With a fixed set
 * of reasons, that bounds the events an attacker can cause to about two per reason per window.
 */

import { createHash } from 'node:crypto';
import type { AuditEventInput } from '../audit/index.js';
import type { BastionError } from '../core/errors.js';
import { parseApiKey } from './api-keys.js';

/** Every `reason` an authenticator's 401 carries (`error.reason`); the metric's label values. */
export const IDENTITY_REFUSAL_REASONS = [
  'missing',
  'not_configured',
  'expired',
  'revoked_key',
  'malformed',
  'not_yet_valid',
  'wrong_issuer',
  'wrong_audience',
  'bad_signature',
  'algorithm_not_allowed',
  'unknown_key',
  'jwks_unreachable',
  'claims_invalid',
  'unknown_api_key',
  'api_keys_disabled',
  'jwt_not_configured',
  'other',
] as const;

export type IdentityRefusalReason = (typeof IDENTITY_REFUSAL_REASONS)[number];

const KNOWN = new Set<string>(IDENTITY_REFUSAL_REASONS);

/**
 * Whether an authenticator's error is a refused login (a 401), and under which reason it is
 * counted: one of `IDENTITY_REFUSAL_REASONS` (`other` for a reason not listed, so a label
 * never takes a value from the request).
 *
 * @example refusalReason(bastionError('IDENTITY_EXPIRED', '…', { reason: 'expired' })) // 'expired'
 */
export function refusalReason(error: BastionError | undefined): IdentityRefusalReason | undefined {
  if (error === undefined || !error.code.startsWith('IDENTITY_')) return undefined;
  return error.reason !== undefined && KNOWN.has(error.reason) ? (error.reason as IdentityRefusalReason) : 'other';
}

/** What may be logged about the credential of a refused request: never the credential. */
export interface CredentialHint {
  credential: 'none' | 'jwt' | 'api_key' | 'other';
  /** An API key's id (`bst_<id>_…`). */
  keyId?: string;
  /** A JWT's `kid` header, when it is a short printable string. */
  kid?: string;
  /** The first 12 hex digits of the SHA-256 of the bearer token (JWTs and other tokens). */
  tokenSha256?: string;
}

/** Hex digits of the token hash a hint carries: enough to correlate attempts, too few to matter. */
const HASH_PREFIX = 12;

function kidOf(jwt: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString('utf8')) as unknown;
    const kid = typeof header === 'object' && header !== null ? (header as { kid?: unknown }).kid : undefined;
    return typeof kid === 'string' && /^[\x20-\x7e]{1,64}$/.test(kid) ? kid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What a log line may say about the request's credential.
 *
 * @example credentialHint({ authorization: 'Bearer bst_0123456789abcdef_…' }) // { credential: 'api_key', keyId: '0123456789abcdef' }
 */
export function credentialHint(headers: Record<string, string | string[] | undefined>): CredentialHint {
  const raw = headers['authorization'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value.trim() === '') return { credential: 'none' };
  const m = /^Bearer +([^\s]+) *$/i.exec(value);
  const token = m?.[1] ?? value;
  const tokenSha256 = createHash('sha256').update(token).digest('hex').slice(0, HASH_PREFIX);
  const key = parseApiKey(token);
  if (key !== undefined) return { credential: 'api_key', keyId: key.id };
  if (m !== null && token.split('.').length === 3) {
    const kid = kidOf(token);
    return { credential: 'jwt', ...(kid !== undefined ? { kid } : {}), tokenSha256 };
  }
  return { credential: 'other', tokenSha256 };
}

/** One refused request, as the refusal audit counts it. */
export interface Refusal {
  reason: IdentityRefusalReason;
  code: string;
  /** The route template, e.g. `/v1/approvals/:id` (a fixed set, never the raw URL). */
  route: string;
  remoteAddress?: string;
}

export interface RefusalAuditOptions {
  /** Appends one audit event; its failure is reported to `onError`, never to the request. */
  record: (event: AuditEventInput) => Promise<unknown>;
  /** Length of a window, default 60 s. */
  windowMs?: number;
  onError?: (err: unknown) => void;
  /** Default `Date.now`. For tests. */
  now?: () => number;
}

export interface RefusalAudit {
  /** Counts one refusal; audits it at once when its reason was quiet, else in the window's summary. Never waits. */
  refused(refusal: Refusal): void;
  /** Writes the summaries of open windows now (at stop) and waits for every append. */
  flush(): Promise<void>;
}

/** The default window of `createRefusalAudit`. */
export const REFUSAL_AUDIT_WINDOW_MS = 60_000;
/** Remote addresses named in one event at most (the rest are counted). */
const MAX_ADDRESSES = 10;

interface Window {
  code: string;
  count: number;
  first?: number;
  last?: number;
  routes: Set<string>;
  addresses: Set<string>;
  moreAddresses: number;
  timer: NodeJS.Timeout;
}

/**
 * The aggregated audit of refused logins (see the module comment).
 *
 * @example
 * const audit = createRefusalAudit({ record: (e) => log.append(e) });
 * audit.refused({ reason: 'unknown_key', code: 'IDENTITY_INVALID', route: '/v1/decide', remoteAddress: '10.0.0.7' });
 */
export function createRefusalAudit(options: RefusalAuditOptions): RefusalAudit {
  const windowMs = options.windowMs ?? REFUSAL_AUDIT_WINDOW_MS;
  const now = options.now ?? Date.now;
  const windows = new Map<IdentityRefusalReason, Window>();
  const inFlight = new Set<Promise<unknown>>();

  const write = (event: AuditEventInput): void => {
    const p = options.record(event).catch((err: unknown) => options.onError?.(err));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  const event = (
    reason: IdentityRefusalReason,
    w: { code: string; count: number; first: number; last: number; routes: Iterable<string>; addresses: Iterable<string>; moreAddresses: number },
    summary: boolean,
  ): AuditEventInput => ({
    type: 'identity.refused',
    data: {
      reason,
      code: w.code,
      count: w.count,
      from: new Date(w.first).toISOString(),
      to: new Date(w.last).toISOString(),
      // A summary counts the refusals after the one audited when the window opened.
      summary,
      windowSeconds: windowMs / 1000,
      routes: [...w.routes].sort(),
      remoteAddresses: [...w.addresses],
      // Refusals from addresses beyond the first few are counted, not named.
      ...(w.moreAddresses > 0 ? { fromUnlistedAddresses: w.moreAddresses } : {}),
    },
  });

  const close = (reason: IdentityRefusalReason): void => {
    const w = windows.get(reason);
    if (w === undefined) return;
    clearTimeout(w.timer);
    windows.delete(reason);
    if (w.count === 0 || w.first === undefined || w.last === undefined) return;
    write(event(reason, { ...w, first: w.first, last: w.last }, true));
    // Refusals went on during the window: the next one is summarised too, not audited alone.
    open(reason, w.code);
  };
  const open = (reason: IdentityRefusalReason, code: string): Window => {
    const timer = setTimeout(() => close(reason), windowMs);
    timer.unref();
    const w: Window = { code, count: 0, routes: new Set(), addresses: new Set(), moreAddresses: 0, timer };
    windows.set(reason, w);
    return w;
  };

  return {
    refused(r) {
      const at = now();
      const w = windows.get(r.reason);
      if (w === undefined) {
        open(r.reason, r.code);
        write(event(r.reason, { code: r.code, count: 1, first: at, last: at, routes: [r.route], addresses: r.remoteAddress ? [r.remoteAddress] : [], moreAddresses: 0 }, false));
        return;
      }
      w.count++;
      w.first ??= at;
      w.last = at;
      w.routes.add(r.route);
      if (r.remoteAddress !== undefined && !w.addresses.has(r.remoteAddress)) {
        if (w.addresses.size < MAX_ADDRESSES) w.addresses.add(r.remoteAddress);
        else w.moreAddresses++;
      }
    },
    async flush() {
      for (const [reason, w] of [...windows]) {
        clearTimeout(w.timer);
        windows.delete(reason);
        if (w.count > 0 && w.first !== undefined && w.last !== undefined) write(event(reason, { ...w, first: w.first, last: w.last }, true));
      }
      await Promise.all([...inFlight]);
    },
  };
}
