/** @module registry — storage of model artifacts and dataset files: blobs, registered paths, names. */
export {
  BlobStore,
  assertDigest,
  type BlobBody,
  type BlobInfo,
  type PutOptions,
  type PutResult,
} from './blobs.js';
export {
  BlobTooLargeError,
  BlobUploadAbortedError,
  DatasetAccessError,
  DatasetExistsError,
  DatasetNotFoundError,
  DatasetPreconditionRequiredError,
  DatasetStaleError,
  RegistryInputError,
  type RegistryRefusal,
} from './errors.js';
export { allowedFile, hashFile, validName } from './paths.js';
export { datasetAccess, grants, PRINCIPAL, type DatasetCaller } from './access.js';
export type { PreparedVersion, RegistryServing, ServingVersion } from './serving.js';
export {
  DatasetService,
  validAcl,
  validLabels,
  type DatasetActor,
  type DatasetServiceDeps,
  type DatasetView,
  type PurgeReport,
} from './datasets.js';
