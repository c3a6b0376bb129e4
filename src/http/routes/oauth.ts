/**
 * @module http/routes/oauth — the token (RFC 6749), revocation (RFC 7009) and introspection
 * (RFC 7662) endpoints. Only parsing and mapping live here: bodies are form-encoded (a repeated
 * parameter is `invalid_request`), credentials come from exactly one Authorization header, and
 * the rules are auth/'s (client authentication, grants, TokenAdmin).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DpopError, OAuthError, type Auth, type ClientCredentials } from '../../auth/index.js';
import type { Config } from '../../config/index.js';
import { GatewayError } from '../../errors.js';
import type { Store } from '../../store/index.js';
import { headerCount } from '../authenticate.js';
import type { AuditFacts } from '../audit-facts.js';
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
  // Node keeps only the first of several Authorization headers; refuse rather than guess.
  if (headerCount(request.raw.rawHeaders, 'authorization') > 1) {
    throw new OAuthError('invalid_request', 'more than one Authorization header');
  }
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
 * Throttling (429) and overload (503) refusals carry Retry-After, are logged at info (a flood of
 * them must not fill the error log) and are answered after `delayMs`: a timer costs no CPU, and a
 * flood that waits for its answers slows down to its number of connections per delay.
 */
function oauthErrorHandler(delayMs: number) {
  return async (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof OAuthError && err.retryAfter !== undefined) {
      request.log.info(
        { code: err.error, status: err.statusCode },
        'client authentication refused',
      );
      if (delayMs > 0) await sleep(delayMs);
      return reply
        .code(err.statusCode)
        .headers({ 'cache-control': 'no-store', 'retry-after': String(err.retryAfter) })
        .send({ error: err.error, error_description: err.message });
    }
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
      return reply;
    }
    handleError(err, request, reply);
    return reply;
  };
}

/** Registers the endpoints. `_store` is unused now that the rules live in auth/. */
export function oauthRoutes(
  app: FastifyInstance,
  config: Config,
  auth: Auth,
  _store?: Store,
): void {
  const e = endpoints(config.auth.issuer);
  const opts = {
    errorHandler: oauthErrorHandler(config.auth.clientAuth.refusalDelayMs),
    config: { audit: true },
  };
  /** Authenticates the client, telling the audit stage who claimed to call and who did. */
  const client = async (request: FastifyRequest, params: Params, action: string) => {
    const facts: AuditFacts = { action };
    request.audit = facts;
    const creds = credentials(request, params);
    const claimed = creds.basic?.id ?? creds.post?.id;
    if (claimed !== undefined) facts.claimedClientId = claimed;
    const caller = await auth.clientAuth.authenticate(creds, request.ip);
    facts.clientId = caller.id;
    facts.subject = caller.id;
    facts.roles = caller.roles;
    facts.resource = `client:${caller.id}`;
    return caller;
  };

  app.post('/oauth/token', opts, async (request, reply) => {
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    request.audit = { action: 'token.issue' };
    const params = formParams(request);
    const caller = await client(request, params, 'token.issue');
    let jkt: string | undefined;
    const proof = request.headers.dpop;
    if (proof !== undefined) {
      if (typeof proof !== 'string' || headerCount(request.raw.rawHeaders, 'dpop') > 1)
        throw new OAuthError('invalid_dpop_proof', 'one DPoP proof is allowed');
      try {
        jkt = await auth.dpop.verify({ proof, method: 'POST', url: e.token });
      } catch (err) {
        // The reason (a short code) helps an operator; the proof itself is never logged.
        request.log.debug({ reason: dpopReason(err) }, 'DPoP proof refused');
        throw new OAuthError('invalid_dpop_proof', 'DPoP proof is invalid');
      }
    }
    const granted = await auth.tokens.grant({ client: caller, params, jkt });
    request.audit.details = {
      grantType: params.grant_type ?? null,
      scope: granted.scope,
      tokenType: granted.token_type,
      refresh: granted.refresh_token !== undefined,
    };
    return granted;
  });

  app.post('/oauth/revoke', opts, async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    request.audit = { action: 'token.revoke' };
    const params = formParams(request);
    const caller = await client(request, params, 'token.revoke');
    const token = params.token;
    if (token === undefined) throw new OAuthError('invalid_request', 'token is required');
    await auth.tokenAdmin.revoke(caller, token);
    return reply.code(200).send();
  });

  app.post('/oauth/introspect', opts, async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    request.audit = { action: 'token.introspect' };
    const params = formParams(request);
    const caller = await client(request, params, 'token.introspect');
    const token = params.token;
    if (token === undefined) throw new OAuthError('invalid_request', 'token is required');
    return auth.tokenAdmin.introspect(caller, token);
  });
}

/** A DPoP refusal's reason code, for the debug log. */
export function dpopReason(err: unknown): string {
  return err instanceof DpopError ? err.message : 'error';
}
