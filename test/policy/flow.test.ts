/**
 * Flow rules in the native format (issue 13): the loader's precise errors, and the engine's
 * verdicts on a trace's taint: `after: untrusted | attack`, actions, categories, writes and
 * principals; a flow `require_approval` never makes approvable what no rule allows; shadow
 * rules only report (`wouldBlock`); `taintedBy` names the results relied on.
 */

import { describe, expect, it } from 'vitest';
import type { ActionRequest, Analysis, TaintRecord } from '../../src/core/types.js';
import { decide, loadPolicySet, type PolicySet } from '../../src/policy/index.js';

function load(text: string): PolicySet {
  const r = loadPolicySet({ source: 'flow.yaml', text });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.value;
}

function errors(text: string): string[] {
  const r = loadPolicySet({ source: 'flow.yaml', text });
  return r.ok ? [] : r.errors.map((e) => e.message);
}

const POLICY = `apiVersion: bastion/v1
name: p
actions:
  web.fetch: { untrusted: true }
  tickets.comment: { write: true }
rules:
  - { id: allow-all, effect: allow, actions: ["*"] }
flow:
  - { id: no-egress, after: untrusted, effect: deny, categories: [net.egress] }
  - { id: hold-writes, after: untrusted, effect: require_approval, writes: true, approval: { groups: [sec] } }
  - { id: attack-only, after: attack, effect: deny, actions: [shell.*], principals: [group:agents] }
  - { id: shadow-reads, after: untrusted, effect: deny, categories: [fs.read], mode: shadow, reason: would hold reads }
`;

const set = load(POLICY);
const analysis = (categories: string[] = []): Analysis => ({ parsed: true, risk: 'low', categories: categories as Analysis['categories'], findings: [] });
const untrusted: TaintRecord = {
  score: 0,
  techniques: [],
  source: 'web.fetch',
  attack: false,
  sources: [{ seq: 1, action: 'web.fetch', source: 'web.fetch', at: '2026-01-01T00:00:00.000Z', attack: false, score: 0.05 }],
};
const attack: TaintRecord = { score: 0.93, techniques: ['override'], source: 'email.read' };
const req = (action: string, groups: string[] = ['agents']): ActionRequest => ({ principal: { id: 'a', groups }, action, traceId: 't' });

describe('loading flow rules', () => {
  it.each([
    ['an unknown `after`', '  - { id: f, after: later, effect: deny }', 'unknown `after` `later` (expected untrusted or attack)'],
    ['a missing `after`', '  - { id: f, effect: deny }', '`after` is required (untrusted or attack)'],
    ['an allow effect', '  - { id: f, after: untrusted, effect: allow }', 'unknown flow effect `allow` (expected deny or require_approval)'],
    ['an unknown category', '  - { id: f, after: untrusted, effect: deny, categories: [net.egres] }', 'unknown category `net.egres`'],
    ['`writes: false`', '  - { id: f, after: untrusted, effect: deny, writes: false }', '`writes` must be true (leave it out for any action)'],
    ['an unknown mode', '  - { id: f, after: untrusted, effect: deny, mode: audit }', 'unknown mode `audit` (expected enforce or shadow)'],
    ['approval on a deny', '  - { id: f, after: untrusted, effect: deny, approval: { groups: [x] } }', '`approval` is only allowed on a `require_approval` flow rule'],
    ['an unknown field', '  - { id: f, after: untrusted, effect: deny, when: [] }', 'unknown field `when` in a flow rule'],
    ['a bad action glob', '  - { id: f, after: untrusted, effect: deny, actions: ["[a"] }', 'flow rule `f`: field `flow[0].actions[0]`: invalid glob `[a`'],
    ['a duplicate id', '  - { id: f, after: untrusted, effect: deny }\n  - { id: f, after: attack, effect: deny }', 'duplicate flow rule id `f` (first used by flow rule 1)'],
    ['an id a rule already has', '  - { id: r, after: untrusted, effect: deny }', "flow rule `r`: field `flow[0].id`: id is also a rule's id in this policy"],
  ])('%s is a located error', (_name, flow, message) => {
    const found = errors(`apiVersion: bastion/v1\nname: p\nrules:\n  - { id: r, effect: allow, actions: ["*"] }\nflow:\n${flow}\n`);
    expect(found.length).toBeGreaterThan(0);
    expect(found.join('\n')).toContain(message);
    expect(found[0]).toMatch(/^while loading `flow\.yaml`: line \d+, column \d+: /);
  });
  it('names the flow rule first, then the field, as for rules', () => {
    expect(errors('apiVersion: bastion/v1\nname: p\nrules:\n  - { id: r, effect: allow, actions: ["*"] }\nflow:\n  - id: f\n    after: later\n    effect: deny\n')).toEqual([
      'while loading `flow.yaml`: line 7, column 12: flow rule `f`: field `flow[0].after`: unknown `after` `later` (expected untrusted or attack)',
    ]);
  });
  it('`untrusted` in action metadata must be true or false', () => {
    expect(errors('apiVersion: bastion/v1\nname: p\nactions: { web.fetch: { untrusted: yes } }\nrules: []\n').join('\n')).toContain('`untrusted` must be true or false');
  });
  it('compiles the flow rules of the set in order, after every rule', () => {
    expect(set.flow.map((f) => [f.id, f.mode, f.reason])).toEqual([
      ['no-egress', 'enforce', 'denied by p/no-egress'],
      ['hold-writes', 'enforce', 'approval required by p/hold-writes'],
      ['attack-only', 'enforce', 'denied by p/attack-only'],
      ['shadow-reads', 'shadow', 'would hold reads'],
    ]);
  });
});

