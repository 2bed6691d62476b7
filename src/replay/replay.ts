/**
 * Replay: the recorded decisions of an audit log decided again against a candidate policy
 * set, and what would change. An operator runs it before a policy change reaches production
 * (`bastion replay`), and CI runs it on a pull request that edits policy, failing when the
 * change lets through what was refused (`--fail-on-new-allow`) or changes too much.
 *
 * What is replayed is what the log holds: principal (id, groups, device posture; not claim
 * attributes), action, resource, environment, arguments and context as recorded, which means
 * with secrets already redacted (`[REDACTED:<rule>]`): such an entry says so, because the
 * candidate decides on the redacted text, not on the secret. Each replay is stateless: no
 * kill-switch state, approvals, limits or trace taint. A recorded decision that state made
 * (`bastion/kill-switch`, `bastion/approvals`, `bastion/limits` among its rules) is therefore
 * not compared with a stateless one, only counted, unless an old set is given too
 * (`old`): then both sides are decided again, statelessly, and every request is compared.
 */

import type { ActionRequest, Decision, Effect, MatchedRule } from '../core/types.js';
import type { AuditEvent } from '../audit/index.js';
import { APPROVALS_POLICY, evaluate, KILL_SWITCH_POLICY, LIMITS_POLICY, type PolicySet } from '../policy/index.js';

/** One side of a comparison: what was (or would be) decided, and by which rules. */
export interface ReplayOutcome {
  decision: Effect;
  reason: string;
  matched: Array<Pick<MatchedRule, 'policy' | 'rule' | 'effect'>>;
}

/** A recorded request whose decision the candidate set changes. */
export interface ReplayChange {
  seq: number;
  time: string;
  traceId?: string;
  principal: string;
  action: string;
  old: ReplayOutcome;
  new: ReplayOutcome;
  /** The rule that decides the new outcome (or the old one, when no rule matches now), `policy/rule`. */
  rule?: string;
  /** The arguments or context held redacted secrets when recorded: the candidate decided on the redacted text. */
  redacted: boolean;
}

export interface ReplayReport {
  /** Decision events read. */
  events: number;
  /** Requests decided again and compared. */
  compared: number;
  unchanged: number;
  /** Recorded decisions made by state (kill switch, approvals, limits): counted, not compared, when no old set is given. */
  decidedByState: number;
  /** Recorded decisions of requests that were refused as malformed (nothing to replay). */
  invalid: number;
  /** `allow→deny` and the like, with their counts. */
  transitions: Record<string, number>;
  /** The rules behind the decision changes, most changes first. */
  topRules: Array<{ rule: string; changes: number }>;
  /** Changes to `allow` from `deny` or `require_approval`: what a weakening policy lets through. */
  newAllows: number;
  /** Requests whose decision changes. */
  changes: ReplayChange[];
  /** Requests decided the same, but by other rules (a rule added, removed or renamed). */
  ruleChanges: ReplayChange[];
  /** Time of the first and last event compared. */
  from?: string;
  to?: string;
}

export interface ReplayOptions {
  /** The set to try. */
  candidate: PolicySet;
  /** The set in force when the log was made: both sides are then decided again. */
  old?: PolicySet;
}

const STATE_POLICIES = new Set([KILL_SWITCH_POLICY, APPROVALS_POLICY, LIMITS_POLICY]);
const REDACTED = /\[REDACTED:[^\]]*\]/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The action request a decision event records, as far as the log holds it; undefined for an
 * event that is not a replayable decision (a refused malformed request has no action).
 */
export function requestFromEvent(event: AuditEvent): ActionRequest | undefined {
  if (event.type !== 'decision' || event.action === undefined || event.principal === undefined) return undefined;
  const principal: ActionRequest['principal'] = { id: event.principal.id, groups: [...event.principal.groups] };
  if (event.principal.deviceCompliant !== undefined) principal.deviceCompliant = event.principal.deviceCompliant;
  const request: ActionRequest = { principal, action: event.action };
  if (event.resource !== undefined) request.resource = event.resource;
  if (event.environment !== undefined) request.environment = event.environment;
  if (isRecord(event.args)) request.args = event.args;
  if (isRecord(event.context)) request.context = event.context;
  const declared = isRecord(event.data) ? event.data['declaredRisk'] : undefined;
  if (declared === 'low' || declared === 'medium' || declared === 'high' || declared === 'critical') request.risk = declared;
  if (event.traceId !== undefined) request.traceId = event.traceId;
  return request;
}

