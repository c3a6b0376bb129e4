/**
 * @module ratelimit/memory — the one-process backend: token buckets and lease sets in a Map, on
 * the injected clock. A full bucket and an empty lease set are the same as no entry, so idle
 * budgets are dropped; the Map also has a hard cap (least recently used entries go first).
 */
import type { Clock } from '../lib/clock.js';
import { CONCURRENT_RETRY_MS, bucketState, leaseState, refilled, waitFor } from './bucket.js';
import type { AcquireResult, Budget, BudgetState, Charge, LimiterBackend } from './types.js';

interface BucketEntry {
  readonly kind: 'bucket';
  /** Units held at `at` (ms on the clock). */
  level: number;
  at: number;
  /** When it is full again, i.e. the same as no entry (so a sweep may drop it). */
  fullAt: number;
}

interface LeaseEntry {
  readonly kind: 'leases';
  /** Lease id → the ms it expires at. */
  readonly leases: Map<string, number>;
}

type Entry = BucketEntry | LeaseEntry;

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /** The app's clock; the backend never reads the real time. */
  readonly clock: Clock;
  /**
   * Most budgets held at once (default 100,000). Past it the least recently used ones are
   * forgotten (treated as full), so memory stays bounded whatever the number of identities.
   */
  readonly maxEntries?: number;
}

const MIN_SWEEP = 1024;

/** Counters in this process's memory: exact for one replica, N times the limit for N. */
export class MemoryBackend implements LimiterBackend {
  readonly kind = 'memory';
  readonly #clock: Clock;
  readonly #max: number;
  readonly #entries = new Map<string, Entry>();
  #sweepAt: number;

  constructor(options: MemoryBackendOptions) {
    this.#clock = options.clock;
    this.#max = Math.max(1, options.maxEntries ?? 100_000);
    this.#sweepAt = Math.min(this.#max, MIN_SWEEP);
  }

  /** Budgets currently held (for tests of the memory bound). */
  get size(): number {
    return this.#entries.size;
  }

  acquire(charges: readonly Charge[], leaseId: string, leaseMs: number): Promise<AcquireResult> {
    const now = this.#clock();
    const levels = charges.map((c) => this.#available(c.budget, now));
    for (const [i, charge] of charges.entries()) {
      const level = levels[i] ?? 0;
      if (fits(charge, level, this.#leases(charge.budget, now), leaseId)) continue;
      return Promise.resolve({
        ok: false,
        denied: charge.budget,
        retryAfterMs: this.#retryAfter(charge, level, now),
        states: charges.map((c) => this.#state(c.budget, now)),
      });
    }
    charges.forEach((c, i) => {
      if (c.budget.limit === 'concurrent-requests') {
        const e = this.#leaseEntry(c.budget.key);
        e.leases.set(leaseId, now + leaseMs);
      } else {
        const level = (levels[i] ?? 0) - c.amount;
        if (level < c.budget.capacity) this.#put(c.budget.key, bucket(c.budget, level, now));
      }
    });
    this.#bound(now);
    return Promise.resolve({ ok: true, states: charges.map((c) => this.#state(c.budget, now)) });
  }

  release(charges: readonly Charge[], leaseId: string): Promise<void> {
    const now = this.#clock();
    for (const { budget, amount } of charges) {
      const e = this.#entries.get(budget.key);
      if (e === undefined) continue;
      if (e.kind === 'leases') {
        e.leases.delete(leaseId);
        if (e.leases.size === 0) this.#entries.delete(budget.key);
      } else if (budget.limit !== 'concurrent-requests' && amount > 0) {
        const level = refilled(budget, e.level, e.at, now) + amount;
        if (level >= budget.capacity) this.#entries.delete(budget.key);
        else this.#put(budget.key, bucket(budget, level, now));
      }
    }
    return Promise.resolve();
  }

  peek(budgets: readonly Budget[]): Promise<readonly BudgetState[]> {
    const now = this.#clock();
    return Promise.resolve(budgets.map((b) => this.#state(b, now)));
  }

  roundTrips(): number {
    return 0;
  }

  healthy(): Promise<boolean> {
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    this.#entries.clear();
    return Promise.resolve();
  }

  #available(budget: Budget, now: number): number {
    const e = this.#entries.get(budget.key);
    if (e?.kind !== 'bucket') return budget.capacity;
    return refilled(budget, e.level, e.at, now);
  }

  /** The live leases of a concurrency budget (expired ones dropped), or undefined for a bucket. */
  #leases(budget: Budget, now: number): Map<string, number> | undefined {
    if (budget.limit !== 'concurrent-requests') return undefined;
    const e = this.#entries.get(budget.key);
    if (e?.kind !== 'leases') return new Map();
    for (const [id, expiry] of e.leases) if (expiry <= now) e.leases.delete(id);
    return e.leases;
  }

  #state(budget: Budget, now: number): BudgetState {
    const leases = this.#leases(budget, now);
    if (leases === undefined) return bucketState(budget, this.#available(budget, now));
    let last = now;
    for (const expiry of leases.values()) last = Math.max(last, expiry);
    return leaseState(budget, leases.size, last - now);
  }

  #retryAfter(charge: Charge, level: number, now: number): number {
    const leases = this.#leases(charge.budget, now);
    if (leases === undefined) return waitFor(charge.budget, level, charge.amount);
    let soonest = now + CONCURRENT_RETRY_MS;
    for (const expiry of leases.values()) soonest = Math.min(soonest, expiry);
    return Math.max(1, soonest - now);
  }

  #leaseEntry(key: string): LeaseEntry {
    const e = this.#entries.get(key);
    const entry: LeaseEntry = e?.kind === 'leases' ? e : { kind: 'leases', leases: new Map() };
    this.#put(key, entry);
    return entry;
  }

  /** Sets `key`, moving it to the most recently used end. */
  #put(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
  }

  /** Drops idle entries once the Map has grown enough to pay for a sweep; then the hard cap. */
  #bound(now: number): void {
    if (this.#entries.size < this.#sweepAt) return;
    for (const [key, e] of this.#entries) {
      if (e.kind === 'leases') {
        for (const [id, expiry] of e.leases) if (expiry <= now) e.leases.delete(id);
        if (e.leases.size === 0) this.#entries.delete(key);
      } else if (e.fullAt <= now) {
        this.#entries.delete(key);
      }
    }
    // Still crowded after the sweep: forget the least recently used, down to three quarters.
    const keep = Math.floor(this.#max * 0.75);
    if (this.#entries.size > keep) {
      for (const key of this.#entries.keys()) {
        if (this.#entries.size <= keep) break;
        this.#entries.delete(key);
      }
    }
    this.#sweepAt = Math.min(this.#max, Math.max(MIN_SWEEP, this.#entries.size * 2));
  }
}

function bucket(budget: Budget, level: number, now: number): BucketEntry {
  const fullAt = now + Math.ceil(((budget.capacity - level) * budget.windowMs) / budget.capacity);
  return { kind: 'bucket', level, at: now, fullAt };
}

/** Whether `charge` can be taken from a bucket holding `level`, or a lease set `leases`. */
function fits(
  charge: Charge,
  level: number,
  leases: Map<string, number> | undefined,
  leaseId: string,
): boolean {
  if (leases === undefined) return level >= charge.amount;
  return leases.has(leaseId) || leases.size < charge.budget.capacity;
}
