/**
 * @module auth/oauth/token-service — the token endpoint's grants: client_credentials and
 * refresh_token (RFC 6749 §4.4, §6) with rotation on every use and reuse detection (RFC 9700
 * §4.14): a replayed refresh token revokes its whole family, access tokens included.
 */
import { epochSeconds, type Clock } from '../../lib/clock.js';
import { sha256b64url } from '../../lib/hash.js';
import { randomId, randomToken } from '../../lib/random.js';
import { parseScope } from '../../policy/index.js';
import type { ClientRecord, RefreshRecord, Store } from '../../store/index.js';
import type { TokenIssuer } from '../issue.js';
import type { RevocationList } from '../revocations.js';
import { OAuthError } from './errors.js';

/** The JSON body of a successful token response (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

export interface TokenServiceOptions {
  store: Store;
  issuer: TokenIssuer;
  revocations: RevocationList;
  clock: Clock;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  /**
   * The scopes the policy in force grants `roles` now: a client is never granted more, even a
   * scope it was registered with (policy/).
   */
  grantable: (roles: readonly string[]) => ReadonlySet<string>;
}

/** A grant request after client authentication. `jkt` is set when a valid DPoP proof came. */
export interface GrantRequest {
  client: ClientRecord;
  params: Readonly<Record<string, string | undefined>>;
  jkt: string | undefined;
}

/** Runs grants; one per server. */
export class TokenService {
  readonly #o: TokenServiceOptions;

  constructor(options: TokenServiceOptions) {
    this.#o = options;
  }

  async grant(req: GrantRequest): Promise<TokenResponse> {
    const type = req.params.grant_type;
    if (type === undefined || type === '')
      throw new OAuthError('invalid_request', 'grant_type is required');
    if (type === 'client_credentials') return this.#clientCredentials(req);
    if (type === 'refresh_token') return this.#refresh(req);
    throw new OAuthError('unsupported_grant_type', 'grant_type is not supported');
  }

  /** The client's registered scopes that the policy still grants its roles. */
  #allowed(client: ClientRecord): string[] {
    const granted = this.#o.grantable(client.roles);
    return client.scopes.filter((s) => granted.has(s));
  }

  async #clientCredentials({ client, params, jkt }: GrantRequest): Promise<TokenResponse> {
    const scopes = narrow(params.scope, this.#allowed(client));
    const familyId = client.allowRefresh ? randomId() : undefined;
    return this.#mint(client, client.id, scopes, jkt, familyId);
  }

  async #refresh({ client, params, jkt }: GrantRequest): Promise<TokenResponse> {
    const presented = params.refresh_token;
    if (presented === undefined || presented === '') {
      throw new OAuthError('invalid_request', 'refresh_token is required');
    }
    if (!client.allowRefresh)
      throw new OAuthError('unauthorized_client', 'client may not use refresh tokens');
    const now = epochSeconds(this.#o.clock);
    const hash = sha256b64url(presented);
    // Refuse what can be refused before consuming: a refused request must not burn the token,
    // or the rightful client's retry would look like reuse and revoke the whole family — a
    // thief without the DPoP key could otherwise kill the family just by trying.
    const known = await this.#o.store.refresh.find(hash);
    if (known?.clientId === client.id) {
      if (known.jkt !== null && known.jkt !== jkt) {
        throw new OAuthError('invalid_grant', 'refresh token is bound to a different DPoP key');
      }
      if (params.scope !== undefined) narrow(params.scope, splitScope(known.scope));
    }
    const result = await this.#o.store.refresh.consume(hash, now);
    if (result.status === 'reused') {
      await this.revokeFamily(result.record);
      throw new OAuthError('invalid_grant', 'refresh token is invalid');
    }
    if (result.status !== 'ok') throw new OAuthError('invalid_grant', 'refresh token is invalid');
    const record = result.record;
    if (record.clientId !== client.id) {
      // Someone else's token in this client's hands: treat it as stolen.
      await this.revokeFamily(record);
      throw new OAuthError('invalid_grant', 'refresh token is invalid');
    }
    if (record.jkt !== null && record.jkt !== jkt) {
      throw new OAuthError('invalid_grant', 'refresh token is bound to a different DPoP key');
    }
    const scopes = narrow(params.scope, splitScope(record.scope));
    // Scopes the client (or its roles, by a policy change) lost since the family began are not
    // granted again.
    const allowed = this.#allowed(client);
    const stillAllowed = scopes.filter((s) => allowed.includes(s));
    const response = await this.#mint(
      client,
      record.subject,
      stillAllowed,
      record.jkt ?? undefined,
      record.familyId,
    );
    // A concurrent reuse (or revocation) of the presented token may have revoked the family
    // between our consume and the insert of the new token, and so missed it: revoke again so
    // the new tokens die with their family.
    if (await this.#o.store.refresh.familyRevoked(record.familyId)) await this.revokeFamily(record);
    return response;
  }

  async #mint(
    client: ClientRecord,
    subject: string,
    scopes: string[],
    jkt: string | undefined,
    familyId: string | undefined,
  ): Promise<TokenResponse> {
    const access = await this.#o.issuer.issue({
      subject,
      clientId: client.id,
      scopes,
      roles: client.roles,
      ttl: this.#o.accessTokenTtl,
      jkt,
    });
    const response: TokenResponse = {
      access_token: access.token,
      token_type: jkt === undefined ? 'Bearer' : 'DPoP',
      expires_in: access.exp - access.iat,
      scope: scopes.join(' '),
    };
    if (familyId !== undefined) {
      const refresh = `ghr_${randomToken(32)}`;
      await this.#o.store.refresh.insert({
        hash: sha256b64url(refresh),
        familyId,
        clientId: client.id,
        subject,
        scope: scopes.join(' '),
        roles: client.roles,
        jkt: jkt ?? null,
        accessJti: access.jti,
        accessExp: access.exp,
        createdAt: access.iat,
        expiresAt: access.iat + this.#o.refreshTokenTtl,
      });
      response.refresh_token = refresh;
    }
    return response;
  }

  /** Revokes every refresh token of `record`'s family and the access tokens issued with them. */
  async revokeFamily(record: RefreshRecord): Promise<void> {
    const now = epochSeconds(this.#o.clock);
    const access = await this.#o.store.refresh.revokeFamily(record.familyId, now);
    for (const a of access) await this.#o.revocations.add(a.jti, a.exp);
  }
}

/** The scopes stored with a refresh token (space-separated, possibly empty). */
function splitScope(scope: string): string[] {
  return scope === '' ? [] : scope.split(' ');
}

/** The requested scopes, which must all be allowed; none requested means all allowed. */
function narrow(requested: string | undefined, allowed: readonly string[]): string[] {
  if (requested === undefined) return [...allowed];
  const parsed = parseScope(requested);
  if (parsed === undefined) throw new OAuthError('invalid_scope', 'scope is malformed');
  const extra = parsed.filter((s) => !allowed.includes(s));
  if (extra.length > 0)
    throw new OAuthError('invalid_scope', 'requested scope exceeds what the client may have');
  return parsed.length === 0 ? [...allowed] : parsed;
}
