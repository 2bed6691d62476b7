/**
 * From a verified token's claims to a principal: the claim mapping reads the id, the groups
 * and the device posture at the configured paths. A claim whose name itself holds dots (a
 * namespaced claim such as `https://example.com/groups`) is found before the dotted path is
 * walked. A claim of the wrong type refuses the token: a principal is never guessed.
 */

import { bastionError, quote, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';
import { isPlainObject } from '../core/schema.js';
import type { Principal } from '../core/types.js';
import type { ClaimMapping } from './config.js';

/**
 * The claim at `path`: the member of that exact name, else the dotted path walked through
 * nested objects. Undefined when absent.
 *
 * @example claimAt({ realm_access: { roles: ['sre'] } }, 'realm_access.roles') // ['sre']
 */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let current: unknown = claims;
  for (const part of path.split('.')) {
    if (!isPlainObject(current) || !Object.hasOwn(current, part)) return undefined;
    current = current[part];
  }
  return current;
}

const invalid = (message: string): BastionError => bastionError('IDENTITY_INVALID', `bearer token: ${message}`, { reason: 'claims_invalid' });

/**
 * Groups as a list of names: a JSON list of strings, or one string of names separated by
 * spaces or commas (as some identity providers send `scope`-like claims). Absent is none.
 */
export function groupsOf(value: unknown, path: string): Result<string[], BastionError> {
  if (value === undefined || value === null) return ok([]);
  if (typeof value === 'string') return ok([...new Set(value.split(/[\s,]+/).filter((g) => g !== ''))]);
  if (Array.isArray(value) && value.every((g) => typeof g === 'string' && g !== '')) return ok([...new Set(value as string[])]);
  return fail(invalid(`claim ${quote(path)} (the groups) must be a list of names or a string of names separated by spaces or commas`));
}

/**
 * The principal the claims name, under the mapping.
 *
 * @example principalFromClaims({ sub: 'alice', groups: 'sre ops' }, DEFAULT_CLAIMS) // ok({ id: 'alice', groups: ['sre', 'ops'] })
 */
export function principalFromClaims(claims: Record<string, unknown>, mapping: ClaimMapping): Result<Principal, BastionError> {
  const id = claimAt(claims, mapping.id);
  if (id === undefined) return fail(invalid(`lacks claim ${quote(mapping.id)}, the principal id`));
  if (typeof id !== 'string' || id.trim() === '') return fail(invalid(`claim ${quote(mapping.id)} (the principal id) must be a non-empty string`));
  const groups = groupsOf(claimAt(claims, mapping.groups), mapping.groups);
  if (!groups.ok) return groups;
  const principal: Principal = { id, groups: groups.value };
  const device = claimAt(claims, mapping.deviceCompliant);
  if (device !== undefined && device !== null) {
    if (typeof device !== 'boolean') return fail(invalid(`claim ${quote(mapping.deviceCompliant)} (device compliance) must be true or false`));
    principal.deviceCompliant = device;
  }
  if (mapping.attributes !== undefined) {
    const attributes: Record<string, unknown> = {};
    for (const [name, path] of Object.entries(mapping.attributes)) {
      const value = claimAt(claims, path);
      if (value !== undefined) attributes[name] = value;
    }
    if (Object.keys(attributes).length > 0) principal.attributes = attributes;
  }
  return ok(principal);
}
