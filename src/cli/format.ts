/**
 * Human-readable renderings shared by CLI commands.
 */

import type { Decision } from '../core/types.js';

/** A decision as a few aligned lines for a terminal. */
export function formatDecision(d: Decision): string {
  const lines = [
    `decision:  ${d.decision}`,
    `reason:    ${d.reason}`,
    `risk:      ${d.risk}${d.categories.length > 0 ? ` (${d.categories.join(', ')})` : ''}`,
    `matched:   ${d.matched.length > 0 ? d.matched.map((m) => `${m.policy}/${m.rule} (${m.effect})`).join(', ') : 'none'}`,
  ];
  if (d.approvalRequirements && d.approvalRequirements.length > 0) {
    for (const a of d.approvalRequirements) {
      const needs = [a.approverGroups.length > 0 ? `approvers in ${a.approverGroups.join(', ')}` : 'any approver', `quorum ${a.quorum}`];
      if (a.changeTicketRequired) needs.push('change ticket');
      if (a.rollbackPlanRequired) needs.push('rollback plan');
      lines.push(`approval:  ${needs.join(', ')}`);
    }
  }
  if (d.obligations.length > 0) lines.push(`obligations: ${d.obligations.map((o) => o.type).join(', ')}`);
  for (const e of d.errors) lines.push(`error:     ${e.code} ${e.policy}/${e.rule}: ${e.message}`);
  lines.push(`policy:    ${d.policyVersion}`, `trace:     ${d.traceId}`);
  return lines.join('\n') + '\n';
}
