/**
 * @module ratelimit/types — the contract between the limiter service and its backends. A budget
 * is a token bucket: `capacity` units that refill continuously at `capacity / windowMs` (so at
 * most `capacity` at once, and never more than `capacity · (1 + t / windowMs)` in any `t` ms),
 * or, for `concurrent-requests`, a count of leases held at once. Every check is all-or-nothing
 * over the budgets it names and, on Redis, one round trip.
 */

/** The budgets a policy may set, by the name headers, audit events and metrics use. */
export const LIMIT_NAMES = [
  'requests-per-minute',
  'tokens-per-minute',
  'tokens-per-day',
  'concurrent-requests',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

/** One budget of one identity: e.g. 60 requests per minute for `sub:alice` over all models. */
export interface Budget {
  readonly limit: LimitName;
  /** Who it counts: the token's subject or its client (each has budgets of its own). */
  readonly identity: { readonly kind: 'sub' | 'client'; readonly id: string };
  /** `*`: every model together; otherwise the one model id it counts. */
  readonly model: string;
  /** Units the bucket holds (requests, tokens, or leases at once). */
  readonly capacity: number;
  /** Ms over which an empty bucket refills; 0 for `concurrent-requests`. */
  readonly windowMs: number;
  /**
   * The backend's key for it (without the configured prefix): stable for the same identity,
   * model and limit, bounded in length whatever the identity (identities are hashed).
   */
  readonly key: string;
}

/** Units taken from a budget. */
export interface Charge {
  readonly budget: Budget;
  /** Units to take (requests: 1; tokens: the reservation; concurrent: 1 lease). */
  readonly amount: number;
}

/** A budget's state after a check. */
export interface BudgetState {
  readonly budget: Budget;
  /** Units left now (whole units, ≥ 0). */
  readonly remaining: number;
  /** Ms until the bucket is full again (0 when it is). */
  readonly resetMs: number;
}

/** The answer to an acquire. */
export type AcquireResult =
  | { readonly ok: true; readonly states: readonly BudgetState[] }
  | {
      readonly ok: false;
      /** The first budget (in the order given) that had too little. */
      readonly denied: Budget;
      /** Ms until that budget could take the charge (for `Retry-After`); ≥ 1. */
      readonly retryAfterMs: number;
      readonly states: readonly BudgetState[];
    };

/**
 * Where the counters live. Implementations: `memory` (one process) and `redis` (shared; atomic
 * Lua scripts, the Redis server's clock). Both pass `ratelimit/backend.case.ts`.
 */
export interface LimiterBackend {
  readonly kind: 'memory' | 'redis';
  /**
   * Takes every charge, or none when any budget has too little (nothing changes then).
   * `concurrent-requests` charges take a lease named `leaseId` that lasts until released or
   * until `leaseMs` passes (a replica that died mid-request does not hold it forever). Rejects
   * only when the backend cannot answer (the service then fails closed or open, as configured).
   */
  acquire(charges: readonly Charge[], leaseId: string, leaseMs: number): Promise<AcquireResult>;
  /**
   * Gives units back: token charges are refunded (never above capacity), leases of
   * `concurrent-requests` budgets named `leaseId` end. Idempotent per lease.
   */
  release(charges: readonly Charge[], leaseId: string): Promise<void>;
  /** The budgets' current state, charging nothing (for `GET /v1/usage`). */
  peek(budgets: readonly Budget[]): Promise<readonly BudgetState[]>;
  /** Network round trips made so far by acquire, release and peek (memory: none, 0). */
  roundTrips(): number;
  /** Whether the backend answers now (for `/readyz` and metrics). */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}
