/**
 * @module auth/oauth/client-auth — authenticates a client at the token, revocation and
 * introspection endpoints with exactly one method (RFC 6749 §2.3): client_secret_basic,
 * client_secret_post or private_key_jwt (RFC 7523). Every failure is the same `invalid_client`.
 */
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import { epochSeconds, type Clock } from '../../lib/clock.js';
import type { ClientAuthMethod, ClientRecord, Store } from '../../store/index.js';
import { DUMMY_HASH, verifySecret } from '../secrets.js';
import { OAuthError } from './errors.js';
import { VerifiedSecretCache } from './secret-cache.js';

/** The credentials a request carried, as the HTTP layer found them. */
export interface ClientCredentials {
  basic?: { id: string; secret: string } | undefined;
  /** client_id / client_secret form fields. */
  post?: { id: string | undefined; secret: string | undefined } | undefined;
  /** client_assertion_type / client_assertion form fields. */
  assertion?: { type: string | undefined; jwt: string | undefined } | undefined;
}

export interface ClientAuthOptions {
  store: Store;
  clock: Clock;
  /** Our issuer identifier: the only accepted `aud` of a client assertion. */
  issuer: string;
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Algorithms accepted for private_key_jwt assertions (advertised in metadata). */
export const ASSERTION_ALGS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'RS256', 'PS256'];
const MAX_ASSERTION_LIFETIME = 300;
/** Leeway on the assertion's time claims, in seconds. */
const ASSERTION_CLOCK_TOLERANCE = 60;
const fail = (): OAuthError => new OAuthError('invalid_client', 'client authentication failed');

/** Authenticates clients; one per server. */
export class ClientAuthenticator {
  readonly #o: ClientAuthOptions;
  readonly #verified = new VerifiedSecretCache();

  constructor(options: ClientAuthOptions) {
    this.#o = options;
  }

  /** Returns the authenticated, unrevoked client, or throws `invalid_client`. */
  async authenticate(c: ClientCredentials): Promise<ClientRecord> {
    const hasPostSecret = c.post?.secret !== undefined;
    const hasAssertion = c.assertion?.jwt !== undefined || c.assertion?.type !== undefined;
    const used = Number(c.basic !== undefined) + Number(hasPostSecret) + Number(hasAssertion);
    if (used === 0) throw fail();
    if (used > 1)
      throw new OAuthError('invalid_request', 'more than one client authentication method');
    if (c.basic !== undefined)
      return this.#secret(c.basic.id, c.basic.secret, 'client_secret_basic');
    if (hasPostSecret) {
      return this.#secret(c.post?.id ?? '', c.post?.secret ?? '', 'client_secret_post');
    }
    return this.#assertion(c.assertion?.type, c.assertion?.jwt, c.post?.id);
  }

  async #secret(id: string, secret: string, method: ClientAuthMethod): Promise<ClientRecord> {
    const client = id === '' ? undefined : await this.#o.store.clients.get(id);
    const stored = client?.secretHash ?? null;
    const now = this.#o.clock();
    let ok = stored !== null && this.#verified.has(id, secret, stored, now);
    if (!ok) {
      // Hash even for unknown clients so response time does not reveal which ids exist.
      ok = await verifySecret(secret, stored ?? DUMMY_HASH);
      if (ok && stored !== null) this.#verified.add(id, secret, stored, now);
    }
    // Revocation and allowed methods are read from the store on every request.
    if (!ok || client?.revokedAt !== null || !client.authMethods.includes(method)) {
      throw fail();
    }
    return client;
  }

  async #assertion(
    type: string | undefined,
    jwt: string | undefined,
    idParam: string | undefined,
  ): Promise<ClientRecord> {
    if (type !== ASSERTION_TYPE || jwt === undefined || jwt.length > 8192) throw fail();
    let sub: unknown;
    let alg: unknown;
    try {
      sub = decodeJwt(jwt).sub;
      alg = decodeProtectedHeader(jwt).alg;
    } catch {
      throw fail();
    }
    if (typeof sub !== 'string' || (idParam !== undefined && idParam !== sub)) throw fail();
    if (typeof alg !== 'string' || !ASSERTION_ALGS.includes(alg)) throw fail();
    const client = await this.#o.store.clients.get(sub);
    if (client?.revokedAt !== null || !client.authMethods.includes('private_key_jwt')) {
      throw fail();
    }
    const now = epochSeconds(this.#o.clock);
    const payload = await this.#verifyAssertion(jwt, alg, client, now);
    if (payload.iss !== sub) throw fail();
    const { exp, jti } = payload;
    if (typeof exp !== 'number' || exp - now > MAX_ASSERTION_LIFETIME) throw fail();
    if (typeof jti !== 'string' || jti === '' || jti.length > 256) throw fail();
    // RFC 7523 §3: the same assertion must not be accepted twice. Remember it for as long as
    // it verifies, i.e. until exp plus the leeway, or it could be replayed within the leeway.
    const until = exp + ASSERTION_CLOCK_TOLERANCE;
    if (!(await this.#o.store.replay.claim(`assertion:${client.id}:${jti}`, until, now)))
      throw fail();
    return client;
  }

  async #verifyAssertion(
    jwt: string,
    alg: string,
    client: ClientRecord,
    now: number,
  ): Promise<Record<string, unknown>> {
    for (const jwk of client.jwks ?? []) {
      if (jwk.alg !== undefined && jwk.alg !== alg) continue;
      try {
        const key = await importJWK(jwk as JWK, alg);
        const { payload, protectedHeader } = await jwtVerify(jwt, key, {
          algorithms: [alg],
          // The audience must be exactly our issuer identifier (RFC 9700 §2.2 / 7523bis).
          audience: this.#o.issuer,
          requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
          currentDate: new Date(now * 1000),
          clockTolerance: ASSERTION_CLOCK_TOLERANCE,
        });
        if (Array.isArray(payload.aud) || protectedHeader.typ?.toLowerCase() === 'at+jwt')
          throw fail();
        if (['jwk', 'jku', 'x5u', 'x5c', 'crit'].some((h) => h in protectedHeader)) throw fail();
        return payload;
      } catch {
        // Try the next registered key.
      }
    }
    throw fail();
  }
}
