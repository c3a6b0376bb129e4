/** @module http/types — request decorations added by the pipeline. */
import type { VerifiedToken } from '../auth/index.js';
import type { RequestDecision } from '../policy/index.js';
import type { AccessLogger } from './access-log.js';
import type { AuditFacts } from './audit-facts.js';
import type { AuditStage } from './audit-stage.js';
import type { Guards } from '../guard/index.js';
import type { Metrics } from '../metrics/index.js';
import type { RequestLimit } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller, set by the authenticate hook on protected routes. */
    identity?: VerifiedToken;
    /** Whether the request used the DPoP scheme (changes the challenge scheme). */
    dpopUsed?: boolean;
    /**
     * The policy decision on this request (set by the authorize stage, also when it denies), for
     * the audit stage: the action (scope), the resource and the reason.
     */
    decision?: RequestDecision;
    /** What the route adds to the request's audit event. */
    audit?: AuditFacts;
    /** Why the request was refused (a stable code), set by the error handler for the audit. */
    auditReason?: string;
    /** The caller's budgets for this request, when any applies (set by the rate-limit stage). */
    rateLimit?: RequestLimit;
  }
  interface FastifyInstance {
    /** The access log, when `log.access` is on (also called for a client that went away). */
    accessLog?: AccessLogger;
    /** The audit stage (streamed responses record through it themselves). */
    auditStage: AuditStage | undefined;
    /** The content guards (undefined in apps built without them). */
    guards: Guards | undefined;
    /** The server's Prometheus metrics. */
    metrics: Metrics | undefined;
  }
  interface FastifyContextConfig {
    /**
     * Scope a protected route requires (a list: any one of them); routes without it are public.
     * The authorize stage asks the policy for it.
     */
    scope?: string | readonly string[];
    /**
     * The resource the request acts on (`model:<id>`, `dataset:<name>`), read from the
     * validated request; the policy's patterns must match it. Absent: no particular resource.
     */
    resource?: (request: FastifyRequest) => string | undefined;
    /** Audit every response of this route although it has no scope (the OAuth endpoints). */
    audit?: boolean;
    /**
     * The caller's rate limits and token quotas apply (the inference routes): checked after
     * authorize, for the model of the route's resource.
     */
    limited?: boolean;
  }
}
