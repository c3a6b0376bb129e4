/** @module ratelimit/errors.test — what the HTTP error mapper reads off the limiter's errors. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { LimiterUnavailableError, RateLimitExceededError } from './errors.js';
import type { BudgetState } from './types.js';

describe('limiter errors', () => {
  it('a limiter that cannot answer is a public 503 with Retry-After: 2, its cause kept for the log', () => {
    const cause = new Error('connect ECONNREFUSED 10.0.0.7:6379');
    const err = new LimiterUnavailableError({ cause });
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({
      code: 'RATE_LIMIT_UNAVAILABLE',
      statusCode: 503,
      expose: true,
      headers: { 'retry-after': '2' },
      message: 'Rate limiting is unavailable; retry shortly',
    });
    expect(err.cause).toBe(cause);
    expect(err.message).not.toContain('10.0.0.7');
  });

  it('a budget that ran out is a 429 naming the limit, with Retry-After and the RateLimit fields', () => {
    const state: BudgetState = {
      budget: {
        limit: 'requests-per-minute',
        identity: { kind: 'sub', id: 'alice@example.com' },
        model: '*',
        capacity: 3,
        windowMs: 60_000,
        key: 'k',
      },
      remaining: 0,
      resetMs: 20_000,
    };
    const err = new RateLimitExceededError('requests-per-minute', 19_500, [state]);
    expect(err).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', statusCode: 429, retryAfter: 20 });
    expect(err.headers).toEqual({
      'ratelimit-policy': '"rpm-sub";q=3;w=60',
      ratelimit: '"rpm-sub";r=0;t=20',
    });
    expect(err.message).toContain('requests-per-minute');
    expect(err.message).not.toContain('alice');
  });
});
