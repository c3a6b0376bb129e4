/**
 * @module auth/oauth/secret-checks — a bound on concurrent secret checks. Each runner (one
 * worker thread) does one check at a time; attempts beyond that wait in one bounded queue with
 * two lanes. A check for a (client, source) pair that has authenticated before goes ahead of
 * every other, so a flood of wrong secrets for unknown pairs cannot starve a known client; when
 * the queue is full, the newest waiting low-lane check is refused (`busy`) to make room.
 */
import type { SecretCheck } from './scrypt-worker.js';

/** Which lane an attempt waits in. */
export type CheckPriority = 'known' | 'unknown';

/** `busy`: refused because every runner was busy and the queue full. */
export type CheckOutcome = boolean | 'busy';

interface Job {
  secret: string;
  stored: string;
  resolve: (outcome: CheckOutcome) => void;
}

export interface SecretChecksOptions {
  /** One per thread; the number of runners is the concurrency bound. */
  runners: readonly SecretCheck[];
  /** Checks that may wait for a runner; more are refused. */
  maxQueue: number;
}

/** Runs secret checks at most `runners.length` at a time. */
export class SecretChecks {
  readonly #idle: SecretCheck[];
  readonly #known: Job[] = [];
  readonly #unknown: Job[] = [];
  readonly #maxQueue: number;
  #running = 0;

  constructor(options: SecretChecksOptions) {
    if (options.runners.length === 0) throw new Error('at least one runner is required');
    this.#idle = [...options.runners];
    this.#maxQueue = options.maxQueue;
  }

  /** Checks running now (never more than the number of runners). */
  get running(): number {
    return this.#running;
  }

  /** Checks waiting for a runner. */
  get queued(): number {
    return this.#known.length + this.#unknown.length;
  }

  /** Checks `secret` against `stored` when a runner is free; `busy` if it cannot wait. */
  check(secret: string, stored: string, priority: CheckPriority): Promise<CheckOutcome> {
    return new Promise((resolve) => {
      const job: Job = { secret, stored, resolve };
      const runner = this.#idle.pop();
      if (runner !== undefined) {
        this.#run(runner, job);
        return;
      }
      if (this.queued >= this.#maxQueue) {
        // Make room for a known pair by refusing the newest unknown attempt, if any.
        const evicted = priority === 'known' ? this.#unknown.pop() : undefined;
        if (evicted === undefined) {
          resolve('busy');
          return;
        }
        evicted.resolve('busy');
      }
      (priority === 'known' ? this.#known : this.#unknown).push(job);
    });
  }

  #run(runner: SecretCheck, job: Job): void {
    this.#running++;
    void runner(job.secret, job.stored)
      .catch(() => false)
      .then((ok) => {
        this.#running--;
        job.resolve(ok);
        const next = this.#known.shift() ?? this.#unknown.shift();
        if (next === undefined) this.#idle.push(runner);
        else this.#run(runner, next);
      });
  }
}
