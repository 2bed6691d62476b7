/**
 * What `/health` concludes from the identity status: whether callers can be verified.
 *
 * - `ok`: the key source answers (or no JWTs are configured).
 * - `degraded`: the source fails (a JWKS URL that does not answer, a key file that does not
 *   load) but keys are in force: tokens signed by them verify, any other is refused. Still
 *   ready: a load balancer should keep sending traffic that this replica can verify.
 * - `failed`: no key can verify a token (none was ever fetched, the cached set aged out, or
 *   the set is empty). Not ready: every JWT would be refused.
 */

import type { IdentityStatus } from './caller.js';

/** The identity check of `/health`. */
export type IdentityCheck = { status: 'ok' } | { status: 'degraded' | 'failed'; error: string; since?: string };

/**
 * @example identityCheck({ mode: 'production', apiKeys: false, jwt: { source: 'jwksUrl', jwks: 'unreachable', lastError: 'ECONNREFUSED', keys: 0 } }).status // 'failed'
 */
export function identityCheck(status: IdentityStatus): IdentityCheck {
  const jwt = status.jwt;
  if (jwt === undefined) return { status: 'ok' };
  const source = jwt.source === 'jwksUrl' ? 'the JWKS URL' : jwt.source === 'jwksFile' ? 'the JWKS file' : 'the public key file';
  const since = jwt.since !== undefined ? { since: jwt.since } : {};
  if (jwt.jwks === 'ok') {
    // A JWKS URL not fetched yet (no start) is not known to be wrong.
    const unknown = jwt.source === 'jwksUrl' && jwt.loadedAt === undefined;
    return jwt.keys > 0 || unknown ? { status: 'ok' } : { status: 'failed', error: `${source} holds no key: every JWT is refused` };
  }
  const problem =
    jwt.source === 'jwksUrl'
      ? `the JWKS URL cannot be fetched: ${jwt.lastError ?? 'unknown error'}`
      : `${source} ${jwt.jwks === 'invalid' ? 'does not load' : 'cannot be read'}: ${jwt.lastError ?? 'unknown error'}`;
  if (jwt.keys > 0) {
    return { status: 'degraded', error: `${problem}; verifying with the ${jwt.keys} key${jwt.keys === 1 ? '' : 's'} loaded at ${jwt.loadedAt ?? 'start'}, any other key is refused`, ...since };
  }
  return {
    status: 'failed',
    error: `${problem}; no key is in force${jwt.loadedAt !== undefined ? ` (the set fetched at ${jwt.loadedAt} aged out)` : ' (none was ever fetched)'}: every JWT is refused`,
    ...since,
  };
}
