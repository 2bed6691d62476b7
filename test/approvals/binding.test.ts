/**
 * The binding hash ties an approval to one exact call: the same call hashes alike whatever
 * its key order or trace id; a change of any bound part hashes differently.
 */

import { describe, expect, it } from 'vitest';
import { approvalBinding, approvalBindingHash } from '../../src/approvals/index.js';
import type { ActionRequest } from '../../src/core/types.js';

const request: ActionRequest = {
  principal: { id: 'agent-7', groups: ['agents'] },
  action: 'sys:execute',
  resource: 'web-1',
  environment: 'production',
  args: { command: 'systemctl restart web', flags: { force: false, retries: 2 } },
  context: { ticket: 'CHG-1' },
  traceId: 'trace-1',
};

function hash(r: ActionRequest, policyVersion = 'v1'): string {
  const result = approvalBindingHash(approvalBinding(r, policyVersion));
  if (!result.ok) throw new Error(result.errors[0]?.message);
  return result.value;
}

describe('approval binding hash', () => {
  it('is a SHA-256 in hex, stable for the same call', () => {
    expect(hash(request)).toMatch(/^[0-9a-f]{64}$/);
    expect(hash(request)).toBe(hash(structuredClone(request)));
  });

  it('ignores key order, the trace id, groups and declared risk', () => {
    const reordered: ActionRequest = {
      context: { ticket: 'CHG-1' },
      args: { flags: { retries: 2, force: false }, command: 'systemctl restart web' },
      environment: 'production',
      resource: 'web-1',
      action: 'sys:execute',
      principal: { groups: ['other'], id: 'agent-7' },
      traceId: 'trace-2',
      risk: 'high',
    };
    expect(hash(reordered)).toBe(hash(request));
  });

  it('treats absent args and context as empty', () => {
    const bare: ActionRequest = { principal: { id: 'a', groups: [] }, action: 'x' };
    expect(hash(bare)).toBe(hash({ ...bare, args: {}, context: {} }));
  });

  it.each([
    ['another principal', { ...request, principal: { id: 'agent-8', groups: ['agents'] } }],
    ['another action', { ...request, action: 'sys:read' }],
    ['another resource', { ...request, resource: 'db-1' }],
    ['no resource', { ...request, resource: undefined } as unknown as ActionRequest],
    ['another environment', { ...request, environment: 'staging' }],
    ['another argument', { ...request, args: { ...request.args, command: 'systemctl restart db' } }],
    ['a nested argument', { ...request, args: { ...request.args, flags: { force: true, retries: 2 } } }],
    ['an added argument', { ...request, args: { ...request.args, extra: 1 } }],
    ['a number as text', { ...request, args: { ...request.args, flags: { force: false, retries: '2' } } }],
    ['another context', { ...request, context: { ticket: 'CHG-2' } }],
  ])('changes with %s', (_d, changed) => {
    expect(hash(changed as ActionRequest)).not.toBe(hash(request));
  });

  it('changes with the policy version', () => {
    expect(hash(request, 'v2')).not.toBe(hash(request, 'v1'));
  });

  it('cannot be mistaken for another field: a resource equal to an environment differs', () => {
    const a = hash({ principal: { id: 'p', groups: [] }, action: 'x', resource: 'prod' });
    const b = hash({ principal: { id: 'p', groups: [] }, action: 'x', environment: 'prod' });
    expect(a).not.toBe(b);
  });

  it('fails, naming the field, for arguments JSON cannot carry', () => {
    const result = approvalBindingHash(approvalBinding({ ...request, args: { n: Number.NaN } }, 'v1'));
    expect(result).toEqual({ ok: false, errors: [{ code: 'REQUEST_INVALID', message: 'cannot bind an approval to this call: args.n: number `NaN` is not finite' }] });
  });
});
