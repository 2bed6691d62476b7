/**
 * Bearer JWT verification with `jose`: the signature against a JWKS URL (fetched, cached,
 * with a cooldown on unknown `kid`s and a timeout), a JWKS file or a public key file (PEM
 * SPKI or an X.509 certificate); then the issuer, the audience, the algorithm allowlist
 * (asymmetric only), `exp` (always required) and `nbf` with bounded skew, the required
 * claims, and finally the claim mapping to a principal.
 *
 * Every refusal is an `IDENTITY_INVALID` (or `IDENTITY_EXPIRED`) error whose `reason` names
 * what failed. A JWKS URL that cannot be fetched fails closed: a key it would have to supply
 * is unknown, and `status()` reports `unreachable` with the last error until a fetch works.
 */

import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, customFetch, decodeProtectedHeader, jwtVerify, type JWTVerifyGetKey, type JSONWebKeySet } from 'jose';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';
import { isPlainObject } from '../core/schema.js';
import type { Principal } from '../core/types.js';
import { principalFromClaims } from './claims.js';
import type { JwtAlgorithm, JwtConfig } from './config.js';

/** What `/health` shows of the JWT verifier. */
export interface JwtStatus {
  /** Where the keys come from. */
  source: 'jwksUrl' | 'jwksFile' | 'publicKeyFile';
  /** `unreachable` while the last fetch of a JWKS URL failed (a file is always `ok`). */
  jwks: 'ok' | 'unreachable';
  /** Why the last fetch failed. */
  lastError?: string;
}

export interface JwtVerifier {
  /** The principal a valid token names, or why the token is refused. */
  verify(token: string): Promise<Result<Principal, BastionError>>;
  status(): JwtStatus;
  /** Fetches a JWKS URL now (at start, so `/health` knows at once); a no-op for files. */
  refresh(): Promise<void>;
}

/** Which algorithms a public key can verify. */
function algorithmsForKey(key: KeyObject): JwtAlgorithm[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'prime256v1' ? ['ES256'] : curve === 'secp384r1' ? ['ES384'] : curve === 'secp521r1' ? ['ES512'] : [];
    }
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    default:
      return [];
  }
}

const configError = (message: string, file?: string): BastionError => bastionError('CONFIG_INVALID', `identity.jwt: ${message}`, file === undefined ? {} : { file });

function readText(path: string, what: string): Result<string, BastionError> {
  try {
    return ok(readFileSync(path, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return fail(configError(`${what} ${quote(path)}: ${e.code === 'ENOENT' ? 'no such file' : (e.message.split('\n')[0] ?? 'cannot read')}`, path));
  }
}

/** Reads a public key file: PEM SPKI (`BEGIN PUBLIC KEY`) or an X.509 certificate. A private key is refused. */
function readPublicKey(path: string, allowed: readonly JwtAlgorithm[]): Result<{ key: KeyObject; algorithms: JwtAlgorithm[] }, BastionError> {
  const text = readText(path, '`publicKeyFile`');
  if (!text.ok) return text;
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text.value)) {
    return fail(configError(`\`publicKeyFile\` ${quote(path)} holds a private key: give Bastion only the public key (\`openssl pkey -pubout\`)`, path));
  }
  let key: KeyObject;
  try {
    key = text.value.includes('-----BEGIN CERTIFICATE-----') ? new X509Certificate(text.value).publicKey : createPublicKey({ key: text.value, format: 'pem' });
  } catch (err) {
    return fail(configError(`\`publicKeyFile\` ${quote(path)} is not a PEM public key or X.509 certificate: ${(err as Error).message.split('\n')[0]}`, path));
  }
  const fits = algorithmsForKey(key);
  const algorithms = allowed.filter((a) => fits.includes(a));
  if (algorithms.length === 0) {
    return fail(
      configError(
        `\`publicKeyFile\` ${quote(path)} holds ${key.asymmetricKeyType ?? 'an unknown'} key, which verifies none of the allowed algorithms (${allowed.join(', ')})${fits.length > 0 ? `: add one of ${fits.join(', ')} to \`identity.jwt.algorithms\`` : ''}`,
        path,
      ),
    );
  }
  return ok({ key, algorithms });
}

/** Reads a JWKS file: `{ "keys": [...] }` of public keys only. */
function readJwksFile(path: string): Result<JSONWebKeySet, BastionError> {
  const text = readText(path, '`jwksFile`');
  if (!text.ok) return text;
  let doc: unknown;
  try {
    doc = JSON.parse(text.value);
  } catch (err) {
    return fail(configError(`\`jwksFile\` ${quote(path)} is not JSON: ${(err as Error).message}`, path));
  }
  if (!isPlainObject(doc) || !Array.isArray(doc['keys']) || !doc['keys'].every(isPlainObject)) {
    return fail(configError(`\`jwksFile\` ${quote(path)} is not a JWK set (\`{"keys": [...]}\`)`, path));
  }
  const keys = doc['keys'] as Record<string, unknown>[];
  const secret = keys.findIndex((k) => k['d'] !== undefined || k['kty'] === 'oct');
  if (secret >= 0) {
    return fail(configError(`\`jwksFile\` ${quote(path)}: key ${secret} is a private or symmetric key: a JWKS for verification holds public keys only`, path));
  }
  return ok(doc as unknown as JSONWebKeySet);
}

