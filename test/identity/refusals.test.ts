/**
 * The aggregated audit of refused logins: at most one event per reason per window, counts
 * exact, a steady flood summarised once per window, addresses bounded; and the metric's
 * reason labels never take a value from the request.
 */

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuditEventInput } from '../../src/audit/index.js';
import { bastionError } from '../../src/core/errors.js';
import { createRefusalAudit, credentialHint, refusalReason } from '../../src/identity/index.js';

describe('createRefusalAudit', () => {
  beforeEach(() => vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  const collect = () => {
    const events: AuditEventInput[] = [];
    const audit = createRefusalAudit({ record: async (e) => void events.push(e), windowMs: 10_000 });
    const data = () => events.map((e) => e.data as Record<string, unknown>);
    return { audit, events, data };
  };

  it('a flood of 10,000 refusals over 35 s writes one event at once and one summary per window', async () => {
    const { audit, events, data } = collect();
    for (let i = 0; i < 10_000; i++) {
      audit.refused({ reason: 'bad_signature', code: 'IDENTITY_INVALID', route: '/v1/decide', remoteAddress: `10.0.${i % 50}.1` });
      vi.advanceTimersByTime(3.5);
    }
    await audit.flush();
    expect(events.every((e) => e.type === 'identity.refused')).toBe(true);
    expect(data().map((d) => [d['count'], d['summary']])).toEqual([
      [1, false],
      [2857, true],
      [2857, true],
      [2857, true],
      [1428, true],
    ]);
    expect(data().reduce((n, d) => n + (d['count'] as number), 0)).toBe(10_000);
    const summary = data()[1] as Record<string, unknown>;
    expect(summary['remoteAddresses']).toHaveLength(10);
    expect(summary['fromUnlistedAddresses']).toBeGreaterThan(0);
    expect(summary).toMatchObject({ reason: 'bad_signature', code: 'IDENTITY_INVALID', routes: ['/v1/decide'], windowSeconds: 10 });
  });

  it('a reason that goes quiet for a window is audited at once again; reasons are counted apart', async () => {
    const { audit, data } = collect();
    audit.refused({ reason: 'expired', code: 'IDENTITY_EXPIRED', route: '/v1/decide' });
    audit.refused({ reason: 'missing', code: 'IDENTITY_MISSING', route: '/v1/approvals' });
    vi.advanceTimersByTime(10_001);
    audit.refused({ reason: 'expired', code: 'IDENTITY_EXPIRED', route: '/v1/decide' });
    await audit.flush();
    expect(data().map((d) => [d['reason'], d['count'], d['summary']])).toEqual([
      ['expired', 1, false],
      ['missing', 1, false],
      ['expired', 1, false],
    ]);
  });

  it('an append that fails is reported, never thrown', async () => {
    const errors: unknown[] = [];
    const audit = createRefusalAudit({ record: async () => Promise.reject(new Error('disk full')), onError: (e) => errors.push(e) });
    audit.refused({ reason: 'missing', code: 'IDENTITY_MISSING', route: '/v1/decide' });
    await audit.flush();
    expect((errors[0] as Error).message).toBe('disk full');
  });
});

describe('refusalReason and credentialHint', () => {
  it('counts only identity errors, and an unlisted reason as `other`', () => {
    expect(refusalReason(bastionError('IDENTITY_EXPIRED', 'x', { reason: 'expired' }))).toBe('expired');
    expect(refusalReason(bastionError('IDENTITY_INVALID', 'x', { reason: 'made-up' }))).toBe('other');
    expect(refusalReason(bastionError('IDENTITY_INVALID', 'x'))).toBe('other');
    expect(refusalReason(bastionError('REQUEST_INVALID', 'x'))).toBeUndefined();
  });

  it('never holds the token: an API key by its id, a JWT by its kid and a 12-digit hash prefix', () => {
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'k1' })).toString('base64url');
    const jwt = `${header}.eyJzdWIiOiJhIn0.c2lnbmF0dXJl`;
    expect(credentialHint({ authorization: `Bearer ${jwt}` })).toEqual({ credential: 'jwt', kid: 'k1', tokenSha256: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(credentialHint({ authorization: `Bearer bst_0123456789abcdef_${'A'.repeat(43)}` })).toEqual({ credential: 'api_key', keyId: '0123456789abcdef' });
    expect(credentialHint({ authorization: 'Basic dXNlcjpwYXNz' })).toEqual({ credential: 'other', tokenSha256: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(credentialHint({})).toEqual({ credential: 'none' });
    const longKid = Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'x'.repeat(500) })).toString('base64url');
    expect(credentialHint({ authorization: `Bearer ${longKid}.e30.c2ln` })).not.toHaveProperty('kid');
  });
});
