/**
 * @module auth/oauth/errors — RFC 6749 §5.2 error responses. `error` is one of the registered
 * codes; the description is safe for clients and never contains secrets or token text.
 */
import { GatewayError } from '../../errors.js';

/** Error codes of RFC 6749 §5.2, RFC 7009 §2.2.1 and RFC 9449 §5. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unsupported_token_type'
  | 'invalid_dpop_proof';

/** An OAuth protocol error; maps to its JSON body and status (401 for invalid_client). */
export class OAuthError extends GatewayError {
  readonly error: OAuthErrorCode;

  constructor(error: OAuthErrorCode, description: string) {
    super('OAUTH_ERROR', description, error === 'invalid_client' ? 401 : 400);
    this.error = error;
  }
}
