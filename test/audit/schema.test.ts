/**
 * The audit event input schema (src/audit/schema.ts): `validateEventInput` returns one
 * problem per bad field, in the schema's words, and accepts absent (`undefined`) members.
 */

import { describe, expect, it } from 'vitest';
import { validateEventInput } from '../../src/audit/schema.js';

describe('validateEventInput', () => {
  it.each([
    ['not an object', [1], ['event is not an object']],
    ['an unknown type', { type: 'nonsense' }, ['field `type`: unknown event type']],
    ['an unknown field', { type: 'decision', colour: 'red' }, ['unknown field `colour`']],
    ['a decision that is not an effect', { type: 'decision', decision: 'maybe' }, ['field `decision`: expected allow, deny or require_approval']],
    ['a principal without groups', { type: 'decision', principal: { id: 'a' } }, ['field `principal`: expected {id, groups[]}']],
    ['a device posture that is not a boolean', { type: 'decision', principal: { id: 'a', groups: [], deviceCompliant: 'yes' } }, ['field `principal.deviceCompliant`: expected a boolean']],
    ['args that are a list', { type: 'execution', args: [] }, ['field `args`: expected an object']],
    ['a risk that is not a level', { type: 'decision', risk: 'extreme' }, ['field `risk`: expected low, medium, high or critical']],
    ['categories that are not strings', { type: 'decision', categories: [1] }, ['field `categories`: expected a list of strings']],
    ['matched rules that are strings', { type: 'decision', matched: ['p/r'] }, ['field `matched`: expected a list of {policy, rule, effect}']],
    ['a trace id that is a number', { type: 'decision', traceId: 7 }, ['field `traceId`: expected a string']],
  ] as const)('refuses %s', (_what, input, problems) => {
    expect(validateEventInput(input)).toEqual(problems);
  });

  it('accepts a full decision event and absent members', () => {
    expect(
      validateEventInput({
        type: 'decision',
        traceId: 't',
        principal: { id: 'a', groups: ['g'], deviceCompliant: true },
        action: 'x',
        resource: undefined,
        decision: 'allow',
        matched: [{ policy: 'p', rule: 'r', effect: 'allow' }],
        risk: 'low',
        categories: ['fs.read'],
        model: { provider: 'openai' },
        data: { exitCode: 0 },
      }),
    ).toEqual([]);
  });
});
