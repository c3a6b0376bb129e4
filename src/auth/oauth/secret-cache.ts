/**
 * @module auth/oauth/secret-cache — remembers recently verified client secrets so a client that
 * asks for a token every few minutes pays for scrypt once, not every time. Entries are HMACs
 * under a per-process random key (never the secret), bound to the stored hash (a new secret
 * invalidates them), and expire after a few minutes. A miss always runs the full scrypt check,
 * so the cache does not make guessing cheaper.
 */
import { createHmac, randomBytes } from 'node:crypto';

interface Entry {
  storedHash: string;
  until: number;
}

/** A bounded, expiring set of (client id, secret) pairs known to be valid. */
export class VerifiedSecretCache {
  readonly #key = randomBytes(32);
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(ttlMs = 5 * 60_000, max = 10_000) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  #digest(id: string, secret: string): string {
    return createHmac('sha256', this.#key)
      .update(id)
      .update('\0')
      .update(secret)
      .digest('base64url');
  }

  /** True if this exact secret was verified against `storedHash` within the TTL. */
  has(id: string, secret: string, storedHash: string, now: number): boolean {
    const d = this.#digest(id, secret);
    const e = this.#entries.get(d);
    if (e === undefined) return false;
    if (e.until <= now || e.storedHash !== storedHash) {
      this.#entries.delete(d);
      return false;
    }
    return true;
  }

  /** Records a successful verification. */
  add(id: string, secret: string, storedHash: string, now: number): void {
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(this.#digest(id, secret), { storedHash, until: now + this.#ttlMs });
  }
}
