import { describe, expect, it } from 'vitest';
import { developmentIdentity, noIdentity, UNVERIFIED_CALLER } from '../../src/identity/index.js';

describe('identity', () => {
  it('development mode accepts every caller, unverified, with the audit label that says so', async () => {
    const r = await developmentIdentity().authenticate({ route: '/v1/decide', headers: { authorization: 'Bearer anything' } });
    expect(r).toEqual({ ok: true, value: { verified: false, label: UNVERIFIED_CALLER, method: 'development' } });
    expect(developmentIdentity().mode).toBe('development');
  });

  it('production without a verifier identifies nobody, naming the route', async () => {
    const r = await noIdentity().authenticate({ route: '/v1/decide', headers: { authorization: 'Bearer anything' } });
    expect(r).toEqual({
      ok: false,
      errors: [{ code: 'IDENTITY_MISSING', message: 'identity verification is not configured: this build answers /v1/decide only in development mode (--dev)' }],
    });
    expect(noIdentity().mode).toBe('production');
  });
});
