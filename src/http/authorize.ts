/**
 * @module http/authorize — the pipeline stage after authenticate: asks the policy in force
 * whether the caller may do what the route does (its `config.scope`, on its `config.resource`).
 * The decision is set on the request for the audit stage, allowed or not; a denial answers 403
 * `insufficient_scope` naming the route's scope (RFC 6750 §3.1) — the reason stays in the log
 * and the audit trail. Synchronous: no promise per request.
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Policy, RequestDecision } from '../policy/index.js';
import { InsufficientScopeError, MissingTokenError } from './errors.js';

/** How a route names what a request acts on. */
export type ResourceOf = (request: FastifyRequest) => string | undefined;

/**
 * Builds the preHandler that authorizes a route requiring `scope` (a list: any one of them), on
 * the resource `resourceOf` reads from the request.
 */
export function authorizer(
  policy: Policy,
  scope: string | readonly string[],
  resourceOf: ResourceOf | undefined,
) {
  const actions: readonly string[] = typeof scope === 'string' ? [scope] : [...scope];
  if (actions.length === 0) throw new Error('a protected route needs at least one scope');
  // RFC 6750 §3: the scope attribute is a space-delimited list.
  const challenge = actions.join(' ');

  const decideAny = (request: FastifyRequest, resource: string | undefined): RequestDecision => {
    const identity = request.identity;
    if (identity === undefined) throw new MissingTokenError();
    const snapshot = policy.current();
    // An external token without a scope claim gets what its roles grant (DESIGN.md), now.
    const scopes = identity.unscoped ? snapshot.grantedScopes(identity.roles) : identity.scopes;
    const reasons: string[] = [];
    for (const action of actions) {
      const d = snapshot.decide({ roles: identity.roles, scopes, action, resource });
      if (d.allowed || actions.length === 1) return d;
      reasons.push(d.reason);
    }
    return { allowed: false, reason: reasons.join('; '), action: challenge, resource };
  };

  return function authorize(
    request: FastifyRequest,
    _reply: FastifyReply,
    done: HookHandlerDoneFunction,
  ): void {
    let decision: RequestDecision;
    try {
      decision = decideAny(request, resourceOf?.(request));
    } catch (err) {
      done(err as Error);
      return;
    }
    request.decision = decision;
    if (!decision.allowed) {
      request.server.metrics?.policyDenied(challenge); // metrics
      // The reason is logged by the error handler, never sent.
      done(new InsufficientScopeError(challenge));
      return;
    }
    done();
  };
}
