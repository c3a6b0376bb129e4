/**
 * @module ratelimit/redis.test — the conformance suite against a real Redis (REDIS_URL, else
 * 127.0.0.1:6379 if it answers), under a key prefix of this run's own. Time moves through the
 * backend's test-only offset on the server's clock.
 */
import { randomBytes } from 'node:crypto';
import { backendConformance } from './backend.case.js';
import { openRedisBackend } from './redis.js';
import { redisUrlForTests } from './redis-url.case.js';

const url = await redisUrlForTests('ratelimit/redis');

if (url !== undefined) {
  backendConformance('redis', async () => {
    let offset = 0;
    const backend = await openRedisBackend({
      url,
      keyPrefix: `gatehouse-test:${randomBytes(6).toString('hex')}:`,
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
