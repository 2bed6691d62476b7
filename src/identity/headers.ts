/**
 * Identity and request context from headers, for development mode only: the principal named
 * by `x-bastion-principal-id` (or the seeds' `X-ControlZero-User-ID`, `x-user-email`), its
 * groups, its device posture; and, in every mode, the environment and the declared danger
 * level a client sends as headers (Control Zero style), which fill the request where its body
 * says nothing. Headers are caller-controlled: they never name a principal in production.
 *
 * Ambiguity is refused, never resolved by guessing: two identity headers that disagree, a
 * header sent twice with different values, groups without an id, a posture other than
 * true/false, a danger level that is not a risk.
 */

import { bastionError, quote, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';
import { isRisk, type Risk } from '../core/risk.js';
import type { Principal } from '../core/types.js';
import type { IdentityHeaders } from './config.js';

type Headers = Record<string, string | string[] | undefined>;

const headerError = (name: string, message: string): BastionError => bastionError('REQUEST_INVALID', `header ${quote(name)}: ${message}`, { field: `headers.${name}` });

/** The one value of the first header in `names` that is present; an error when they disagree. */
function single(headers: Headers, names: readonly string[]): Result<{ name: string; value: string } | undefined, BastionError> {
  let found: { name: string; value: string } | undefined;
  for (const name of names) {
    const raw = headers[name];
    if (raw === undefined) continue;
    const values = [...new Set((Array.isArray(raw) ? raw : [raw]).map((v) => v.trim()))];
    if (values.length > 1) return fail(headerError(name, 'is sent more than once with different values'));
    const value = values[0] ?? '';
    if (found !== undefined && found.value !== value) return fail(headerError(name, `disagrees with header ${quote(found.name)}`));
    found ??= { name, value };
  }
  return ok(found);
}

/**
 * The development-mode principal the headers name; undefined when no identity header is
 * present (the body's principal is then used).
 *
 * @example principalFromHeaders({ 'x-user-email': 'e@x', 'x-user-groups': 'a,b' }, headers) // ok({ id: 'e@x', groups: ['a', 'b'] })
 */
export function principalFromHeaders(headers: Headers, names: IdentityHeaders): Result<Principal | undefined, BastionError> {
  const id = single(headers, names.id);
  if (!id.ok) return id;
  const groups = single(headers, names.groups);
  if (!groups.ok) return groups;
  const device = single(headers, names.deviceCompliant);
  if (!device.ok) return device;
  if (id.value === undefined) {
    const stray = groups.value ?? device.value;
    if (stray !== undefined) return fail(headerError(stray.name, `is sent without an id header (${names.id.join(', ')})`));
    return ok(undefined);
  }
  if (id.value.value === '') return fail(headerError(id.value.name, 'is empty'));
  const principal: Principal = { id: id.value.value, groups: [...new Set((groups.value?.value ?? '').split(/[\s,]+/).filter((g) => g !== ''))] };
  if (device.value !== undefined) {
    const v = device.value.value.toLowerCase();
    if (v !== 'true' && v !== 'false') return fail(headerError(device.value.name, `must be \`true\` or \`false\`, got ${quote(device.value.value)}`));
    principal.deviceCompliant = v === 'true';
  }
  return ok(principal);
}

/** What the context headers (and the connection) add to a request. */
export interface HeaderContext {
  environment?: string;
  /** Goes to `context.danger_level`: a declared risk raises the effective risk, never lowers it. */
  dangerLevel?: Risk;
  /**
   * The caller's address as the service sees it (the socket's peer, or the address a trusted
   * front forwarded: `server.trustProxy`). Goes to `context.source_ip`, replacing a value the
   * body claims: the caller does not get to say where it calls from.
   */
  sourceIp?: string;
}

/**
 * The environment and danger level the headers carry, and the caller's address when given.
 *
 * @example contextFromHeaders({ 'x-controlzero-danger-level': 'critical' }, headers) // ok({ dangerLevel: 'critical' })
 */
export function contextFromHeaders(headers: Headers, names: IdentityHeaders, sourceIp?: string): Result<HeaderContext, BastionError> {
  const environment = single(headers, names.environment);
  if (!environment.ok) return environment;
  const danger = single(headers, names.dangerLevel);
  if (!danger.ok) return danger;
  const out: HeaderContext = {};
  if (environment.value !== undefined) {
    if (environment.value.value === '') return fail(headerError(environment.value.name, 'is empty'));
    out.environment = environment.value.value;
  }
  if (danger.value !== undefined) {
    const level = danger.value.value.toLowerCase();
    if (!isRisk(level)) return fail(headerError(danger.value.name, `unknown risk ${quote(danger.value.value)} (expected low, medium, high or critical)`));
    out.dangerLevel = level;
  }
  if (sourceIp !== undefined && sourceIp !== '') out.sourceIp = sourceIp;
  return ok(out);
}

/**
 * A request body with the verified principal and the header context applied: the principal
 * replaces whatever the body says (in production a body's principal is overwritten, never
 * read), and so does the caller's address (`context.source_ip`); the environment and danger
 * level fill only what the body leaves out. A body that is
 * not an object is returned as it is, for the request validator to refuse.
 */
export function applyIdentity(body: unknown, principal: Principal | undefined, context: HeaderContext): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const out: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  if (principal !== undefined) out['principal'] = principal;
  if (context.environment !== undefined && out['environment'] === undefined) out['environment'] = context.environment;
  const given = out['context'];
  // A context that is not a mapping stays as it is, for the request validator to refuse.
  if (given === undefined || (typeof given === 'object' && given !== null && !Array.isArray(given))) {
    const merged: Record<string, unknown> = { ...((given ?? {}) as Record<string, unknown>) };
    if (context.dangerLevel !== undefined && merged['danger_level'] === undefined) merged['danger_level'] = context.dangerLevel;
    if (context.sourceIp !== undefined) merged['source_ip'] = context.sourceIp;
    if (given !== undefined || Object.keys(merged).length > 0) out['context'] = merged;
  }
  return out;
}
