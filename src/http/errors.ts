/**
 * @module http/errors — the one mapping from errors to HTTP responses. OAuth endpoints answer in
 * RFC 6749 §5.2 form, protected routes add RFC 6750 `WWW-Authenticate`, `/v1/*` uses the
 * OpenAI error shape. 5xx bodies are generic; details go to the log only.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DPOP_ALGS, OAuthError, TokenError } from '../auth/index.js';
import { GatewayError } from '../errors.js';
import { registryRefusal } from '../registry/index.js';
import { isStoreUnavailable, STORE_RETRY_AFTER } from '../store/index.js';
import { frameworkProblem } from './framework-errors.js';

/** No credentials at all (RFC 6750 §3.1: no error code in the challenge). */
export class MissingTokenError extends GatewayError {
  constructor() {
    super('TOKEN_MISSING', 'An access token is required', 401);
  }
}

/** Malformed Authorization header, or a token in more than one place. */
export class AuthRequestError extends GatewayError {
  constructor(message: string) {
    super('AUTH_REQUEST_MALFORMED', message, 400);
  }
}

/** The token is valid but lacks the scope the route needs. */
export class InsufficientScopeError extends GatewayError {
  readonly scope: string;

  constructor(scope: string) {
    super('INSUFFICIENT_SCOPE', 'The access token does not grant the required scope', 403);
    this.scope = scope;
  }
}

const OPENAI_TYPE: Readonly<Record<number, string>> = {
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  409: 'conflict_error',
  429: 'rate_limit_error',
  503: 'service_unavailable_error',
  504: 'timeout_error',
};

/** The OpenAI error `type` of a status: other client errors are `invalid_request_error`. */
export function openAIType(status: number): string {
  return OPENAI_TYPE[status] ?? (status < 500 ? 'invalid_request_error' : 'api_error');
}

function challenge(
  scheme: string,
  error: string | undefined,
  description: string,
  extra = '',
): string {
  // RFC 9449 §7.1: a DPoP challenge names the proof algorithms we accept.
  const algs = scheme === 'DPoP' ? `, algs="${DPOP_ALGS.join(' ')}"` : '';
  if (error === undefined) return `${scheme} realm="gatehouse"${algs}`;
  return `${scheme} realm="gatehouse", error="${error}", error_description="${description}"${extra}${algs}`;
}

/** The code of a store outage on `/v1/*` (RFC 6749 routes say `temporarily_unavailable`). */
const STORE_UNAVAILABLE = 'store_unavailable';

interface Mapped {
  status: number;
  code: string;
  message: string;
  param?: string | null;
  headers: Record<string, string>;
  /** Raised by Fastify or Node below the routes (not one of ours). */
  framework?: true;
  /** Members the error adds to the `/v1/*` error body (a registry refusal's `current_status`). */
  fields?: Record<string, unknown> | undefined;
}

