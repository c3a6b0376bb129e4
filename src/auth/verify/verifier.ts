/**
 * @module auth/verify/verifier — the full verification pipeline for every protected request:
 * cache → gate → issuer (chosen by configuration, never by fetching what `iss` says) → alg
 * allow-list → typ → key by `kid` → time claims → signature (jose) → claims → revocation. What
 * the token may do is not decided here but per request by the policy (policy/).
 */
import type { CryptoKey } from 'jose';
import { epochSeconds, type Clock } from '../../lib/clock.js';
import type { RevocationList } from '../revocations.js';
import { checkTimes, validateClaims, type ClaimRules, type VerifiedToken } from './claims.js';
import { TokenError } from './errors.js';
import { gate } from './gate.js';
import { verifySignature } from './signature.js';

/** Where one issuer's keys come from. */
export interface IssuerKeys {
  /** Key for `kid`/`alg`, or undefined if unknown. May fetch (rate-limited) for external IdPs. */
  get(kid: string, alg: string): Promise<CryptoKey | undefined> | CryptoKey | undefined;
}

/** One trusted issuer: its rules, allowed algorithms and key source. */
export interface TrustedIssuer {
  rules: ClaimRules;
  algorithms: ReadonlySet<string>;
  /** Accepted `typ` values, lower-cased; `undefined` in the set means "absent is fine". */
  typs: ReadonlySet<string | undefined>;
  keys: IssuerKeys;
}

export interface VerifierOptions {
  issuers: readonly TrustedIssuer[];
  revocations: RevocationList;
  clock: Clock;
  maxTokenBytes: number;
  cacheSize: number;
}

interface CacheEntry {
  token: VerifiedToken;
}

/** Verifies access tokens; one instance per server. */
export class Verifier {
  readonly #issuers: Map<string, TrustedIssuer>;
  readonly #o: VerifierOptions;
  readonly #cache = new Map<string, CacheEntry>();

  constructor(options: VerifierOptions) {
    this.#o = options;
    this.#issuers = new Map(options.issuers.map((i) => [i.rules.issuer, i]));
  }

  /**
   * The identity of `token` if it was verified before and is still cached, checked for expiry
   * and revocation exactly as {@link verify} does (throws TokenError); `undefined` if not cached
   * (then call `verify`). Synchronous, so a cache hit costs its caller no promise.
   */
  cached(token: string, now = epochSeconds(this.#o.clock)): VerifiedToken | undefined {
    // Keyed by the whole token, never a part of it: a cached identity must only ever answer the
    // exact bytes that were verified. (Hashing it cost more than the rest of a cache hit; the
    // cache holds only verified tokens, each at most maxTokenBytes.)
    const hit = this.#o.cacheSize > 0 ? this.#cache.get(token) : undefined;
    if (hit === undefined) return undefined;
    const t = hit.token;
    if (now >= t.expiresAt) {
      this.#cache.delete(token);
      throw new TokenError('expired');
    }
    if (this.#revoked(t)) throw new TokenError('revoked');
    return t;
  }

  /** Verifies `token`; resolves to its identity or rejects with TokenError. */
  async verify(token: string): Promise<VerifiedToken> {
    const now = epochSeconds(this.#o.clock);
    const hit = this.cached(token, now);
    if (hit !== undefined) return hit;
    const verified = await this.#verifyUncached(token, now);
    if (this.#o.cacheSize > 0) {
      if (this.#cache.size >= this.#o.cacheSize) {
        const oldest = this.#cache.keys().next();
        if (oldest.done !== true) this.#cache.delete(oldest.value);
      }
      this.#cache.set(token, { token: verified });
    }
    return verified;
  }

  /** Revoked by id, or — ours only — issued to a client that has since been revoked. */
  #revoked(t: VerifiedToken): boolean {
    const r = this.#o.revocations;
    if (t.jti !== undefined && r.has(t.jti)) return true;
    return t.own && t.clientId !== undefined && r.clientRevoked(t.clientId);
  }

  async #verifyUncached(token: string, now: number): Promise<VerifiedToken> {
    const { header, payload, signingInput, signature } = gate(token, this.#o.maxTokenBytes);
    const iss = payload.iss;
    const issuer = typeof iss === 'string' ? this.#issuers.get(iss) : undefined;
    if (issuer === undefined) throw new TokenError('unknown_issuer');
    if (!issuer.algorithms.has(header.alg)) throw new TokenError('alg_not_allowed', header.alg);
    if (!issuer.typs.has(header.typ?.toLowerCase())) throw new TokenError('bad_typ');
    // Cheap checks first, so expired or over-long tokens never cost a key fetch or a signature.
    checkTimes(payload, issuer.rules, now);
    const found = issuer.keys.get(header.kid, header.alg);
    const key = found instanceof Promise ? await found : found;
    if (key === undefined) throw new TokenError('unknown_key');
    const checked = verifySignature(header.alg, key, signingInput, signature);
    if (!(typeof checked === 'boolean' ? checked : await checked)) {
      throw new TokenError('bad_signature');
    }
    const verified = validateClaims(payload, issuer.rules);
    if (this.#revoked(verified)) throw new TokenError('revoked');
    // The scopes as carried: what they are worth is decided per request by the policy in force
    // (policy/), never cached here, so a policy change applies at once to cached tokens too.
    return verified;
  }
}
