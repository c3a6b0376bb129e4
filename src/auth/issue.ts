/**
 * @module auth/issue — mints RFC 9068 access tokens: `typ: at+jwt`, asymmetric signature with the
 * ring's active key, and only the claims the profile needs.
 */
import { SignJWT } from 'jose';
import { epochSeconds, type Clock } from '../lib/clock.js';
import type { IdGenerator } from '../lib/random.js';
import type { KeyRing } from './keyring.js';

/** What an access token is about. */
export interface AccessTokenRequest {
  subject: string;
  clientId: string;
  scopes: readonly string[];
  roles: readonly string[];
  /** Lifetime in seconds; capped by the issuer's maximum. */
  ttl: number;
  /** DPoP key thumbprint to bind the token to (RFC 9449 §6). */
  jkt?: string | undefined;
}

/** A freshly minted token and what the token endpoint reports about it. */
export interface IssuedAccessToken {
  token: string;
  jti: string;
  iat: number;
  exp: number;
}

export interface IssuerOptions {
  issuer: string;
  audience: string;
  maxLifetime: number;
  keys: KeyRing;
  clock: Clock;
  newId: IdGenerator;
}

/** Signs access tokens for one issuer. */
export class TokenIssuer {
  readonly #o: IssuerOptions;

  constructor(options: IssuerOptions) {
    this.#o = options;
  }

  async issue(req: AccessTokenRequest): Promise<IssuedAccessToken> {
    await this.#o.keys.refresh();
    const key = this.#o.keys.signingKey();
    const iat = epochSeconds(this.#o.clock);
    const exp = iat + Math.min(req.ttl, this.#o.maxLifetime);
    const jti = this.#o.newId();
    const claims: Record<string, unknown> = {
      client_id: req.clientId,
      scope: req.scopes.join(' '),
      roles: [...req.roles],
    };
    if (req.jkt !== undefined) claims.cnf = { jkt: req.jkt };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
      .setIssuer(this.#o.issuer)
      .setSubject(req.subject)
      .setAudience(this.#o.audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(jti)
      .sign(key.privateKey);
    return { token, jti, iat, exp };
  }
}
