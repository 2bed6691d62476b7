/**
 * The identity settings as the stage uses them: the `identity` section of `bastion.yaml`
 * resolved (defaults filled in, paths absolute). The file's schema lives in `config/`; the
 * lists here (which algorithms, which headers) are the stage's own and the schema reads them.
 */

/** The asymmetric JWS algorithms a token may be signed with. `none` and HS* never are. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** The allowlist when the configuration names none. */
export const DEFAULT_JWT_ALGORITHMS: readonly JwtAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];

/** The largest clock skew a configuration may allow, in seconds. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;

/** Which claims name the principal; dotted paths reach nested claims (`realm_access.roles`). */
export interface ClaimMapping {
  /** Default `sub`. */
  id: string;
  /** Default `groups`: a list of strings, or one string of names separated by spaces or commas. */
  groups: string;
  /** Default `device_compliant`: a boolean. */
  deviceCompliant: string;
  /** Further claims copied into `principal.attributes` (attribute name → claim path). */
  attributes?: Record<string, string>;
}

export const DEFAULT_CLAIMS: ClaimMapping = { id: 'sub', groups: 'groups', deviceCompliant: 'device_compliant' };

/** Where the verification keys come from: exactly one. */
export type JwtKeySource = { kind: 'jwksUrl'; url: string } | { kind: 'jwksFile'; path: string } | { kind: 'publicKeyFile'; path: string };

export interface JwtConfig {
  keys: JwtKeySource;
  /** Accepted issuers (`iss`); a token from any other is refused. */
  issuer: string[];
  /** Accepted audiences (`aud`); a token must name one of them. */
  audience: string[];
  algorithms: JwtAlgorithm[];
  /** Allowed clock skew on `exp` and `nbf`, 0 to 300 s (default 30). */
  clockToleranceSeconds: number;
  /** Claims a token must carry besides `exp` (always required), e.g. `iat`, `jti`. */
  requiredClaims: string[];
  claims: ClaimMapping;
  /** A JWKS URL: how long one fetch may take (default 5 s). */
  jwksTimeoutSeconds: number;
  /** A JWKS URL: after a fetch, how long an unknown `kid` is refused without fetching again (default 30 s). */
  jwksCooldownSeconds: number;
  /** A JWKS URL: how long a fetched set is used before it is fetched again (default 600 s). */
  jwksMaxAgeSeconds: number;
}

/** The headers development mode reads (each a list of names, the first present wins). */
export interface IdentityHeaders {
  id: string[];
  groups: string[];
  deviceCompliant: string[];
  /** Fills the request's `environment` when the body has none. */
  environment: string[];
  /** Fills the request's `context.danger_level` (a declared risk: it can raise risk, never lower it) when the body has none. */
  dangerLevel: string[];
}

/**
 * Bastion's own header names, then the seeds' (Control Zero, ZYX) as aliases. A name the
 * configuration gives replaces Bastion's own; the aliases stay.
 */
export const DEFAULT_IDENTITY_HEADERS: IdentityHeaders = {
  id: ['x-bastion-principal-id'],
  groups: ['x-bastion-principal-groups'],
  deviceCompliant: ['x-bastion-device-compliant'],
  environment: ['x-bastion-environment'],
  dangerLevel: ['x-bastion-danger-level'],
};

export const HEADER_ALIASES: IdentityHeaders = {
  id: ['x-controlzero-user-id', 'x-user-email'],
  groups: ['x-controlzero-user-group', 'x-user-groups'],
  deviceCompliant: ['x-device-compliant'],
  environment: ['x-controlzero-environment'],
  dangerLevel: ['x-controlzero-danger-level'],
};

export interface IdentityConfig {
  jwt?: JwtConfig;
  /** Accept API keys made with `bastion keys create` (stored hashed in the data directory). */
  apiKeys: boolean;
  /** The development-mode headers, aliases included. */
  headers: IdentityHeaders;
}

/** Identity left unconfigured: nothing verifies, so production mode refuses every caller. */
export const DEFAULT_IDENTITY: IdentityConfig = { apiKeys: false, headers: withAliases({}) };

/**
 * The header lists with the configured names first and the seeds' aliases after them, all in
 * lower case (Node delivers header names in lower case).
 *
 * @example withAliases({ id: 'x-remote-user' }).id // ['x-remote-user', 'x-controlzero-user-id', 'x-user-email']
 */
export function withAliases(configured: Partial<Record<keyof IdentityHeaders, string | string[]>>): IdentityHeaders {
  const out = {} as IdentityHeaders;
  for (const key of Object.keys(DEFAULT_IDENTITY_HEADERS) as (keyof IdentityHeaders)[]) {
    const given = configured[key];
    const primary = given === undefined ? DEFAULT_IDENTITY_HEADERS[key] : Array.isArray(given) ? given : [given];
    out[key] = [...new Set([...primary, ...HEADER_ALIASES[key]].map((h) => h.toLowerCase()))];
  }
  return out;
}
