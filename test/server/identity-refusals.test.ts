/**
 * Refused logins on the real service (127.0.0.1:0, JWTs against a real JWKS server, an API
 * key store in SQLite): every 401 is counted in `/metrics` by reason, logged as a pino
 * warning that names the reason and a hint of the credential but never the credential, and
 * audited in aggregate: the first refusal of a reason at once, the ones after it as one
 * summary per window (here: at stop).
 */

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteAuditReader } from '../../src/storage/index.js';
import { makeKeyPair, serveJwks, signToken, type JwksServer, type TestKey } from '../helpers/jwt.js';
import { bearer, diagnostic, post, startService, type Started } from './identity-service.js';

const metric = (text: string, reason: string): number | undefined => {
  const m = new RegExp(`^bastion_identity_refusals_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

describe('refused logins on a real socket', () => {
  let key: TestKey;
  let jwks: JwksServer;
  let s: Started;
  let stopped = false;
  beforeAll(async () => {
    key = await makeKeyPair('ES256', 'prod-1');
    jwks = await serveJwks([key]);
    s = await startService(`identity:\n  jwt:\n    jwksUrl: ${jwks.url}\n    issuer: https://idp.test.example/\n    audience: bastion\n  apiKeys: true\n`, { log: true });
  });
  afterAll(async () => {
    if (!stopped) await s?.app.stop('test');
    await jwks?.close();
  });

  const strangerKey = `bst_0123456789abcdef_${'S'.repeat(43)}`;
  let strangerJwt: string;
  let expiredJwt: string;

  it('counts every 401 by reason in /metrics, from zero', async () => {
    const before = await (await fetch(`${s.url}/metrics`)).text();
    expect(metric(before, 'bad_signature')).toBe(0);
    expect(metric(before, 'missing')).toBe(0);

    strangerJwt = await signToken(await makeKeyPair('ES256', 'stranger'), { sub: 'mallory', groups: ['bastion-admins'] });
    expiredJwt = await signToken(key, { sub: 'sre-1' }, { expiresIn: -3600 });
    for (let i = 0; i < 3; i++) expect((await post(s.url, diagnostic)).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await post(s.url, diagnostic, bearer(strangerJwt))).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await post(s.url, diagnostic, bearer(strangerKey))).status).toBe(401);
    expect((await post(s.url, diagnostic, bearer(expiredJwt))).status).toBe(401);
    expect((await fetch(`${s.url}/v1/kill-switch`)).status).toBe(401);
    // An accepted token is no refusal.
    expect((await post(s.url, diagnostic, bearer(await signToken(key, { sub: 'sre-1', groups: ['sre'] })))).status).toBe(200);

    const after = await (await fetch(`${s.url}/metrics`)).text();
    expect({
      missing: metric(after, 'missing'),
      unknown_key: metric(after, 'unknown_key'),
      unknown_api_key: metric(after, 'unknown_api_key'),
      expired: metric(after, 'expired'),
      bad_signature: metric(after, 'bad_signature'),
    }).toEqual({
      missing: 4,
      unknown_key: 2,
      unknown_api_key: 2,
      expired: 1,
      bad_signature: 0,
    });
  });

  it('logs each refusal as a structured warning with a hint of the credential, never the credential', () => {
    const refused = s.logLines().filter((l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('identity refused'));
    expect(refused).toHaveLength(9);
    expect(refused.every((l) => l['level'] === 40)).toBe(true);
    const jwtLine = refused.find((l) => (l['identity'] as { refused: string }).refused === 'unknown_key');
    expect(jwtLine).toMatchObject({
      msg: 'identity refused: unknown_key',
      identity: { refused: 'unknown_key', code: 'IDENTITY_INVALID', route: '/v1/decide', credential: 'jwt', kid: 'stranger', tokenSha256: expect.stringMatching(/^[0-9a-f]{12}$/) },
      error: expect.stringContaining('signing key `stranger` is not in'),
    });
    expect(refused.find((l) => (l['identity'] as { refused: string }).refused === 'unknown_api_key')).toMatchObject({ identity: { credential: 'api_key', keyId: '0123456789abcdef' } });
    expect(refused.find((l) => (l['identity'] as { route: string }).route === '/v1/kill-switch')).toMatchObject({ identity: { refused: 'missing', credential: 'none' } });
    // No line of the whole log holds a token or the API key's secret.
    const all = JSON.stringify(s.logLines());
    for (const secret of [strangerJwt, strangerJwt.split('.')[2] as string, expiredJwt.split('.')[2] as string, 'S'.repeat(43)]) expect(all).not.toContain(secret);
  });

  it('audits the first refusal of each reason at once, and the rest as one summary per reason (written at stop)', async () => {
    const events = async () => {
      const reader = await openSqliteAuditReader(join(s.dataDir, 'bastion.db'));
      if (!reader.ok) throw new Error(reader.errors[0]?.message);
      try {
        return (await reader.value.query({})).filter((e) => e.type === 'identity.refused').map((e) => e.data as Record<string, unknown>);
      } finally {
        await reader.value.close();
      }
    };
    const first = await events();
    expect(first.map((d) => [d['reason'], d['count'], d['summary']]).sort()).toEqual([
      ['expired', 1, false],
      ['missing', 1, false],
      ['unknown_api_key', 1, false],
      ['unknown_key', 1, false],
    ]);
    expect(first.find((d) => d['reason'] === 'missing')).toMatchObject({ code: 'IDENTITY_MISSING', routes: ['/v1/decide'], remoteAddresses: ['127.0.0.1'], windowSeconds: 60 });

    await s.app.stop('test');
    stopped = true;
    const all = await events();
    const summaries = all.filter((d) => d['summary'] === true);
    expect(summaries.map((d) => [d['reason'], d['count']]).sort()).toEqual([
      ['missing', 3],
      ['unknown_api_key', 1],
      ['unknown_key', 1],
    ]);
    expect(summaries.find((d) => d['reason'] === 'missing')).toMatchObject({ routes: ['/v1/decide', '/v1/kill-switch'], remoteAddresses: ['127.0.0.1'] });
    expect(JSON.stringify(all)).not.toContain(strangerJwt);
  });
});
