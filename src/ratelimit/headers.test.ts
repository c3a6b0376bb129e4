/** @module ratelimit/headers.test — the IETF RateLimit fields (draft 10) and Retry-After. */
import { describe, expect, it } from 'vitest';
import { rateLimitHeaders, retryAfterSeconds } from './headers.js';
import type { Budget, BudgetState, LimitName } from './types.js';

const WINDOW: Record<LimitName, number> = {
  'requests-per-minute': 60_000,
  'tokens-per-minute': 60_000,
  'tokens-per-day': 86_400_000,
  'concurrent-requests': 0,
};

function state(
  limit: LimitName,
  kind: 'sub' | 'client',
  capacity: number,
  remaining: number,
  resetMs: number,
  model = '*',
): BudgetState {
  const budget: Budget = {
    limit,
    identity: { kind, id: 'alice' },
    model,
    capacity,
    windowMs: WINDOW[limit],
    key: `${limit}:${kind}:${model}`,
  };
  return { budget, remaining, resetMs };
}

/** An sf-list of sf-string items with parameters (RFC 9651 §3.1), as draft 10 requires. */
const SF_LIST =
  /^"[a-z0-9-]+"(;[a-z]+=(\d+|"[a-z-]+"))*(, "[a-z0-9-]+"(;[a-z]+=(\d+|"[a-z-]+"))*)*$/;

describe('rateLimitHeaders', () => {
  it('names each budget and gives its quota, window, unit, remaining and reset', () => {
    const h = rateLimitHeaders([
      state('requests-per-minute', 'sub', 3, 2, 19_001),
      state('tokens-per-minute', 'sub', 40, 40, 0),
      state('tokens-per-day', 'client', 1000, 10, 86_000_000),
    ]);
    expect(h['ratelimit-policy']).toBe(
      '"rpm-sub";q=3;w=60, "tpm-sub";q=40;w=60;qu="tokens", "tpd-client";q=1000;w=86400;qu="tokens"',
    );
    expect(h.ratelimit).toBe('"rpm-sub";r=2;t=20, "tpm-sub";r=40;t=0, "tpd-client";r=10;t=86000');
    expect(h['ratelimit-policy']).toMatch(SF_LIST);
    expect(h.ratelimit).toMatch(SF_LIST);
  });

  it('gives concurrency a unit and no window, and per-model budgets a model number', () => {
    const h = rateLimitHeaders([
      state('concurrent-requests', 'sub', 2, 1, 5000),
      state('requests-per-minute', 'sub', 9, 8, 1000, 'chat-a'),
      state('requests-per-minute', 'client', 9, 8, 1000, 'chat-a'),
      state('requests-per-minute', 'sub', 5, 4, 1000, 'chat-b'),
    ]);
    expect(h['ratelimit-policy']).toBe(
      '"conc-sub";q=2;qu="concurrent-requests", "rpm-sub-m1";q=9;w=60, "rpm-client-m1";q=9;w=60, "rpm-sub-m2";q=5;w=60',
    );
    expect(h.ratelimit).toBe(
      '"conc-sub";r=1, "rpm-sub-m1";r=8;t=1, "rpm-client-m1";r=8;t=1, "rpm-sub-m2";r=4;t=1',
    );
    expect(h.ratelimit).not.toContain('chat');
  });

  it('lists a budget once, and nothing when no budget applies', () => {
    const s = state('requests-per-minute', 'sub', 3, 2, 1000);
    expect(rateLimitHeaders([s, s]).ratelimit).toBe('"rpm-sub";r=2;t=1');
    expect(rateLimitHeaders([])).toEqual({});
  });
});

describe('retryAfterSeconds', () => {
  it('rounds up to whole seconds, at least 1', () => {
    expect([0, 1, 999, 1000, 1001, 59_999].map(retryAfterSeconds)).toEqual([1, 1, 1, 1, 2, 60]);
  });
});