interface JoseLike {
  code?: string;
  claim?: string;
  message?: string;
  payload?: Record<string, unknown>;
}

const bearer = (code: 'IDENTITY_INVALID' | 'IDENTITY_EXPIRED', reason: string, message: string): BastionError => bastionError(code, `bearer token: ${message}`, { reason });
const list = (values: readonly string[]) => values.map((v) => quote(v)).join(', ');
const time = (seconds: unknown) => (typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : quote(seconds));

/** How many verified tokens a verifier remembers (about 1 KB each). */
const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

/**
 * Tokens whose signature and claims verified, with the seconds between which jose would
 * accept them again, so an agent that sends the same token with every call pays for one
 * signature check (most of an identified request's cost), not one per call.
 *
 * INVARIANT: a hit never accepts what a full verification would refuse. The key is the
 * whole token (another signature is another key), the entry is used only inside its
 * window (`exp` and `nbf`/`iat` with the clock tolerance, as jose reads them), and the
 * cache is emptied whenever the keys may have changed (a JWKS fetched). Anything outside
 * the window is verified again, so an expired token gets jose's own refusal.
 */
class VerifiedTokens {
  private readonly entries = new Map<string, { principal: Principal; from: number; until: number }>();

  constructor(
    private readonly max: number,
    private readonly toleranceSeconds: number,
  ) {}

  /** A copy of the principal a token named when it verified, if it is still inside its window. */
  get(token: string): Principal | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    const now = Math.floor(Date.now() / 1000);
    if (now < entry.from || now >= entry.until) {
      this.entries.delete(token);
      return undefined;
    }
    return copyPrincipal(entry.principal);
  }

  set(token: string, payload: Record<string, unknown>, principal: Principal): void {
    const exp = payload['exp'];
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return;
    const starts = [payload['nbf'], payload['iat']].filter((t): t is number => typeof t === 'number' && Number.isFinite(t));
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(token, { principal: copyPrincipal(principal), from: Math.max(-Infinity, ...starts) - this.toleranceSeconds, until: exp + this.toleranceSeconds });
  }

  clear(): void {
    this.entries.clear();
  }
}

/** A principal no caller can change the cached one through. */
function copyPrincipal(principal: Principal): Principal {
  return structuredClone(principal);
}

/** Thrown by the key resolver when a JWKS URL cannot be fetched (not a jose error: it must not read as "unknown key"). */
class JwksUnreachable extends Error {}

