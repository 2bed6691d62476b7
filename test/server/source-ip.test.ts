/**
 * The caller's address: the service puts the socket's peer in `context.source_ip` of every
 * decision (audited, so OCSF's `src_endpoint.ip` and the detections have it), replacing a
 * value the body claims; `X-Forwarded-For` counts only from a front in `server.trustProxy`.
 * The real service on 127.0.0.1, driven over HTTP.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { approvalBinding, approvalBindingHash } from '../../src/approvals/binding.js';
import { validateRequest } from '../../src/core/request.js';
import { loadConfig } from '../../src/config/index.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diagnostic, post, startService, type Started } from './identity-service.js';

const principal = { id: 'sre-1', groups: ['sre'] };

/** The `context` of every decision event, in order. */
async function auditedContexts(s: Started): Promise<unknown[]> {
  const events = (await s.app.stores.audit?.query({ type: 'decision' })) ?? [];
  return events.map((e) => e.context);
}

let s: Started | undefined;
afterEach(async () => {
  await s?.app.stop('test');
  s = undefined;
});

describe('context.source_ip', () => {
  it('is the socket peer, replaces what the body claims, and ignores X-Forwarded-For from a front nobody trusts', async () => {
    s = await startService('dev: true\n');
    expect((await post(s.url, { ...diagnostic, principal })).body['decision']).toBe('allow');
    await post(s.url, { ...diagnostic, principal, context: { source_ip: '10.9.9.9', ticket: 'CHG-1' } }, { 'x-forwarded-for': '203.0.113.7' });
    expect(await auditedContexts(s)).toEqual([{ source_ip: '127.0.0.1' }, { source_ip: '127.0.0.1', ticket: 'CHG-1' }]);
    // The batch route sets it on every request it decides, the same way.
    const batch = await fetch(`${s.url}/v1/decide/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        requests: [
          { ...diagnostic, principal },
          { ...diagnostic, principal, context: { source_ip: '10.9.9.9' } },
        ],
      }),
    });
    expect(batch.status).toBe(200);
    expect((await auditedContexts(s)).slice(2)).toEqual([{ source_ip: '127.0.0.1' }, { source_ip: '127.0.0.1' }]);
  });

  it('is the forwarded address for requests from a front listed in server.trustProxy', async () => {
    s = await startService('dev: true\n', { trustProxy: ['127.0.0.0/8'] });
    await post(s.url, { ...diagnostic, principal }, { 'x-forwarded-for': '203.0.113.7' });
    expect(await auditedContexts(s)).toEqual([{ source_ip: '203.0.113.7' }]);
  });

  it('is left out of an approval binding: a retry from another address still matches', () => {
    const request = (ip: string) => {
      const r = validateRequest({ principal, action: 'deploy.run', args: { service: 'web' }, context: { source_ip: ip, ticket: 'CHG-1' } });
      if (!r.ok) throw new Error(r.errors[0]?.message);
      return r.value;
    };
    const hash = (ip: string) => approvalBindingHash(approvalBinding(request(ip), 'v1'));
    expect(hash('10.0.0.1')).toEqual(hash('10.0.0.2'));
    expect(approvalBinding(request('10.0.0.1'), 'v1').context).toEqual({ ticket: 'CHG-1' });
  });
});

describe('server.trustProxy in bastion.yaml', () => {
  const load = (yaml: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-trust-config-'));
    writeFileSync(join(dir, 'bastion.yaml'), yaml);
    return loadConfig(join(dir, 'bastion.yaml'));
  };

  it('takes addresses and CIDR ranges, and defaults to none', () => {
    const given = load('server: { host: 127.0.0.1, port: 8700, trustProxy: [10.0.0.0/8, "::1", 192.168.1.10] }\n');
    expect(given.ok && given.value.trustProxy).toEqual(['10.0.0.0/8', '::1', '192.168.1.10']);
    const none = load('server: { port: 8700 }\n');
    expect(none.ok && none.value.trustProxy).toEqual([]);
  });

  it.each([
    ['server: { trustProxy: true }\n', 'server.trustProxy'],
    ['server: { trustProxy: [everyone] }\n', 'server.trustProxy[0]'],
    ['server: { trustProxy: [10.0.0.0/33] }\n', 'server.trustProxy[0]'],
    ['server: { trustProxy: ["10.0.0.0/"] }\n', 'server.trustProxy[0]'],
  ])('refuses %j, naming the field', (yaml, field) => {
    const result = load(yaml);
    expect(result.ok).toBe(false);
    const message = result.ok ? '' : result.errors.map((e) => e.message).join('\n');
    expect(message).toContain(field);
    expect(message).toContain('must be a list of IP addresses or CIDR ranges of trusted fronts, e.g. `[10.0.0.0/8, 127.0.0.1]`');
  });
});
