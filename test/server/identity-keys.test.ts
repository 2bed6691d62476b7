/**
 * Key rotation without a restart, and `/health` while the keys' source fails, on the real
 * service: a real `bastion serve` process whose `jwksFile` is replaced on disk (an atomic
 * rename, as deploy tools write) and then broken; the in-process service over a public key
 * file and over a JWKS URL served by a real HTTP server on 127.0.0.1 that fails from the start.
 */

import { writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeKeyPair, jwksOf, serveJwks, signToken, writePublicKeyPem, type JwksServer } from '../helpers/jwt.js';
import { bearer, diagnostic, health, NATIVE, post, startService, type Started } from './identity-service.js';
import { atomicWrite, eventually, serve, type Served } from './serve-process.js';

const sre = { sub: 'sre-1', groups: ['sre'] };

describe('a JWKS file rotated under a running `bastion serve`', () => {
  let served: Served | undefined;
  afterAll(async () => {
    await served?.stop();
  });

  it('token A works; the file is replaced with key B: B works within 3 s and A is refused; a broken file keeps B, degraded in /health', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-rotate-'));
    const a = await makeKeyPair('ES256', 'key-a');
    const b = await makeKeyPair('ES256', 'key-b');
    const c = await makeKeyPair('ES256', 'key-c');
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify(jwksOf([a])));
    const config = join(dir, 'bastion.yaml');
    writeFileSync(config, `dataDir: ./data\npolicies: [${JSON.stringify(NATIVE)}]\nidentity:\n  jwt:\n    jwksFile: ./jwks.json\n    issuer: https://idp.test.example/\n    audience: bastion\n`);
    served = await serve(['--config', config]);
    const url = served.url;
    const tokenA = await signToken(a, sre);
    const tokenB = await signToken(b, sre);
    expect((await post(url, diagnostic, bearer(tokenA))).status).toBe(200);
    expect((await post(url, diagnostic, bearer(tokenB))).body['error']).toMatchObject({ reason: 'unknown_key' });

    // The IdP rotates: B is published and A removed, written as deploy tools write.
    const rotatedAt = Date.now();
    atomicWrite(jwksFile, JSON.stringify(jwksOf([b])));
    await eventually(async () => ((await post(url, diagnostic, bearer(tokenB))).status === 200 ? true : undefined), 'token B to be accepted', 6000);
    expect(Date.now() - rotatedAt).toBeLessThan(6000);
    const refused = await post(url, diagnostic, bearer(tokenA));
    expect(refused.status).toBe(401);
    expect(refused.body['error']).toMatchObject({ code: 'IDENTITY_INVALID', reason: 'unknown_key', message: expect.stringContaining('signing key `key-a` is not in the JWKS file') });
    expect(served.stderr()).toContain('bastion: identity: the JWKS file');
    expect(served.stderr()).toContain('changed: verifying with 1 key (`key-b`) from now on');
    const ok = await health(url);
    expect(ok.status).toBe(200);
    expect(ok.body['checks']).toMatchObject({ identity: { status: 'ok' } });

    // A broken edit: the last good keys (B) stay in force, /health says so, still ready.
    writeFileSync(jwksFile, '{"keys": [');
    const degraded = await eventually(
      async () => {
        const h = await health(url);
        return (h.body['checks'] as Record<string, { status: string }>)['identity']?.status === 'degraded' ? h : undefined;
      },
      'identity to be degraded',
      3000,
    );
    expect(degraded.status).toBe(200);
    expect(degraded.body).toMatchObject({
      status: 'ok',
      degraded: ['identity'],
      identity: { jwt: { source: 'jwksFile', jwks: 'invalid', lastError: expect.stringContaining('is not JSON'), since: expect.any(String), keys: 1 } },
      checks: {
        identity: {
          status: 'degraded',
          error: expect.stringMatching(/^the JWKS file does not load: .*is not JSON.*; verifying with the 1 key loaded at .*, any other key is refused$/),
          since: expect.any(String),
        },
      },
    });
    expect(served.stderr()).toMatch(/bastion: WARNING: identity: `jwksFile` `[^`]+jwks.json` is not JSON: .*: keeping the 1 key loaded at [^;]+; a token signed by any other key is refused/);
    expect((await post(url, diagnostic, bearer(tokenB))).status).toBe(200);
    const stranger = await post(url, diagnostic, bearer(await signToken(c, sre)));
    expect(stranger.status).toBe(401);
    expect(stranger.body['error']).toMatchObject({ reason: 'unknown_key', message: expect.stringContaining('as last loaded') });

    // A private key written into the file is refused too, and fixing the file recovers.
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...c.jwk, d: 'private' }] }));
    await eventually(
      async () => (((await health(url)).body['identity'] as { jwt: { lastError?: string } }).jwt.lastError?.includes('private or symmetric key') ? true : undefined),
      'the private key to be refused',
      3000,
    );
    expect((await post(url, diagnostic, bearer(await signToken(c, sre)))).status).toBe(401);
    atomicWrite(jwksFile, JSON.stringify(jwksOf([b, c])));
    await eventually(async () => ((await post(url, diagnostic, bearer(await signToken(c, sre)))).status === 200 ? true : undefined), 'key C to be accepted', 3000);
    expect((await health(url)).body).toMatchObject({ status: 'ok', checks: { identity: { status: 'ok' } }, identity: { jwt: { jwks: 'ok', keys: 2 } } });
    expect((await health(url)).body).not.toHaveProperty('degraded');
  });
});

describe('a public key file rotated under the running service', () => {
  let s: Started | undefined;
  afterEach(async () => {
    await s?.app.stop('test');
    s = undefined;
  });

  it('a new key (another algorithm too) takes over; a token of the old key no longer verifies; a deleted file keeps the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-pem-'));
    const a = await makeKeyPair('ES256', 'pem-a');
    const b = await makeKeyPair('EdDSA', 'pem-b');
    await writePublicKeyPem(join(dir, 'key.pem'), a);
    s = await startService('identity:\n  jwt:\n    publicKeyFile: ./key.pem\n    issuer: https://idp.test.example/\n    audience: bastion\n', { dir });
    const url = s.url;
    expect((await post(url, diagnostic, bearer(await signToken(a, sre)))).status).toBe(200);

    const tmp = join(dir, 'key.pem.new');
    await writePublicKeyPem(tmp, b);
    const { renameSync, rmSync } = await import('node:fs');
    renameSync(tmp, join(dir, 'key.pem'));
    await eventually(async () => ((await post(url, diagnostic, bearer(await signToken(b, sre)))).status === 200 ? true : undefined), 'key B to verify', 3000);
    const old = await post(url, diagnostic, bearer(await signToken(a, sre)));
    expect(old.status).toBe(401);
    expect(old.body['error']).toMatchObject({ reason: 'algorithm_not_allowed' });

    rmSync(join(dir, 'key.pem'));
    const h = await eventually(
      async () => {
        const r = await health(url);
        return (r.body['identity'] as { jwt: { jwks: string } }).jwt.jwks === 'unreachable' ? r : undefined;
      },
      'the deleted file to be reported',
      3000,
    );
    expect(h.status).toBe(200);
    expect(h.body['checks']).toMatchObject({ identity: { status: 'degraded', error: expect.stringContaining('the public key file cannot be read: `publicKeyFile`') } });
    expect(((h.body['checks'] as Record<string, { error: string }>)['identity'] as { error: string }).error).toContain('no such file');
    expect((await post(url, diagnostic, bearer(await signToken(b, sre)))).status).toBe(200);
  });
});

describe('/health while the JWKS URL does not answer', () => {
  let s: Started | undefined;
  let jwks: JwksServer | undefined;
  afterEach(async () => {
    await s?.app.stop('test');
    await jwks?.close();
    s = undefined;
  });

  it('no key ever fetched: not ready (503, identity failed); found back by the background retry, then ready', async () => {
    const key = await makeKeyPair('ES256', 'late');
    jwks = await serveJwks([key]);
    jwks.fail(503);
    s = await startService(`identity:\n  jwt:\n    jwksUrl: ${jwks.url}\n    issuer: https://idp.test.example/\n    audience: bastion\n    jwksCooldownSeconds: 0\n`);
    expect(s.stderr()).toContain('cannot be fetched (answered HTTP 503): no key is in force, every JWT is refused until it answers (retried every 1 s)');
    const down = await health(s.url);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({
      status: 'degraded',
      failed: ['identity'],
      identity: { jwt: { source: 'jwksUrl', jwks: 'unreachable', lastError: 'answered HTTP 503', since: expect.any(String), keys: 0 } },
      checks: {
        identity: { status: 'failed', error: 'the JWKS URL cannot be fetched: answered HTTP 503; no key is in force (none was ever fetched): every JWT is refused', since: expect.any(String) },
      },
    });
    const token = await signToken(key, sre);
    expect((await post(s.url, diagnostic, bearer(token))).body['error']).toMatchObject({ reason: 'jwks_unreachable' });
    // Requests during the outage do not each cost a fetch of the JWKS.
    const hits = jwks.hits();
    for (let i = 0; i < 20; i++) await post(s.url, diagnostic, bearer(token));
    expect(jwks.hits() - hits).toBeLessThanOrEqual(1);

    jwks.fail(undefined);
    const up = await eventually(
      async () => {
        const h = await health(s?.url ?? '');
        return h.status === 200 ? h : undefined;
      },
      'the service to be ready',
      4000,
    );
    expect(up.body).toMatchObject({ status: 'ok', checks: { identity: { status: 'ok' } }, identity: { jwt: { jwks: 'ok', keys: 1 } } });
    expect(s.stderr()).toContain('answers again');
    expect((await post(s.url, diagnostic, bearer(token))).status).toBe(200);
  });

  it('keys cached, then the URL goes down: still ready (200, identity degraded since the outage); cached tokens verify', async () => {
    const key = await makeKeyPair('ES256', 'cached');
    jwks = await serveJwks([key]);
    s = await startService(`identity:\n  jwt:\n    jwksUrl: ${jwks.url}\n    issuer: https://idp.test.example/\n    audience: bastion\n    jwksCooldownSeconds: 0\n`);
    expect((await health(s.url)).body['checks']).toMatchObject({ identity: { status: 'ok' } });
    await jwks.close();
    const before = Date.now();
    // An unknown kid makes the verifier fetch, and find the URL down.
    expect((await post(s.url, diagnostic, bearer(await signToken(await makeKeyPair('ES256', 'new'), sre)))).body['error']).toMatchObject({ reason: 'jwks_unreachable' });
    const h = await health(s.url);
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({
      status: 'ok',
      degraded: ['identity'],
      checks: { identity: { status: 'degraded', error: expect.stringMatching(/^the JWKS URL cannot be fetched: ECONNREFUSED; verifying with the 1 key loaded at .+, any other key is refused$/) } },
    });
    const since = Date.parse((h.body['checks'] as { identity: { since: string } }).identity.since);
    expect(since).toBeGreaterThanOrEqual(before - 1000);
    expect(since).toBeLessThanOrEqual(Date.now());
    expect((await post(s.url, diagnostic, bearer(await signToken(key, sre)))).status).toBe(200);
  });
});