/**
 * Builds the verifier; the key files are read here, so a missing or wrong file fails the
 * start (`CONFIG_INVALID`), not the first request.
 *
 * @example
 * const v = createJwtVerifier({ keys: { kind: 'jwksFile', path: 'jwks.json' }, issuer: ['https://idp/'], audience: ['bastion'], ... });
 * if (v.ok) await v.value.verify(token); // ok({ id: 'alice', groups: ['sre'] })
 */
export function createJwtVerifier(config: JwtConfig): Result<JwtVerifier, BastionError> {
  const state: JwtStatus = { source: config.keys.kind, jwks: 'ok' };
  let algorithms: readonly JwtAlgorithm[] = config.algorithms;
  let getKey: JWTVerifyGetKey | KeyObject;
  let refresh = async (): Promise<void> => undefined;
  const verified = new VerifiedTokens(VERIFIED_TOKEN_CACHE_SIZE, config.clockToleranceSeconds);
  const keysAt = config.keys.kind === 'jwksUrl' ? `the JWKS at ${quote(config.keys.url)}` : config.keys.kind === 'jwksFile' ? `the JWKS file ${quote(config.keys.path)}` : 'the public key file';

  if (config.keys.kind === 'publicKeyFile') {
    const read = readPublicKey(config.keys.path, config.algorithms);
    if (!read.ok) return read;
    algorithms = read.value.algorithms;
    getKey = read.value.key;
  } else if (config.keys.kind === 'jwksFile') {
    const read = readJwksFile(config.keys.path);
    if (!read.ok) return read;
    try {
      getKey = createLocalJWKSet(read.value);
    } catch (err) {
      return fail(configError(`\`jwksFile\` ${quote(config.keys.path)}: ${(err as Error).message}`, config.keys.path));
    }
  } else {
    const unreachable = (why: string) => {
      state.jwks = 'unreachable';
      state.lastError = why;
    };
    // The fetch is observed, so the status says whether the JWKS answered, not merely
    // whether the last token verified (a cached key still verifies while the URL is down).
    const observed = async (url: string, options: RequestInit): Promise<Response> => {
      let response: Response;
      try {
        response = await fetch(url, options);
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        unreachable((err as Error).name === 'TimeoutError' ? `timed out after ${config.jwksTimeoutSeconds} s` : (cause?.code ?? cause?.message ?? (err as Error).message));
        throw err;
      }
      if (response.status === 200) {
        // The keys may have changed (a rotation, a key withdrawn): verify every token again.
        verified.clear();
        state.jwks = 'ok';
        delete state.lastError;
      } else unreachable(`answered HTTP ${response.status}`);
      return response;
    };
    const remote = createRemoteJWKSet(new URL(config.keys.url), {
      timeoutDuration: Math.round(config.jwksTimeoutSeconds * 1000),
      cooldownDuration: config.jwksCooldownSeconds * 1000,
      cacheMaxAge: config.jwksMaxAgeSeconds * 1000,
      [customFetch]: observed,
    });
    const fetchFailed = (err: unknown): boolean => {
      const code = (err as JoseLike).code;
      return code === undefined || code === 'ERR_JOSE_GENERIC' || code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID';
    };
    getKey = async (header, token) => {
      try {
        return await remote(header, token);
      } catch (err) {
        if (!fetchFailed(err)) throw err;
        // A response that is not a JWK set (bad JSON, wrong shape) counts as unreachable too.
        if (state.jwks === 'ok') unreachable((err as Error).message.toLowerCase());
        throw new JwksUnreachable(state.lastError ?? (err as Error).message);
      }
    };
    refresh = async () => {
      try {
        await remote.reload();
      } catch (err) {
        if (state.jwks === 'ok') unreachable((err as Error).message.toLowerCase());
      }
    };
  }

  const requiredClaims = [...new Set(['exp', ...config.requiredClaims])];
  const options = {
    algorithms: [...algorithms],
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds,
    requiredClaims,
  };

  /** What a jose error (or the resolver's own) means for the caller. */
  const refusal = (err: unknown, token: string): BastionError => {
    if (err instanceof JwksUnreachable) {
      return bearer('IDENTITY_INVALID', 'jwks_unreachable', `its signing key cannot be checked: ${keysAt} cannot be fetched (${err.message}); a token is refused until it answers`);
    }
    const e = err as JoseLike;
    let header: { alg?: unknown; kid?: unknown } = {};
    try {
      header = decodeProtectedHeader(token);
    } catch {
      // a malformed header: reported from the error below
    }
    switch (e.code) {
      case 'ERR_JWT_EXPIRED':
        return bearer('IDENTITY_EXPIRED', 'expired', `expired at ${time(e.payload?.['exp'])} (clock tolerance ${config.clockToleranceSeconds} s)`);
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
        const claim = e.claim ?? '';
        const reason = (e as { reason?: string }).reason;
        if (reason === 'missing') return bearer('IDENTITY_INVALID', 'claims_invalid', `lacks the required claim ${quote(claim)}`);
        if (claim === 'nbf') return bearer('IDENTITY_INVALID', 'not_yet_valid', `not valid before ${time(e.payload?.['nbf'])} (clock tolerance ${config.clockToleranceSeconds} s)`);
        if (claim === 'iss') return bearer('IDENTITY_INVALID', 'wrong_issuer', `issuer ${quote(e.payload?.['iss'])} is not accepted (expected ${list(config.issuer)})`);
        if (claim === 'aud') return bearer('IDENTITY_INVALID', 'wrong_audience', `audience ${quote(e.payload?.['aud'])} does not name ${list(config.audience)}`);
        if (claim === 'iat') return bearer('IDENTITY_INVALID', 'not_yet_valid', `issued in the future (\`iat\` ${time(e.payload?.['iat'])})`);
        return bearer('IDENTITY_INVALID', 'claims_invalid', `claim ${quote(claim)} is invalid: ${(e.message ?? '').replace(/"/g, '`')}`);
      }
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
        return bearer('IDENTITY_INVALID', 'bad_signature', 'signature does not verify');
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
        return bearer('IDENTITY_INVALID', 'algorithm_not_allowed', `signed with ${quote(header.alg ?? 'none')}, which is not allowed (allowed: ${algorithms.join(', ')})`);
      case 'ERR_JWKS_NO_MATCHING_KEY':
      case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
        return bearer(
          'IDENTITY_INVALID',
          'unknown_key',
          header.kid === undefined ? `no single key in ${keysAt} matches it (the token names no \`kid\`)` : `signing key ${quote(header.kid)} is not in ${keysAt}`,
        );
      case 'ERR_JOSE_NOT_SUPPORTED':
        return bearer('IDENTITY_INVALID', 'algorithm_not_allowed', `signed with ${quote(header.alg ?? 'none')}, which Bastion does not support`);
      case 'ERR_JWS_INVALID':
      case 'ERR_JWT_INVALID':
        return bearer('IDENTITY_INVALID', 'malformed', `not a well-formed JWT: ${(e.message ?? '').replace(/"/g, '`').toLowerCase()}`);
      default:
        // A key that does not fit the algorithm (TypeError from the crypto layer) is a bad key for this token.
        return bearer('IDENTITY_INVALID', 'bad_signature', `cannot be verified with ${keysAt}: ${(e.message ?? String(err)).toLowerCase()}`);
    }
  };

  return ok({
    async verify(token) {
      const known = verified.get(token);
      if (known !== undefined) return ok(known);
      let payload: Record<string, unknown>;
      try {
        const result = typeof getKey === 'function' ? await jwtVerify(token, getKey, options) : await jwtVerify(token, getKey, options);
        payload = result.payload as Record<string, unknown>;
      } catch (err) {
        return fail(refusal(err, token));
      }
      const principal = principalFromClaims(payload, config.claims);
      if (principal.ok) verified.set(token, payload, principal.value);
      return principal;
    },
    status: () => ({ ...state }),
    refresh: () => refresh(),
  });
}
