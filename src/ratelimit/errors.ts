/** @module ratelimit/errors — a budget that ran out (429), and a limiter that cannot answer (503). */
import { GatewayError } from '../errors.js';
import { rateLimitHeaders, retryAfterSeconds, type RateLimitFields } from './headers.js';
import type { BudgetState, LimitName } from './types.js';

/**
 * The rate limiter cannot answer (Redis down, or slower than `ratelimit.timeoutMs`). With
 * `ratelimit.failOpen: false` (the default) the request is refused with 503 and `Retry-After: 2`
 * rather than served unlimited. The cause (the driver's error) is for the log only.
 */
export class LimiterUnavailableError extends GatewayError {
  /** The message names no host, key or identity: safe to show despite the 5xx status. */
  override readonly expose = true;
  /** Merged into the response by the HTTP error mapper. */
  readonly headers: Readonly<Record<string, string>> = Object.freeze({ 'retry-after': '2' });

  constructor(options?: ErrorOptions) {
    super('RATE_LIMIT_UNAVAILABLE', 'Rate limiting is unavailable; retry shortly', 503, options);
  }
}

/**
 * A budget ran out: 429 with `Retry-After` and the RateLimit fields of the check. Names the
 * limit (`requests-per-minute`, …) but never the identity.
 */
export class RateLimitExceededError extends GatewayError {
  readonly limit: LimitName;
  /** Seconds until the budget could take the request again. */
  readonly retryAfter: number;
  /** `RateLimit-Policy` and `RateLimit`, merged into the response by the HTTP error mapper. */
  readonly headers: RateLimitFields;

  constructor(limit: LimitName, retryAfterMs: number, states: readonly BudgetState[]) {
    super('RATE_LIMIT_EXCEEDED', `Rate limit reached (${limit}); retry later`, 429);
    this.limit = limit;
    this.retryAfter = retryAfterSeconds(retryAfterMs);
    this.headers = rateLimitHeaders(states);
  }
}