describe('deciding with flow rules', () => {
  it('an untainted trace is decided as without flow rules', () => {
    const d = decide(set, req('http.post'), { analysis: analysis(['net.egress']) });
    expect(d).toMatchObject({ decision: 'allow', matched: [{ policy: 'p', rule: 'allow-all' }] });
    expect(d.taintedBy).toBeUndefined();
    expect(d.wouldBlock).toBeUndefined();
  });
  it('after untrusted content, egress is denied, naming the flow rule and the result that tainted the trace', () => {
    const d = decide(set, req('http.post'), { analysis: analysis(['net.egress']), taint: untrusted });
    expect(d.decision).toBe('deny');
    expect(d.reason).toBe('denied by p/no-egress');
    expect(d.matched).toEqual([
      { policy: 'p', rule: 'allow-all', effect: 'allow' },
      { policy: 'p', rule: 'no-egress', effect: 'deny' },
    ]);
    expect(d.taintedBy).toEqual(untrusted.sources);
  });
  it('untrusted content that is not an attack does not set analysis.untrustedContent', () => {
    const d = decide(set, req('http.get'), { analysis: analysis(), taint: untrusted });
    expect(d.analysis?.['untrustedContent']).toBeUndefined();
  });
  it('a write after untrusted content needs an approval with the flow rule as its requirement', () => {
    const d = decide(set, req('tickets.comment'), { analysis: analysis(), taint: untrusted });
    expect(d.decision).toBe('require_approval');
    expect(d.approvalRequirements).toEqual([{ policy: 'p', rule: 'hold-writes', approverGroups: ['sec'], quorum: 1, changeTicketRequired: false, rollbackPlanRequired: false }]);
  });
  it('a flow require_approval never makes approvable what no rule allows', () => {
    const none = load(POLICY.replace('  - { id: allow-all, effect: allow, actions: ["*"] }', '  - { id: allow-other, effect: allow, actions: [other] }'));
    const d = decide(none, req('tickets.comment'), { analysis: analysis(), taint: untrusted });
    expect(d).toMatchObject({ decision: 'deny', reason: 'no rule allows this action', matched: [] });
  });
  it('`after: attack` waits for an attack, and only for the principals and actions it names', () => {
    expect(decide(set, req('shell.execute'), { analysis: analysis(), taint: untrusted }).decision).toBe('allow');
    expect(decide(set, req('shell.execute'), { analysis: analysis(), taint: attack })).toMatchObject({ decision: 'deny', reason: 'denied by p/attack-only' });
    expect(decide(set, req('shell.execute', ['humans']), { analysis: analysis(), taint: attack }).decision).toBe('allow');
    expect(decide(set, req('files.read'), { analysis: analysis(), taint: attack }).decision).toBe('allow');
  });
  it('a record written before flow rules (no sources) reads as one attack', () => {
    const d = decide(set, req('shell.execute'), { analysis: analysis(), taint: attack });
    expect(d.taintedBy).toEqual([{ seq: 1, action: 'email.read', source: 'email.read', attack: true, score: 0.93 }]);
    expect(d.analysis?.['untrustedContent']).toMatchObject({ attack: true, score: 0.93 });
  });
  it('a shadow flow rule never changes the decision; it is reported in wouldBlock', () => {
    const d = decide(set, req('files.read'), { analysis: analysis(['fs.read']), taint: untrusted });
    expect(d).toMatchObject({ decision: 'allow', matched: [{ policy: 'p', rule: 'allow-all', effect: 'allow' }] });
    expect(d.wouldBlock).toEqual([{ policy: 'p', rule: 'shadow-reads', effect: 'deny', reason: 'would hold reads' }]);
    expect(d.taintedBy).toHaveLength(1);
  });
  it('decides the same for the same input (pure)', () => {
    const a = decide(set, req('http.post'), { analysis: analysis(['net.egress', 'fs.read']), taint: untrusted });
    const b = decide(set, req('http.post'), { analysis: analysis(['net.egress', 'fs.read']), taint: untrusted });
    expect(a).toEqual(b);
  });
});
