/**
 * The identity seam every surface uses: who is calling (`Caller`), what an authenticator
 * sees of a request, and what it reports for `/health`.
 */

import type { BastionError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import type { Principal } from '../core/types.js';
import type { JwtStatus } from './jwt.js';

/** How a caller was identified. */
export type IdentityMethod = 'jwt' | 'api_key' | 'development';

/** Who is calling, as an authenticator established it. */
export interface Caller {
  /** False in development mode: the principal comes from headers or the request and is not verified. */
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

/** What `/health` reports of identity. */
export interface IdentityStatus {
  mode: 'development' | 'production';
  /** Present when JWTs are verified: where the keys come from, whether the source answers, the keys in force. */
  jwt?: JwtStatus;
  /** Whether API keys are accepted. */
  apiKeys: boolean;
}

export interface Authenticator {
  readonly mode: 'development' | 'production';
  /**
   * The caller, or why it cannot be identified: `IDENTITY_MISSING` (no credential, or none
   * configured), `IDENTITY_INVALID`, `IDENTITY_EXPIRED`, `IDENTITY_REVOKED` (each with a
   * `reason`), or `REQUEST_INVALID` for ambiguous development-mode headers.
   */
  authenticate(input: IdentityInput): Promise<Result<Caller, BastionError>>;
  /** What `/health` shows; an authenticator without one reports only its mode. */
  status?(): IdentityStatus;
  /** Fetches what verification needs ahead of the first request (a JWKS URL). */
  refresh?(): Promise<void>;
  /** Stops what verification runs in the background (a key file's watch, a JWKS URL's retry). */
  close?(): void;
}

/** The audit label of an unverified development-mode caller whose principal is the body's. */
export const UNVERIFIED_CALLER = 'http (development mode: identity not verified)';
