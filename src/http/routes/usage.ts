/**
 * @module http/routes/usage — `GET /v1/usage` (scope `usage:read`): the caller's own budgets as
 * the limiter counts them now, for its subject and its client — each limit's value, what is
 * left, its window and when it is full again. Reading charges nothing.
 */
import type { FastifyInstance } from 'fastify';
import type { InferenceService } from '../../inference/index.js';
import { MissingTokenError } from '../errors.js';
import { callerLimits, clientOf, subjectOf, type RateLimitDeps } from '../rate-limit.js';

export function usageRoutes(
  app: FastifyInstance,
  deps: RateLimitDeps,
  inference: InferenceService,
): void {
  app.get('/v1/usage', { config: { scope: 'usage:read' } }, async (request) => {
    const identity = request.identity;
    if (identity === undefined) throw new MissingTokenError();
    const limits = await callerLimits(request, deps);
    const states = await deps.limiter.usage({
      sub: subjectOf(identity),
      clientId: clientOf(identity),
      limits,
      // A per-model pattern is listed for each served model it matches.
      models: [...inference.models().map((m) => m.config.id), ...inference.classifierNames],
    });
    return {
      object: 'list',
      data: states.map(({ budget, remaining, resetMs }) => ({
        limit: budget.limit,
        identity: budget.identity.kind,
        model: budget.model,
        limit_value: budget.capacity,
        remaining,
        window_seconds: budget.windowMs / 1000,
        reset_seconds: Math.ceil(resetMs / 1000),
      })),
    };
  });
}
