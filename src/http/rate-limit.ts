/**
 * @module http/rate-limit — the pipeline stage after authorize on the inference routes: the
 * caller's budgets (its client's own limits when the operator set some, else its roles' merged
 * limits) are checked for its subject and its client. Admission takes one request and a
 * concurrency lease; the inference service reserves the prompt's tokens plus `max_tokens` once
 * the prompt is counted; when the response ends — finished, failed or abandoned by the client —
 * what was not spent is refunded and the lease ends. A refusal is 429 with `Retry-After` and
 * the IETF `RateLimit-Policy` / `RateLimit` fields, and its audit event names the limit. A caller
 * nothing limits costs one Map lookup and no backend call.
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { ClientLimitsCache, VerifiedToken } from '../auth/index.js';
import type { LimitsSpec, Policy } from '../policy/index.js';
import {
  RateLimitExceededError,
  rateLimitHeaders,
  type Admission,
  type RateLimiter,
  type Refusal,
} from '../ratelimit/index.js';
import { pathOnly } from './access-log.js';

/**
 * The limiter's error for a refusal, recording the limit on the request's audit event. `needs`:
 * the tokens a refused reservation asked for (more than a budget holds: no retry can help).
 */
function refusalError(request: FastifyRequest, refusal: Refusal, needs?: number): Error {
  if (refusal.kind === 'unavailable') return refusal.error;
  const { denied } = refusal;
  request.server.metrics?.rateLimited(denied.limit);
  request.audit = {
    ...request.audit,
    details: {
      method: request.method,
      path: pathOnly(request.url),
      rateLimit: {
        limit: denied.limit,
        identity: denied.identity.kind,
        model: denied.model,
        capacity: denied.capacity,
      },
    },
  };
  const never = needs !== undefined && needs > denied.capacity;
  return new RateLimitExceededError(
    denied,
    refusal.retryAfterMs,
    refusal.states,
    never ? needs : undefined,
  );
}

/**
 * One admitted request's budgets: the inference service reserves tokens through it and reports
 * what it spent; settled once the response is over and no reservation is outstanding.
 */
export class RequestLimit {
  readonly #limiter: RateLimiter;
  readonly #admission: Admission;
  readonly #request: FastifyRequest;
  readonly #reply: FastifyReply;
  #outstanding = 0;
  #spent = 0;
  #closed = false;
  #settled = false;

  constructor(
    limiter: RateLimiter,
    admission: Admission,
    request: FastifyRequest,
    reply: FastifyReply,
  ) {
    this.#limiter = limiter;
    this.#admission = admission;
    this.#request = request;
    this.#reply = reply;
  }

