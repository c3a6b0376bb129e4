/**
 * @module auth/client-limits — the limits an operator set on a client (`gatehouse clients
 * update --limits`), as the rate limiter reads them on every limited request: from memory,
 * looked up in the store at most once per `ttlMs` per client (the revocation sync interval, so
 * a change made on any replica holds everywhere within it). Bounded: the least recently
 * fetched entries go first.
 */
import { systemClock, type Clock } from '../lib/clock.js';
import type { LimitsSpec } from '../policy/index.js';
import type { Store } from '../store/index.js';
import { validateLimits } from './clients.js';

interface Entry {
  readonly limits: LimitsSpec | null;
  readonly until: number;
}

/** Clients' own limits, cached. */
export class ClientLimitsCache {
  readonly #store: Store;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<LimitsSpec | null>>();

  constructor(store: Store, ttlMs: number, now: Clock = systemClock, max = 10_000) {
    this.#store = store;
    this.#ttlMs = ttlMs;
    this.#now = now;
    this.#max = max;
  }

  /**
   * The limits of our client `id` (null: its roles'), synchronously when fresh in memory; a
   * promise when the store must be asked. A store failure rejects (the request then fails
   * closed, as with any store failure).
   */
  get(id: string): LimitsSpec | null | Promise<LimitsSpec | null> {
    const hit = this.#entries.get(id);
    if (hit !== undefined && hit.until > this.#now()) return hit.limits;
    const pending = this.#pending.get(id);
    if (pending !== undefined) return pending;
    const fetched = this.#fetch(id).finally(() => this.#pending.delete(id));
    this.#pending.set(id, fetched);
    return fetched;
  }

  async #fetch(id: string): Promise<LimitsSpec | null> {
    const client = await this.#store.clients.get(id);
    // Stored limits were validated when set; a row edited by hand that no longer parses is
    // refused loudly rather than read as "no limits".
    const limits = client?.limits == null ? null : validateLimits(client.limits);
    this.#entries.delete(id);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(id, { limits, until: this.#now() + this.#ttlMs });
    return limits;
  }
}
