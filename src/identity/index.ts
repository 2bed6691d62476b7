/**
 * The identity stage: who is calling. Every surface asks its authenticator before it lets a
 * request reach the gateway, and the answer is never read from what the caller controls
 * unless the operator chose development mode, loudly.
 *
 * Two authenticators exist today: development mode (the principal in the request body is
 * taken as given, unverified) and the production default, which answers `IDENTITY_MISSING`
 * for every caller until a verifier is configured (JWT and API keys are issue 10's).
 */

import { bastionError, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';
import type { Principal } from '../core/types.js';

/** How a caller was identified. */
export type IdentityMethod = 'jwt' | 'api_key' | 'development';

/** Who is calling, as an authenticator established it. */
export interface Caller {
  /** False in development mode: the principal comes from the request and is not verified. */
  verified: boolean;
  /** How the caller is named in audit events (e.g. who changed the kill switch). */
  label: string;
  method: IdentityMethod;
  /**
   * The principal the credential names. Surfaces decide with this one, never with a
   * principal in the request body. Undefined only in development mode when the request
   * carries no identity headers: the body's principal is then used, unverified.
   */
  principal?: Principal;
}

/** What an authenticator sees of a request. */
export interface IdentityInput {
  /** The route, e.g. `/v1/decide`, named in the error when the caller cannot be identified. */
  route: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface Authenticator {
  readonly mode: 'development' | 'production';
  /** The caller, or `IDENTITY_MISSING` when the request carries no identity this authenticator accepts. */
  authenticate(input: IdentityInput): Promise<Result<Caller, BastionError>>;
}

/** The audit label of an unverified development-mode caller. */
export const UNVERIFIED_CALLER = 'http (development mode: identity not verified)';

/**
 * Development mode: every caller is accepted, unverified; the principal is the one in the
 * request body. Never expose a service in this mode.
 */
export function developmentIdentity(): Authenticator {
  const caller: Caller = Object.freeze({ verified: false, label: UNVERIFIED_CALLER, method: 'development' as const });
  const header = (headers: IdentityInput['headers'], names: string[]): string | undefined => {
    for (const name of names) {
      const v = headers[name];
      const first = Array.isArray(v) ? v[0] : v;
      if (first !== undefined && first.trim() !== '') return first.trim();
    }
    return undefined;
  };
  return {
    mode: 'development',
    // The seeds' identity headers name the principal, unverified (the kill switch's PUT needs
    // one). Without them the caller has no principal and the body's is used.
    authenticate: async ({ headers }) => {
      const id = header(headers, ['x-controlzero-user-id', 'x-user-email']);
      if (id === undefined) return ok(caller);
      const groups = (header(headers, ['x-controlzero-user-group', 'x-user-groups']) ?? '').split(/[\s,]+/).filter((g) => g !== '');
      return ok({ ...caller, label: `${id} (development mode: identity not verified)`, principal: { id, groups } });
    },
  };
}

/** Production mode without a verifier configured: nobody can be identified, so nobody gets through. */
export function noIdentity(): Authenticator {
  return {
    mode: 'production',
    authenticate: async ({ route }) => fail(bastionError('IDENTITY_MISSING', `identity verification is not configured: this build answers ${route} only in development mode (--dev)`)),
  };
}
