/**
 * @module auth/verify/errors — why a token was refused. The `reason` goes to the log; clients
 * only ever see a generic "invalid_token" (RFC 6750), so a probe learns nothing.
 */
import { GatewayError } from '../../errors.js';

/** Stable reasons a token is rejected, for logs and tests. */
export type TokenRejection =
  | 'malformed'
  | 'too_large'
  | 'bad_header'
  | 'forbidden_header'
  | 'alg_not_allowed'
  | 'bad_typ'
  | 'bad_kid'
  | 'unknown_issuer'
  | 'unknown_key'
  | 'bad_signature'
  | 'bad_claims'
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'lifetime_too_long'
  | 'revoked'
  | 'dpop_required'
  | 'dpop_invalid';

/** A bearer token failed verification. Always maps to 401 invalid_token. */
export class TokenError extends GatewayError {
  readonly reason: TokenRejection;

  constructor(reason: TokenRejection, detail?: string) {
    super('TOKEN_INVALID', detail === undefined ? reason : `${reason}: ${detail}`, 401);
    this.reason = reason;
  }
}
