/**
 * The pure engine (`policy/engine.ts`) and `evaluate()` over it (issue 9): `evaluate` and
 * `gateway.decide` agree (the AWS-key write that `evaluate` allowed before), the state inputs
 * (limit verdicts, approval snapshots, taint) as plain values, structured decision errors,
 * and purity: the same input gives the same decision and nothing in the input is touched.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFacts, createAnalyzer, type Analyzer } from '../../src/analysis/index.js';
import type { ActionRequest, Analysis, Facts } from '../../src/core/types.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { EMPTY_KILL_SWITCH } from '../../src/killswitch/index.js';
import { decide, evaluate, factsFor, loadPolicySet, NO_FACTS, type ApprovalSnapshot, type PolicySet } from '../../src/policy/index.js';

const root = new URL('../..', import.meta.url).pathname;

function load(text: string): PolicySet {
  const r = loadPolicySet({ source: 'engine-test.yaml', text });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.value;
}

const builtins = (() => {
  const r = loadPolicySet([`${root}test/fixtures/policy/builtins/policy.yaml`]);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.value;
})();

const agent = { id: 'agent', groups: [] };
const awsWrite: ActionRequest = { principal: agent, action: 'tickets.create', args: { title: 'deploy', body: 'key AKIAZ7VQ3XKPL2M4N5TR' } };

describe('evaluate() agrees with gateway.decide()', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await createGateway({ policies: builtins });
  });
  afterAll(async () => gateway?.close());

  it('denies a write carrying an AWS access key through both (evaluate allowed it before issue 9)', async () => {
    const viaEvaluate = evaluate(builtins, awsWrite);
    const viaGateway = await gateway.decide(awsWrite);
    const expected = {
      decision: 'deny',
      reason: 'arguments contain a secret: aws-access-key',
      matched: [
        { policy: 'builtins', rule: 'allow-tickets', effect: 'allow' },
        // The held secret is high risk: the baseline asked for approval, then the secrets policy blocked.
        { policy: 'bastion/baseline', rule: 'approve-high-risk', effect: 'require_approval' },
        { policy: 'bastion/output-validation', rule: 'block-secrets-in-arguments', effect: 'deny' },
      ],
      obligations: [],
      errors: [],
    };
    expect(viaEvaluate).toMatchObject(expected);
    expect(viaGateway).toMatchObject(expected);
    const { traceId: _a, ...fromEvaluate } = viaEvaluate;
    const { traceId: _b, ...fromGateway } = viaGateway;
    expect(fromEvaluate).toEqual(fromGateway);
  });

  it('the earlier call shape evaluate(set, request, analysis, options) decides on the analysis given', () => {
    const analysis: Analysis = { parsed: true, risk: 'low', categories: [], findings: [] };
    expect(evaluate(builtins, awsWrite, analysis)).toMatchObject({ decision: 'allow', reason: 'tickets may be used' });
    expect(evaluate(builtins, awsWrite, undefined, { killSwitch: { ...EMPTY_KILL_SWITCH, disabled_users: ['agent'] } })).toMatchObject({ decision: 'deny', reason: 'user disabled by kill switch' });
    expect(evaluate(builtins, awsWrite, { facts: NO_FACTS })).toMatchObject({ decision: 'allow', reason: 'tickets may be used' });
  });

  it('validates the request as the gateway does', async () => {
    const bad = { principal: agent, action: 'tickets.read', args: { n: 1n } } as unknown as ActionRequest;
    const viaEvaluate = evaluate(builtins, bad);
    expect(viaEvaluate).toMatchObject({ decision: 'deny', reason: 'request is invalid', errors: [{ policy: 'bastion/request', rule: 'validate', code: 'REQUEST_INVALID', field: 'args.n' }] });
    expect((await gateway.decide(bad)).errors).toEqual(viaEvaluate.errors);
  });
});

const approvals = load(`apiVersion: bastion/v1
name: approvals
rules:
  - { id: approve-deploy, effect: require_approval, actions: [deploy], reason: deploys need approval, approval: { groups: [leads] } }
  - { id: allow-read, effect: allow, actions: [read], reason: reads are fine }
  - { id: deny-drop, effect: deny, actions: [drop], reason: never drop }
  - { id: allow-drop, effect: allow, actions: [drop] }
`);

describe('approval snapshots', () => {
  const request = (action: string): ActionRequest => ({ principal: agent, action, approvalId: 'apr-1' });
  const snap = (over: Partial<ApprovalSnapshot> = {}): ApprovalSnapshot => ({ id: 'apr-1', status: 'approved', bound: true, ...over });

  it('an approved approval bound to this exact call turns require_approval into allow, named in matched', () => {
    const d = decide(approvals, request('deploy'), NO_FACTS, { approval: snap() });
    expect(d).toMatchObject({
      decision: 'allow',
      reason: 'allowed by an approval bound to this call',
      matched: [
        { policy: 'approvals', rule: 'approve-deploy', effect: 'require_approval' },
        { policy: 'bastion/approvals', rule: 'approved', effect: 'allow' },
      ],
      approval: { id: 'apr-1', status: 'approved', bound: true },
    });
    expect(d.approvalRequirements).toBeUndefined();
  });

  it.each([
    ['denied', snap({ status: 'denied' }), 'the approval for this call was denied'],
    ['consumed (single use)', snap({ status: 'consumed' }), 'the approval for this call was already used: an approval allows one call'],
    ["denied, with the service's note", snap({ status: 'denied', note: 'approval `apr-1` was denied by `bob`' }), 'approval `apr-1` was denied by `bob`'],
  ])('an approval bound to this call that is %s denies it, named in matched', (_what, approval, reason) => {
    const d = decide(approvals, request('deploy'), NO_FACTS, { approval });
    expect([d.decision, d.reason, d.matched]).toEqual([
      'deny',
      reason,
      [
        { policy: 'approvals', rule: 'approve-deploy', effect: 'require_approval' },
        { policy: 'bastion/approvals', rule: approval.status, effect: 'deny' },
      ],
    ]);
    expect(d.approvalRequirements).toBeUndefined();
  });

  it('a note on an approval that does not apply becomes the reason, still require_approval', () => {
    const d = decide(approvals, request('deploy'), NO_FACTS, { approval: snap({ bound: false, note: 'approval `apr-1` was granted for a different call: arguments differ' }) });
    expect([d.decision, d.reason, d.matched.length]).toEqual(['require_approval', 'approval `apr-1` was granted for a different call: arguments differ', 1]);
    expect(d.approvalRequirements).toHaveLength(1);
  });

  it.each([
    ['pending', snap({ status: 'pending' })],
    ['expired', snap({ status: 'expired' })],
    ['cancelled', snap({ status: 'cancelled' })],
    ['denied but bound to another call', snap({ status: 'denied', bound: false })],
    ['consumed but bound to another call', snap({ status: 'consumed', bound: false })],
    ['approved but bound to another call', snap({ bound: false })],
    ['approved, for another approval id', snap({ id: 'apr-2' })],
  ])('%s changes nothing', (_what, approval) => {
    const d = decide(approvals, request('deploy'), NO_FACTS, { approval });
    expect([d.decision, d.reason, d.matched.length]).toEqual(['require_approval', 'deploys need approval', 1]);
  });

  it('needs the request to name the approval', () => {
    const d = decide(approvals, { principal: agent, action: 'deploy' }, NO_FACTS, { approval: snap() });
    expect(d.decision).toBe('require_approval');
  });

  it('never turns a deny (or nothing allowing) into anything', () => {
    expect(decide(approvals, request('drop'), NO_FACTS, { approval: snap() })).toMatchObject({ decision: 'deny', reason: 'never drop' });
    expect(decide(approvals, request('unknown'), NO_FACTS, { approval: snap() })).toMatchObject({ decision: 'deny', reason: 'no rule allows this action' });
    const secret = evaluate(builtins, { ...awsWrite, approvalId: 'apr-1' }, { approval: snap() });
    expect([secret.decision, secret.reason]).toEqual(['deny', 'arguments contain a secret: aws-access-key']);
  });
});

describe('limit verdicts', () => {
  it('an exceeded limit denies, named in matched with its reason', () => {
    const d = decide(approvals, { principal: agent, action: 'read' }, NO_FACTS, {
      limits: [
        { name: 'reads-per-minute', allowed: true },
        { name: 'daily-budget', allowed: false, reason: 'daily budget exhausted' },
      ],
    });
    expect(d).toMatchObject({
      decision: 'deny',
      reason: 'daily budget exhausted',
      obligations: [],
      matched: [
        { policy: 'approvals', rule: 'allow-read', effect: 'allow' },
        { policy: 'bastion/limits', rule: 'daily-budget', effect: 'deny' },
      ],
    });
  });

  it('without a reason the limit is named', () => {
    const d = decide(approvals, { principal: agent, action: 'deploy' }, NO_FACTS, { limits: [{ name: 'deploys', allowed: false }] });
    expect([d.decision, d.reason]).toEqual(['deny', 'limit exceeded: `deploys`']);
  });

  it('verdicts that allow change nothing, and a rule deny keeps its own reason', () => {
    expect(decide(approvals, { principal: agent, action: 'read' }, NO_FACTS, { limits: [{ name: 'x', allowed: true }] })).toMatchObject({ decision: 'allow', reason: 'reads are fine' });
    expect(decide(approvals, { principal: agent, action: 'drop' }, NO_FACTS, { limits: [{ name: 'x', allowed: false }] })).toMatchObject({
      decision: 'deny',
      reason: 'never drop',
      matched: [{ rule: 'deny-drop' }, { rule: 'allow-drop' }],
    });
  });
});

describe('facts', () => {
  const tainted = load(`apiVersion: bastion/v1
name: taint
rules:
  - { id: hold-after-injection, effect: require_approval, actions: [post], when: [{ field: analysis.untrustedContent.attack, equals: true }], reason: injected trace }
  - { id: allow-post, effect: allow, actions: [post], reason: posts are fine }
`);

  it('the trace taint is folded into analysis.untrustedContent, where policies read it', () => {
    const request: ActionRequest = { principal: agent, action: 'post', traceId: 't1' };
    const facts: Facts = { ...factsFor(tainted, request), taint: { score: 0.9, techniques: ['instruction-override'], source: 'web_fetch' } };
    const d = decide(tainted, request, facts);
    expect([d.decision, d.reason]).toEqual(['require_approval', 'injected trace']);
    expect(d.analysis?.['untrustedContent']).toEqual({ attack: true, score: 0.9, techniques: ['instruction-override'], source: 'web_fetch' });
    expect(decide(tainted, request, factsFor(tainted, request))).toMatchObject({ decision: 'allow', reason: 'posts are fine' });
  });

  it('an analyzer that throws gives parsed: false, risk high, and an ANALYSIS_FAILED error in the decision', () => {
    const broken: Analyzer = {
      ...createAnalyzer(),
      analyze: () => {
        throw new Error('boom');
      },
    };
    const request: ActionRequest = { principal: agent, action: 'post' };
    const facts = buildFacts(broken, request);
    expect(facts.analysis).toMatchObject({ parsed: false, risk: 'high', error: 'analysis failed: boom' });
    const d = decide(tainted, request, facts);
    expect(d.errors).toEqual([{ policy: 'bastion/analysis', rule: 'analyze', code: 'ANALYSIS_FAILED', message: 'analysis failed: boom' }]);
    expect([d.decision, d.risk]).toEqual(['require_approval', 'high']);
  });

  it('a condition that errors is a CONDITION_ERROR of its own policy and rule', () => {
    const set = load(`apiVersion: bastion/v1
name: cel
rules:
  - { id: deny-many, effect: deny, actions: [op], when: [{ cel: "args.count > 10.0" }], reason: too many }
  - { id: allow-op, effect: allow, actions: [op] }
`);
    const d = evaluate(set, { principal: agent, action: 'op', args: { count: 'many' } });
    expect(d.decision).toBe('deny');
    expect(d.errors).toHaveLength(1);
    expect(d.errors[0]).toMatchObject({ policy: 'cel', rule: 'deny-many', code: 'CONDITION_ERROR' });
    expect(d.errors[0]?.message).not.toBe('');
  });
});

describe('purity', () => {
  function deepFreeze<T>(v: T): T {
    if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
      Object.freeze(v);
      for (const x of Object.values(v)) deepFreeze(x);
    }
    return v;
  }

  it('decides the same input the same way, touching none of it, and returns a fresh decision each time', () => {
    const request = deepFreeze<ActionRequest>({ principal: agent, action: 'notes.write', args: { text: 'key AKIAZ7VQ3XKPL2M4N5TR' }, traceId: 't' });
    const facts = deepFreeze(factsFor(builtins, request));
    const state = deepFreeze({ killSwitch: { ...EMPTY_KILL_SWITCH }, limits: [{ name: 'n', allowed: true }] });
    const first = decide(builtins, request, facts, state);
    const second = decide(builtins, request, facts, state);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    expect(second.matched).not.toBe(first.matched);
    expect(second.obligations).not.toBe(first.obligations);
    expect(first.obligations).toEqual([{ type: 'redact_arguments', rules: ['aws-access-key'] }]);
  });
});
