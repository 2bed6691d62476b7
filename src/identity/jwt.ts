/**
 * Bearer JWT verification with `jose`: the signature against a JWKS URL (fetched, cached,
 * with a cooldown on unknown `kid`s and a timeout), a JWKS file or a public key file (PEM
 * SPKI or an X.509 certificate); then the issuer, the audience, the algorithm allowlist
 * (asymmetric only), `exp` (always required) and `nbf` with bounded skew, the required
 * claims, and finally the claim mapping to a principal.
 *
 * Every refusal is an `IDENTITY_INVALID` (or `IDENTITY_EXPIRED`) error whose `reason` names
 * what failed. A JWKS URL that cannot be fetched fails closed: a key it would have to supply
 * is unknown, and `status()` reports `unreachable` with the last error and since when until
 * a fetch works (retried in the background, and not more often than that on requests).
 *
 * Key files are watched (`key-file.ts`) and re-read when their content changes, so a rotation
 * needs no restart. A change that does not load (unreadable, not JSON, a private key, no
 * usable key) keeps the last good keys in force, reported in `status()` and logged: a token
 * signed by a key outside that set is refused (fail closed).
 */

import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, customFetch, decodeProtectedHeader, jwksCache, jwtVerify, type ExportedJWKSCache, type JWTVerifyGetKey, type JSONWebKeySet } from 'jose';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';
import { isPlainObject } from '../core/schema.js';
import type { Principal } from '../core/types.js';
import { principalFromClaims } from './claims.js';
import type { JwtAlgorithm, JwtConfig } from './config.js';
import { watchKeyFile } from './key-file.js';

/** What `/health` shows of the JWT verifier. */
export interface JwtStatus {
  /** Where the keys come from. */
  source: 'jwksUrl' | 'jwksFile' | 'publicKeyFile';
  /**
   * `ok` while the source answers; `unreachable` while a JWKS URL cannot be fetched or a key
   * file cannot be read; `invalid` while a key file holds no valid key set. The last good
   * keys stay in force meanwhile (`keys`).
   */
  jwks: 'ok' | 'unreachable' | 'invalid';
  /** Why the source fails. */
  lastError?: string;
  /** Since when (ISO time) the source fails. */
  since?: string;
  /**
   * How many keys a token can be verified with now: 0 when none was ever loaded, or when a
   * JWKS URL's cached set aged out (`jwksMaxAgeSeconds`) while the URL does not answer.
   */
  keys: number;
  /** When the keys in force were loaded (ISO time). */
  loadedAt?: string;
}

export interface JwtVerifier {
  /** The principal a valid token names, or why the token is refused. */
  verify(token: string): Promise<Result<Principal, BastionError>>;
  status(): JwtStatus;
  /** Fetches a JWKS URL now (at start, so `/health` knows at once); for a key file, checks it now. */
  refresh(): Promise<void>;
  /** Stops watching a key file and retrying a JWKS URL. */
  close(): void;
}

