/**
 * @module http/routes/well-known — discovery: RFC 8414 authorization-server metadata (also served
 * as openid-configuration for OIDC-style clients), RFC 9728 protected-resource metadata, JWKS.
 */
import type { FastifyInstance } from 'fastify';
import { ASSERTION_ALGS, DPOP_ALGS, type Auth } from '../../auth/index.js';
import { SIGNING_ALGS, type Config } from '../../config/index.js';
import { SCOPES } from '../../policy/index.js';

/** Public endpoint URLs, derived once from the issuer. */
export function endpoints(
  issuer: string,
): Record<'token' | 'revocation' | 'introspection' | 'jwks', string> {
  return {
    token: `${issuer}/oauth/token`,
    revocation: `${issuer}/oauth/revoke`,
    introspection: `${issuer}/oauth/introspect`,
    jwks: `${issuer}/.well-known/jwks.json`,
  };
}

export function wellKnownRoutes(app: FastifyInstance, config: Config, auth: Auth): void {
  const { issuer, audience } = config.auth;
  const e = endpoints(issuer);
  const authMethods = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
  const signingAlgs = [...SIGNING_ALGS];
  const metadata = Object.freeze({
    issuer,
    token_endpoint: e.token,
    jwks_uri: e.jwks,
    revocation_endpoint: e.revocation,
    introspection_endpoint: e.introspection,
    grant_types_supported: ['client_credentials', 'refresh_token'],
    response_types_supported: [],
    scopes_supported: [...SCOPES],
    token_endpoint_auth_methods_supported: authMethods,
    // Exactly what client-auth accepts for private_key_jwt assertions.
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
    revocation_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_methods_supported: authMethods,
    dpop_signing_alg_values_supported: [...DPOP_ALGS],
    access_token_signing_alg_values_supported: signingAlgs,
  });
  const resource = Object.freeze({
    resource: audience,
    authorization_servers: [issuer],
    jwks_uri: e.jwks,
    scopes_supported: [...SCOPES],
    bearer_methods_supported: ['header'],
    resource_signing_alg_values_supported: signingAlgs,
    dpop_signing_alg_values_supported: [...DPOP_ALGS],
  });
  app.get('/.well-known/oauth-authorization-server', () => metadata);
  app.get('/.well-known/openid-configuration', () => metadata);
  app.get('/.well-known/oauth-protected-resource', () => resource);
  app.get('/.well-known/jwks.json', async (_req, reply) => {
    await auth.keys.refresh();
    void reply.header('cache-control', 'public, max-age=60').type('application/jwk-set+json');
    return auth.keys.jwks();
  });
}
