/**
 * @module ratelimit/redis.test — the conformance suite against a real Redis (REDIS_URL, else
 * 127.0.0.1:6379 if it answers), under a key prefix of this run's own. Time moves through the
 * backend's test-only offset on the server's clock. Plus what only Redis has: round trips and
 * keys that expire once idle.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backendConformance } from './backend.case.js';
import { openRedisBackend } from './redis.js';
import { redisUrlForTests } from './redis-url.case.js';
import type { Budget } from './types.js';

const url = await redisUrlForTests('ratelimit/redis');
const prefix = (): string => `gatehouse-test:${randomBytes(6).toString('hex')}:`;

if (url !== undefined) {
  backendConformance('redis', async () => {
    let offset = 0;
    const backend = await openRedisBackend({
      url,
      keyPrefix: prefix(),
      timeoutMs: 2000,
      timeOffsetMs: () => offset,
    });
    return {
      backend,
      advance: (ms: number) => {
        offset += ms;
      },
      close: () => backend.close(),
    };
  });
}

describe.skipIf(url === undefined)('redis backend', () => {
  const budget = (limit: Budget['limit'], windowMs: number): Budget => ({
    limit,
    identity: { kind: 'client', id: 'c' },
    model: '*',
    capacity: 10,
    windowMs,
    key: limit,
  });

  it('makes one round trip per acquire, release and peek, and lets idle keys expire', async () => {
    const keyPrefix = prefix();
    const backend = await openRedisBackend({ url: url ?? '', keyPrefix, timeoutMs: 2000 });
    const { Redis } = await import('ioredis');
    const raw = new Redis(url ?? '');
    try {
      const rpm = budget('requests-per-minute', 60_000);
      const conc = budget('concurrent-requests', 0);
      const charges = [
        { budget: rpm, amount: 4 },
        { budget: conc, amount: 1 },
      ];
      await backend.peek([rpm]); // loads the script if this Redis has not seen it
      const before = backend.roundTrips();
      await backend.acquire(charges, 'lease', 30_000);
      await backend.peek([rpm, conc]);
      await backend.release([{ budget: rpm, amount: 1 }, charges[1]!], 'lease');
      expect(backend.roundTrips() - before).toBe(3);
      // 3 of 10 taken: full again in 18 s, so the key goes then.
      const ttl = await raw.pttl(`${keyPrefix}requests-per-minute`);
      expect(ttl).toBeGreaterThan(17_000);
      expect(ttl).toBeLessThanOrEqual(18_001);
      // The last lease ended: the set is gone.
      expect(await raw.exists(`${keyPrefix}concurrent-requests`)).toBe(0);
      await backend.release([{ budget: rpm, amount: 3 }], 'lease');
      expect(await raw.exists(`${keyPrefix}requests-per-minute`)).toBe(0);
    } finally {
      raw.disconnect();
      await backend.close();
    }
  });
});
