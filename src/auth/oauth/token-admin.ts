/**
 * @module auth/oauth/token-admin — the rules of revocation (RFC 7009) and introspection
 * (RFC 7662) once the caller is authenticated. Who may do what is decided by policy/; this
 * module finds the token, asks, and acts. The HTTP layer only parses and maps.
 */
import { sha256b64url } from '../../lib/hash.js';
import { decideIntrospection, decideRevocation, type ClientPrincipal } from '../../policy/index.js';
import type { ClientRecord, Store } from '../../store/index.js';
import type { RevocationList } from '../revocations.js';
import { TokenError } from '../verify/errors.js';
import type { Verifier } from '../verify/verifier.js';
import type { TokenService } from './token-service.js';

/** RFC 7662 §2.2 response: `{active:false}` or the active token's claims. */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      iss: string;
      sub: string;
      aud: string;
      client_id: string | undefined;
      scope: string;
      roles: readonly string[];
      exp: number;
      iat: number;
      jti: string | undefined;
      token_type: 'Bearer' | 'DPoP';
      cnf?: { jkt: string };
    };

export interface TokenAdminOptions {
  store: Store;
  verifier: Verifier;
  revocations: RevocationList;
  tokens: TokenService;
  /** Our resource identifier, reported as `aud`. */
  audience: string;
}

const principal = (c: ClientRecord): ClientPrincipal => ({ clientId: c.id, scopes: c.scopes });

/** Revocation and introspection on behalf of an authenticated client. */
export class TokenAdmin {
  readonly #o: TokenAdminOptions;

  constructor(options: TokenAdminOptions) {
    this.#o = options;
  }

  /**
   * Revokes `token` if the policy lets `caller` do so. Resolves the same way whether or not it
   * did (RFC 7009 §2.2: invalid or unknown tokens are not an error).
   */
  async revoke(caller: ClientRecord, token: string): Promise<void> {
    const refresh = await this.#o.store.refresh.find(sha256b64url(token));
    if (refresh !== undefined) {
      if (decideRevocation(principal(caller), refresh.clientId).allowed)
        await this.#o.tokens.revokeFamily(refresh);
      return;
    }
    try {
      const t = await this.#o.verifier.verify(token);
      if (t.own && t.jti !== undefined && decideRevocation(principal(caller), t.clientId).allowed)
        await this.#o.revocations.add(t.jti, t.expiresAt);
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
    }
  }

  /** Introspects `token` for `caller`; inactive unless it is an active own token it may see. */
  async introspect(caller: ClientRecord, token: string): Promise<IntrospectionResponse> {
    let t;
    try {
      t = await this.#o.verifier.verify(token);
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      return { active: false };
    }
    if (!t.own || !decideIntrospection(principal(caller), t.clientId).allowed) {
      return { active: false };
    }
    return {
      active: true,
      iss: t.issuer,
      sub: t.subject,
      aud: this.#o.audience,
      client_id: t.clientId,
      scope: [...t.scopes].join(' '),
      roles: t.roles,
      exp: t.expiresAt,
      iat: t.issuedAt,
      jti: t.jti,
      token_type: t.jkt === undefined ? 'Bearer' : 'DPoP',
      ...(t.jkt === undefined ? {} : { cnf: { jkt: t.jkt } }),
    };
  }
}
