/** @module ratelimit/errors — a budget that ran out (429), and a limiter that cannot answer (503). */
import { GatewayError } from '../errors.js';
import { rateLimitHeaders, retryAfterSeconds, type RateLimitFields } from './headers.js';
import type { Budget, BudgetState, LimitName } from './types.js';

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

const UNIT: Readonly<Record<LimitName, string>> = {
  'requests-per-minute': 'requests per minute',
  'tokens-per-minute': 'tokens per minute',
  'tokens-per-day': 'tokens per day',
  'concurrent-requests': 'concurrent requests',
};

/** The budget in words: `3 requests per minute for your identity on all models`. */
export function budgetWords(budget: Budget): string {
  const who = budget.identity.kind === 'sub' ? 'your identity' : 'your client';
  const on = budget.model === '*' ? 'all models' : `model '${budget.model}'`;
  return `${String(budget.capacity)} ${UNIT[budget.limit]} for ${who} on ${on}`;
}

/**
 * A budget ran out: 429 with `Retry-After` and the RateLimit fields of the check. The message
 * names the budget (its value, whether the subject's or the client's, which models) but never
 * the identity itself. `needs` (a token reservation larger than the budget could ever hold)
 * says so instead of a retry time that could never help.
 */
export class RateLimitExceededError extends GatewayError {
  readonly budget: Budget;
  /** Seconds until the budget could take the request again (absent: it never can). */
  readonly retryAfter: number | undefined;
  /** `RateLimit-Policy` and `RateLimit`, merged into the response by the HTTP error mapper. */
  readonly headers: RateLimitFields;

  constructor(
    budget: Budget,
    retryAfterMs: number,
    states: readonly BudgetState[],
    needs?: number,
  ) {
    const retryAfter = needs === undefined ? retryAfterSeconds(retryAfterMs) : undefined;
    super(
      'RATE_LIMIT_EXCEEDED',
      retryAfter === undefined
        ? `Rate limit reached: ${budgetWords(budget)}; this request needs ${String(needs)} ` +
            'tokens (prompt + max_tokens), more than the budget holds: lower max_tokens'
        : `Rate limit reached: ${budgetWords(budget)}; retry in ${String(retryAfter)}s`,
      429,
    );
    this.budget = budget;
    this.retryAfter = retryAfter;
    this.headers = rateLimitHeaders(states);
  }
}
