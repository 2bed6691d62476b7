import { describe, expect, it } from 'vitest';
import {
  applyIdentity,
  contextFromHeaders,
  createAuthenticator,
  DEFAULT_IDENTITY,
  developmentIdentity,
  noIdentity,
  principalFromHeaders,
  UNVERIFIED_CALLER,
  withAliases,
} from '../../src/identity/index.js';
import { createMemoryApiKeyStore } from '../../src/storage/index.js';

const headers = DEFAULT_IDENTITY.headers;
const route = '/v1/decide';

describe('identity: development and unconfigured production', () => {
  it('development mode without identity headers accepts the caller, unverified, ignoring a bearer no verifier could check', async () => {
    const r = await developmentIdentity().authenticate({ route, headers: { authorization: 'Bearer anything' } });
    expect(r).toEqual({ ok: true, value: { verified: false, label: UNVERIFIED_CALLER, method: 'development' } });
    expect(developmentIdentity().mode).toBe('development');
  });

  it('production without a verifier identifies nobody, naming the route and how to configure identity', async () => {
    const r = await noIdentity().authenticate({ route, headers: { authorization: 'Bearer anything' } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      {
        code: 'IDENTITY_MISSING',
        reason: 'not_configured',
        message: 'no identity is configured, so /v1/decide refuses every caller: set `identity.jwt` or `identity.apiKeys: true` in the configuration (see the README, "Identity"), or run with --dev',
      },
    ]);
    expect(noIdentity().status?.()).toEqual({ mode: 'production', apiKeys: false });
  });

  it('production never takes identity headers, not even the seeds’ names', async () => {
    const auth = createAuthenticator({ mode: 'production', apiKeys: createMemoryApiKeyStore() });
    const r = await auth.authenticate({ route, headers: { 'x-controlzero-user-id': 'root', 'x-user-email': 'root@x', 'x-user-groups': 'bastion-admins' } });
    expect(r).toMatchObject({ ok: false, errors: [{ code: 'IDENTITY_MISSING', reason: 'missing' }] });
  });
});

describe('identity: development-mode headers', () => {
  const dev = developmentIdentity();
  it.each([
    [
      'Bastion’s own names',
      { 'x-bastion-principal-id': 'alice', 'x-bastion-principal-groups': 'sre, ops', 'x-bastion-device-compliant': 'true' },
      { id: 'alice', groups: ['sre', 'ops'], deviceCompliant: true },
    ],
    ['Control Zero’s names', { 'x-controlzero-user-id': 'sre-user-1', 'x-controlzero-user-group': 'sre-ops' }, { id: 'sre-user-1', groups: ['sre-ops'] }],
    [
      'ZYX’s names',
      { 'x-user-email': 'engineer@zyxbank.example', 'x-user-groups': 'grp-ai-users,grp-ai-devops-readonly', 'x-device-compliant': 'false' },
      { id: 'engineer@zyxbank.example', groups: ['grp-ai-users', 'grp-ai-devops-readonly'], deviceCompliant: false },
    ],
    ['an id alone', { 'x-user-email': 'e@x' }, { id: 'e@x', groups: [] }],
  ])('%s name the principal, unverified', async (_what, given, principal) => {
    const r = await dev.authenticate({ route, headers: given });
    expect(r).toEqual({ ok: true, value: { verified: false, method: 'development', label: `${principal.id} (development mode: identity headers, NOT verified)`, principal } });
  });

  it.each([
    ['two id headers that disagree', { 'x-controlzero-user-id': 'a', 'x-user-email': 'b' }, 'header `x-user-email`: disagrees with header `x-controlzero-user-id`'],
    ['one header sent twice with different values', { 'x-user-email': ['a', 'b'] }, 'header `x-user-email`: is sent more than once with different values'],
    ['groups without an id', { 'x-user-groups': 'bastion-admins' }, 'header `x-user-groups`: is sent without an id header'],
    ['a posture that is not true or false', { 'x-user-email': 'a', 'x-device-compliant': 'yes' }, 'header `x-device-compliant`: must be `true` or `false`, got `yes`'],
    ['an empty id', { 'x-user-email': '' }, 'header `x-user-email`: is empty'],
  ])('refuses %s (400, never a guess)', async (_what, given, message) => {
    const r = await dev.authenticate({ route, headers: given });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatchObject({ code: 'REQUEST_INVALID', message: expect.stringContaining(message) });
  });

  it('configured header names come first; the seeds’ aliases stay', () => {
    const names = withAliases({ id: 'X-Remote-User' });
    expect(names.id).toEqual(['x-remote-user', 'x-controlzero-user-id', 'x-user-email']);
    expect(principalFromHeaders({ 'x-remote-user': 'carol' }, names)).toEqual({ ok: true, value: { id: 'carol', groups: [] } });
    expect(principalFromHeaders({ 'x-bastion-principal-id': 'carol' }, names)).toEqual({ ok: true, value: undefined });
  });

  it('environment and danger level fill only what the body leaves out; a danger level must be a risk', () => {
    const ctx = contextFromHeaders({ 'x-controlzero-environment': 'production', 'x-controlzero-danger-level': 'CRITICAL' }, headers);
    expect(ctx).toEqual({ ok: true, value: { environment: 'production', dangerLevel: 'critical' } });
    if (!ctx.ok) return;
    const principal = { id: 'v', groups: ['g'] };
    expect(applyIdentity({ principal: { id: 'body', groups: ['bastion-admins'] }, action: 'x' }, principal, ctx.value)).toEqual({
      principal,
      action: 'x',
      environment: 'production',
      context: { danger_level: 'critical' },
    });
    expect(applyIdentity({ action: 'x', environment: 'dev', context: { danger_level: 'low', t: 1 } }, undefined, ctx.value)).toEqual({
      action: 'x',
      environment: 'dev',
      context: { danger_level: 'low', t: 1 },
    });
    expect(applyIdentity('not an object', principal, ctx.value)).toBe('not an object');
    const bad = contextFromHeaders({ 'x-controlzero-danger-level': 'extreme' }, headers);
    expect(bad).toMatchObject({ ok: false, errors: [{ code: 'REQUEST_INVALID', field: 'headers.x-controlzero-danger-level' }] });
  });
});

