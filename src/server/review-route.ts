/**
 * `POST /review-change`: the ZYX seed's endpoint, answered as the seed answers it (FastAPI's
 * `{"detail": …}` bodies). The caller is authenticated before the body is read, by the same
 * authenticator as every `/v1/*` route: a verified bearer credential, or in development mode
 * the seed's headers (`x-user-email`, `x-user-groups`, `x-device-compliant`). A caller who
 * cannot be named gets the seed's 401 `missing user identity`; a credential that does not
 * verify, 401 with its reason.
 */

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../identity/index.js';
import type { Principal } from '../core/types.js';
import { REVIEW_MESSAGES, type ChangeReview } from '../review/index.js';

export interface ReviewRoute {
  onRequest(request: FastifyRequest, reply: FastifyReply): Promise<unknown>;
  handler(request: FastifyRequest, reply: FastifyReply): Promise<unknown>;
}

/**
 * @example const r = reviewRoute(review, identity); app.route({ method: 'POST', url: '/review-change', onRequest: r.onRequest, handler: r.handler });
 */
export function reviewRoute(review: ChangeReview, identity: Authenticator): ReviewRoute {
  const principals = new WeakMap<FastifyRequest, Principal>();
  return {
    async onRequest(request, reply) {
      const caller = await identity.authenticate({ route: '/review-change', headers: request.headers });
      if (!caller.ok) {
        const first = caller.errors[0];
        if (first?.code === 'REQUEST_INVALID') return reply.code(400).send({ detail: first.message });
        // No credential at all is the seed's 401; a credential that fails says why.
        const detail = first === undefined || first.code === 'IDENTITY_MISSING' ? REVIEW_MESSAGES.missingIdentity : first.message;
        return reply
          .code(401)
          .header('www-authenticate', first?.code === 'IDENTITY_MISSING' || first === undefined ? 'Bearer realm="bastion"' : 'Bearer realm="bastion", error="invalid_token"')
          .send({ detail });
      }
      // INVARIANT: the review runs for the principal the credential (or, in development
      // mode, the identity headers) named; the body cannot name one.
      const principal = caller.value.principal;
      if (principal === undefined) return reply.code(401).header('www-authenticate', 'Bearer realm="bastion"').send({ detail: REVIEW_MESSAGES.missingIdentity });
      principals.set(request, principal);
      return undefined;
    },
    async handler(request, reply) {
      const principal = principals.get(request);
      if (principal === undefined) return reply.code(401).send({ detail: REVIEW_MESSAGES.missingIdentity });
      const outcome = await review.run(principal, request.body ?? null);
      return reply.code(outcome.status).send(outcome.body);
    },
  };
}
