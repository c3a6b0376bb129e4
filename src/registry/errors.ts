/**
 * @module registry/errors — refusals of the registry's storage layer. Each 400 carries a stable
 * `reason` naming the rule that refused the input, so callers and tests tell them apart without
 * parsing messages; messages name the rule and never echo a resolved path outside the roots.
 */
import { BadRequestError, GatewayError } from '../errors.js';

/** Why an input to the registry was refused (400). */
export type RegistryRefusal =
  | 'digest-invalid'
  | 'digest-mismatch'
  | 'name-invalid'
  | 'path-nul'
  | 'path-dotdot'
  | 'path-outside'
  | 'path-escape'
  | 'path-missing'
  | 'path-not-regular';

/** An input broke a registry rule (400); `reason` says which. */
export class RegistryInputError extends BadRequestError {
  readonly reason: RegistryRefusal;

  constructor(reason: RegistryRefusal, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** An upload passed its size limit; it was stopped there and nothing was kept (413). */
export class BlobTooLargeError extends GatewayError {
  readonly limit: number;

  constructor(limit: number) {
    super('PAYLOAD_TOO_LARGE', `The upload exceeds the limit of ${limit} bytes`, 413);
    this.limit = limit;
  }
}

/** The upload was cancelled by its signal before it completed; nothing was kept (499). */
export class BlobUploadAbortedError extends GatewayError {
  constructor(options?: ErrorOptions) {
    super('REQUEST_CANCELLED', 'The upload was cancelled', 499, options);
  }
}
