/**
 * @module auth/verify/remote-jwks — the key set of one external identity provider. Fetched with a
 * timeout, cached, refetched on an unknown `kid` at most once per cooldown (so a flood of forged
 * `kid`s costs the IdP one request), and the last good set is kept when the provider is down.
 * The URL comes from configuration only, never from a token.
 */
import { importJWK, type CryptoKey, type JWK } from 'jose';
import type { Clock } from '../../lib/clock.js';

/** What the resolver needs from the outside world; `fetch` is injected so tests control it. */
export interface RemoteJwksOptions {
  issuer: string;
  jwksUri?: string | undefined;
  discovery?: string | undefined;
  algorithms: readonly string[];
  cooldownMs: number;
  timeoutMs: number;
  maxAgeMs: number;
  clock: Clock;
  fetch: typeof globalThis.fetch;
  onError?: (message: string) => void;
}

/** One published key, imported once for each allowed algorithm it may be used with. */
type KeyEntry = ReadonlyMap<string, CryptoKey>;

const MAX_KEYS = 100;
const MAX_BODY = 512 * 1024;

/** A cached, rate-limited view of one provider's JWKS. */
export class RemoteJwks {
  readonly #o: RemoteJwksOptions;
  #keys = new Map<string, KeyEntry>();
  #fetchedAt = -Infinity;
  #attemptedAt = -Infinity;
  #inflight: Promise<void> | undefined;
  #jwksUri: string | undefined;

  constructor(options: RemoteJwksOptions) {
    this.#o = options;
    this.#jwksUri = options.jwksUri;
  }

  /** The key for `kid` usable with `alg`, fetching at most once per cooldown. */
  async get(kid: string, alg: string): Promise<CryptoKey | undefined> {
    const now = this.#o.clock();
    const stale = now - this.#fetchedAt > this.#o.maxAgeMs;
    if ((!this.#keys.has(kid) || stale) && now - this.#attemptedAt >= this.#o.cooldownMs) {
      await this.#refresh();
    } else if (this.#inflight !== undefined && !this.#keys.has(kid)) {
      await this.#inflight;
    }
    return this.#keys.get(kid)?.get(alg);
  }

  #refresh(): Promise<void> {
    this.#inflight ??= this.#load().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #getJson(url: string): Promise<unknown> {
    const res = await this.#o.fetch(url, {
      signal: AbortSignal.timeout(this.#o.timeoutMs),
      redirect: 'error',
      headers: { accept: 'application/json' },
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const text = await res.text();
    if (text.length > MAX_BODY) throw new Error('response too large');
    return JSON.parse(text) as unknown;
  }

  async #load(): Promise<void> {
    this.#attemptedAt = this.#o.clock();
    try {
      if (this.#jwksUri === undefined && this.#o.discovery !== undefined) {
        const meta = (await this.#getJson(this.#o.discovery)) as Record<string, unknown>;
        // RFC 8414 §3.3: the metadata must name the issuer we were configured with.
        if (meta.issuer !== this.#o.issuer) throw new Error('discovery issuer mismatch');
        if (typeof meta.jwks_uri !== 'string' || !/^https?:\/\//.test(meta.jwks_uri)) {
          throw new Error('discovery has no usable jwks_uri');
        }
        this.#jwksUri = meta.jwks_uri;
      }
      if (this.#jwksUri === undefined) throw new Error('no jwks_uri');
      const body = (await this.#getJson(this.#jwksUri)) as { keys?: unknown };
      if (!Array.isArray(body.keys)) throw new Error('not a JWK Set');
      const next = new Map<string, KeyEntry>();
      for (const item of body.keys.slice(0, MAX_KEYS) as unknown[]) {
        // Untrusted JSON: a null entry must not abort the load and discard every good key.
        if (typeof item !== 'object' || item === null) continue;
        const jwk = item as JWK;
        const entry = await this.#importKey(jwk);
        if (entry !== undefined && typeof jwk.kid === 'string') next.set(jwk.kid, entry);
      }
      this.#keys = next;
      this.#fetchedAt = this.#o.clock();
    } catch (err) {
      // Keep the last good set: a provider outage must not lock everyone out.
      this.#o.onError?.(`JWKS refresh for ${this.#o.issuer} failed: ${(err as Error).message}`);
    }
  }

  async #importKey(jwk: JWK): Promise<KeyEntry | undefined> {
    if (typeof jwk !== 'object' || (jwk.use !== undefined && jwk.use !== 'sig')) return undefined;
    if ('d' in jwk || jwk.kty === 'oct') return undefined; // never private or symmetric material
    const candidates =
      jwk.alg !== undefined ? [jwk.alg] : this.#o.algorithms.filter((a) => fits(jwk, a));
    // A CryptoKey is bound to one algorithm: an RSA key without `alg` needs one per RS*/PS*.
    const entry = new Map<string, CryptoKey>();
    for (const alg of candidates.filter((a) => this.#o.algorithms.includes(a))) {
      try {
        entry.set(alg, (await importJWK({ ...jwk, alg }, alg)) as CryptoKey);
      } catch {
        // unusable with this algorithm; try the next
      }
    }
    return entry.size > 0 ? entry : undefined;
  }
}

function fits(jwk: JWK, alg: string): boolean {
  if (jwk.kty === 'RSA') return alg.startsWith('RS') || alg.startsWith('PS');
  if (jwk.kty === 'EC')
    return alg === `ES${{ 'P-256': '256', 'P-384': '384', 'P-521': '512' }[jwk.crv ?? ''] ?? ''}`;
  if (jwk.kty === 'OKP') return jwk.crv === 'Ed25519' && (alg === 'EdDSA' || alg === 'Ed25519');
  return false;
}
