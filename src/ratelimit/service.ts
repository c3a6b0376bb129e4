/**
 * @module ratelimit/service — what the HTTP stage calls: `admit` before a request runs (1 unit of
 * every requests-per-minute budget and a lease on every concurrent-requests budget, one check),
 * `reserve` once the prompt is counted (the tokens it may spend, from every token budget, one
 * check), `settle` when it ends however it ends (unused tokens back, lease ended). When the
 * backend cannot answer, requests are refused (fail closed) unless `failOpen` lets them through.
 */
import type { Clock } from '../lib/clock.js';
import type { LimitsSpec } from '../policy/index.js';
import { budgetsFor, usageBudgets } from './budgets.js';
import { LimiterUnavailableError } from './errors.js';
import type { AcquireResult, Budget, BudgetState, Charge, LimiterBackend } from './types.js';

/** Who is asking for which model, under which limits (the policy's, merged over the roles). */
export interface LimitInput {
  sub: string;
  clientId: string;
  model: string;
  limits: LimitsSpec;
}

/** A request let in: what it holds, to be given back by `settle`. */
export interface Admission {
  readonly budgets: readonly Budget[];
  /** The budgets' states after the last check (for the RateLimit fields of the response). */
  states: readonly BudgetState[];
}

/** Why a request was not let in. */
export type Refusal =
  | {
      ok: false;
      kind: 'limited';
      denied: Budget;
      retryAfterMs: number;
      states: readonly BudgetState[];
    }
  | { ok: false; kind: 'unavailable'; error: LimiterUnavailableError };

/** The logger the service reports through (pino's argument order). */
export type LimiterLog = (
  level: 'debug' | 'info' | 'warn' | 'error',
  obj: Record<string, unknown>,
  msg: string,
) => void;

/** What {@link RateLimiter} needs besides its backend. */
export interface RateLimiterOptions {
  /** Let requests through unlimited while the backend cannot answer (config `failOpen`). */
  readonly failOpen: boolean;
  /** How long a concurrency lease lasts if never released (config `leaseMs`). */
  readonly leaseMs: number;
  readonly clock: Clock;
  readonly log: LimiterLog;
  readonly newId: () => string;
  /** Told when the backend goes from answering to not answering, and back. */
  readonly onHealth?: (healthy: boolean) => void;
}

const WARN_EVERY_MS = 10_000;

const isRequest = (b: Budget): boolean =>
  b.limit === 'requests-per-minute' || b.limit === 'concurrent-requests';
const isTokens = (b: Budget): boolean =>
  b.limit === 'tokens-per-minute' || b.limit === 'tokens-per-day';

/** The service's own Admission, with what settle must give back. */
class Grant implements Admission {
  readonly budgets: readonly Budget[];
  states: readonly BudgetState[] = [];
  readonly leaseId: string;
  /** The concurrency budgets it holds a lease on. */
  leases: readonly Budget[] = [];
  /** Tokens taken from each of its token budgets. */
  reserved = 0;
  /** Let in while the backend could not answer (fail open): nothing to give back. */
  degraded = false;
  settled = false;

  constructor(budgets: readonly Budget[], leaseId: string) {
    this.budgets = budgets;
    this.leaseId = leaseId;
  }

  merge(states: readonly BudgetState[]): void {
    const fresh = new Set(states.map((s) => s.budget.key));
    this.states = [...this.states.filter((s) => !fresh.has(s.budget.key)), ...states];
  }
}

/** Per-identity rate limits and token quotas over one backend (memory or Redis). */
export class RateLimiter {
  readonly kind: 'memory' | 'redis';
  readonly #backend: LimiterBackend;
  readonly #options: RateLimiterOptions;
  #healthy = true;
  #warnedAt = Number.NEGATIVE_INFINITY;
  #checks = 0;

  constructor(backend: LimiterBackend, options: RateLimiterOptions) {
    this.kind = backend.kind;
    this.#backend = backend;
    this.#options = options;
  }

