/**
 * @module ratelimit/redis — the shared backend: every replica's checks run as one atomic Lua
 * script in one Redis, so N replicas enforce one limit, not N times it. One round trip per
 * acquire, release and peek (EVALSHA; after a Redis restart emptied its script cache, the first
 * call takes a second one to send the script with EVAL).
 *
 * Redis Cluster is NOT supported: the budgets of one check (a subject's and a client's, several
 * limits) must be read and written by one script, so their keys must live on one node. Use a
 * single Redis (with a replica and Sentinel for failover if needed).
 *
 * While Redis cannot answer, calls reject at once (no offline queue) or after `timeoutMs` with
 * {@link LimiterUnavailableError}; the client reconnects by itself and calls succeed again once
 * it is back.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LimiterUnavailableError } from './errors.js';
import { LIMITER_SCRIPT } from './redis-script.js';
import type { AcquireResult, Budget, BudgetState, Charge, LimiterBackend } from './types.js';

/** Options of {@link openRedisBackend}. */
export interface RedisBackendOptions {
  /** `redis://…` or `rediss://…`. */
  readonly url: string;
  /** Prefix of every key (config `ratelimit.keyPrefix`). */
  readonly keyPrefix: string;
  /** A command slower than this counts as Redis failing (config `ratelimit.timeoutMs`). */
  readonly timeoutMs: number;
  /** Told when the connection comes up (true) or goes down (false). */
  readonly onStatus?: (up: boolean) => void;
  /** Told about connection errors (the client keeps reconnecting). */
  readonly onError?: (error: Error) => void;
  /** Tests only: ms added to the Redis server's clock, so refills can be tested without waiting. */
  readonly timeOffsetMs?: () => number;
}

type Reply = readonly number[];

const SCRIPT_SHA = createHash('sha1').update(LIMITER_SCRIPT).digest('hex');

/**
 * Connects to Redis (waiting at most a few timeouts for the first connection; if Redis is down
 * the backend still opens, reports unhealthy and connects once Redis is up).
 */
export async function openRedisBackend(options: RedisBackendOptions): Promise<RedisBackend> {
  const { Redis } = await import('ioredis');
  const client = new Redis(options.url, {
    commandTimeout: options.timeoutMs,
    connectTimeout: Math.max(1000, options.timeoutMs * 4),
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // Reconnect quickly at first, then every second: a check fails fast meanwhile.
    retryStrategy: (times) => Math.min(times * 50, 1000),
  });
  // Without a listener, a connection error would be an unhandled 'error' event (a crash).
  client.on('error', (err: Error) => options.onError?.(err));
  client.on('ready', () => options.onStatus?.(true));
  client.on('close', () => options.onStatus?.(false));
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(1000, options.timeoutMs * 4));
    client.once('ready', done);
  });
  return new RedisBackend(client, options);
}

/** Counters in one Redis, shared by every replica that uses the same `keyPrefix`. */
export class RedisBackend implements LimiterBackend {
  readonly kind = 'redis';
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #offset: () => number;

  #roundTrips = 0;

  constructor(client: Redis, options: RedisBackendOptions) {
    this.#client = client;
    this.#prefix = options.keyPrefix;
    this.#offset = options.timeOffsetMs ?? (() => 0);
  }

  async acquire(
    charges: readonly Charge[],
    leaseId: string,
    leaseMs: number,
  ): Promise<AcquireResult> {
    if (charges.length === 0) return { ok: true, states: [] };
    const reply = await this.#run('a', charges, leaseId, leaseMs);
    const budgets = charges.map((c) => c.budget);
    const states = statesOf(budgets, reply);
    const denied = budgets[(reply[1] ?? 0) - 1];
    if (reply[0] === 1 || denied === undefined) return { ok: true, states };
    return { ok: false, denied, retryAfterMs: Math.max(1, reply[2] ?? 1), states };
  }

  async release(charges: readonly Charge[], leaseId: string): Promise<void> {
    if (charges.length === 0) return;
    await this.#run('r', charges, leaseId, 0);
  }

  async peek(budgets: readonly Budget[]): Promise<readonly BudgetState[]> {
    if (budgets.length === 0) return [];
    const reply = await this.#run(
      'p',
      budgets.map((budget) => ({ budget, amount: 0 })),
      '',
      0,
    );
    return statesOf(budgets, reply);
  }

  roundTrips(): number {
    return this.#roundTrips;
  }

  async healthy(): Promise<boolean> {
    try {
      await this.#client.ping();
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }

  async #run(
    op: string,
    charges: readonly Charge[],
    leaseId: string,
    leaseMs: number,
  ): Promise<Reply> {
    const args: (string | number)[] = charges.map((c) => this.#prefix + c.budget.key);
    args.push(op, leaseId, leaseMs, this.#offset());
    for (const { budget, amount } of charges) {
      const kind = budget.limit === 'concurrent-requests' ? 'c' : 'b';
      args.push(kind, budget.capacity, Math.max(1, budget.windowMs), amount);
    }
    try {
      this.#roundTrips++;
      return (await this.#client.evalsha(SCRIPT_SHA, charges.length, ...args)) as Reply;
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) {
        throw new LimiterUnavailableError({ cause: err });
      }
    }
    // Redis lost its script cache (a restart): EVAL sends the script and caches it again.
    try {
      this.#roundTrips++;
      return (await this.#client.eval(LIMITER_SCRIPT, charges.length, ...args)) as Reply;
    } catch (cause) {
      throw new LimiterUnavailableError({ cause });
    }
  }
}

function statesOf(budgets: readonly Budget[], reply: Reply): BudgetState[] {
  return budgets.map((budget, i) => ({
    budget,
    remaining: reply[3 + i * 2] ?? 0,
    resetMs: reply[4 + i * 2] ?? 0,
  }));
}
