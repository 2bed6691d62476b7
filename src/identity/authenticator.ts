/**
 * The authenticator built from the identity settings: `Authorization: Bearer <token>`, where
 * the token is a JWT (verified by `jwt.ts`) or an API key (`bst_…`, looked up in the
 * `ApiKeyStore`). Production mode accepts nothing else; development mode also takes the
 * identity headers, and without any, the request body's principal (unverified, announced).
 */

import { bastionError, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';
import type { ApiKeyStore } from './api-keys.js';
import { looksLikeApiKey } from './api-keys.js';
import type { IdentityHeaders } from './config.js';
import { DEFAULT_IDENTITY } from './config.js';
import { principalFromHeaders } from './headers.js';
import type { JwtStatus, JwtVerifier } from './jwt.js';
import { UNVERIFIED_CALLER, type Authenticator, type Caller, type IdentityInput, type IdentityStatus } from './caller.js';

export interface AuthenticatorOptions {
  mode: 'development' | 'production';
  /** Verifies bearer JWTs; without it a JWT is refused (production) or ignored (development). */
  jwt?: JwtVerifier;
  /** Looks up API keys; without it an API key is refused (production) or ignored (development). */
  apiKeys?: ApiKeyStore;
  /** The development-mode identity headers (default: Bastion's and the seeds' names). */
  headers?: IdentityHeaders;
}

const invalid = (reason: string, message: string): BastionError => bastionError('IDENTITY_INVALID', message, { reason });

/** The audit label of a development-mode caller named by headers. */
export function headerCallerLabel(id: string): string {
  return `${id} (development mode: identity headers, NOT verified)`;
}

/**
 * @example
 * const auth = createAuthenticator({ mode: 'production', jwt: verifier, apiKeys: store });
 * const caller = await auth.authenticate({ route: '/v1/decide', headers: { authorization: 'Bearer eyJ…' } });
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { mode, jwt, apiKeys } = options;
  const headers = options.headers ?? DEFAULT_IDENTITY.headers;
  const dev = mode === 'development';
  const unverified: Caller = Object.freeze({ verified: false, label: UNVERIFIED_CALLER, method: 'development' as const });
  const configured = jwt !== undefined || apiKeys !== undefined;
  const expected = [jwt ? 'a JWT' : undefined, apiKeys ? 'an API key (`bastion keys create`)' : undefined].filter((x) => x !== undefined).join(' or ');

  const bearer = async (token: string): Promise<Result<Caller, BastionError> | undefined> => {
    if (looksLikeApiKey(token)) {
      if (apiKeys === undefined) {
        return dev ? undefined : fail(invalid('api_keys_disabled', `bearer token is an API key, but API keys are not enabled: set \`identity.apiKeys: true\` in the configuration`));
      }
      const found = await apiKeys.lookup(token);
      switch (found.status) {
        case 'valid':
          return ok({
            verified: true,
            method: 'api_key',
            label: `${found.record.principal.id} (api key ${found.record.id})`,
            principal: { id: found.record.principal.id, groups: [...found.record.principal.groups] },
          });
        case 'revoked':
          return fail(bastionError('IDENTITY_REVOKED', `api key \`${found.record.id}\` was revoked at ${new Date(found.record.revokedAt ?? 0).toISOString()}`, { reason: 'revoked_key' }));
        case 'unknown':
          return fail(invalid('unknown_api_key', `api key \`${found.id}\` is not known to this gateway (or its secret does not match)`));
        default:
          return fail(invalid('malformed', 'bearer token starts with `bst_` but is not a well-formed API key (`bst_<16 hex digits>_<43 characters>`)'));
      }
    }
    if (token.split('.').length === 3) {
      if (jwt === undefined) return dev ? undefined : fail(invalid('jwt_not_configured', `bearer token is a JWT, but JWT verification is not configured: set \`identity.jwt\` in the configuration`));
      const principal = await jwt.verify(token);
      if (!principal.ok) return principal;
      return ok({ verified: true, method: 'jwt', label: `${principal.value.id} (jwt)`, principal: principal.value });
    }
    if (dev && !configured) return undefined;
    return fail(invalid('malformed', `bearer token is neither a JWT nor a Bastion API key (\`bst_…\`)${expected ? `: send ${expected}` : ''}`));
  };

  return {
    mode,
    async authenticate({ route, headers: given }: IdentityInput) {
      if (!dev && !configured) {
        return fail(
          bastionError(
            'IDENTITY_MISSING',
            `no identity is configured, so ${route} refuses every caller: set \`identity.jwt\` or \`identity.apiKeys: true\` in the configuration (see the README, "Identity"), or run with --dev`,
            { reason: 'not_configured' },
          ),
        );
      }
      const raw = given['authorization'];
      if (Array.isArray(raw)) return fail(invalid('malformed', 'the request carries more than one `Authorization` header'));
      if (raw !== undefined && raw.trim() !== '') {
        const m = /^Bearer +([^\s]+) *$/i.exec(raw);
        if (m === null) {
          if (!dev || configured) return fail(invalid('malformed', '`Authorization` must be `Bearer <token>` (a JWT or an API key)'));
        } else {
          const result = await bearer(m[1] as string);
          if (result !== undefined) return result;
        }
      }
      if (dev) {
        const principal = principalFromHeaders(given, headers);
        if (!principal.ok) return principal;
        if (principal.value === undefined) return ok(unverified);
        return ok({ verified: false, method: 'development', label: headerCallerLabel(principal.value.id), principal: principal.value });
      }
      return fail(bastionError('IDENTITY_MISSING', `${route} requires \`Authorization: Bearer <token>\`: ${expected}`, { reason: 'missing' }));
    },
    status(): IdentityStatus {
      const status: IdentityStatus = { mode, apiKeys: apiKeys !== undefined };
      const jwtStatus: JwtStatus | undefined = jwt?.status();
      if (jwtStatus !== undefined) status.jwt = jwtStatus;
      return status;
    },
    async refresh() {
      await jwt?.refresh();
    },
    close() {
      jwt?.close();
    },
  };
}
