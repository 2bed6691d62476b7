/**
 * Identity end to end: the real service (`createBastionApp` from a real `bastion.yaml`, then
 * `start()` on 127.0.0.1:0) driven over HTTP with fetch, real JWTs signed by a test key and
 * verified against a JWKS served by a real local HTTP server, and real API keys made and
 * revoked with `bastion keys` on the service's data directory while it runs.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBastion } from '../helpers/cli.js';
import { makeKeyPair, serveJwks, signToken, type JwksServer, type TestKey } from '../helpers/jwt.js';
import { bearer, diagnostic, post, startService, type Started } from './identity-service.js';

const root = new URL('../..', import.meta.url).pathname;

describe('production mode with JWTs (JWKS URL) and API keys, on a real socket', () => {
  let key: TestKey;
  let jwks: JwksServer;
  let s: Started;
  beforeAll(async () => {
    key = await makeKeyPair('ES256', 'prod-1');
    jwks = await serveJwks([key]);
    s = await startService(`identity:\n  jwt:\n    jwksUrl: ${jwks.url}\n    issuer: https://idp.test.example/\n    audience: bastion\n    jwksCooldownSeconds: 0\n  apiKeys: true\n`);
  });
  afterAll(async () => {
    await s?.app.stop('test');
    await jwks?.close();
  });

  it('announces how callers are identified at start, and /health reports it', async () => {
    expect(s.stderr()).toContain(`bastion: identity: JWTs from https://idp.test.example/ for bastion (${jwks.url}); API keys (\`bastion keys\`)`);
    const health = (await (await fetch(`${s.url}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({
      status: 'ok',
      mode: 'production',
      identity: { mode: 'production', jwt: { source: 'jwksUrl', jwks: 'ok', keys: 1 }, apiKeys: true },
      checks: { identity: { status: 'ok' } },
    });
  });

  it('decides with the verified principal; a body principal is overwritten, and the audit event shows the verified one', async () => {
    const sre = await signToken(key, { sub: 'sre-1', groups: ['sre'] });
    const allowed = await post(s.url, diagnostic, bearer(sre));
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({ decision: 'allow', reason: 'allowed by platform-agents/allow-sre-shell' });
    expect(allowed.headers.get('x-bastion-mode')).toBeNull();

    // An intern's token with a body that claims to be an SRE: the token wins.
    const intern = await signToken(key, { sub: 'intern-1', groups: 'intern' });
    const claimed = await post(s.url, { ...diagnostic, principal: { id: 'sre-1', groups: ['sre', 'bastion-admins'] } }, bearer(intern));
    expect(claimed.status).toBe(200);
    expect(claimed.body).toMatchObject({ decision: 'deny', reason: 'interns may not run commands' });
    const events = await s.app.stores.audit?.getTrace(claimed.body['traceId'] as string);
    expect(events?.map((e) => [e.type, e.principal])).toEqual([['decision', { id: 'intern-1', groups: ['intern'] }]]);
  });

  const cases: { what: string; token: () => Promise<string | undefined>; code: string; reason: string; message: string }[] = [
    { what: 'no Authorization header', token: async () => undefined, code: 'IDENTITY_MISSING', reason: 'missing', message: '/v1/decide requires `Authorization: Bearer <token>`' },
    { what: 'an expired token', token: () => signToken(key, { sub: 'a' }, { expiresIn: -3600 }), code: 'IDENTITY_EXPIRED', reason: 'expired', message: 'bearer token: expired at' },
    { what: 'a token not valid yet', token: () => signToken(key, { sub: 'a' }, { notBefore: 3600 }), code: 'IDENTITY_INVALID', reason: 'not_yet_valid', message: 'not valid before' },
    { what: 'a wrong issuer', token: () => signToken(key, { sub: 'a' }, { issuer: 'https://other.example/' }), code: 'IDENTITY_INVALID', reason: 'wrong_issuer', message: 'issuer' },
    { what: 'a wrong audience', token: () => signToken(key, { sub: 'a' }, { audience: 'other' }), code: 'IDENTITY_INVALID', reason: 'wrong_audience', message: 'audience `other`' },
    {
      what: 'a bad signature',
      token: async () => {
        const forger = await makeKeyPair('ES256');
        return signToken(forger, { sub: 'root', groups: ['bastion-admins'] }, { header: { kid: key.kid } });
      },
      code: 'IDENTITY_INVALID',
      reason: 'bad_signature',
      message: 'signature does not verify',
    },
    {
      what: 'an algorithm not allowed',
      token: async () => signToken(await makeKeyPair('ES384', key.kid), { sub: 'a' }),
      code: 'IDENTITY_INVALID',
      reason: 'algorithm_not_allowed',
      message: 'signed with `ES384`, which is not allowed',
    },
    { what: 'an unknown key', token: async () => signToken(await makeKeyPair('ES256', 'who'), { sub: 'a' }), code: 'IDENTITY_INVALID', reason: 'unknown_key', message: 'signing key `who` is not in' },
    { what: 'a malformed token', token: async () => 'not-a-token', code: 'IDENTITY_INVALID', reason: 'malformed', message: 'neither a JWT nor a Bastion API key' },
    {
      what: 'an unknown API key',
      token: async () => `bst_0123456789abcdef_${'A'.repeat(43)}`,
      code: 'IDENTITY_INVALID',
      reason: 'unknown_api_key',
      message: 'api key `0123456789abcdef` is not known',
    },
  ];

  it.each(cases.map((c) => [c.what, c] as const))('answers %s with 401, the reason, and a Bearer challenge', async (_what, c) => {
    const token = await c.token();
    const r = await post(s.url, diagnostic, token === undefined ? {} : bearer(token));
    expect(r.status).toBe(401);
    expect(r.body['error']).toMatchObject({ code: c.code, reason: c.reason, message: expect.stringContaining(c.message) });
    const challenge = r.headers.get('www-authenticate');
    if (c.code === 'IDENTITY_MISSING') expect(challenge).toBe('Bearer realm="bastion"');
    else expect(challenge).toMatch(/^Bearer realm="bastion", error="invalid_token", error_description="[\x20-\x21\x23-\x5b\x5d-\x7e]+"$/);
  });

  it('authenticates before the body is read, ignores identity headers in production, and authenticates every /v1 route but the public ones', async () => {
    const huge = await post(s.url, 'x'.repeat(2 * 1024 * 1024));
    expect(huge.status).toBe(401);
    const headers = await post(s.url, diagnostic, { 'x-user-email': 'sre-1', 'x-user-groups': 'sre', 'x-controlzero-user-id': 'sre-1' });
    expect(headers.status).toBe(401);
    expect((await fetch(`${s.url}/v1/kill-switch`)).status).toBe(401);
    const token = await signToken(key, { sub: 'ops', groups: ['sre'] });
    expect((await fetch(`${s.url}/v1/kill-switch`, { headers: bearer(token) })).status).toBe(200);
    expect((await fetch(`${s.url}/v1/audit/checkpoints`)).status).toBe(200);
    expect((await fetch(`${s.url}/v1/audit/public-key`)).status).toBe(200);
  });

  it('API keys made with `bastion keys create` work at once, are listed without secrets, and a revoked one is refused at the next request', async () => {
    const created = await runBastion(['keys', 'create', '--principal', 'deploy-bot', '--groups', 'sre,ci', '--data-dir', s.dataDir], { cwd: root });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^bst_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
    const apiKey = created.stdout.trim();
    const id = apiKey.slice(4, 20);
    expect(created.stderr).toContain(`created key ${id} for \`deploy-bot\` (groups sre, ci)`);

    const allowed = await post(s.url, diagnostic, bearer(apiKey));
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({ decision: 'allow' });

    const listed = await runBastion(['keys', 'list', '--json', '--data-dir', s.dataDir], { cwd: root });
    expect(JSON.parse(listed.stdout)).toEqual([{ id, principal: { id: 'deploy-bot', groups: ['sre', 'ci'] }, createdAt: expect.any(Number) }]);
    expect(listed.stdout).not.toContain(apiKey.slice(21));

    const revoked = await runBastion(['keys', 'revoke', id, '--data-dir', s.dataDir], { cwd: root });
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked key ${id} (principal \`deploy-bot\`)\n` });
    const refused = await post(s.url, diagnostic, bearer(apiKey));
    expect(refused.status).toBe(401);
    expect(refused.body['error']).toMatchObject({ code: 'IDENTITY_REVOKED', reason: 'revoked_key' });

    const events = (await s.app.stores.audit?.eventsAfter(0, 10_000)) ?? [];
    const keyEvents = events.filter((e) => e.type.startsWith('api_key.'));
    expect(keyEvents.map((e) => [e.type, e.principal?.id, e.data?.['id']])).toEqual([
      ['api_key.created', 'deploy-bot', id],
      ['api_key.revoked', 'deploy-bot', id],
    ]);
    expect(JSON.stringify(events)).not.toContain(apiKey.slice(21));
  });

  it('a JWKS that goes down: known keys still verify, an unknown key fails closed, /health says unreachable', async () => {
    await jwks.close();
    const known = await post(s.url, diagnostic, bearer(await signToken(key, { sub: 'sre-1', groups: ['sre'] })));
    expect(known.status).toBe(200);
    const rotated = await post(s.url, diagnostic, bearer(await signToken(await makeKeyPair('ES256', 'new-key'), { sub: 'sre-1', groups: ['sre'] })));
    expect(rotated.status).toBe(401);
    expect(rotated.body['error']).toMatchObject({ code: 'IDENTITY_INVALID', reason: 'jwks_unreachable' });
    const r = await fetch(`${s.url}/health`);
    const health = (await r.json()) as Record<string, unknown>;
    // Still ready: the cached key verifies.
    expect(r.status).toBe(200);
    expect(health['identity']).toEqual({
      mode: 'production',
      jwt: { source: 'jwksUrl', jwks: 'unreachable', lastError: 'ECONNREFUSED', since: expect.any(String), keys: 1, loadedAt: expect.any(String) },
      apiKeys: true,
    });
    expect(health['checks']).toMatchObject({ identity: { status: 'degraded', since: expect.any(String) } });
    expect(s.stderr()).toContain('cannot be fetched (ECONNREFUSED): the 1 cached key still verifies');
  });
});

describe('production mode with nothing configured', () => {
  it('says so at start and answers every /v1 call 401, naming how to configure identity', async () => {
    const s = await startService('');
    try {
      expect(s.stderr()).toContain('bastion: WARNING: no identity is configured');
      const r = await post(s.url, { ...diagnostic, principal: { id: 'sre-1', groups: ['sre'] } });
      expect(r.status).toBe(401);
      expect(r.body['error']).toMatchObject({ code: 'IDENTITY_MISSING', reason: 'not_configured', message: expect.stringContaining('set `identity.jwt` or `identity.apiKeys: true`') });
      const health = (await (await fetch(`${s.url}/health`)).json()) as Record<string, unknown>;
      expect(health['identity']).toEqual({ mode: 'production', apiKeys: false });
    } finally {
      await s.app.stop('test');
    }
  });
});

describe('development mode on a real socket', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startService('dev: true\n');
  });
  afterAll(async () => s?.app.stop('test'));

  it('names the principal from the seeds’ headers, unverified, and says so in every answer and in /health', async () => {
    const r = await post(s.url, diagnostic, { 'X-ControlZero-User-ID': 'sre-user-1', 'X-ControlZero-User-Group': 'sre' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ decision: 'allow' });
    expect(r.headers.get('x-bastion-mode')).toBe('development: identity is NOT verified');
    const events = await s.app.stores.audit?.getTrace(r.body['traceId'] as string);
    expect(events?.[0]?.principal).toEqual({ id: 'sre-user-1', groups: ['sre'] });
    const intern = await post(s.url, { ...diagnostic, principal: { id: 'sre-1', groups: ['sre'] } }, { 'x-user-email': 'intern@zyx.example', 'x-user-groups': 'intern', 'x-device-compliant': 'true' });
    expect(intern.body).toMatchObject({ decision: 'deny', reason: 'interns may not run commands' });
    const health = (await (await fetch(`${s.url}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ mode: 'development', identity: { mode: 'development', apiKeys: false } });
    expect(s.stderr()).toContain('bastion: development mode: identity headers and request bodies are trusted, NOT verified');
  });

  it('without identity headers the body’s principal is used; the environment and danger-level headers fill the request', async () => {
    const body = await post(s.url, { ...diagnostic, principal: { id: 'sre-1', groups: ['sre'] } });
    expect(body.body).toMatchObject({ decision: 'allow', risk: 'low' });
    const critical = await post(s.url, { ...diagnostic, principal: { id: 'sre-1', groups: ['sre'] } }, { 'X-ControlZero-Danger-Level': 'critical', 'X-ControlZero-Environment': 'production' });
    expect(critical.body).toMatchObject({ decision: 'deny', risk: 'critical' });
    const events = await s.app.stores.audit?.getTrace(critical.body['traceId'] as string);
    expect(events?.[0]).toMatchObject({ environment: 'production', context: { danger_level: 'critical' } });
    const bad = await post(s.url, { ...diagnostic, principal: { id: 'sre-1', groups: ['sre'] } }, { 'X-ControlZero-Danger-Level': 'apocalyptic' });
    expect(bad.status).toBe(400);
    expect(bad.body['error']).toMatchObject({ code: 'REQUEST_INVALID', fields: ['headers.x-controlzero-danger-level'] });
  });
});
