/**
 * @module auth/oauth/throttle — throttling of failed client authentication (RFC 6749 §2.3.1 and
 * §10.10: endpoints that take passwords must resist brute force). Failures are counted in three
 * fixed windows:
 *
 * - per (client id, source): a guesser at one client from one address;
 * - per source: one address trying many client ids;
 * - per client id: many addresses guessing one client.
 *
 * A pair that has authenticated successfully before is "known": it is held only by its own
 * counter, so an attacker who floods a victim's client id from elsewhere (or shares a NAT with
 * it while guessing other ids) cannot lock the victim out of its usual source — the lockout-DoS
 * that a plain per-client lock would hand out. Unknown pairs are held by all three. Every block
 * ends with its window. State is in memory, bounded by `maxTracked` keys per table (least
 * recently touched evicted first), behind the `FailureThrottle` interface so a shared backend
 * (Redis) can replace it for replicas.
 */

/** Who is trying: the client id presented and the normalized source address. */
export interface Attempt {
  clientId: string;
  source: string;
}

/** Which counter refused the attempt. */
export type ThrottleScope = 'client_source' | 'source' | 'client';

/** A refusal: by which counter, and in how many seconds to come back. */
export interface Throttled {
  scope: ThrottleScope;
  retryAfter: number;
}

/** What `check` says about an attempt before its secret is checked. */
export interface ThrottleVerdict {
  /** The refusal in force, if any. */
  throttled: Throttled | undefined;
  /** The pair authenticated recently (its check may go ahead of others). */
  known: boolean;
}

/** Failure counting behind one small interface; async so a network backend fits. */
export interface FailureThrottle {
  check(attempt: Attempt, now: number): Promise<ThrottleVerdict>;
  /** Records a failure; returns the refusal it brought about (or that already held). */
  failed(attempt: Attempt, now: number): Promise<Throttled | undefined>;
  /** Records a success: clears the pair's failures and marks the pair known. */
  succeeded(attempt: Attempt, now: number): Promise<void>;
}

export interface ThrottleLimits {
  /** Window length, ms. */
  windowMs: number;
  perClientSource: number;
  perSource: number;
  perClient: number;
  /** How long a successful pair stays known, ms. */
  knownMs: number;
  /** Keys kept per table. */
  maxTracked: number;
}

interface Window {
  start: number;
  count: number;
}

/** A Map that keeps at most `max` keys, forgetting the least recently written first. */
class BoundedMap<V> {
  readonly #m = new Map<string, V>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#m.size;
  }

  get(key: string): V | undefined {
    return this.#m.get(key);
  }

  set(key: string, value: V): void {
    this.#m.delete(key);
    if (this.#m.size >= this.#max) {
      const oldest = this.#m.keys().next();
      if (oldest.done !== true) this.#m.delete(oldest.value);
    }
    this.#m.set(key, value);
  }

  delete(key: string): void {
    this.#m.delete(key);
  }
}

const pairKey = (a: Attempt): string => `${a.source}\n${a.clientId}`;

/** The in-memory throttle (one process). */
export class MemoryThrottle implements FailureThrottle {
  readonly #l: ThrottleLimits;
  readonly #pairs: BoundedMap<Window>;
  readonly #sources: BoundedMap<Window>;
  readonly #clients: BoundedMap<Window>;
  /** Known pairs: only a correct secret adds one, so a flood cannot evict them. */
  readonly #known: BoundedMap<number>;

  constructor(limits: ThrottleLimits) {
    this.#l = limits;
    this.#pairs = new BoundedMap(limits.maxTracked);
    this.#sources = new BoundedMap(limits.maxTracked);
    this.#clients = new BoundedMap(limits.maxTracked);
    this.#known = new BoundedMap(limits.maxTracked);
  }

  /** Keys held, per table (for tests and metrics). */
  get tracked(): { pairs: number; sources: number; clients: number; known: number } {
    return {
      pairs: this.#pairs.size,
      sources: this.#sources.size,
      clients: this.#clients.size,
      known: this.#known.size,
    };
  }

  /** True if the pair authenticated within `knownMs`. Synchronous: no I/O. */
  isKnown(a: Attempt, now: number): boolean {
    const until = this.#known.get(pairKey(a));
    return until !== undefined && until > now;
  }

  check(a: Attempt, now: number): Promise<ThrottleVerdict> {
    return Promise.resolve({ throttled: this.#refusal(a, now), known: this.isKnown(a, now) });
  }

  failed(a: Attempt, now: number): Promise<Throttled | undefined> {
    const known = this.isKnown(a, now);
    bump(this.#pairs, pairKey(a), now, this.#l.windowMs);
    // A known pair's failures (say, a rotated secret) are its own business.
    if (!known) {
      bump(this.#sources, a.source, now, this.#l.windowMs);
      bump(this.#clients, a.clientId, now, this.#l.windowMs);
    }
    return Promise.resolve(this.#refusal(a, now));
  }

  succeeded(a: Attempt, now: number): Promise<void> {
    const key = pairKey(a);
    this.#pairs.delete(key);
    this.#known.set(key, now + this.#l.knownMs);
    return Promise.resolve();
  }

  #refusal(a: Attempt, now: number): Throttled | undefined {
    const l = this.#l;
    const pair = blocked(this.#pairs.get(pairKey(a)), l.perClientSource, now, l.windowMs);
    if (pair !== undefined) return { scope: 'client_source', retryAfter: pair };
    if (this.isKnown(a, now)) return undefined;
    const source = blocked(this.#sources.get(a.source), l.perSource, now, l.windowMs);
    if (source !== undefined) return { scope: 'source', retryAfter: source };
    const client = blocked(this.#clients.get(a.clientId), l.perClient, now, l.windowMs);
    if (client !== undefined) return { scope: 'client', retryAfter: client };
    return undefined;
  }
}

function bump(table: BoundedMap<Window>, key: string, now: number, windowMs: number): void {
  const w = table.get(key);
  if (w === undefined || now >= w.start + windowMs) table.set(key, { start: now, count: 1 });
  else table.set(key, { start: w.start, count: w.count + 1 });
}

/** Seconds until the window ends if it holds `limit` failures or more, else undefined. */
function blocked(
  w: Window | undefined,
  limit: number,
  now: number,
  windowMs: number,
): number | undefined {
  if (w === undefined || w.count < limit || now >= w.start + windowMs) return undefined;
  return Math.max(1, Math.ceil((w.start + windowMs - now) / 1000));
}

/**
 * The address a throttle counts: IPv4 as is (also when IPv4-mapped), IPv6 by its /64 prefix —
 * one host usually holds a whole /64, so counting single IPv6 addresses would let it rotate
 * through 2^64 of them.
 */
export function sourceKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('%')[0]?.split('::') ?? [];
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