  /**
   * No budget applies → resolves `{ ok: true, admission }` WITHOUT touching the backend
   * (admission.budgets empty). Otherwise ONE acquire: 1 unit from every requests-per-minute
   * budget + a lease on every concurrent-requests budget.
   */
  async admit(input: LimitInput): Promise<{ ok: true; admission: Admission } | Refusal> {
    const budgets = budgetsFor(input);
    const grant = new Grant(budgets, budgets.length === 0 ? '' : this.#options.newId());
    const charges = budgets.filter(isRequest).map((budget) => ({ budget, amount: 1 }));
    if (charges.length === 0) return { ok: true, admission: grant };
    const r = await this.#acquire(charges, grant.leaseId);
    if (r instanceof LimiterUnavailableError) return this.#unavailable(r, grant);
    if (!r.ok) return refusal(r);
    grant.merge(r.states);
    grant.leases = budgets.filter((b) => b.limit === 'concurrent-requests');
    return { ok: true, admission: grant };
  }

  /**
   * Takes `tokens` from every tokens-per-minute/-per-day budget of the admission (one acquire;
   * no-op without such budgets). On success admission.states is updated.
   */
  async reserve(admission: Admission, tokens: number): Promise<{ ok: true } | Refusal> {
    const grant = own(admission);
    const amount = Math.ceil(tokens);
    if (grant.degraded || grant.settled || !(amount > 0)) return { ok: true };
    const charges = grant.budgets.filter(isTokens).map((budget) => ({ budget, amount }));
    if (charges.length === 0) return { ok: true };
    const r = await this.#acquire(charges, grant.leaseId);
    if (r instanceof LimiterUnavailableError) {
      const out = this.#unavailable(r, undefined);
      return out.ok ? { ok: true } : out;
    }
    if (!r.ok) return refusal(r);
    grant.reserved += amount;
    grant.merge(r.states);
    return { ok: true };
  }

  /**
   * Refunds reserved − used tokens (never negative), ends the lease. Idempotent, never rejects
   * (logs on failure; leases expire by leaseMs anyway). No backend call when nothing to give back.
   */
  async settle(admission: Admission, usedTokens: number): Promise<void> {
    const grant = own(admission);
    if (grant.settled) return;
    grant.settled = true;
    if (grant.degraded) return;
    const refund = Math.max(0, grant.reserved - Math.max(0, Math.ceil(usedTokens)));
    const charges: Charge[] = grant.leases.map((budget) => ({ budget, amount: 1 }));
    if (refund > 0) {
      for (const budget of grant.budgets)
        if (isTokens(budget)) charges.push({ budget, amount: refund });
    }
    if (charges.length === 0) return;
    this.#checks++;
    try {
      await this.#backend.release(charges, grant.leaseId);
      this.#health(true);
    } catch (err) {
      this.#health(false);
      this.#options.log('warn', { err }, 'rate limiter: a refund or lease release failed');
    }
  }

  /**
   * The caller's budgets' states for GET /v1/usage (model `*` budgets plus, per `models`
   * pattern, its budgets listed with model = the pattern). Given `models` (ids served), patterns
   * are expanded to the models they match instead. Rejects with LimiterUnavailableError.
   */
  async usage(input: {
    sub: string;
    clientId: string;
    limits: LimitsSpec;
    models?: readonly string[];
  }): Promise<readonly BudgetState[]> {
    const budgets = usageBudgets(input);
    if (budgets.length === 0) return [];
    this.#checks++;
    try {
      const states = await this.#backend.peek(budgets);
      this.#health(true);
      return states;
    } catch (err) {
      this.#health(false);
      throw unavailable(err);
    }
  }

  /** Whether the backend answers now (also fires onHealth on a change). */
  async healthy(): Promise<boolean> {
    const ok = await this.#backend.healthy();
    this.#health(ok);
    return ok;
  }

  close(): Promise<void> {
    return this.#backend.close();
  }

  /** Backend operations asked for, and the network round trips they took (memory: 0). */
  stats(): { checks: number; roundTrips: number } {
    return { checks: this.#checks, roundTrips: this.#backend.roundTrips() };
  }

  /** Tells the service that the backend's connection went up or down (Redis events). */
  connection(up: boolean): void {
    this.#health(up);
  }

  async #acquire(
    charges: readonly Charge[],
    leaseId: string,
  ): Promise<AcquireResult | LimiterUnavailableError> {
    this.#checks++;
    try {
      const r = await this.#backend.acquire(charges, leaseId, this.#options.leaseMs);
      this.#health(true);
      return r;
    } catch (err) {
      this.#health(false);
      return unavailable(err);
    }
  }

  #unavailable(
    error: LimiterUnavailableError,
    grant: Grant | undefined,
  ): { ok: true; admission: Admission } | Refusal {
    if (!this.#options.failOpen) return { ok: false, kind: 'unavailable', error };
    const now = this.#options.clock();
    if (now - this.#warnedAt >= WARN_EVERY_MS) {
      this.#warnedAt = now;
      this.#options.log(
        'warn',
        { err: error.cause },
        'rate limiter unavailable: letting requests through unlimited (ratelimit.failOpen)',
      );
    }
    const admission = grant ?? new Grant([], '');
    admission.degraded = true;
    return { ok: true, admission };
  }

  #health(ok: boolean): void {
    if (ok === this.#healthy) return;
    this.#healthy = ok;
    this.#options.onHealth?.(ok);
  }
}

function refusal(r: Extract<AcquireResult, { ok: false }>): Refusal {
  return {
    ok: false,
    kind: 'limited',
    denied: r.denied,
    retryAfterMs: r.retryAfterMs,
    states: r.states,
  };
}

function unavailable(err: unknown): LimiterUnavailableError {
  return err instanceof LimiterUnavailableError ? err : new LimiterUnavailableError({ cause: err });
}

function own(admission: Admission): Grant {
  if (!(admission instanceof Grant)) throw new TypeError('not an admission of this RateLimiter');
  return admission;
}
