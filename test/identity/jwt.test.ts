/**
 * JWT verification with real keys and tokens (jose), against a JWKS file, a public key file
 * (PEM SPKI and an X.509 certificate made by openssl) and a JWKS served by a real HTTP server
 * on 127.0.0.1 (rotation, the unknown-`kid` cooldown, an outage).
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportPKCS8 } from 'jose';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createJwtVerifier, DEFAULT_CLAIMS, identityCheck, type JwtConfig, type JwtVerifier } from '../../src/identity/index.js';
import { makeKeyPair, serveJwks, signToken, TEST_AUDIENCE, TEST_ISSUER, writeJwks, writePublicKeyPem, type JwksServer, type TestKey } from '../helpers/jwt.js';

const dir = mkdtempSync(join(tmpdir(), 'bastion-jwt-'));

function config(keys: JwtConfig['keys'], over: Partial<JwtConfig> = {}): JwtConfig {
  return {
    keys,
    issuer: [TEST_ISSUER],
    audience: [TEST_AUDIENCE],
    algorithms: ['RS256', 'ES256', 'EdDSA'],
    clockToleranceSeconds: 30,
    requiredClaims: [],
    claims: DEFAULT_CLAIMS,
    jwksTimeoutSeconds: 2,
    jwksCooldownSeconds: 30,
    jwksMaxAgeSeconds: 600,
    ...over,
  };
}

function verifier(c: JwtConfig): JwtVerifier {
  const built = createJwtVerifier(c);
  if (!built.ok) throw new Error(built.errors[0]?.message);
  return built.value;
}

describe('JWT verification against a JWKS file', () => {
  let key: TestKey;
  let other: TestKey;
  let v: JwtVerifier;
  const cases: { what: string; token: () => Promise<string>; code: string; reason: string; message: string }[] = [
    { what: 'an expired token', token: () => signToken(key, { sub: 'a' }, { expiresIn: -120 }), code: 'IDENTITY_EXPIRED', reason: 'expired', message: 'bearer token: expired at' },
    { what: 'a token not valid yet', token: () => signToken(key, { sub: 'a' }, { notBefore: 600 }), code: 'IDENTITY_INVALID', reason: 'not_yet_valid', message: 'bearer token: not valid before' },
    {
      what: 'a token from another issuer',
      token: () => signToken(key, { sub: 'a' }, { issuer: 'https://evil.example/' }),
      code: 'IDENTITY_INVALID',
      reason: 'wrong_issuer',
      message: 'bearer token: issuer `https://evil.example/` is not accepted (expected `https://idp.test.example/`)',
    },
    {
      what: 'a token for another audience',
      token: () => signToken(key, { sub: 'a' }, { audience: 'grafana' }),
      code: 'IDENTITY_INVALID',
      reason: 'wrong_audience',
      message: 'bearer token: audience `grafana` does not name `bastion`',
    },
    {
      what: 'a token signed by another key under the known kid',
      token: () => signToken(other, { sub: 'a' }, { header: { kid: key.kid } }),
      code: 'IDENTITY_INVALID',
      reason: 'bad_signature',
      message: 'bearer token: signature does not verify',
    },
    {
      what: 'a token whose kid is unknown',
      token: () => signToken(other, { sub: 'a' }),
      code: 'IDENTITY_INVALID',
      reason: 'unknown_key',
      message: 'is not in the JWKS file',
    },
    { what: 'a token without exp', token: () => signToken(key, { sub: 'a' }, { expiresIn: null }), code: 'IDENTITY_INVALID', reason: 'claims_invalid', message: 'lacks the required claim `exp`' },
    { what: 'a token without sub', token: () => signToken(key, { groups: ['g'] }), code: 'IDENTITY_INVALID', reason: 'claims_invalid', message: 'lacks claim `sub`, the principal id' },
    {
      what: 'groups that are not names',
      token: () => signToken(key, { sub: 'a', groups: [1, 2] }),
      code: 'IDENTITY_INVALID',
      reason: 'claims_invalid',
      message: 'claim `groups` (the groups) must be a list of names',
    },
    {
      what: 'a device posture that is not a boolean',
      token: () => signToken(key, { sub: 'a', device_compliant: 'yes' }),
      code: 'IDENTITY_INVALID',
      reason: 'claims_invalid',
      message: 'claim `device_compliant` (device compliance) must be true or false',
    },
    { what: 'a token that is not a JWT', token: async () => 'abc.def.ghi', code: 'IDENTITY_INVALID', reason: 'malformed', message: 'bearer token: not a well-formed JWT' },
    {
      what: 'an unsigned token (alg none)',
      token: async () =>
        `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'root', iss: TEST_ISSUER, aud: TEST_AUDIENCE, exp: 9e9 })).toString('base64url')}.`,
      code: 'IDENTITY_INVALID',
      reason: 'algorithm_not_allowed',
      message: 'signed with `none`, which is not allowed',
    },
  ];

  it('accepts a valid token and maps its claims to the principal', async () => {
    key = await makeKeyPair('ES256', 'file-key');
    other = await makeKeyPair('ES256', 'other-key');
    v = verifier(config({ kind: 'jwksFile', path: writeJwks(join(dir, 'jwks.json'), [key]) }));
    const token = await signToken(key, { sub: 'alice', groups: ['sre', 'oncall'], device_compliant: true });
    expect(await v.verify(token)).toEqual({ ok: true, value: { id: 'alice', groups: ['sre', 'oncall'], deviceCompliant: true } });
    expect(v.status()).toEqual({ source: 'jwksFile', jwks: 'ok', keys: 1, loadedAt: expect.any(String) });
  });

  it.each(cases.map((c) => [c.what, c] as const))('refuses %s, naming the reason', async (_what, c) => {
    const r = await v.verify(await c.token());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]).toMatchObject({ code: c.code, reason: c.reason });
    expect(r.errors[0]?.message).toContain(c.message);
  });

  it('allows exp and nbf within the clock tolerance, and not beyond it', async () => {
    const tolerant = verifier(config({ kind: 'jwksFile', path: join(dir, 'jwks.json') }, { clockToleranceSeconds: 60 }));
    expect((await tolerant.verify(await signToken(key, { sub: 'a' }, { expiresIn: -30 }))).ok).toBe(true);
    expect((await tolerant.verify(await signToken(key, { sub: 'a' }, { notBefore: 30 }))).ok).toBe(true);
    expect(await tolerant.verify(await signToken(key, { sub: 'a' }, { expiresIn: -90 }))).toMatchObject({ ok: false, errors: [{ code: 'IDENTITY_EXPIRED' }] });
    const strict = verifier(config({ kind: 'jwksFile', path: join(dir, 'jwks.json') }, { clockToleranceSeconds: 0 }));
    expect(await strict.verify(await signToken(key, { sub: 'a' }, { expiresIn: -5 }))).toMatchObject({ ok: false, errors: [{ code: 'IDENTITY_EXPIRED' }] });
  });

  it('refuses an algorithm outside the allowlist even when the key could verify it', async () => {
    const rsa = await makeKeyPair('RS256', 'rsa-key');
    const only = verifier(config({ kind: 'jwksFile', path: writeJwks(join(dir, 'rsa.json'), [rsa]) }, { algorithms: ['ES256'] }));
    expect(await only.verify(await signToken(rsa, { sub: 'a' }))).toMatchObject({
      ok: false,
      errors: [{ code: 'IDENTITY_INVALID', reason: 'algorithm_not_allowed', message: 'bearer token: signed with `RS256`, which is not allowed (allowed: ES256)' }],
    });
  });

  it('maps nested and namespaced claims, groups as a string, attributes, and required claims', async () => {
    const mapped = verifier(
      config(
        { kind: 'jwksFile', path: join(dir, 'jwks.json') },
        { claims: { id: 'email', groups: 'realm_access.roles', deviceCompliant: 'https://example.com/compliant', attributes: { team: 'org.team' } }, requiredClaims: ['jti'] },
      ),
    );
    const claims = { email: 'bob@example.com', realm_access: { roles: ['admin', 'dev'] }, 'https://example.com/compliant': false, org: { team: 'payments' }, jti: 'j1' };
    expect(await mapped.verify(await signToken(key, claims))).toEqual({
      ok: true,
      value: { id: 'bob@example.com', groups: ['admin', 'dev'], deviceCompliant: false, attributes: { team: 'payments' } },
    });
    const spaced = verifier(config({ kind: 'jwksFile', path: join(dir, 'jwks.json') }, { claims: { ...DEFAULT_CLAIMS, groups: 'scope' } }));
    expect(await spaced.verify(await signToken(key, { sub: 'c', scope: 'read write,admin' }))).toEqual({ ok: true, value: { id: 'c', groups: ['read', 'write', 'admin'] } });
    const { jti: _jti, ...withoutJti } = claims;
    expect(await mapped.verify(await signToken(key, withoutJti))).toMatchObject({ ok: false, errors: [{ reason: 'claims_invalid', message: 'bearer token: lacks the required claim `jti`' }] });
  });

  it('refuses a JWKS file holding a private key, and a file that is not a JWKS', async () => {
    const { exportJWK } = await import('jose');
    const priv = { ...(await exportJWK(key.privateKey)), kid: 'p' };
    writeFileSync(join(dir, 'private.json'), JSON.stringify({ keys: [priv] }));
    expect(createJwtVerifier(config({ kind: 'jwksFile', path: join(dir, 'private.json') }))).toMatchObject({
      ok: false,
      errors: [{ code: 'CONFIG_INVALID', message: expect.stringContaining('is a private or symmetric key') }],
    });
    writeFileSync(join(dir, 'not.json'), '{"kys": []}');
    expect(createJwtVerifier(config({ kind: 'jwksFile', path: join(dir, 'not.json') }))).toMatchObject({ ok: false, errors: [{ message: expect.stringContaining('is not a JWK set') }] });
  });
});

describe('JWT verification against a public key file', () => {
  it('verifies with a PEM SPKI key and with an X.509 certificate; refuses a private key and a key that fits no allowed algorithm', async () => {
    const key = await makeKeyPair('RS256', 'pem');
    const pem = await writePublicKeyPem(join(dir, 'public.pem'), key);
    const v = verifier(config({ kind: 'publicKeyFile', path: pem }));
    expect(await v.verify(await signToken(key, { sub: 'svc', groups: 'ops' }))).toEqual({ ok: true, value: { id: 'svc', groups: ['ops'] } });
    expect(v.status()).toEqual({ source: 'publicKeyFile', jwks: 'ok', keys: 1, loadedAt: expect.any(String) });
    // A token signed with an allowed algorithm the key cannot verify.
    const ec = await makeKeyPair('ES256', 'ec');
    expect(await v.verify(await signToken(ec, { sub: 'svc' }))).toMatchObject({ ok: false, errors: [{ code: 'IDENTITY_INVALID', reason: 'algorithm_not_allowed' }] });

    const keyFile = join(dir, 'cert-key.pem');
    writeFileSync(keyFile, await exportPKCS8(key.privateKey));
    const certFile = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-new', '-x509', '-key', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=idp.test'], { stdio: 'ignore' });
    const fromCert = verifier(config({ kind: 'publicKeyFile', path: certFile }));
    expect(await fromCert.verify(await signToken(key, { sub: 'svc' }))).toEqual({ ok: true, value: { id: 'svc', groups: [] } });

    expect(createJwtVerifier(config({ kind: 'publicKeyFile', path: keyFile }))).toMatchObject({
      ok: false,
      errors: [{ code: 'CONFIG_INVALID', message: expect.stringContaining('holds a private key: give Bastion only the public key') }],
    });
    expect(createJwtVerifier(config({ kind: 'publicKeyFile', path: pem }, { algorithms: ['ES256'] }))).toMatchObject({
      ok: false,
      errors: [{ code: 'CONFIG_INVALID', message: expect.stringContaining('verifies none of the allowed algorithms (ES256): add one of RS256') }],
    });
    expect(createJwtVerifier(config({ kind: 'publicKeyFile', path: join(dir, 'missing.pem') }))).toMatchObject({
      ok: false,
      errors: [{ code: 'CONFIG_INVALID', message: expect.stringContaining('no such file') }],
    });
  });
});

describe('JWT verification against a JWKS URL (a real HTTP server)', () => {
  const servers: JwksServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it('fetches once and caches; a rotated key is fetched on its first use after the cooldown, and not before', async () => {
    const k1 = await makeKeyPair('ES256', 'k1');
    const k2 = await makeKeyPair('EdDSA', 'k2');
    const jwks = await serveJwks([k1]);
    servers.push(jwks);
    const v = verifier(config({ kind: 'jwksUrl', url: jwks.url }, { jwksCooldownSeconds: 0.3 }));
    await v.refresh();
    expect(jwks.hits()).toBe(1);
    expect(v.status()).toEqual({ source: 'jwksUrl', jwks: 'ok', keys: 1, loadedAt: expect.any(String) });
    for (let i = 0; i < 3; i++) expect((await v.verify(await signToken(k1, { sub: 'a' }))).ok).toBe(true);
    expect(jwks.hits()).toBe(1);

    // Rotation: the IdP publishes k2. Within the cooldown an unknown kid is refused without a fetch.
    jwks.setKeys([k1, k2]);
    const t2 = await signToken(k2, { sub: 'b' });
    expect(await v.verify(t2)).toMatchObject({ ok: false, errors: [{ reason: 'unknown_key', message: expect.stringContaining('signing key `k2` is not in the JWKS at') }] });
    expect(jwks.hits()).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    expect(await v.verify(t2)).toEqual({ ok: true, value: { id: 'b', groups: [] } });
    expect(jwks.hits()).toBe(2);

    // A flood of unknown kids right after that costs no fetch (the cooldown).
    const stranger = await makeKeyPair('ES256', 'nobody');
    for (let i = 0; i < 5; i++) expect(await v.verify(await signToken(stranger, { sub: 'x' }))).toMatchObject({ ok: false, errors: [{ reason: 'unknown_key' }] });
    expect(jwks.hits()).toBe(2);
  });

  it('when the JWKS is down: cached keys still verify, unknown keys fail closed, /health-status says unreachable, and recovers', async () => {
    const k1 = await makeKeyPair('ES256', 'd1');
    const k2 = await makeKeyPair('ES256', 'd2');
    const jwks = await serveJwks([k1]);
    servers.push(jwks);
    const v = verifier(config({ kind: 'jwksUrl', url: jwks.url }, { jwksCooldownSeconds: 0 }));
    expect((await v.verify(await signToken(k1, { sub: 'a' }))).ok).toBe(true);

    jwks.fail(503);
    expect((await v.verify(await signToken(k1, { sub: 'a' }))).ok).toBe(true);
    const unknown = await v.verify(await signToken(k2, { sub: 'b' }));
    expect(unknown).toMatchObject({ ok: false, errors: [{ code: 'IDENTITY_INVALID', reason: 'jwks_unreachable', message: expect.stringContaining('cannot be fetched (answered HTTP 503)') }] });
    expect(v.status()).toEqual({ source: 'jwksUrl', jwks: 'unreachable', lastError: 'answered HTTP 503', since: expect.any(String), keys: 1, loadedAt: expect.any(String) });

    jwks.setKeys([k1, k2]);
    jwks.fail(undefined);
    expect(await v.verify(await signToken(k2, { sub: 'b' }))).toEqual({ ok: true, value: { id: 'b', groups: [] } });
    expect(v.status()).toEqual({ source: 'jwksUrl', jwks: 'ok', keys: 2, loadedAt: expect.any(String) });

    await jwks.close();
    const k3 = await makeKeyPair('ES256', 'd3');
    expect(await v.verify(await signToken(k3, { sub: 'c' }))).toMatchObject({ ok: false, errors: [{ reason: 'jwks_unreachable' }] });
    expect(v.status()).toMatchObject({ jwks: 'unreachable', lastError: 'ECONNREFUSED' });
  });

  it('a cached set that ages out while the URL is down: no key is in force, and the identity check fails', async () => {
    const k1 = await makeKeyPair('ES256', 'age1');
    const jwks = await serveJwks([k1]);
    servers.push(jwks);
    const v = verifier(config({ kind: 'jwksUrl', url: jwks.url }, { jwksCooldownSeconds: 0, jwksMaxAgeSeconds: 0.3 }));
    await v.refresh();
    await jwks.close();
    const token = await signToken(k1, { sub: 'a' });
    expect((await v.verify(token)).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 350));
    expect(await v.verify(token)).toMatchObject({ ok: false, errors: [{ reason: 'jwks_unreachable' }] });
    expect(v.status()).toMatchObject({ jwks: 'unreachable', keys: 0, loadedAt: expect.any(String) });
    expect(identityCheck({ mode: 'production', apiKeys: false, jwt: v.status() })).toMatchObject({ status: 'failed', error: expect.stringContaining('aged out') });
    v.close();
  });

  it('a JWKS that never answered: refresh reports it unreachable and every token is refused', async () => {
    const jwks = await serveJwks([]);
    await jwks.close();
    const key = await makeKeyPair('ES256', 'n1');
    const v = verifier(config({ kind: 'jwksUrl', url: jwks.url }));
    await v.refresh();
    expect(v.status()).toEqual({ source: 'jwksUrl', jwks: 'unreachable', lastError: 'ECONNREFUSED', since: expect.any(String), keys: 0 });
    expect(await v.verify(await signToken(key, { sub: 'a' }))).toMatchObject({ ok: false, errors: [{ reason: 'jwks_unreachable' }] });
  });
});

describe('a token presented again (the verified-token cache)', () => {
  const servers: JwksServer[] = [];
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it('is refused as expired once its `exp` (with the tolerance) has passed, though it verified before', async () => {
    const key = await makeKeyPair('ES256', 'cache-exp');
    const v = verifier(config({ kind: 'jwksFile', path: writeJwks(join(dir, 'cache-exp.json'), [key]) }, { clockToleranceSeconds: 5 }));
    const token = await signToken(key, { sub: 'alice' }, { expiresIn: 60 });
    expect(await v.verify(token)).toEqual({ ok: true, value: { id: 'alice', groups: [] } });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 64_000);
    expect((await v.verify(token)).ok).toBe(true);
    vi.setSystemTime(Date.now() + 2_000);
    expect(await v.verify(token)).toMatchObject({ ok: false, errors: [{ code: 'IDENTITY_EXPIRED', reason: 'expired' }] });
  });

  it('is refused once a fetched JWKS no longer holds its key (a key withdrawn), though it verified before', async () => {
    const k1 = await makeKeyPair('ES256', 'withdrawn');
    const k2 = await makeKeyPair('ES256', 'successor');
    const jwks = await serveJwks([k1]);
    servers.push(jwks);
    const v = verifier(config({ kind: 'jwksUrl', url: jwks.url }, { jwksCooldownSeconds: 0 }));
    const token = await signToken(k1, { sub: 'alice' });
    expect((await v.verify(token)).ok).toBe(true);
    jwks.setKeys([k2]);
    await v.refresh();
    expect(await v.verify(token)).toMatchObject({ ok: false, errors: [{ code: 'IDENTITY_INVALID', reason: 'unknown_key' }] });
  });

  it('is refused once a re-read key file no longer holds its key (a rotation), though it verified before', async () => {
    const a = await makeKeyPair('ES256', 'file-old');
    const b = await makeKeyPair('ES256', 'file-new');
    const path = writeJwks(join(dir, 'cache-rotate.json'), [a]);
    const v = verifier(config({ kind: 'jwksFile', path }));
    try {
      const token = await signToken(a, { sub: 'alice' });
      expect((await v.verify(token)).ok).toBe(true);
      writeJwks(path, [b]);
      await v.refresh();
      expect(await v.verify(token)).toMatchObject({ ok: false, errors: [{ reason: 'unknown_key' }] });
      expect((await v.verify(await signToken(b, { sub: 'alice' }))).ok).toBe(true);
    } finally {
      v.close?.();
    }
  });

  it('names the same principal each time: a caller that changes the one it got changes no later answer', async () => {
    const key = await makeKeyPair('ES256', 'cache-copy');
    const v = verifier(config({ kind: 'jwksFile', path: writeJwks(join(dir, 'cache-copy.json'), [key]) }));
    const token = await signToken(key, { sub: 'bob', groups: ['sre'] });
    for (let i = 0; i < 3; i++) {
      const r = await v.verify(token);
      expect(r).toEqual({ ok: true, value: { id: 'bob', groups: ['sre'] } });
      if (r.ok) r.value.groups.push('bastion-admins');
    }
  });

  it('a token not valid yet is not accepted early because an identical token was seen (nbf is re-checked)', async () => {
    const key = await makeKeyPair('ES256', 'cache-nbf');
    const v = verifier(config({ kind: 'jwksFile', path: writeJwks(join(dir, 'cache-nbf.json'), [key]) }, { clockToleranceSeconds: 0 }));
    const token = await signToken(key, { sub: 'carol' }, { notBefore: 30 });
    expect(await v.verify(token)).toMatchObject({ ok: false, errors: [{ reason: 'not_yet_valid' }] });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 31_000);
    expect((await v.verify(token)).ok).toBe(true);
    vi.setSystemTime(Date.now() - 60_000);
    expect(await v.verify(token)).toMatchObject({ ok: false, errors: [{ reason: 'not_yet_valid' }] });
  });
});
