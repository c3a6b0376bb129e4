/**
 * @module http/routes/oauth — the token (RFC 6749), revocation (RFC 7009) and introspection
 * (RFC 7662) endpoints. Bodies are form-encoded; a repeated parameter is `invalid_request`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError, TokenError, type Auth, type ClientCredentials } from '../../auth/index.js';
import type { Config } from '../../config/index.js';
import { GatewayError } from '../../errors.js';
import { sha256b64url } from '../../lib/hash.js';
import type { Store } from '../../store/index.js';
import { handleError } from '../errors.js';
import { endpoints } from './well-known.js';

type Params = Record<string, string | undefined>;

function formParams(request: FastifyRequest): Params {
  const type = request.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw new OAuthError('invalid_request', 'body must be application/x-www-form-urlencoded');
  }
  const body = (request.body ?? {}) as Record<string, unknown>;
  const out: Params = Object.create(null) as Params;
  for (const [k, v] of Object.entries(body)) {
    if (typeof v !== 'string')
      throw new OAuthError('invalid_request', `parameter ${k} is repeated`);
    out[k] = v === '' ? undefined : v;
  }
  return out;
}

function formDecode(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

/** Reads client credentials from the Basic header and the form (RFC 6749 §2.3.1, RFC 7523). */
function credentials(request: FastifyRequest, p: Params): ClientCredentials {
  const c: ClientCredentials = {
    post: { id: p.client_id, secret: p.client_secret },
    assertion:
      p.client_assertion === undefined && p.client_assertion_type === undefined
        ? undefined
        : { type: p.client_assertion_type, jwt: p.client_assertion },
  };
  const header = request.headers.authorization;
  if (header !== undefined) {
    const [scheme, value] = header.split(' ', 2);
    if (scheme?.toLowerCase() !== 'basic' || value === undefined) {
      throw new OAuthError('invalid_client', 'client authentication failed');
    }
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError('invalid_client', 'client authentication failed');
    try {
      c.basic = {
        id: formDecode(decoded.slice(0, colon)),
        secret: formDecode(decoded.slice(colon + 1)),
      };
    } catch {
      throw new OAuthError('invalid_client', 'client authentication failed');
    }
    if (p.client_id !== undefined && p.client_id !== c.basic.id) {
      throw new OAuthError('invalid_request', 'client_id does not match the authenticated client');
    }
  }
  return c;
}

/**
 * Fastify refuses unparsable, oversized or unsupported bodies before the handler runs; answer
 * those too in RFC 6749 §5.2 form (`invalid_request`, no-store) rather than Fastify's codes.
 */
function oauthErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const status = (err as { statusCode?: unknown }).statusCode;
  if (
    !(err instanceof GatewayError) &&
    typeof status === 'number' &&
    status >= 400 &&
    status < 500
  ) {
    const code = (err as { code?: unknown }).code;
    const description =
      code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'request body is too large'
        : code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'body must be application/x-www-form-urlencoded'
          : 'request body is malformed';
    handleError(new OAuthError('invalid_request', description), request, reply);
    return;
  }
  handleError(err, request, reply);
}

export function oauthRoutes(app: FastifyInstance, config: Config, auth: Auth, store: Store): void {
  const e = endpoints(config.auth.issuer);
  const opts = { errorHandler: oauthErrorHandler };

  app.post('/oauth/token', opts, async (request, reply) => {
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    const params = formParams(request);
    const client = await auth.clientAuth.authenticate(credentials(request, params));
    let jkt: string | undefined;
    const proof = request.headers.dpop;
    if (proof !== undefined) {
      if (typeof proof !== 'string')
        throw new OAuthError('invalid_dpop_proof', 'one DPoP proof is allowed');
      try {
        jkt = await auth.dpop.verify({ proof, method: 'POST', url: e.token });
      } catch {
        throw new OAuthError('invalid_dpop_proof', 'DPoP proof is invalid');
      }
    }
    return auth.tokens.grant({ client, params, jkt });
  });

  app.post('/oauth/revoke', opts, async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    const params = formParams(request);
    const client = await auth.clientAuth.authenticate(credentials(request, params));
    const token = params.token;
    if (token === undefined) throw new OAuthError('invalid_request', 'token is required');
    // RFC 7009 §2.2: invalid or unknown tokens still get 200; a client can only revoke its own.
    const refresh = await store.refresh.find(sha256b64url(token));
    if (refresh !== undefined) {
      if (refresh.clientId === client.id) await auth.tokens.revokeFamily(refresh);
      return reply.code(200).send();
    }
    try {
      const t = await auth.verifier.verify(token);
      if (t.own && t.clientId === client.id && t.jti !== undefined)
        await auth.revocations.add(t.jti, t.expiresAt);
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
    }
    return reply.code(200).send();
  });

  app.post('/oauth/introspect', opts, async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    const params = formParams(request);
    const caller = await auth.clientAuth.authenticate(credentials(request, params));
    const token = params.token;
    if (token === undefined) throw new OAuthError('invalid_request', 'token is required');
    try {
      const t = await auth.verifier.verify(token);
      // RFC 7662 §4: a client learns about its own tokens only; admins may inspect any.
      const allowed = t.clientId === caller.id || caller.roles.includes('admin');
      if (!t.own || !allowed) return { active: false };
      return {
        active: true,
        iss: t.issuer,
        sub: t.subject,
        aud: config.auth.audience,
        client_id: t.clientId,
        scope: [...t.scopes].join(' '),
        roles: t.roles,
        exp: t.expiresAt,
        iat: t.issuedAt,
        jti: t.jti,
        token_type: t.jkt === undefined ? 'Bearer' : 'DPoP',
        ...(t.jkt === undefined ? {} : { cnf: { jkt: t.jkt } }),
      };
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      return { active: false };
    }
  });
}
