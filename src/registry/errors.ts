/**
 * @module registry/errors — refusals of the registry's storage layer. Each 400 carries a stable
 * `reason` naming the rule that refused the input, so callers and tests tell them apart without
 * parsing messages; messages name the rule and never echo a resolved path outside the roots.
 */
import { BadRequestError, ConflictError, GatewayError, NotFoundError } from '../errors.js';
import type { DatasetAccess } from '../store/index.js';

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
  | 'path-not-regular'
  | 'label-invalid'
  | 'acl-invalid'
  | 'if-match-invalid';

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

/**
 * The dataset's access list (or ownership) does not grant the caller what the operation needs
 * (403 `dataset-access`). The policy allowed the scope; this is the second check.
 */
export class DatasetAccessError extends GatewayError {
  readonly reason = 'dataset-access';
  readonly dataset: string;
  readonly needed: DatasetAccess;
  constructor(dataset: string, needed: DatasetAccess) {
    super(
      'DATASET_ACCESS_DENIED',
      `The access list of dataset ${dataset} does not grant ${needed}`,
      403,
    );
    this.dataset = dataset;
    this.needed = needed;
  }
}

/** No live dataset, or no such version of it (404 `dataset-not-found` / `version-not-found`). */
export class DatasetNotFoundError extends NotFoundError {
  readonly reason: 'dataset-not-found' | 'version-not-found';
  constructor(reason: 'dataset-not-found' | 'version-not-found', message: string) {
    super(message);
    this.reason = reason;
  }
}

/** A dataset of that name exists, or existed and is not purged yet (409 `dataset-exists`). */
export class DatasetExistsError extends ConflictError {
  readonly reason = 'dataset-exists';
  constructor(name: string) {
    super(`A dataset named ${name} exists (a deleted one keeps its name until it is purged)`);
  }
}

/** `If-Match` names an etag the dataset is no longer at: nothing written (412 `etag-stale`). */
export class DatasetStaleError extends GatewayError {
  readonly reason = 'etag-stale';
  /** The etag the dataset is at now. */
  readonly etag: number;
  constructor(etag: number) {
    super('PRECONDITION_FAILED', `The dataset changed: it is at etag "${String(etag)}" now`, 412);
    this.etag = etag;
  }
}

/** A change of a dataset's metadata came without `If-Match` (428 `if-match-required`). */
export class DatasetPreconditionRequiredError extends GatewayError {
  readonly reason = 'if-match-required';
  constructor() {
    super(
      'PRECONDITION_REQUIRED',
      'Changing a dataset needs If-Match with its current etag (read it first)',
      428,
    );
  }
}
