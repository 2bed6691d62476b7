/**
 * The CapFence-style API (seed 001), for code written against it:
 *
 *   const runtime = await ActionRuntime.fromPolicy('policies/devops_policy.yaml');
 *   const event = ActionEvent.create({ actor: 'ops-agent', action: 'execute', resource: 'shell',
 *     environment: 'production', risk: 'low', payload: { command: 'df -h' } });
 *   const verdict = await runtime.execute(event); // { authorized, decision, reason }
 *
 * The capability is `<resource>.<action>` (`shell.execute`), the payload becomes the
 * request's `args`, so the shell analyzer reads `payload.command`. Run what
 * `verdict.request.args` holds, not the event's payload: it is the frozen copy that was
 * decided and recorded, which a later change to the event cannot reach.
 */

import { validateRequest } from '../core/request.js';
import type { Risk } from '../core/risk.js';
import type { ActionRequest, Decision, Effect } from '../core/types.js';
import { createGateway, type Gateway, type GatewayOptions } from './index.js';

export interface ActionEventFields {
  actor: string;
  action: string;
  resource: string;
  environment?: string;
  risk?: Risk;
  payload?: Record<string, unknown>;
  /** The actor's groups, when the policy names groups. */
  groups?: string[];
  traceId?: string;
}

export const ActionEvent = {
  /** Builds the action request for a CapFence-style event. */
  create(fields: ActionEventFields): ActionRequest {
    const request: ActionRequest = {
      principal: { id: fields.actor, groups: fields.groups ?? [] },
      action: `${fields.resource}.${fields.action}`,
      resource: fields.resource,
      args: fields.payload ?? {},
    };
    if (fields.environment !== undefined) request.environment = fields.environment;
    if (fields.risk !== undefined) request.risk = fields.risk;
    if (fields.traceId !== undefined) request.traceId = fields.traceId;
    return request;
  },
};

export interface Verdict {
  authorized: boolean;
  decision: Effect;
  reason: string;
  /** The full, explained decision. */
  details: Decision;
  /** The frozen copy of the event that was decided; absent when the event was invalid. */
  request?: ActionRequest;
}

export class ActionRuntime {
  readonly gateway: Gateway;

  private constructor(gateway: Gateway) {
    this.gateway = gateway;
  }

  /** Loads a policy file or directory (any supported format). Rejects when it does not load. */
  static async fromPolicy(path: string | string[], options: Omit<GatewayOptions, 'policies'> = {}): Promise<ActionRuntime> {
    return new ActionRuntime(await createGateway({ surface: 'library', ...options, policies: Array.isArray(path) ? path : [path] }));
  }

  /** Decides an event; `authorized` is true only for `allow`. */
  async execute(event: ActionRequest): Promise<Verdict> {
    // Decide on the validated copy (decide() takes it as it is) and hand that copy back.
    const checked = validateRequest(event);
    const details = await this.gateway.decide(checked.ok ? checked.value : event);
    const verdict: Verdict = { authorized: details.decision === 'allow', decision: details.decision, reason: details.reason, details };
    if (checked.ok) verdict.request = checked.value;
    return verdict;
  }

  close(): Promise<void> {
    return this.gateway.close();
  }
}
