/**
 * @module ratelimit/service.redis.test — several RateLimiter instances (separate connections,
 * like replicas) over one real Redis enforce one limit, one round trip per check.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { LimitsSpec } from '../policy/index.js';
import { openLimiter, type RateLimiter } from './index.js';
import { redisUrlForTests } from './redis-url.case.js';

const url = await redisUrlForTests('ratelimit/service.redis');

describe.skipIf(url === undefined)('RateLimiter over Redis', () => {
  it('holds one shared limit across replicas, one round trip per check', async () => {
    const config = {
      url: url ?? '',
      keyPrefix: `gatehouse-test:${randomBytes(6).toString('hex')}:`,
      failOpen: false,
      timeoutMs: 2000,
      leaseMs: 60_000,
    };
    let n = 0;
    const deps = { clock: Date.now, log: () => undefined, newId: () => `lease-${++n}` };
    const replicas: RateLimiter[] = await Promise.all(
      [1, 2, 3].map(() => openLimiter(config, deps)),
    );
    try {
      const limits: LimitsSpec = { requestsPerMinute: 25, concurrentRequests: 100, models: {} };
      const input = { sub: 'alice', clientId: 'app', model: 'echo', limits };
      const results = await Promise.all(
        Array.from({ length: 90 }, (_, i) => replicas[i % 3]!.admit(input)),
      );
      const admitted = results.flatMap((r) => (r.ok ? [r.admission] : []));
      expect(admitted).toHaveLength(25);
      for (const a of admitted) await replicas[0]!.settle(a, 0);
      const usage = await replicas[1]!.usage({ sub: 'alice', clientId: 'app', limits });
      expect(usage.map((s) => [s.budget.limit, s.remaining])).toEqual([
        ['requests-per-minute', 0],
        ['requests-per-minute', 0],
        ['concurrent-requests', 100],
        ['concurrent-requests', 100],
      ]);
      for (const r of replicas) {
        const { checks, roundTrips } = r.stats();
        expect(roundTrips).toBe(checks);
        expect(await r.healthy()).toBe(true);
      }
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });
});
