/**
 * A tiny authenticator for tests that drive the real server: `Authorization: Bearer <token>`
 * names one of the principals of the map; anything else is `IDENTITY_MISSING` (401). Pass it
 * as `createBastionApp({ identity })` or `buildServer(gateway, { identity })`.
 */

import { bastionError } from '../../src/core/errors.js';
import { fail, ok } from '../../src/core/result.js';
import type { Principal } from '../../src/core/types.js';
import type { Authenticator } from '../../src/identity/index.js';

/**
 * @example const identity = tokenIdentity({ 'admin-token': { id: 'alice', groups: ['bastion-admins'] } });
 */
export function tokenIdentity(map: Record<string, Principal>): Authenticator {
  return {
    mode: 'production',
    async authenticate({ route, headers }) {
      const header = headers['authorization'];
      const value = Array.isArray(header) ? header[0] : header;
      const token = value?.startsWith('Bearer ') ? value.slice(7) : undefined;
      const principal = token !== undefined && Object.hasOwn(map, token) ? map[token] : undefined;
      if (principal === undefined) return fail(bastionError('IDENTITY_MISSING', `${route}: no valid bearer token (test identity)`));
      return ok({ verified: true, label: principal.id, method: 'api_key' as const, principal: { ...principal, groups: [...principal.groups] } });
    },
  };
}
