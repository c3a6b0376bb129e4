/**
 * @module auth/oauth/client-auth — authenticates a client at the token, revocation and
 * introspection endpoints with exactly one method (RFC 6749 §2.3): client_secret_basic,
 * client_secret_post or private_key_jwt (RFC 7523). Every failure is the same `invalid_client`.
 *
 * Brute force and floods (RFC 6749 §2.3.1, §10.10): a secret verified recently is recognised
 * from the cache without scrypt and without consulting the throttle, so a flood elsewhere never
 * delays it. Any other attempt first asks the failure throttle (429 when held), then waits for a
 * bounded secret check on a worker thread (503 when the queue is full). Failures are counted.
 */
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { epochSeconds, type Clock } from '../../lib/clock.js';
import type { ClientAuthMethod, ClientRecord, Store } from '../../store/index.js';
import { DUMMY_HASH } from '../secrets.js';
import { AssertionKeys } from './assertion-keys.js';
import { OAuthError } from './errors.js';
import { VerifiedSecretCache } from './secret-cache.js';
import type { SecretChecks } from './secret-checks.js';
import { sourceKey, type Attempt, type FailureThrottle, type ThrottleScope } from './throttle.js';

/** The credentials a request carried, as the HTTP layer found them. */
export interface ClientCredentials {
  basic?: { id: string; secret: string } | undefined;
  /** client_id / client_secret form fields. */
  post?: { id: string | undefined; secret: string | undefined } | undefined;
  /** client_assertion_type / client_assertion form fields. */
  assertion?: { type: string | undefined; jwt: string | undefined } | undefined;
}

/** A refused attempt, told to `onRefusal` (the audit log records these, issue 8). */
export interface ClientAuthRefusal {
  /** `throttled`: too many failures (429); `busy`: the secret-check queue was full (503). */
  reason: 'throttled' | 'busy';
  scope: ThrottleScope | undefined;
  clientId: string;
  /** The source as counted (IPv6 by /64). */
  source: string;
  retryAfter: number;
  /** Epoch ms. */
  at: number;
}

export interface ClientAuthOptions {
  store: Store;
  clock: Clock;
  /** Our issuer identifier: the only accepted `aud` of a client assertion. */
  issuer: string;
  checks: SecretChecks;
  throttle: FailureThrottle;
  onRefusal?: ((refusal: ClientAuthRefusal) => void) | undefined;
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
  readonly #keys = new AssertionKeys();

  constructor(options: ClientAuthOptions) {
    this.#o = options;
  }

  /**
   * Returns the authenticated, unrevoked client, or throws `invalid_client` (or a 429/503
   * refusal). `ip` is the request's source address.
   */
  async authenticate(c: ClientCredentials, ip: string): Promise<ClientRecord> {
    const hasPostSecret = c.post?.secret !== undefined;
    const hasAssertion = c.assertion?.jwt !== undefined || c.assertion?.type !== undefined;
    const used = Number(c.basic !== undefined) + Number(hasPostSecret) + Number(hasAssertion);
    if (used === 0) throw fail();
    if (used > 1)
      throw new OAuthError('invalid_request', 'more than one client authentication method');
    const source = sourceKey(ip);
    if (c.basic !== undefined)
      return this.#secret(c.basic.id, c.basic.secret, 'client_secret_basic', source);
    if (hasPostSecret) {
      return this.#secret(c.post?.id ?? '', c.post?.secret ?? '', 'client_secret_post', source);
    }
    return this.#assertion(c.assertion?.type, c.assertion?.jwt, c.post?.id, source);
  }

