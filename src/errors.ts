/**
 * @module errors — one error hierarchy for the whole server. Every error has a stable `code`
 * from one union, an HTTP `statusCode`, and `expose` (true below 500: its message is safe to
 * show a client). 5xx messages never leave the process.
 */

/** Every code a GatewayError can carry. Never reuse a code for a different meaning. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'STORE_FAILURE'
  | 'STORE_UNAVAILABLE'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'BAD_REQUEST'
  | 'KEY_DECRYPT_FAILED'
  | 'KEY_UNSUPPORTED'
  | 'TOKEN_INVALID'
  | 'TOKEN_MISSING'
  | 'AUTH_REQUEST_MALFORMED'
  | 'INSUFFICIENT_SCOPE'
  | 'OAUTH_ERROR'
  | 'MODEL_ARTIFACT_INVALID'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_UNAVAILABLE'
  | 'MODEL_TASK_MISMATCH'
  | 'MODEL_UNPINNED'
  | 'MODEL_PARAMS_INVALID'
  | 'REQUEST_CANCELLED'
  | 'OVERLOADED'
  | 'DEADLINE_EXCEEDED'
  | 'PAYLOAD_TOO_LARGE'
  | 'INSUFFICIENT_STORAGE'
  | 'AUDIT_UNAVAILABLE'
  | 'SYSTEM_MESSAGE_REFUSED'
  | 'LIMIT_EXCEEDED'
  | 'RATE_LIMIT_EXCEEDED'
  | 'RATE_LIMIT_UNAVAILABLE'
  | 'POLICY_INVALID'
  | 'RECEIPT_INVALID'
  | 'GUARD_UNAVAILABLE'
  | 'CONTENT_BLOCKED'
  | 'DATASET_ACCESS_DENIED'
  | 'PRECONDITION_FAILED'
  | 'PRECONDITION_REQUIRED'
  | 'REGISTRY_DENIED'
  | 'REGISTRY_UNLOADABLE'
  | 'INTERNAL';

/** Base class of every error the server throws on purpose. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** Whether `message` may be shown to a client (only for status < 500). */
  readonly expose: boolean;

  constructor(code: ErrorCode, message: string, statusCode = 500, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.statusCode = statusCode;
    this.expose = statusCode < 500;
  }
}

/** Configuration is invalid; the message names the offending key. */
export class ConfigError extends GatewayError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONFIG_INVALID', message, 500, options);
  }
}

/** A lookup found nothing. */
export class NotFoundError extends GatewayError {
  constructor(message: string) {
    super('NOT_FOUND', message, 404);
  }
}

/** A write collided with existing state (duplicate name, already used, …). */
export class ConflictError extends GatewayError {
  constructor(message: string) {
    super('CONFLICT', message, 409);
  }
}

/** The request is well-formed HTTP but its content is not acceptable. */
export class BadRequestError extends GatewayError {
  constructor(message: string) {
    super('BAD_REQUEST', message, 400);
  }
}

/** A backing store failed; details go to the log, never to the client. */
export class StoreError extends GatewayError {
  constructor(message: string, options?: ErrorOptions) {
    super('STORE_FAILURE', message, 500, options);
  }
}

/**
 * The audit log cannot be written: the request is refused (fail closed) rather than answered
 * unrecorded. Service resumes by itself once the store is writable again.
 */
export class AuditUnavailableError extends GatewayError {
  constructor(options?: ErrorOptions) {
    super('AUDIT_UNAVAILABLE', 'The audit log is unavailable', 503, options);
  }
}
