/**
 * @module http/authenticate — the first pipeline stage of every protected route (onRequest, before
 * the body is read): take the token from exactly one place (RFC 6750 §2: the Authorization
 * header; a token also in the query or body is refused), verify it and enforce DPoP binding
 * (RFC 9449 §7). What the caller may do is the next stage's
 * question (http/authorize, which asks the policy).
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Auth, VerifiedToken } from '../auth/index.js';
import { DpopError, TokenError } from '../auth/index.js';
import { AuthRequestError, MissingTokenError } from './errors.js';

type Scheme = 'bearer' | 'dpop';

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * How many times header `name` (lower-case) was sent. Node keeps only the first Authorization
 * header (and joins repeated unknown ones such as DPoP), so the raw list is the only witness.
 */
export function headerCount(rawHeaders: readonly string[], name: string): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const h = rawHeaders[i];
    if (h?.length === name.length && h.toLowerCase() === name) n++;
  }
  return n;
}

/** Splits `Authorization` into scheme and credentials; the scheme is matched case-insensitively. */
function parseAuthorization(value: string): { scheme: Scheme; token: string } {
  const space = value.indexOf(' ');
  if (space <= 0) throw new AuthRequestError('Malformed Authorization header');
  const scheme = value.slice(0, space).toLowerCase();
  const token = value.slice(space + 1);
  // RFC 6750 §3.1: another scheme is not a malformed request, just no usable credentials.
  if (scheme !== 'bearer' && scheme !== 'dpop') throw new MissingTokenError();
  if (!TOKEN68.test(token)) throw new AuthRequestError('Malformed Authorization header');
  return { scheme, token };
}

const hasToken = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && 'access_token' in v;

/**
 * The second half of the "exactly one place" rule, once the body is parsed: a token in the body
 * of an authenticated request is refused (its header token was verified in onRequest).
 */
export function refuseBodyToken(
  request: FastifyRequest,
  _reply: FastifyReply,
  done: HookHandlerDoneFunction,
): void {
  if (hasToken((request as { body: unknown }).body)) {
    request.server.metrics?.authFailure('malformed_request'); // metrics
    done(new AuthRequestError('The access token was sent in more than one place'));
    return;
  }
  done();
}

/** metrics: counts a refused authentication by its bounded reason. */
function countFailure(request: FastifyRequest, err: unknown): void {
  const reason =
    err instanceof TokenError
      ? err.reason
      : err instanceof MissingTokenError
        ? 'missing_token'
        : err instanceof AuthRequestError
          ? 'malformed_request'
          : 'other';
  request.server.metrics?.authFailure(reason);
}

/**
 * Builds the onRequest hook that authenticates a protected route, before its body is read: an
 * unauthenticated client never costs a body parse, and a request refused for its size (413) is
 * already known to be someone's. The body's side of the one-place rule is `refuseBodyToken`.
 */
export function authenticator(auth: Auth, publicBase: string) {
  const admit = (request: FastifyRequest, identity: VerifiedToken): void => {
    request.identity = identity;
  };

  /** A token not in the verifier's cache, or a DPoP request: the checks that may await. */
  const slowly = async (
    request: FastifyRequest,
    scheme: Scheme,
    token: string,
    cached: VerifiedToken | undefined,
  ): Promise<void> => {
    const identity = cached ?? (await auth.verifier.verify(token));
    const proof = request.headers.dpop;
    if (identity.jkt !== undefined || scheme === 'dpop') {
      // A bound token must come with the DPoP scheme and a valid proof for its key.
      if (scheme !== 'dpop' || identity.jkt === undefined) throw new TokenError('dpop_required');
      if (typeof proof !== 'string') throw new TokenError('dpop_required');
      if (headerCount(request.raw.rawHeaders, 'dpop') > 1) throw new TokenError('dpop_invalid');
      const url = `${publicBase}${request.url.split('?')[0] ?? ''}`;
      let jkt: string;
      try {
        jkt = await auth.dpop.verify({ proof, method: request.method, url, accessToken: token });
      } catch (err) {
        // The reason (a short code) helps an operator; the proof itself is never logged.
        request.log.debug(
          { reason: err instanceof DpopError ? err.message : 'error' },
          'DPoP proof refused',
        );
        throw new TokenError('dpop_invalid');
      }
      if (jkt !== identity.jkt) throw new TokenError('dpop_invalid', 'key mismatch');
    }
    admit(request, identity);
  };

  // Callback style: a cached bearer token (the common case) is admitted with no promise.
  return function authenticate(
    request: FastifyRequest,
    _reply: FastifyReply,
    done: HookHandlerDoneFunction,
  ): void {
    let scheme: Scheme;
    let token: string;
    /** `null`: admitted from the cache. */
    let cached: VerifiedToken | undefined | null;
    try {
      const header = request.headers.authorization;
      const inQuery = hasToken(request.query);
      if (header === undefined) {
        if (inQuery)
          throw new AuthRequestError('Send the access token in the Authorization header');
        throw new MissingTokenError();
      }
      if (inQuery) throw new AuthRequestError('The access token was sent in more than one place');
      if (headerCount(request.raw.rawHeaders, 'authorization') > 1)
        throw new AuthRequestError('Send exactly one Authorization header');
      // Decided before parsing, so that a malformed DPoP header still gets a DPoP challenge.
      request.dpopUsed = /^dpop(?: |$)/i.test(header);
      ({ scheme, token } = parseAuthorization(header));
      cached = auth.verifier.cached(token);
      if (cached !== undefined && cached.jkt === undefined && scheme === 'bearer') {
        admit(request, cached);
        cached = null;
      }
    } catch (err) {
      countFailure(request, err); // metrics
      done(err as Error);
      return;
    }
    // Outside the try: what runs after `done` must never see its errors reported here twice.
    if (cached === null) {
      done();
      return;
    }
    slowly(request, scheme, token, cached).then(
      () => {
        done();
      },
      (err: unknown) => {
        countFailure(request, err); // metrics
        done(err as Error);
      },
    );
  };
}
