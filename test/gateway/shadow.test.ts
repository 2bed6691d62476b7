/**
 * Shadow mode: a candidate set decided next to the enforcing one, through the library, the
 * service (`/metrics`, `/health`) and `bastion serve --shadow-policy`. Only the enforcing
 * decision counts; the shadow one is recorded in the decision's audit event.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBastionApp } from '../../src/app/index.js';
import { toOcsf } from '../../src/audit/index.js';
import { DEFAULT_CONFIG } from '../../src/config/index.js';
import { createGateway, type ShadowDecision } from '../../src/index.js';
import { decide, request, serve, type Served } from '../server/serve-process.js';

const fixtures = resolve(import.meta.dirname, '../fixtures/replay');
const sre = { id: 'sre-1', groups: ['sre'] };
const status = { principal: sre, action: 'shell.execute', args: { command: 'curl -s https://status.example.com/health' } };
const disk = { principal: sre, action: 'shell.execute', args: { command: 'df -h' } };

describe('shadow mode in the library', () => {
  it('decides with the enforcing set, records the shadow decision in the audit event and tells onShadow', async () => {
    const seen: Array<[string, ShadowDecision]> = [];
    const gateway = await createGateway({
      policies: [join(fixtures, 'old')],
      shadowPolicies: [join(fixtures, 'stricter')],
      baseline: { enabled: false },
      dataDir: mkdtempSync(join(tmpdir(), 'bastion-shadow-')),
      onShadow: (enforcing, shadow) => seen.push([enforcing.decision, shadow]),
    });
    try {
      const answer = await gateway.decide(status);
      expect(answer).toMatchObject({ decision: 'allow', matched: [{ policy: 'shell', rule: 'allow-sre' }] });
      expect(answer).not.toHaveProperty('shadow');
      expect((await gateway.decide(disk)).decision).toBe('allow');
      const events = (await gateway.auditLog?.query({ type: 'decision' })) ?? [];
      expect(events.map((e) => [e.decision, e.shadow?.decision, e.shadow?.agrees])).toEqual([
        ['allow', 'deny', false],
        ['allow', 'allow', true],
      ]);
      expect(events[0]?.shadow).toEqual({
        decision: 'deny',
        reason: 'shell commands may not reach the network',
        matched: [
          { policy: 'shell', rule: 'deny-egress', effect: 'deny' },
          { policy: 'shell', rule: 'allow-sre', effect: 'allow' },
        ],
        policyVersion: gateway.shadowPolicySet?.version,
        agrees: false,
      });
      expect(gateway.shadowPolicySet?.version).not.toBe(gateway.policySet.version);
      expect(seen.map(([e, s]) => [e, s.decision])).toEqual([
        ['allow', 'deny'],
        ['allow', 'allow'],
      ]);
      // The SIEM export carries it (OCSF: under unmapped, as Bastion's other fields).
      expect((toOcsf(events[0] as NonNullable<(typeof events)[0]>).unmapped as Record<string, unknown>)['shadow']).toEqual(events[0]?.shadow);
      // The chain still verifies with the new field in it.
      expect((await gateway.auditLog?.verify())?.ok).toBe(true);
    } finally {
      await gateway.close();
    }
  });

  it('a listener that throws changes nothing; without shadow policies there is no shadow field', async () => {
    const gateway = await createGateway({
      policies: [join(fixtures, 'old')],
      shadowPolicies: [join(fixtures, 'looser')],
      baseline: { enabled: false },
      dataDir: mkdtempSync(join(tmpdir(), 'bastion-shadow-')),
      onShadow: () => {
        throw new Error('listener bug');
      },
    });
    const plain = await createGateway({ policies: [join(fixtures, 'old')], baseline: { enabled: false }, dataDir: mkdtempSync(join(tmpdir(), 'bastion-shadow-')) });
    try {
      const intern = { principal: { id: 'intern-1', groups: ['intern'] }, action: 'shell.execute', args: { command: 'ls' } };
      expect((await gateway.decide(intern)).decision).toBe('deny');
      expect((await gateway.auditLog?.query({ type: 'decision' }))?.[0]?.shadow).toMatchObject({ decision: 'allow', agrees: false });
      await plain.decide(intern);
      expect((await plain.auditLog?.query({ type: 'decision' }))?.[0]).not.toHaveProperty('shadow');
      expect(plain.shadowPolicySet).toBeUndefined();
    } finally {
      await gateway.close();
      await plain.close();
    }
  });

  it('a shadow set that does not load fails the start, naming it', async () => {
    await expect(createGateway({ policies: [join(fixtures, 'old')], shadowPolicies: [join(fixtures, 'nowhere')] })).rejects.toThrow(/^shadow policies: /);
  });
});

describe('shadow mode in the service', () => {
  it('counts agreement in /metrics and names the shadow version in /health; the answer is the enforcing one', async () => {
    const built = await createBastionApp({
      config: {
        ...DEFAULT_CONFIG,
        port: 0,
        dataDir: mkdtempSync(join(tmpdir(), 'bastion-shadow-')),
        policies: [join(fixtures, 'old')],
        shadowPolicies: [join(fixtures, 'stricter')],
        baseline: { enabled: false },
        dev: true,
      },
      io: { stderr: { write: () => true }, env: {} },
      watch: false,
    });
    if (!built.ok) throw new Error(built.errors[0]?.message);
    const app = built.value;
    try {
      const server = app.server;
      if (!server) throw new Error('no server');
      for (const body of [status, status, disk]) {
        const r = await server.inject({ method: 'POST', url: '/v1/decide', payload: body });
        expect(r.json()).toMatchObject({ decision: 'allow' });
        expect(r.json()).not.toHaveProperty('shadow');
      }
      const metrics = (await server.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toContain('bastion_shadow_decisions_total{enforcing="allow",shadow="deny",agreement="disagree"} 2');
      expect(metrics).toContain('bastion_shadow_decisions_total{enforcing="allow",shadow="allow",agreement="agree"} 1');
      const health = (await server.inject({ method: 'GET', url: '/health' })).json();
      expect(health.shadowPolicyVersion).toBe(app.gateway.shadowPolicySet?.version);
    } finally {
      await app.stop('test done');
    }
  });

  describe('bastion serve --shadow-policy', () => {
    let served: Served | undefined;
    afterAll(async () => {
      await served?.stop();
    });
    it('starts with a shadow set, answers with the enforcing decision and names the shadow version in /health', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'bastion-shadow-'));
      served = await serve(['--dev', '--data-dir', dataDir, '--policy', join(fixtures, 'old'), '--shadow-policy', join(fixtures, 'stricter')]);
      expect((await decide(served.url, status)).decision).toBe('allow');
      const health = await request(`${served.url}/health`, 'GET');
      expect(health.status).toBe(200);
      expect((health.body as { shadowPolicyVersion?: string }).shadowPolicyVersion).toMatch(/^sha256:/);
    });
  });
});
