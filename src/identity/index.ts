/**
 * The identity stage: who is calling. Every surface asks its authenticator before it lets a
 * request reach the gateway, and the answer is never read from what the caller controls
 * unless the operator chose development mode, loudly.
 *
 * - Production mode: `Authorization: Bearer <token>`, a JWT verified with `jose` (`jwt.ts`:
 *   JWKS URL, JWKS file or public key file; issuer, audience, asymmetric algorithms, bounded
 *   skew, claim mapping) or an API key (`api-keys.ts`: `bst_<id>_<secret>`, stored hashed
 *   behind the `ApiKeyStore` port). With neither configured, nobody gets through.
 * - Development mode: a bearer token is still verified when a verifier is configured; else
 *   the identity headers (`headers.ts`, the seeds' names as aliases) name the principal,
 *   unverified; else the request body's principal is used, unverified.
 */

import { bastionError, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';
import type { ApiKeyStore } from './api-keys.js';
import { createAuthenticator } from './authenticator.js';
import type { Authenticator } from './caller.js';
import type { IdentityConfig } from './config.js';
import { createJwtVerifier, type JwtVerifierHooks } from './jwt.js';

export type { Authenticator, Caller, IdentityInput, IdentityMethod, IdentityStatus } from './caller.js';
export { UNVERIFIED_CALLER } from './caller.js';
export type { ClaimMapping, IdentityConfig, IdentityHeaders, JwtAlgorithm, JwtConfig, JwtKeySource } from './config.js';
export { DEFAULT_CLAIMS, DEFAULT_IDENTITY, DEFAULT_IDENTITY_HEADERS, DEFAULT_JWT_ALGORITHMS, HEADER_ALIASES, JWT_ALGORITHMS, MAX_CLOCK_TOLERANCE_SECONDS, withAliases } from './config.js';
export { claimAt, groupsOf, principalFromClaims } from './claims.js';
export { createJwtVerifier } from './jwt.js';
export type { JwtStatus, JwtVerifier, JwtVerifierHooks } from './jwt.js';
export { identityCheck } from './health.js';
export type { IdentityCheck } from './health.js';
export { API_KEY_PREFIX, apiKeyStoreOver, isApiKeyId, looksLikeApiKey, parseApiKey } from './api-keys.js';
export type { ApiKeyBackend, ApiKeyLookup, ApiKeyRecord, ApiKeyStore, NewApiKey, StoredApiKey } from './api-keys.js';
export { applyIdentity, contextFromHeaders, principalFromHeaders } from './headers.js';
export type { HeaderContext } from './headers.js';
export { createAuthenticator, headerCallerLabel } from './authenticator.js';
export { createRefusalAudit, credentialHint, IDENTITY_REFUSAL_REASONS, REFUSAL_AUDIT_WINDOW_MS, refusalReason } from './refusals.js';
export type { CredentialHint, IdentityRefusalReason, Refusal, RefusalAudit, RefusalAuditOptions } from './refusals.js';
export type { AuthenticatorOptions } from './authenticator.js';

/**
 * Development mode with nothing configured: a caller is named by the identity headers, or
 * (without any) by the request body's principal; nothing is verified. Never expose a service
 * in this mode.
 */
export function developmentIdentity(): Authenticator {
  return createAuthenticator({ mode: 'development' });
}

/** Production mode without a verifier configured: nobody can be identified, so nobody gets through. */
export function noIdentity(): Authenticator {
  return createAuthenticator({ mode: 'production' });
}

/**
 * The authenticator the identity settings describe. The key files are read here: a missing
 * or wrong file is a `CONFIG_INVALID` error at start, not a 401 at the first request.
 * `apiKeys` is the data directory's key store, used when `config.apiKeys` is true; `jwt` says
 * where the verifier's operator messages go (a key file reloaded or rejected, a JWKS URL lost).
 * The key files are watched from here on: `close()` the authenticator when done.
 *
 * @example
 * const auth = buildAuthenticator(config.identity, { dev: false, apiKeys: stores.apiKeys });
 * if (!auth.ok) return auth;
 */
export function buildAuthenticator(config: IdentityConfig, options: { dev: boolean; apiKeys?: ApiKeyStore; jwt?: JwtVerifierHooks }): Result<Authenticator, BastionError> {
  let jwt;
  if (config.jwt !== undefined) {
    const built = createJwtVerifier(config.jwt, options.jwt);
    if (!built.ok) return built;
    jwt = built.value;
  }
  if (config.apiKeys && options.apiKeys === undefined) return fail(bastionError('CONFIG_INVALID', '`identity.apiKeys` is on, but no API key store was given', { field: 'identity.apiKeys' }));
  return ok(
    createAuthenticator({
      mode: options.dev ? 'development' : 'production',
      ...(jwt ? { jwt } : {}),
      ...(config.apiKeys && options.apiKeys ? { apiKeys: options.apiKeys } : {}),
      headers: config.headers,
    }),
  );
}
