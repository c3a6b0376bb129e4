/**
 * @module policy/decisions — decisions about OAuth token management, with reasons. Asked by
 * auth/ (revocation, introspection); the rules name scopes, never role names, so a policy file
 * that changes what roles grant (issue 8) changes these decisions with it.
 */
import type { Decision } from './types.js';

/** The authenticated client asking: its id and the scopes it may hold. */
export interface ClientPrincipal {
  clientId: string;
  scopes: readonly string[];
}

/** The scope that lets a client manage (and so inspect) other clients' tokens. */
export const CLIENTS_ADMIN_SCOPE = 'clients:admin';

/**
 * RFC 7662 §4: may `caller` learn about a token issued to `tokenClientId`? Its own tokens, yes;
 * others' only with `clients:admin`.
 */
export function decideIntrospection(
  caller: ClientPrincipal,
  tokenClientId: string | undefined,
): Decision {
  if (tokenClientId !== undefined && tokenClientId === caller.clientId) {
    return { allowed: true, reason: 'own token' };
  }
  if (caller.scopes.includes(CLIENTS_ADMIN_SCOPE)) {
    return { allowed: true, reason: `caller holds ${CLIENTS_ADMIN_SCOPE}` };
  }
  return { allowed: false, reason: 'token of another client' };
}

/**
 * RFC 7009 §2.1: may `caller` revoke a token issued to `tokenClientId`? Only its own: the
 * server "verifies whether the token was issued to the client making the revocation request".
 */
export function decideRevocation(
  caller: ClientPrincipal,
  tokenClientId: string | undefined,
): Decision {
  if (tokenClientId !== undefined && tokenClientId === caller.clientId) {
    return { allowed: true, reason: 'own token' };
  }
  return { allowed: false, reason: 'token of another client' };
}
