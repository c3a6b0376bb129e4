/**
 * @module ratelimit/service.test — admit, reserve, settle and usage on the memory backend with
 * a clock the test moves; failing closed and open against a Redis that is not there.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { LimitsSpec } from '../policy/index.js';
import { LimiterUnavailableError, openLimiter, type RateLimiter } from './index.js';

interface Logged {
  level: string;
  msg: string;
}

async function memoryLimiter(): Promise<{ limiter: RateLimiter; advance: (ms: number) => void }> {
  let now = 1_700_000_000_000;
  let n = 0;
  const limiter = await openLimiter(
    { keyPrefix: 'x:', failOpen: false, timeoutMs: 250, leaseMs: 60_000 },
    { clock: () => now, log: () => undefined, newId: () => `lease-${++n}` },
  );
  return {
    limiter,
    advance: (ms) => {
      now += ms;
    },
  };
}

const caller = (limits: LimitsSpec, model = 'echo') => ({
  sub: 'alice',
  clientId: 'app',
  model,
  limits,
});

describe('RateLimiter (memory)', () => {
  it('lets everything through without touching the backend when no limit applies', async () => {
    const { limiter } = await memoryLimiter();
    const r = await limiter.admit(caller({ models: {} }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.admission.budgets).toEqual([]);
    expect(await limiter.reserve(r.admission, 1000)).toEqual({ ok: true });
    await limiter.settle(r.admission, 10);
    expect(limiter.stats()).toEqual({ checks: 0, roundTrips: 0 });
    expect(limiter.kind).toBe('memory');
  });

  it('refuses the request past requests-per-minute, naming the budget and when to retry', async () => {
    const { limiter, advance } = await memoryLimiter();
    const limits: LimitsSpec = { requestsPerMinute: 3, models: {} };
    for (let i = 0; i < 3; i++) expect((await limiter.admit(caller(limits))).ok).toBe(true);
    const r = await limiter.admit(caller(limits));
    expect(r).toMatchObject({ ok: false, kind: 'limited', retryAfterMs: 20_000 });
    if (r.ok || r.kind !== 'limited') return;
    expect(r.denied).toMatchObject({ limit: 'requests-per-minute', identity: { kind: 'sub' } });
    expect(r.states.map((s) => s.remaining)).toEqual([0, 0]);
    advance(20_000);
    expect((await limiter.admit(caller(limits))).ok).toBe(true);
    // Another subject through the same client shares the client's budget.
    const other = await limiter.admit({ ...caller(limits), sub: 'bob' });
    expect(other).toMatchObject({ ok: false, denied: { identity: { kind: 'client' } } });
  });

  it('holds a concurrency lease until settle, once however often settled', async () => {
    const { limiter } = await memoryLimiter();
    const limits: LimitsSpec = { concurrentRequests: 1, models: {} };
    const a = await limiter.admit(caller(limits));
    expect(a.ok).toBe(true);
    expect(await limiter.admit(caller(limits))).toMatchObject({ ok: false, kind: 'limited' });
    if (!a.ok) return;
    await limiter.settle(a.admission, 0);
    const checks = limiter.stats().checks;
    await limiter.settle(a.admission, 0);
    expect(limiter.stats().checks).toBe(checks);
    const b = await limiter.admit(caller(limits));
    expect(b.ok).toBe(true);
  });

  it('reserves tokens, refunds what was not used, and refuses a reservation that does not fit', async () => {
    const { limiter } = await memoryLimiter();
    const limits: LimitsSpec = { tokensPerMinute: 100, tokensPerDay: 1000, models: {} };
    const first = await limiter.admit(caller(limits));
    if (!first.ok) throw new Error('refused');
    // Token budgets only: admitting needs no check.
    expect(limiter.stats().checks).toBe(0);
    expect(await limiter.reserve(first.admission, 80)).toEqual({ ok: true });
    expect(first.admission.states.map((s) => [s.budget.limit, s.remaining])).toEqual([
      ['tokens-per-minute', 20],
      ['tokens-per-minute', 20],
      ['tokens-per-day', 920],
      ['tokens-per-day', 920],
    ]);
    const second = await limiter.admit(caller(limits));
    if (!second.ok) throw new Error('refused');
    expect(await limiter.reserve(second.admission, 30)).toMatchObject({
      ok: false,
      kind: 'limited',
      denied: { limit: 'tokens-per-minute' },
    });
    await limiter.settle(first.admission, 50);
    expect(await limiter.reserve(second.admission, 30)).toEqual({ ok: true });
    const usage = await limiter.usage({ sub: 'alice', clientId: 'app', limits });
    expect(usage.map((s) => s.remaining)).toEqual([20, 20, 920, 920]);
    // Used more than reserved: nothing to give back, no call.
    const checks = limiter.stats().checks;
    await limiter.settle(second.admission, 500);
    expect(limiter.stats().checks).toBe(checks);
  });

  it('counts per-model budgets per model, and lists them by pattern for usage', async () => {
    const { limiter } = await memoryLimiter();
    const limits: LimitsSpec = { models: { 'chat-*': { requestsPerMinute: 1 } } };
    expect((await limiter.admit(caller(limits, 'chat-a'))).ok).toBe(true);
    expect((await limiter.admit(caller(limits, 'chat-a'))).ok).toBe(false);
    expect((await limiter.admit(caller(limits, 'chat-b'))).ok).toBe(true);
    expect((await limiter.admit(caller(limits, 'echo'))).ok).toBe(true);
    const usage = await limiter.usage({ sub: 'alice', clientId: 'app', limits });
    expect(usage.map((s) => s.budget.model)).toEqual(['chat-*', 'chat-*']);
    const served = await limiter.usage({
      sub: 'alice',
      clientId: 'app',
      limits,
      models: ['chat-a', 'echo'],
    });
    expect(served.map((s) => [s.budget.model, s.remaining])).toEqual([
      ['chat-a', 0],
      ['chat-a', 0],
    ]);
  });
});

async function deadRedis(): Promise<string> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `redis://127.0.0.1:${address.port}`;
}

describe('RateLimiter without its Redis', () => {
  const limits: LimitsSpec = { requestsPerMinute: 5, tokensPerMinute: 100, models: {} };

  it('fails closed by default: the unavailable refusal, health reported', async () => {
    const health: boolean[] = [];
    const limiter = await openLimiter(
      { url: await deadRedis(), keyPrefix: 'x:', failOpen: false, timeoutMs: 100, leaseMs: 60_000 },
      { clock: () => 0, log: () => undefined, newId: () => 'id', onHealth: (h) => health.push(h) },
    );
    try {
      expect(limiter.kind).toBe('redis');
      const r = await limiter.admit(caller(limits));
      expect(r).toMatchObject({ ok: false, kind: 'unavailable' });
      if (r.ok || r.kind !== 'unavailable') return;
      expect(r.error).toBeInstanceOf(LimiterUnavailableError);
      expect(r.error).toMatchObject({
        statusCode: 503,
        code: 'RATE_LIMIT_UNAVAILABLE',
        expose: true,
        headers: { 'retry-after': '2' },
        message: 'Rate limiting is unavailable; retry shortly',
      });
      expect(health).toEqual([false]);
      expect(await limiter.healthy()).toBe(false);
      await expect(limiter.usage({ sub: 'alice', clientId: 'app', limits })).rejects.toBeInstanceOf(
        LimiterUnavailableError,
      );
      // Nothing limits the request: still no backend needed.
      expect((await limiter.admit(caller({ models: {} }))).ok).toBe(true);
    } finally {
      await limiter.close();
    }
  });

  it('fails open when configured, warning at most once per 10 s', async () => {
    let now = 0;
    const logged: Logged[] = [];
    const limiter = await openLimiter(
      { url: await deadRedis(), keyPrefix: 'x:', failOpen: true, timeoutMs: 100, leaseMs: 60_000 },
      { clock: () => now, log: (level, _o, msg) => logged.push({ level, msg }), newId: () => 'id' },
    );
    try {
      const warnings = () => logged.filter((l) => l.msg.includes('failOpen')).length;
      for (let i = 0; i < 10; i++) {
        const r = await limiter.admit(caller(limits));
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(await limiter.reserve(r.admission, 50)).toEqual({ ok: true });
        await limiter.settle(r.admission, 10);
      }
      expect(warnings()).toBe(1);
      now += 10_000;
      expect((await limiter.admit(caller(limits))).ok).toBe(true);
      expect(warnings()).toBe(2);
    } finally {
      await limiter.close();
    }
  });
});
