/**
 * A test authenticator: `Authorization: Bearer <token>` names a principal from a fixed map,
 * verified as a real authenticator would (any other request is a 401). Tests that need an
 * identity use this one place, so swapping it for real JWTs later is one change.
 */

import { bastionError } from '../../src/core/errors.js';
import { fail, ok } from '../../src/core/result.js';
import type { Principal } from '../../src/core/types.js';
import type { Authenticator } from '../../src/identity/index.js';

export function tokenIdentity(map: Record<string, Principal>): Authenticator {
  return {
    mode: 'production',
    async authenticate({ route, headers }) {
      const header = headers['authorization'];
      const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
      const principal = token === undefined ? undefined : map[token];
      if (principal === undefined) return fail(bastionError('IDENTITY_MISSING', `${route}: no valid bearer token`));
      return ok({ verified: true, label: `token:${principal.id}`, method: 'api_key' as const, principal: structuredClone(principal) });
    },
  };
}
