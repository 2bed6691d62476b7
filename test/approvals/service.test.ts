/**
 * The approvals service through the library gateway (in-memory stores): the terms of an
 * approval from its rules, what a retry says differs, secrets stored redacted, and a dry
 * gateway (`approvals: { enabled: false }`) that writes no approval.
 */

import { describe, expect, it } from 'vitest';
import { approvalTerms, DEFAULT_APPROVAL_SETTINGS } from '../../src/approvals/index.js';
import { createGateway } from '../../src/gateway/index.js';
import { createMemoryApprovalStore } from '../../src/storage/index.js';

const policy = {
  source: 'p.yaml',
  text: `apiVersion: bastion/v1
kind: Policy
name: p
rules:
  - { id: hold, effect: require_approval, actions: [run], reason: runs need a human, approval: { groups: [leads], quorum: 1, expiresIn: 2h } }
  - { id: hold-prod, effect: require_approval, actions: [run], environments: [production], reason: production runs need two, approval: { quorum: 2, changeTicket: true, expiresIn: 30m } }
`,
};
const agent = { id: 'agent', groups: ['ops'] };

describe('approval terms', () => {
  it('takes the first rule naming groups, the largest quorum, the shortest expiry and every prerequisite', () => {
    const base = { changeTicketRequired: false, rollbackPlanRequired: false };
    expect(
      approvalTerms(
        [
          { policy: 'p', rule: 'a', approverGroups: [], quorum: 2, expiresInSeconds: 1800, ...base, changeTicketRequired: true },
          { policy: 'p', rule: 'b', approverGroups: ['leads'], quorum: 1, expiresInSeconds: 7200, ...base, rollbackPlanRequired: true },
        ],
        DEFAULT_APPROVAL_SETTINGS,
      ),
    ).toEqual({ approverGroups: ['leads'], quorum: 2, expiresInSeconds: 1800, needs: ['change_ticket', 'rollback_plan'], rule: { policy: 'p', rule: 'a' } });
    expect(approvalTerms([{ policy: 'bastion/baseline', rule: 'approve-high-risk', approverGroups: [], quorum: 1, ...base }], DEFAULT_APPROVAL_SETTINGS)).toMatchObject({
      approverGroups: ['bastion-approvers'],
      expiresInSeconds: 900,
    });
  });
});

describe('the gateway with approvals', () => {
  it('opens an approval per held call, names what differs on a retry, and stores secrets redacted', async () => {
    const store = createMemoryApprovalStore();
    let now = 1_700_000_000_000;
    const gateway = await createGateway({ policies: [policy], stores: { approvals: store }, approvals: { now: () => now } });
    const secret = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
    const d = await gateway.decide({ principal: agent, action: 'run', environment: 'production', args: { job: 'migrate', token: secret } });
    expect(d.approval).toEqual({
      id: expect.any(String),
      status: 'pending',
      bound: true,
      approverGroups: ['leads'],
      quorum: 2,
      approvals: 0,
      expiresAt: new Date(now + 1800_000).toISOString(),
      needs: ['change_ticket'],
    });
    const id = d.approval?.id as string;
    const stored = await store.get(id, now);
    expect(JSON.stringify(stored)).not.toContain(secret);
    const retry = await gateway.decide({ principal: agent, action: 'run', environment: 'staging', args: { job: 'migrate', token: secret }, approvalId: id });
    expect(retry.reason).toBe(`approval \`${id}\` was requested for a different call: environment differs`);
    now += 1800_000;
    const late = await gateway.decide({ principal: agent, action: 'run', environment: 'production', args: { job: 'migrate', token: secret }, approvalId: id });
    expect([late.decision, late.reason]).toEqual(['require_approval', `approval \`${id}\` expired at ${new Date(now).toISOString()}: a new approval is required`]);
    expect(late.approval?.id).not.toBe(id);
    expect(await gateway.approvals.sweep()).toBe(1);
    expect(await gateway.approvals.sweep()).toBe(0);
    await gateway.close();
  });

  it('a dry gateway decides without opening approvals', async () => {
    const store = createMemoryApprovalStore();
    const gateway = await createGateway({ policies: [policy], stores: { approvals: store }, approvals: { enabled: false } });
    const d = await gateway.decide({ principal: agent, action: 'run' });
    expect([d.decision, d.approval]).toEqual(['require_approval', undefined]);
    expect((await store.list({}, Date.now())).ok && (await store.list({}, Date.now()))).toMatchObject({ value: { records: [] } });
    await expect(createGateway({ policies: [policy], approvals: { enabled: 'no' } as never })).rejects.toThrow('createGateway: option `approvals.enabled`: must be true or false');
  });
});