describe('identity: API keys through the authenticator', () => {
  it('a valid key names its principal; a revoked, unknown or malformed one is refused with its reason', async () => {
    const store = createMemoryApiKeyStore();
    const auth = createAuthenticator({ mode: 'production', apiKeys: store });
    const made = await store.create({ principal: { id: 'deploy-bot', groups: ['ci'] } }, 1_750_000_000_000);
    if (!made.ok) throw new Error('no key');
    const { key, record } = made.value;
    const bearer = (token: string) => auth.authenticate({ route, headers: { authorization: `Bearer ${token}` } });
    expect(await bearer(key)).toEqual({ ok: true, value: { verified: true, method: 'api_key', label: `deploy-bot (api key ${record.id})`, principal: { id: 'deploy-bot', groups: ['ci'] } } });
    const other = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    expect(await bearer(other)).toMatchObject({ ok: false, errors: [{ code: 'IDENTITY_INVALID', reason: 'unknown_api_key' }] });
    expect(await bearer('bst_short')).toMatchObject({ ok: false, errors: [{ code: 'IDENTITY_INVALID', reason: 'malformed' }] });
    expect(await bearer('eyJ.a.b')).toMatchObject({ ok: false, errors: [{ code: 'IDENTITY_INVALID', reason: 'jwt_not_configured' }] });
    expect(await bearer('opaque-token')).toMatchObject({ ok: false, errors: [{ code: 'IDENTITY_INVALID', reason: 'malformed' }] });
    expect(await auth.authenticate({ route, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } })).toMatchObject({
      ok: false,
      errors: [{ code: 'IDENTITY_INVALID', reason: 'malformed', message: '`Authorization` must be `Bearer <token>` (a JWT or an API key)' }],
    });
    expect(await auth.authenticate({ route, headers: { authorization: [`Bearer ${key}`, `Bearer ${key}`] } })).toMatchObject({ ok: false, errors: [{ reason: 'malformed' }] });
    await store.revoke(record.id, 1_750_000_001_000);
    expect(await bearer(key)).toMatchObject({
      ok: false,
      errors: [{ code: 'IDENTITY_REVOKED', reason: 'revoked_key', message: `api key \`${record.id}\` was revoked at 2025-06-15T15:06:41.000Z` }],
    });
  });

  it('an API key when API keys are off is refused in production, naming the setting', async () => {
    const r = await createAuthenticator({ mode: 'production' }).authenticate({ route, headers: { authorization: `Bearer bst_0123456789abcdef_${'a'.repeat(43)}` } });
    expect(r).toMatchObject({ ok: false, errors: [{ code: 'IDENTITY_MISSING', reason: 'not_configured' }] });
    const withKeys = createAuthenticator({ mode: 'production', apiKeys: createMemoryApiKeyStore() });
    expect(await withKeys.authenticate({ route, headers: {} })).toMatchObject({
      ok: false,
      errors: [{ code: 'IDENTITY_MISSING', reason: 'missing', message: '/v1/decide requires `Authorization: Bearer <token>`: an API key (`bastion keys create`)' }],
    });
  });
});