function outcome(d: Pick<Decision, 'decision' | 'reason' | 'matched'>): ReplayOutcome {
  return { decision: d.decision, reason: d.reason, matched: d.matched.map((m) => ({ policy: m.policy, rule: m.rule, effect: m.effect })) };
}

function sameOutcome(a: ReplayOutcome, b: ReplayOutcome): boolean {
  return (
    a.decision === b.decision &&
    a.matched.length === b.matched.length &&
    a.matched.every((m, i) => m.policy === b.matched[i]?.policy && m.rule === b.matched[i]?.rule && m.effect === b.matched[i]?.effect)
  );
}

/** The rule that decides an outcome: the first matched rule with the outcome's effect. */
function decidingRule(o: ReplayOutcome): string | undefined {
  const m = o.matched.find((r) => r.effect === o.decision) ?? o.matched[0];
  return m === undefined ? undefined : `${m.policy}/${m.rule}`;
}

/**
 * Decides every recorded request of `pages` again and reports what changes: a different
 * decision (`changes`), or the same decision by a different list of matched rules
 * (`ruleChanges`). The same rules with a reason worded otherwise are no change.
 *
 * @example
 * const report = await replay(reader.queryPages({ type: 'decision' }), { candidate });
 * report.transitions // { 'deny→allow': 2 }
 */
export async function replay(pages: AsyncIterable<readonly AuditEvent[]>, options: ReplayOptions): Promise<ReplayReport> {
  const report: ReplayReport = { events: 0, compared: 0, unchanged: 0, decidedByState: 0, invalid: 0, transitions: {}, topRules: [], newAllows: 0, changes: [], ruleChanges: [] };
  const rules = new Map<string, number>();
  for await (const page of pages) {
    for (const event of page) {
      if (event.type !== 'decision') continue;
      report.events++;
      const request = requestFromEvent(event);
      if (request === undefined) {
        report.invalid++;
        continue;
      }
      const recorded: ReplayOutcome = {
        decision: event.decision ?? 'deny',
        reason: event.reason ?? '',
        matched: (event.matched ?? []).map((m) => ({ policy: m.policy, rule: m.rule, effect: m.effect })),
      };
      if (options.old === undefined && recorded.matched.some((m) => STATE_POLICIES.has(m.policy))) {
        report.decidedByState++;
        continue;
      }
      const before = options.old === undefined ? recorded : outcome(evaluate(options.old, request));
      const after = outcome(evaluate(options.candidate, request));
      report.compared++;
      report.from ??= event.time;
      report.to = event.time;
      if (sameOutcome(before, after)) {
        report.unchanged++;
        continue;
      }
      const rule = decidingRule(after) ?? decidingRule(before);
      const decided = before.decision !== after.decision;
      if (decided) {
        const transition = `${before.decision}→${after.decision}`;
        report.transitions[transition] = (report.transitions[transition] ?? 0) + 1;
        if (after.decision === 'allow') report.newAllows++;
        if (rule !== undefined) rules.set(rule, (rules.get(rule) ?? 0) + 1);
      }
      const change: ReplayChange = {
        seq: event.seq,
        time: event.time,
        principal: request.principal.id,
        action: request.action,
        old: before,
        new: after,
        redacted: REDACTED.test(JSON.stringify([request.args ?? null, request.context ?? null])),
      };
      if (event.traceId !== undefined) change.traceId = event.traceId;
      if (rule !== undefined) change.rule = rule;
      (decided ? report.changes : report.ruleChanges).push(change);
    }
  }
  report.topRules = [...rules].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([rule, changes]) => ({ rule, changes }));
  return report;
}
