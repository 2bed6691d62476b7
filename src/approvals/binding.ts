/**
 * The binding of an approval to one exact call: a SHA-256 over the RFC 8785 canonical JSON
 * of who asked, what, on what, where, with which arguments and context, under which policy
 * version. An approved `restart web-1` cannot be replayed as `restart db-1`, by another
 * principal, or after the policies changed. The trace id is left out: a retry carries a new
 * one. So is `context.source_ip`, where the call came from (the service sets it from the
 * connection): a retry may come through another front or from a restarted pod. Key order and
 * `undefined` members do not change the hash; any other value does.
 */

import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';
import { bastionError, type BastionError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import type { ActionRequest } from '../core/types.js';

/** What an approval is bound to. */
export interface ApprovalBinding {
  principalId: string;
  action: string;
  resource?: string;
  environment?: string;
  args: Record<string, unknown>;
  context: Record<string, unknown>;
  policyVersion: string;
}

/** The binding of a request under a policy version (absent args and context count as `{}`). */
export function approvalBinding(request: ActionRequest, policyVersion: string): ApprovalBinding {
  return {
    principalId: request.principal.id,
    action: request.action,
    ...(request.resource === undefined ? {} : { resource: request.resource }),
    ...(request.environment === undefined ? {} : { environment: request.environment }),
    args: request.args ?? {},
    context: withoutSource(request.context),
    policyVersion,
  };
}

/** The part of a context an approval is bound to: all of it but the caller's address (see the module comment). */
export function withoutSource(context: Record<string, unknown> | undefined): Record<string, unknown> {
  if (context === undefined) return {};
  if (!Object.hasOwn(context, 'source_ip')) return context;
  const { source_ip: _left, ...rest } = context;
  return rest;
}

// Bumped if what the hash covers ever changes, so old and new hashes never collide.
const BINDING_FORMAT = 'bastion.approval-binding/1';

/**
 * The binding hash (64 lowercase hex digits) of a binding; fails when the arguments or
 * context hold something JSON cannot carry.
 *
 * @example
 * approvalBindingHash(approvalBinding(request, set.version)) // { ok: true, value: '3f1c…' }
 */
export function approvalBindingHash(binding: ApprovalBinding): Result<string, BastionError> {
  const text = canonicalJson({
    format: BINDING_FORMAT,
    principal: binding.principalId,
    action: binding.action,
    resource: binding.resource ?? null,
    environment: binding.environment ?? null,
    args: binding.args,
    context: binding.context,
    policyVersion: binding.policyVersion,
  });
  if (!text.ok) return { ok: false, errors: text.errors.map((e) => bastionError('REQUEST_INVALID', `cannot bind an approval to this call: ${e.path.replace(/^\$\./, '')}: ${e.message}`)) };
  return { ok: true, value: createHash('sha256').update(text.value, 'utf8').digest('hex') };
}
