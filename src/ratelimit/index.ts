/**
 * @module ratelimit — per-identity request and token budgets and concurrency limits, in this
 * process's memory (one replica) or in one Redis shared by every replica.
 */
import type { Config } from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import { MemoryBackend } from './memory.js';
import { openRedisBackend } from './redis.js';
import { RateLimiter, type LimiterLog } from './service.js';

export { LIMIT_NAMES } from './types.js';
export type {
  AcquireResult,
  Budget,
  BudgetState,
  Charge,
  LimitName,
  LimiterBackend,
} from './types.js';
export { LimiterUnavailableError, RateLimitExceededError } from './errors.js';
export { budgetsFor, limitShort, usageBudgets } from './budgets.js';
export { rateLimitHeaders, retryAfterSeconds, type RateLimitFields } from './headers.js';
export { MemoryBackend } from './memory.js';
export {
  RateLimiter,
  type Admission,
  type LimitInput,
  type LimiterLog,
  type RateLimiterOptions,
  type Refusal,
} from './service.js';

/** What {@link openLimiter} needs from the app. */
export interface LimiterDeps {
  readonly clock: Clock;
  readonly log: LimiterLog;
  readonly newId: () => string;
  /** Told when the backend stops answering and when it answers again (metrics, /readyz). */
  readonly onHealth?: (healthy: boolean) => void;
}

/**
 * The limiter for `config` (`ratelimit`): memory when no `url` is set, otherwise Redis (ioredis
 * loaded only then). Opens even while Redis is down: checks then fail closed (or open, as
 * configured) until it answers, and the client reconnects by itself.
 */
export async function openLimiter(
  config: Config['ratelimit'],
  deps: LimiterDeps,
): Promise<RateLimiter> {
  const options = {
    failOpen: config.failOpen,
    leaseMs: config.leaseMs,
    clock: deps.clock,
    log: deps.log,
    newId: deps.newId,
    ...(deps.onHealth === undefined ? {} : { onHealth: deps.onHealth }),
  };
  if (config.url === undefined)
    return new RateLimiter(new MemoryBackend({ clock: deps.clock }), options);
  const link: { limiter?: RateLimiter } = {};
  let lastError = Number.NEGATIVE_INFINITY;
  const backend = await openRedisBackend({
    url: config.url,
    keyPrefix: config.keyPrefix,
    timeoutMs: config.timeoutMs,
    onStatus: (up) => link.limiter?.connection(up),
    onError: (err) => {
      // The client retries every second while Redis is down: one line per 10 s is plenty.
      const now = deps.clock();
      if (now - lastError < 10_000) return;
      lastError = now;
      deps.log('warn', { err: { message: err.message } }, 'rate limiter: Redis connection failed');
    },
  });
  const limiter = new RateLimiter(backend, options);
  link.limiter = limiter;
  if (!(await limiter.healthy())) deps.log('warn', {}, 'rate limiter: Redis does not answer yet');
  return limiter;
}