  async #secret(
    id: string,
    secret: string,
    method: ClientAuthMethod,
    source: string,
  ): Promise<ClientRecord> {
    const attempt: Attempt = { clientId: id, source };
    const client = id === '' ? undefined : await this.#o.store.clients.get(id);
    const stored = client?.secretHash ?? null;
    const now = this.#o.clock();
    let ok = stored !== null && this.#verified.has(id, secret, stored, now);
    if (!ok) {
      const known = await this.#admit(attempt);
      // Hash even for unknown clients so response time does not reveal which ids exist.
      const outcome = await this.#o.checks.check(
        secret,
        stored ?? DUMMY_HASH,
        known ? 'known' : 'unknown',
      );
      if (outcome === 'busy') throw this.#refuse('busy', attempt, undefined, 1);
      ok = outcome;
      if (ok && stored !== null) this.#verified.add(id, secret, stored, now);
    }
    // Revocation and allowed methods are read from the store on every request.
    if (!ok || client?.revokedAt !== null || !client.authMethods.includes(method)) {
      return this.#failed(attempt);
    }
    await this.#o.throttle.succeeded(attempt, this.#o.clock());
    return client;
  }

  /** Asks the throttle; throws its refusal, else tells whether the pair is known. */
  async #admit(attempt: Attempt): Promise<boolean> {
    const verdict = await this.#o.throttle.check(attempt, this.#o.clock());
    const t = verdict.throttled;
    if (t !== undefined) throw this.#refuse('throttled', attempt, t.scope, t.retryAfter);
    return verdict.known;
  }

  /** Counts a failure; the one that reaches a limit already answers 429. */
  async #failed(attempt: Attempt): Promise<never> {
    const t = await this.#o.throttle.failed(attempt, this.#o.clock());
    if (t !== undefined) throw this.#refuse('throttled', attempt, t.scope, t.retryAfter);
    throw fail();
  }

  #refuse(
    reason: ClientAuthRefusal['reason'],
    attempt: Attempt,
    scope: ThrottleScope | undefined,
    retryAfter: number,
  ): OAuthError {
    this.#o.onRefusal?.({ reason, scope, ...attempt, retryAfter, at: this.#o.clock() });
    // RFC 6749 §5.2 has no code for "slow down". 429 + invalid_request is a registered code every
    // client parses, for a request refused as it stands; invalid_client would tell a client that
    // its credentials are wrong (and demands 401). Overload is temporarily_unavailable + 503, the
    // meaning RFC 6749 §4.1.2.1 registered that code with.
    if (reason === 'busy') {
      return new OAuthError('temporarily_unavailable', 'too many client authentications at once', {
        status: 503,
        retryAfter,
      });
    }
    return new OAuthError(
      'invalid_request',
      'too many failed client authentications; retry later',
      {
        status: 429,
        retryAfter,
      },
    );
  }

  async #assertion(
    type: string | undefined,
    jwt: string | undefined,
    idParam: string | undefined,
    source: string,
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
    const attempt: Attempt = { clientId: sub, source };
    await this.#admit(attempt);
    const client = await this.#o.store.clients.get(sub);
    if (client?.revokedAt !== null || !client.authMethods.includes('private_key_jwt')) {
      return this.#failed(attempt);
    }
    const now = epochSeconds(this.#o.clock);
    const payload = await this.#verifyAssertion(jwt, alg, client, now);
    const { exp, jti } = payload ?? {};
    if (
      payload?.iss !== sub ||
      typeof exp !== 'number' ||
      exp - now > MAX_ASSERTION_LIFETIME ||
      typeof jti !== 'string' ||
      jti === '' ||
      jti.length > 256
    ) {
      return this.#failed(attempt);
    }
    // RFC 7523 §3: the same assertion must not be accepted twice. Remember it for as long as
    // it verifies, i.e. until exp plus the leeway, or it could be replayed within the leeway.
    const until = exp + ASSERTION_CLOCK_TOLERANCE;
    if (!(await this.#o.store.replay.claim(`assertion:${client.id}:${jti}`, until, now)))
      return this.#failed(attempt);
    await this.#o.throttle.succeeded(attempt, this.#o.clock());
    return client;
  }

  /** The assertion's claims if one of the client's keys verifies it, else undefined. */
  async #verifyAssertion(
    jwt: string,
    alg: string,
    client: ClientRecord,
    now: number,
  ): Promise<Record<string, unknown> | undefined> {
    for (const key of await this.#keys.forAlg(client, alg)) {
      try {
        const { payload, protectedHeader } = await jwtVerify(jwt, key, {
          algorithms: [alg],
          // The audience must be exactly our issuer identifier (RFC 9700 §2.2 / 7523bis).
          audience: this.#o.issuer,
          requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
          currentDate: new Date(now * 1000),
          clockTolerance: ASSERTION_CLOCK_TOLERANCE,
        });
        if (Array.isArray(payload.aud) || protectedHeader.typ?.toLowerCase() === 'at+jwt')
          return undefined;
        if (['jwk', 'jku', 'x5u', 'x5c', 'crit'].some((h) => h in protectedHeader))
          return undefined;
        return payload;
      } catch {
        // Try the next registered key.
      }
    }
    return undefined;
  }
}
