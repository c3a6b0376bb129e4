/**
 * @module ratelimit/bucket — the arithmetic of a continuously refilled token bucket, shared by the
 * memory backend and mirrored line for line by the Redis script (redis-script.ts): `capacity`
 * units, refilled at `capacity / windowMs` per ms, never above `capacity`.
 */
import type { Budget, BudgetState } from './types.js';

/** A concurrency budget's retry hint when its leases last long: clients come back in 1 s. */
export const CONCURRENT_RETRY_MS = 1000;

/** Units in a bucket that held `level` at `at`, now (a clock that went back refills nothing). */
export function refilled(budget: Budget, level: number, at: number, now: number): number {
  const elapsed = Math.max(0, now - at);
  return Math.min(budget.capacity, level + (elapsed * budget.capacity) / budget.windowMs);
}

/** Ms until a bucket holding `level` holds `amount` (≥ 1); capped at a full bucket. */
export function waitFor(budget: Budget, level: number, amount: number): number {
  const want = Math.min(amount, budget.capacity);
  return Math.max(1, Math.ceil(((want - level) * budget.windowMs) / budget.capacity));
}

/** The state of a bucket holding `level` units. */
export function bucketState(budget: Budget, level: number): BudgetState {
  const missing = budget.capacity - level;
  return {
    budget,
    remaining: Math.max(0, Math.floor(level)),
    resetMs: missing <= 0 ? 0 : Math.ceil((missing * budget.windowMs) / budget.capacity),
  };
}

/** The state of a concurrency budget with `held` live leases, the last expiring in `lastMs`. */
export function leaseState(budget: Budget, held: number, lastMs: number): BudgetState {
  return {
    budget,
    remaining: Math.max(0, budget.capacity - held),
    resetMs: held === 0 ? 0 : Math.max(1, lastMs),
  };
}
