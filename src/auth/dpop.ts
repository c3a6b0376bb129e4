/**
 * @module auth/dpop — RFC 9449 proof-of-possession. A proof is a `dpop+jwt` signed with the key
 * in its own `jwk` header; we check the signature, `htm`, `htu` (without query and fragment),
 * a fresh `iat`, an unreplayed `jti` and, at resource servers, `ath` = hash of the access token.
 */
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  type JWK,
} from 'jose';
import { epochSeconds, type Clock } from '../lib/clock.js';
import { sha256b64url } from '../lib/hash.js';
import type { ReplayStore } from '../store/index.js';

/** Asymmetric algorithms accepted in proofs (advertised in metadata). */
export const DPOP_ALGS = ['ES256', 'EdDSA', 'RS256', 'PS256', 'ES384'] as const;

/** Why a proof was refused (logged, never shown in detail). */
export class DpopError extends Error {}

export interface DpopOptions {
  clock: Clock;
  replay: ReplayStore;
  maxAge: number;
  skew: number;
}

export interface ProofCheck {
  proof: string;
  method: string;
  /** The request's public URL; query and fragment are ignored. */
  url: string;
  /** Present at resource servers: the proof must carry its hash in `ath`. */
  accessToken?: string | undefined;
}

const fail = (why: string): DpopError => new DpopError(why);

/**
 * Scheme and host are case-insensitive and `URL` already lower-cases them (and drops a default
 * port); the path is case-sensitive (RFC 3986 §6.2.2.1), so it is compared as is.
 */
function normalizeUrl(u: string): string | undefined {
  try {
    const url = new URL(u);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return undefined;
  }
}

/** Verifies DPoP proofs. */
export class DpopVerifier {
  readonly #o: DpopOptions;

  constructor(options: DpopOptions) {
    this.#o = options;
  }

  /** Checks a proof; resolves to the thumbprint (`jkt`) of its key. */
  async verify(c: ProofCheck): Promise<string> {
    if (c.proof.length > 4096 || c.proof.split('.').length !== 3) throw fail('malformed');
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(c.proof);
    } catch {
      throw fail('malformed header');
    }
    const { typ, alg, jwk } = header;
    if (typ !== 'dpop+jwt') throw fail('typ');
    if (typeof alg !== 'string' || !(DPOP_ALGS as readonly string[]).includes(alg))
      throw fail('alg');
    if (
      typeof jwk !== 'object' ||
      (jwk as unknown) === null ||
      Array.isArray(jwk) ||
      'd' in jwk ||
      jwk.kty === 'oct'
    )
      throw fail('jwk');
    if ('jku' in header || 'x5u' in header || 'x5c' in header || 'crit' in header)
      throw fail('header');
    const now = epochSeconds(this.#o.clock);
    let payload: Record<string, unknown>;
    try {
      const key = await importJWK(jwk as JWK, alg);
      ({ payload } = await jwtVerify(c.proof, key, {
        algorithms: [alg],
        typ: 'dpop+jwt',
        currentDate: new Date(now * 1000),
      }));
    } catch {
      throw fail('signature');
    }
    const { htm, htu, iat, jti, ath } = payload;
    if (htm !== c.method) throw fail('htm');
    const expected = normalizeUrl(c.url);
    if (typeof htu !== 'string' || expected === undefined || normalizeUrl(htu) !== expected)
      throw fail('htu');
    if (typeof iat !== 'number' || iat > now + this.#o.skew || now - iat > this.#o.maxAge)
      throw fail('iat');
    if (typeof jti !== 'string' || jti === '' || jti.length > 256) throw fail('jti');
    if (c.accessToken !== undefined && ath !== sha256b64url(c.accessToken)) throw fail('ath');
    const jkt = await calculateJwkThumbprint(jwk, 'sha256');
    // A proof is single use: remember its jti for as long as it could be accepted.
    const until = iat + this.#o.maxAge + this.#o.skew;
    if (!(await this.#o.replay.claim(`dpop:${jkt}:${jti}`, until, now))) throw fail('replay');
    return jkt;
  }
}