/** What the verifier tells the operator: a key file reloaded or rejected, a JWKS URL lost or back. */
export interface JwtVerifierHooks {
  /** One operator message per line (stderr in `bastion serve`). */
  log?: (line: string) => void;
  /** The key file's poll interval (default 2000 ms). */
  pollMs?: number;
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

/** Reads a public key file's text: PEM SPKI (`BEGIN PUBLIC KEY`) or an X.509 certificate. A private key is refused. */
function parsePublicKey(text: { value: string }, path: string, allowed: readonly JwtAlgorithm[]): Result<{ key: KeyObject; algorithms: JwtAlgorithm[] }, BastionError> {
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

/** Reads a JWKS file's text: `{ "keys": [...] }` of public keys only. */
function parseJwks(text: { value: string }, path: string): Result<JSONWebKeySet, BastionError> {
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
 * window (`exp` and `nbf`/`iat` with the clock tolerance, as jose reads them, and no
 * longer than a JWKS URL's set is vouched for: its cache age), and the cache is emptied
 * whenever the keys may have changed (a JWKS fetched, a key file re-read). Anything outside
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

  /** `keysUntil`: when the keys that verified it stop being vouched for (a JWKS cache's age), in seconds. */
  set(token: string, payload: Record<string, unknown>, principal: Principal, keysUntil = Infinity): void {
    const exp = payload['exp'];
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return;
    const starts = [payload['nbf'], payload['iat']].filter((t): t is number => typeof t === 'number' && Number.isFinite(t));
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(token, { principal: copyPrincipal(principal), from: Math.max(-Infinity, ...starts) - this.toleranceSeconds, until: Math.min(exp + this.toleranceSeconds, keysUntil) });
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * A principal no caller can change the cached one through: its fields copied, the
 * attributes (plain JSON data, from claims) through a JSON round trip. Not structuredClone,
 * which cost as much as the rest of an identified request's authentication together.
 */
function copyPrincipal(principal: Principal): Principal {
  const { id, groups, deviceCompliant, attributes } = principal;
  return {
    id,
    groups: [...groups],
    ...(deviceCompliant !== undefined ? { deviceCompliant } : {}),
    ...(attributes !== undefined ? { attributes: JSON.parse(JSON.stringify(attributes)) as typeof attributes } : {}),
  };
}

/** Thrown by the key resolver when a JWKS URL cannot be fetched (not a jose error: it must not read as "unknown key"). */
class JwksUnreachable extends Error {}

/** The keys a token is verified with, swapped whole when a key file changes. */
interface KeysInForce {
  getKey: JWTVerifyGetKey | KeyObject;
  algorithms: readonly JwtAlgorithm[];
  count: number;
  loadedAt: Date;
}

/** Which keys a set holds, for messages: their `kid`s, or how many. */
function describeKeys(count: number, kids: readonly (string | undefined)[]): string {
  const named = kids.filter((k): k is string => typeof k === 'string');
  return `${count} key${count === 1 ? '' : 's'}${named.length > 0 ? ` (${named.map((k) => quote(k)).join(', ')})` : ''}`;
}

/**
 * Builds the verifier; the key files are read here, so a missing or wrong file fails the
 * start (`CONFIG_INVALID`), not the first request. Later changes to a key file are read as
 * they happen (see the module comment); `close()` stops that.
 *
 * @example
 * const v = createJwtVerifier({ keys: { kind: 'jwksFile', path: 'jwks.json' }, issuer: ['https://idp/'], audience: ['bastion'], ... });
 * if (v.ok) await v.value.verify(token); // ok({ id: 'alice', groups: ['sre'] })
 */
export function createJwtVerifier(config: JwtConfig, hooks: JwtVerifierHooks = {}): Result<JwtVerifier, BastionError> {
  const state: { jwks: JwtStatus['jwks']; lastError?: string; since?: Date } = { jwks: 'ok' };
  const log = hooks.log ?? (() => undefined);
  let keys: KeysInForce | undefined;
  /** The number of keys usable now and when they were loaded (a JWKS URL's come from jose's cache). */
  let inForce = (): { count: number; loadedAt?: Date } => (keys ? { count: keys.count, loadedAt: keys.loadedAt } : { count: 0 });
  let refresh = async (): Promise<void> => undefined;
  const verified = new VerifiedTokens(VERIFIED_TOKEN_CACHE_SIZE, config.clockToleranceSeconds);
  /** Until when (seconds) the keys in force are vouched for: a JWKS URL's set only until its cache ages out. */
  let keysUntil = (): number => Infinity;
  let close = (): void => undefined;
  const keysAt = config.keys.kind === 'jwksUrl' ? `the JWKS at ${quote(config.keys.url)}` : config.keys.kind === 'jwksFile' ? `the JWKS file ${quote(config.keys.path)}` : 'the public key file';

  const failing = (jwks: 'unreachable' | 'invalid', why: string): void => {
    state.jwks = jwks;
    state.lastError = why;
    state.since ??= new Date();
  };
  const recovered = (): void => {
    state.jwks = 'ok';
    delete state.lastError;
    delete state.since;
  };

  if (config.keys.kind !== 'jwksUrl') {
    const { kind, path } = config.keys;
    const what = kind === 'jwksFile' ? '`jwksFile`' : '`publicKeyFile`';
    /** Parses the file's text into the keys it holds. */
    const load = (text: string): Result<KeysInForce & { kids: (string | undefined)[] }, BastionError> => {
      const loadedAt = new Date();
      if (kind === 'publicKeyFile') {
        const read = parsePublicKey({ value: text }, path, config.algorithms);
        if (!read.ok) return read;
        return ok({ getKey: read.value.key, algorithms: read.value.algorithms, count: 1, loadedAt, kids: [] });
      }
      const read = parseJwks({ value: text }, path);
      if (!read.ok) return read;
      try {
        const getKey = createLocalJWKSet(read.value);
        return ok({ getKey, algorithms: config.algorithms, count: read.value.keys.length, loadedAt, kids: read.value.keys.map((k) => k.kid) });
      } catch (err) {
        return fail(configError(`${what} ${quote(path)}: ${(err as Error).message}`, path));
      }
    };
    const first = readText(path, what);
    if (!first.ok) return first;
    const loaded = load(first.value);
    if (!loaded.ok) return loaded;
    keys = loaded.value;
    /** A hash of what the file held at the last check (or why it could not be read). */
    let seen = createHash('sha256').update(first.value).digest('hex');
    const check = (): void => {
      const text = readText(path, what);
      const hash = text.ok ? createHash('sha256').update(text.value).digest('hex') : `unreadable\0${text.errors[0]?.message ?? ''}`;
      if (hash === seen) return;
      seen = hash;
      const next = text.ok ? load(text.value) : text;
      const held = keys ? `${describeKeys(keys.count, [])} loaded at ${keys.loadedAt.toISOString()}` : 'no keys';
      if (!next.ok) {
        const why = (next.errors[0]?.message ?? 'cannot be read').replace(/^identity\.jwt: /, '');
        failing(text.ok ? 'invalid' : 'unreachable', why);
        log(`bastion: WARNING: identity: ${why}: keeping the ${held}; a token signed by any other key is refused\n`);
        return;
      }
      // INVARIANT: the keys are swapped whole, never merged: a key removed from the file is refused from now on.
      keys = next.value;
      verified.clear();
      recovered();
      log(`bastion: identity: ${keysAt} changed: verifying with ${describeKeys(next.value.count, next.value.kids)} from now on\n`);
    };
    const watcher = watchKeyFile(path, check, hooks.pollMs !== undefined ? { pollMs: hooks.pollMs } : {});
    refresh = async () => check();
    close = () => watcher.close();
  } else {
    const url = config.keys.url;
    /** When a fetch of the JWKS was last attempted (ms), so an outage is not hammered by requests. */
    let lastAttempt = 0;
    const retryMs = Math.max(1000, config.jwksCooldownSeconds * 1000);
    const unreachable = (why: string) => {
      if (state.jwks === 'ok') {
        const cached = inForce().count;
        log(
          `bastion: WARNING: identity: ${keysAt} cannot be fetched (${why}): ${cached > 0 ? `the ${cached} cached ${cached === 1 ? 'key still verifies' : 'keys still verify'}, a token signed by any other key is refused` : 'no key is in force, every JWT is refused'} until it answers (retried every ${retryMs / 1000} s)\n`,
        );
      }
      failing('unreachable', why);
    };
    // The fetch is observed, so the status says whether the JWKS answered, not merely
    // whether the last token verified (a cached key still verifies while the URL is down).
    const observed = async (target: string, options: RequestInit): Promise<Response> => {
      lastAttempt = Date.now();
      let response: Response;
      try {
        response = await fetch(target, options);
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        unreachable((err as Error).name === 'TimeoutError' ? `timed out after ${config.jwksTimeoutSeconds} s` : (cause?.code ?? cause?.message ?? (err as Error).message));
        throw err;
      }
      if (response.status === 200) {
        // The keys may have changed (a rotation, a key withdrawn): verify every token again.
        verified.clear();
        if (state.jwks !== 'ok') log(`bastion: identity: ${keysAt} answers again\n`);
        recovered();
      } else unreachable(`answered HTTP ${response.status}`);
      return response;
    };
    // jose fills the cache on every fetch that yields a key set: when, and which keys.
    const cache: ExportedJWKSCache | Record<string, never> = {};
    const remote = createRemoteJWKSet(new URL(url), {
      timeoutDuration: Math.round(config.jwksTimeoutSeconds * 1000),
      cooldownDuration: config.jwksCooldownSeconds * 1000,
      cacheMaxAge: config.jwksMaxAgeSeconds * 1000,
      [customFetch]: observed,
      [jwksCache]: cache,
    });
    keysUntil = () => {
      const c = cache as Partial<ExportedJWKSCache>;
      return c.uat === undefined ? 0 : Math.floor((c.uat + config.jwksMaxAgeSeconds * 1000) / 1000);
    };
    inForce = () => {
      const c = cache as Partial<ExportedJWKSCache>;
      if (c.uat === undefined || c.jwks === undefined) return { count: 0 };
      // A set past its age is used only after a fetch, which fails while the URL is down.
      const fresh = Date.now() < c.uat + config.jwksMaxAgeSeconds * 1000;
      if (!fresh && state.jwks !== 'ok') return { count: 0, loadedAt: new Date(c.uat) };
      return { count: c.jwks.keys.length, loadedAt: new Date(c.uat) };
    };
    const fetchFailed = (err: unknown): boolean => {
      const code = (err as JoseLike).code;
      return code === undefined || code === 'ERR_JOSE_GENERIC' || code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID';
    };
    const getKey: JWTVerifyGetKey = async (header, token) => {
      // With no usable cached set, every token would cost a fetch: while the URL is down, at
      // most one per `retryMs` (the background retry below finds it back).
      if (state.jwks !== 'ok' && !remote.fresh && Date.now() - lastAttempt < retryMs) throw new JwksUnreachable(state.lastError ?? 'not answering');
      try {
        return await remote(header, token);
      } catch (err) {
        if (!fetchFailed(err)) throw err;
        // A response that is not a JWK set (bad JSON, wrong shape) counts as unreachable too.
        if (state.jwks === 'ok') unreachable((err as Error).message.toLowerCase());
        throw new JwksUnreachable(state.lastError ?? (err as Error).message);
      }
    };
    keys = { getKey, algorithms: config.algorithms, count: 0, loadedAt: new Date(0) };
    const reload = async () => {
      try {
        await remote.reload();
      } catch (err) {
        if (state.jwks === 'ok') unreachable((err as Error).message.toLowerCase());
      }
    };
    refresh = reload;
    // While the URL does not answer, it is retried in the background: a replica that started
    // during an outage (no keys, not ready) must find the keys without waiting for a request.
    let retrying = false;
    const retry = setInterval(() => {
      if (state.jwks === 'ok' || retrying) return;
      retrying = true;
      void reload().finally(() => (retrying = false));
    }, retryMs);
    retry.unref();
    close = () => clearInterval(retry);
  }

  const requiredClaims = [...new Set(['exp', ...config.requiredClaims])];
  const optionsFor = (k: KeysInForce) => ({
    algorithms: [...k.algorithms],
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds,
    requiredClaims,
  });

  /** What a jose error (or the resolver's own) means for the caller. */
  const refusal = (err: unknown, token: string, algorithms: readonly JwtAlgorithm[]): BastionError => {
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
      case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS': {
        // A key file that does not load now: say which keys are in force instead.
        const stale = config.keys.kind !== 'jwksUrl' && state.jwks !== 'ok' && keys ? ` as last loaded (at ${keys.loadedAt.toISOString()}; the file does not load now: ${state.lastError})` : '';
        return bearer(
          'IDENTITY_INVALID',
          'unknown_key',
          header.kid === undefined ? `no single key in ${keysAt}${stale} matches it (the token names no \`kid\`)` : `signing key ${quote(header.kid)} is not in ${keysAt}${stale}`,
        );
      }
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
      // INVARIANT: one set for the whole verification: a reload in between cannot mix keys and algorithms.
      const k = keys as KeysInForce;
      let payload: Record<string, unknown>;
      try {
        const result = typeof k.getKey === 'function' ? await jwtVerify(token, k.getKey, optionsFor(k)) : await jwtVerify(token, k.getKey, optionsFor(k));
        payload = result.payload as Record<string, unknown>;
      } catch (err) {
        return fail(refusal(err, token, k.algorithms));
      }
      const principal = principalFromClaims(payload, config.claims);
      if (principal.ok) verified.set(token, payload, principal.value, keysUntil());
      return principal;
    },
    status: () => {
      const now = inForce();
      return {
        source: config.keys.kind,
        jwks: state.jwks,
        ...(state.lastError !== undefined ? { lastError: state.lastError } : {}),
        ...(state.since !== undefined ? { since: state.since.toISOString() } : {}),
        keys: now.count,
        ...(now.loadedAt !== undefined ? { loadedAt: now.loadedAt.toISOString() } : {}),
      };
    },
    refresh: () => refresh(),
    close: () => close(),
  });
}
