/**
 * @module store/probe — a periodic cheap round trip to the store (`SELECT 1` on PostgreSQL), so
 * that `/readyz` says "store unavailable" while the database is down even when no request is
 * failing (a load balancer that took the replica out sends none), and says "ok" again by itself
 * once the pool reconnects. One probe at a time; one that outlives `timeoutMs` counts as failed.
 */
import { systemClock, type Clock } from '../lib/clock.js';
import type { Store } from './types.js';

/** Where the probe reports a change of state (never once per tick). */
export type ProbeSink = (
  level: 'info' | 'warn' | 'error',
  obj: Record<string, unknown>,
  msg: string,
) => void;

export interface StoreProbeOptions {
  store: Store;
  /** Milliseconds between probes (default 1000). */
  intervalMs?: number;
  /** A probe not answered within this many ms counts as a failure (default 2000). */
  timeoutMs?: number;
  log?: ProbeSink;
  clock?: Clock;
  /** Told each probe's outcome (the store-health gauge). */
  onResult?: (healthy: boolean) => void;
}

/** The round trip: the backend's own `ping` where it has one, else an empty indexed read. */
function pinger(store: Store): () => Promise<unknown> {
  const own = (store as Partial<{ ping: () => Promise<void> }>).ping;
  if (typeof own === 'function') return () => own.call(store);
  return () => store.revocations.since(Number.MAX_SAFE_INTEGER);
}

/** Keeps track of whether the store answers. */
export class StoreProbe {
  readonly #ping: () => Promise<unknown>;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #log: ProbeSink | undefined;
  readonly #clock: Clock;
  readonly #onResult: ((healthy: boolean) => void) | undefined;
  #healthy = true;
  #inFlight: Promise<boolean> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #downSince: number | undefined;

  constructor(o: StoreProbeOptions) {
    this.#ping = pinger(o.store);
    this.#intervalMs = o.intervalMs ?? 1000;
    this.#timeoutMs = o.timeoutMs ?? 2000;
    this.#log = o.log;
    this.#clock = o.clock ?? systemClock;
    this.#onResult = o.onResult;
  }

  /** Whether the last probe was answered (true until one fails). */
  healthy(): boolean {
    return this.#healthy;
  }

  /** Probes now (joins a probe in flight); resolves with the outcome, never rejects. */
  check(): Promise<boolean> {
    this.#inFlight ??= this.#probe().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #probe(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`no answer within ${String(this.#timeoutMs)} ms`));
      }, this.#timeoutMs);
    });
    try {
      await Promise.race([this.#ping(), timeout]);
      if (!this.#healthy) {
        const downMs = this.#downSince === undefined ? null : this.#clock() - this.#downSince;
        this.#log?.('info', { downMs }, 'store reachable again');
      }
      this.#healthy = true;
      this.#downSince = undefined;
    } catch (err) {
      if (this.#healthy) {
        this.#log?.('error', { err }, 'store unavailable: /readyz reports it until it is back');
        this.#downSince = this.#clock();
      }
      this.#healthy = false;
    } finally {
      clearTimeout(timer);
    }
    this.#onResult?.(this.#healthy);
    return this.#healthy;
  }

  /** Probes every `intervalMs` until `stop()` (the timer does not keep the process alive). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      void this.check();
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** Stops probing and waits for a probe in flight. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }
}
