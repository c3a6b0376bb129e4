/**
 * @module registry/errors — refusals of the registry's storage layer. Each 400 carries a stable
 * `reason` naming the rule that refused the input, so callers and tests tell them apart without
 * parsing messages; messages name the rule and never echo a resolved path outside the roots.
 * The service's refusals (404, 403, 409) carry one too; the API answers with it as the error code.
 */
import { BadRequestError, ConflictError, GatewayError, NotFoundError } from '../errors.js';
import type { DatasetAccess, VersionStatus } from '../store/index.js';

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
  | 'artifact-source'
  | 'artifact-kind'
  | 'manifest-invalid'
  | 'folder-path-invalid'
  | 'folder-incomplete'
  | 'folder-too-large'
  | 'backend-invalid'
  | 'task-invalid'
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

/**
 * An upload would have left the disk with less free space than the server keeps
 * (`registry.minFreeBytes`); it was stopped and nothing was kept (507). The database and the
 * audit log need that room more than one more blob does.
 */
export class InsufficientStorageError extends GatewayError {
  override readonly expose = true;
  readonly floor: number;

  constructor(floor: number) {
    super(
      'INSUFFICIENT_STORAGE',
      `Not enough free disk space for this upload: the server keeps ${floor} bytes free`,
      507,
    );
    this.floor = floor;
  }
}

/** The upload was cancelled by its signal before it completed; nothing was kept (499). */
export class BlobUploadAbortedError extends GatewayError {
  constructor(options?: ErrorOptions) {
    super('REQUEST_CANCELLED', 'The upload was cancelled', 499, options);
  }
}

/** Why a registry lookup found nothing (404). */
export type RegistryMissing =
  | 'blob-not-found'
  | 'model-not-found'
  | 'version-not-found'
  | 'dataset-not-found'
  | 'dataset-version-not-found'
  | 'nothing-to-roll-back';

/** A model, version, dataset or blob the request names does not exist (404); `reason` says which. */
export class RegistryNotFoundError extends NotFoundError {
  readonly reason: RegistryMissing;

  constructor(reason: RegistryMissing, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Which rule refused a registry action to an authorized caller (403). */
export type RegistryDenial = 'self-approval' | 'dataset-access' | 'training-labels';

/**
 * A registry rule refused the caller, although its scope allowed the route (403): the two-person
 * rule, a dataset the caller may not read, a label the policy keeps out of the model's training.
 */
export class RegistryDeniedError extends GatewayError {
  readonly reason: RegistryDenial;

  constructor(reason: RegistryDenial, message: string) {
    super('REGISTRY_DENIED', message, 403);
    this.reason = reason;
  }
}

/** A version is not in a status the change starts from (409); `current` is the one it is in. */
export class InvalidTransitionError extends ConflictError {
  readonly reason = 'invalid-transition';
  readonly current: VersionStatus;

  constructor(message: string, current: VersionStatus) {
    super(message);
    this.current = current;
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

/**
 * An approved version that the serving side could not load at deploy or rollback (422
 * `artifact-unloadable`): nothing changed, in the store or in what is served. The message says
 * why in public terms (never a path); the cause is logged.
 */
export class VersionUnloadableError extends GatewayError {
  readonly reason = 'artifact-unloadable';

  constructor(message: string, options?: ErrorOptions) {
    super('REGISTRY_UNLOADABLE', message, 422, options);
  }
}

/**
 * A folder artifact cannot be materialized for serving: a file it lists is missing, not a
 * regular file, or does not match its digest (a blob changed on disk by hand). The same code as
 * a single model file that fails its digest; the message names the file in the folder only.
 */
export class FolderArtifactError extends GatewayError {
  constructor(message: string, options?: ErrorOptions) {
    super('MODEL_ARTIFACT_INVALID', message, 500, options);
  }
}

/**
 * How the API names a registry refusal: its rule as the error `code` (`digest-mismatch`,
 * `self-approval`, …) and the fields it adds to the error body (`current_status`); undefined for
 * errors that are not the registry's.
 */
export function registryRefusal(
  err: unknown,
): { code: string; fields: Record<string, unknown> } | undefined {
  if (err instanceof InvalidTransitionError) {
    return { code: err.reason, fields: { current_status: err.current } };
  }
  if (
    err instanceof RegistryInputError ||
    err instanceof RegistryNotFoundError ||
    err instanceof RegistryDeniedError ||
    err instanceof VersionUnloadableError
  ) {
    return { code: err.reason, fields: {} };
  }
  return undefined;
}
