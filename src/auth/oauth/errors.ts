/**
 * @module auth/oauth/errors — RFC 6749 §5.2 error responses. `error` is one of the registered
 * codes; the description is safe for clients and never contains secrets or token text.
 */
import { GatewayError } from '../../errors.js';

/** Error codes of RFC 6749 §5.2 (and §4.1.2.1), RFC 7009 §2.2.1 and RFC 9449 §5. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unsupported_token_type'
  | 'invalid_dpop_proof'
  | 'temporarily_unavailable';

/** Status and Retry-After for the refusals that are not plain 400/401 (429, 503). */
export interface OAuthErrorOptions {
  status?: number;
  /** Seconds; sent as `Retry-After` (RFC 9110 §10.2.3). */
  retryAfter?: number;
}

/** An OAuth protocol error; maps to its JSON body and status (401 for invalid_client). */
export class OAuthError extends GatewayError {
  readonly error: OAuthErrorCode;
  readonly retryAfter: number | undefined;

  constructor(error: OAuthErrorCode, description: string, options: OAuthErrorOptions = {}) {
    super('OAUTH_ERROR', description, options.status ?? (error === 'invalid_client' ? 401 : 400));
    this.error = error;
    this.retryAfter = options.retryAfter;
  }
}
