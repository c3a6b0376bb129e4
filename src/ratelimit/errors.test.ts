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

  it('a budget that ran out is a 429 naming the budget, with Retry-After and the RateLimit fields', () => {
    const budget = {
      limit: 'requests-per-minute',
      identity: { kind: 'sub', id: 'alice@example.com' },
      model: '*',
      capacity: 3,
      windowMs: 60_000,
      key: 'k',
    } as const;
    const state: BudgetState = { budget, remaining: 0, resetMs: 20_000 };
    const err = new RateLimitExceededError(budget, 19_500, [state]);
    expect(err).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', statusCode: 429, retryAfter: 20 });
    expect(err.headers).toEqual({
      'ratelimit-policy': '"rpm-sub";q=3;w=60',
      ratelimit: '"rpm-sub";r=0;t=20',
    });
    expect(err.message).toBe(
      'Rate limit reached: 3 requests per minute for your identity on all models; retry in 20s',
    );
    expect(err.message).not.toContain('alice');
  });

  it('names a client budget on one model, and a reservation that can never fit', () => {
    const budget = {
      limit: 'tokens-per-minute',
      identity: { kind: 'client', id: 'gh_x' },
      model: 'chat',
      capacity: 40,
      windowMs: 60_000,
      key: 'k',
    } as const;
    const err = new RateLimitExceededError(budget, 60_000, [], 103);
    expect(err.retryAfter).toBeUndefined();
    expect(err.message).toBe(
      "Rate limit reached: 40 tokens per minute for your client on model 'chat'; this request " +
        'needs 103 tokens (prompt + max_tokens), more than the budget holds: lower max_tokens',
    );
  });
});
