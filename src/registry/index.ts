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
  FolderArtifactError,
  InvalidTransitionError,
  RegistryDeniedError,
  VersionUnloadableError,
  RegistryInputError,
  RegistryNotFoundError,
  registryRefusal,
  type RegistryDenial,
  type RegistryMissing,
  type RegistryRefusal,
} from './errors.js';
export { allowedFile, hashFile, validName } from './paths.js';
export type { ArtifactKind } from './artifacts.js';
export {
  FOLDER_KIND,
  folderManifest,
  manifestBytes,
  parseManifest,
  type FolderFile,
  type FolderManifest,
} from './folders.js';
export { hashFolder, walkFolder, type FoundFile, type HashedFolder } from './folder-walk.js';
export { artifactsDirOf, materializeFolder, servedManifest, withFolder } from './materialize.js';
export { datasetAccess, grants, PRINCIPAL, type DatasetCaller } from './access.js';
export type { PreparedVersion, RegistryServing, ServingVersion } from './serving.js';
export { RegistrySync, type RegistrySyncOptions, type SyncSink } from './sync.js';
export {
  DatasetService,
  validAcl,
  validLabels,
  type DatasetActor,
  type DatasetServiceDeps,
  type DatasetView,
  type PurgeReport,
} from './datasets.js';
export {
  ModelRegistry,
  type Deployment,
  type ModelRegistryDeps,
  type ModelSummary,
  type Proposal,
  type RegistryCaller,
} from './models.js';