  /** Reserves `tokens` (429 when a token budget is short: nothing runs then). */
  async reserve(tokens: number): Promise<void> {
    if (this.#settled) return;
    const r = await this.#limiter.reserve(this.#admission, tokens);
    if (!r.ok) throw refusalError(this.#request, r, tokens);
    this.#outstanding += 1;
    this.#headers();
  }

  /** What the model spent on one reservation; settles when the response is already over. */
  spent(tokens: number): void {
    this.#spent += tokens;
    this.#outstanding = Math.max(0, this.#outstanding - 1);
    this.#settleIfDone();
  }

  /** The response is over (sent, failed or the client went away). */
  closed(): void {
    this.#closed = true;
    this.#settleIfDone();
  }

  #settleIfDone(): void {
    if (this.#settled || !this.#closed || this.#outstanding > 0) return;
    this.#settled = true;
    // Never rejects: a backend failure is logged by the limiter, and leases expire anyway.
    void this.#limiter.settle(this.#admission, this.#spent);
  }

  /** The RateLimit fields on the response, while its head is not sent yet. */
  #headers(): void {
    if (this.#reply.sent || this.#reply.raw.headersSent) return;
    if (this.#admission.states.length === 0) return;
    void this.#reply.headers(rateLimitHeaders(this.#admission.states));
  }

  /** Sets the fields after admission. */
  admitted(): void {
    this.#headers();
  }
}

/** Whether a set of limits sets any budget at all. */
function limitsAnything(limits: LimitsSpec): boolean {
  return (
    limits.requestsPerMinute !== undefined ||
    limits.tokensPerMinute !== undefined ||
    limits.tokensPerDay !== undefined ||
    limits.concurrentRequests !== undefined ||
    Object.keys(limits.models).length > 0
  );
}

/** What the stage needs. */
export interface RateLimitDeps {
  limiter: RateLimiter;
  policy: Policy;
  /** Clients' own limits (they replace the roles' limits for that client's tokens). */
  clientLimits: ClientLimitsCache;
}

/** The model a limited route's request is for: its policy resource `model:<id>`. */
function modelOf(request: FastifyRequest): string | undefined {
  const resource = request.decision?.resource;
  return resource?.startsWith('model:') === true ? resource.slice('model:'.length) : undefined;
}

/**
 * The client whose budgets a token counts on: its `client_id`, or — for a token that names none
 * (an external issuer's) — its issuer, so such tokens share one client budget per issuer.
 */
export function clientOf(identity: VerifiedToken): string {
  const id = identity.clientId ?? `issuer:${identity.issuer}`;
  return identity.own ? id : `${identity.issuer}|${id}`;
}

/** The subject whose budgets a token counts on: subjects of different issuers are different. */
export function subjectOf(identity: VerifiedToken): string {
  return identity.own ? identity.subject : `${identity.issuer}|${identity.subject}`;
}

/** The limits of the request's caller: its client's own when set, else its roles'. */
export function callerLimits(
  request: FastifyRequest,
  deps: RateLimitDeps,
): LimitsSpec | Promise<LimitsSpec> {
  const identity = request.identity;
  if (identity === undefined) return deps.policy.current().rateLimits([]);
  // Only our own tokens name our clients: an external issuer's `client_id` could be anything.
  const own =
    !identity.own || identity.clientId === undefined
      ? null
      : deps.clientLimits.get(identity.clientId);
  const pick = (l: LimitsSpec | null): LimitsSpec =>
    l ?? deps.policy.current().rateLimits(identity.roles);
  return own instanceof Promise ? own.then(pick) : pick(own);
}

/** Builds the preHandler of the limited routes. */
export function rateLimiter(deps: RateLimitDeps) {
  const admit = async (
    request: FastifyRequest,
    reply: FastifyReply,
    limits: LimitsSpec,
    model: string,
  ): Promise<void> => {
    const identity = request.identity;
    if (identity === undefined) return;
    const r = await deps.limiter.admit({
      sub: subjectOf(identity),
      clientId: clientOf(identity),
      model,
      limits,
    });
    if (!r.ok) throw refusalError(request, r);
    if (r.admission.budgets.length === 0) return;
    const limit = new RequestLimit(deps.limiter, r.admission, request, reply);
    request.rateLimit = limit;
    limit.admitted();
    // Over when the response is written out or the connection goes away, whichever is first.
    reply.raw.once('close', () => {
      limit.closed();
    });
  };

  return function rateLimit(
    request: FastifyRequest,
    reply: FastifyReply,
    done: HookHandlerDoneFunction,
  ): void {
    const model = modelOf(request);
    if (model === undefined || request.identity === undefined) {
      done();
      return;
    }
    let limits: LimitsSpec | Promise<LimitsSpec>;
    try {
      limits = callerLimits(request, deps);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (!(limits instanceof Promise) && !limitsAnything(limits)) {
      done();
      return;
    }
    Promise.resolve(limits)
      .then((l) => (limitsAnything(l) ? admit(request, reply, l, model) : undefined))
      .then(
        () => {
          done();
        },
        (err: unknown) => {
          done(err as Error);
        },
      );
  };
}