function map(err: unknown, scheme: string, request: FastifyRequest): Mapped {
  if (err instanceof OAuthError) {
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    if (err.statusCode === 401) headers['www-authenticate'] = 'Basic realm="gatehouse"';
    return { status: err.statusCode, code: err.error, message: err.message, headers };
  }
  if (err instanceof TokenError) {
    // RFC 9449 §12.2 registers invalid_dpop_proof for resource servers too.
    const proof = err.reason === 'dpop_invalid';
    const code = proof ? 'invalid_dpop_proof' : 'invalid_token';
    const description = proof ? 'The DPoP proof is invalid' : 'The access token is invalid';
    return {
      status: 401,
      code,
      message: description,
      headers: { 'www-authenticate': challenge(scheme, code, description) },
    };
  }
  if (err instanceof MissingTokenError) {
    return {
      status: 401,
      code: 'invalid_token',
      message: err.message,
      headers: { 'www-authenticate': challenge(scheme, undefined, '') },
    };
  }
  if (err instanceof AuthRequestError) {
    return {
      status: 400,
      code: 'invalid_request',
      message: err.message,
      headers: { 'www-authenticate': challenge(scheme, 'invalid_request', err.message) },
    };
  }
  if (err instanceof InsufficientScopeError) {
    return {
      status: 403,
      code: 'insufficient_scope',
      message: err.message,
      headers: {
        'www-authenticate': challenge(
          scheme,
          'insufficient_scope',
          err.message,
          `, scope="${err.scope}"`,
        ),
      },
    };
  }
  if (err instanceof GatewayError && err.expose) {
    const headers: Record<string, string> = {};
    // 429/503 tell the client when to come back (RFC 9110 §10.2.3).
    if ('retryAfter' in err && typeof err.retryAfter === 'number') {
      headers['retry-after'] = String(err.retryAfter);
    }
    // A rate-limit refusal carries the IETF RateLimit-Policy / RateLimit fields.
    if ('headers' in err && typeof err.headers === 'object' && err.headers !== null) {
      Object.assign(headers, err.headers);
    }
    // A registry refusal is named by its rule (`digest-mismatch`, `self-approval`, …).
    const refusal = registryRefusal(err);
    const code = refusal?.code ?? err.code.toLowerCase();
    return { status: err.statusCode, code, message: err.message, headers, fields: refusal?.fields };
  }
  const problem = frameworkProblem(err, {
    body: request.body,
    contentType: request.headers['content-type'],
    bodyLimit: request.routeOptions.bodyLimit,
  });
  if (problem !== undefined) {
    const { status, message, param, code } = problem;
    return { status, code, message, param, headers: {}, framework: true };
  }
  // A database outage ends by itself: 503 and when to come back (never a 500 with internals).
  // Checked last: a client's own socket error (its connection reset mid-body) is the framework's
  // problem above, not the store's.
  if (isStoreUnavailable(err)) {
    return {
      status: 503,
      code: STORE_UNAVAILABLE,
      message: 'The store is unavailable; try again shortly',
      headers: { 'retry-after': String(STORE_RETRY_AFTER) },
    };
  }
  return { status: 500, code: 'internal_error', message: 'Internal server error', headers: {} };
}

/** Whether the client is gone: nothing can be answered, and a flood of these is no news. */
const gone = (request: FastifyRequest): boolean => request.raw.socket.destroyed;

/**
 * Fastify error handler (also for the errors Fastify raises before routing): logs the reason,
 * answers in the shape of the route — OpenAI's on `/v1/*`, RFC 6749 §5.2 elsewhere.
 */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const scheme = request.dpopUsed === true ? 'DPoP' : 'Bearer';
  const m = map(err, scheme, request);
  request.auditReason = err instanceof TokenError ? err.reason : m.code;
  if (m.code === STORE_UNAVAILABLE) request.log.warn({ err }, 'store unavailable: 503');
  else if (m.status >= 500) request.log.error({ err }, 'request failed');
  else if (gone(request)) request.log.debug({ status: m.status }, 'client went away');
  else if (err instanceof TokenError) request.log.info({ reason: err.reason }, 'token rejected');
  else if (request.decision?.allowed === false) {
    // The policy's reason is for the log and the audit trail only, never the caller.
    request.log.info(
      { code: m.code, status: m.status, reason: request.decision.reason },
      'request refused',
    );
  } else request.log.info({ code: m.code, status: m.status }, 'request refused');
  void reply.code(m.status).headers(m.headers);
  if (request.url.startsWith('/v1/')) {
    void reply.send({
      error: {
        message: m.message,
        type: openAIType(m.status),
        param: m.param ?? null,
        code: m.code,
        ...m.fields,
      },
    });
  } else {
    // RFC 6749 §5.2 has one code for every malformed request; §4.1.2.1 names server_error, and
    // temporarily_unavailable for a server that cannot answer for now.
    const code =
      m.code === STORE_UNAVAILABLE
        ? 'temporarily_unavailable'
        : m.status >= 500
          ? 'server_error'
          : m.framework === true && m.status !== 404
            ? 'invalid_request'
            : m.code;
    const route = request.routeOptions.url;
    if (route?.startsWith('/oauth/') === true) request.server.metrics?.oauthError(route, code);
    void reply.send({ error: code, error_description: m.message });
  }
}
