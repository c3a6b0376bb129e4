/**
 * @module registry/go-live — how a version becomes the served one, deploy or rollback alike:
 * prepared by the serving side first (loaded, its artifact verified), then recorded in the store
 * (a compare-and-set that may lose to a concurrent caller), then committed — or aborted, so what
 * is served always follows what the store says. Also the refusals version changes share.
 */
import type {
  DeployResult,
  ModelVersionRecord,
  VersionRefusal,
  VersionStatus,
} from '../store/index.js';
import type { BlobStore } from './blobs.js';
import { GatewayError } from '../errors.js';
import { InvalidTransitionError, RegistryNotFoundError, VersionUnloadableError } from './errors.js';
import { withFolder } from './materialize.js';
import type { PreparedVersion, RegistryServing, ServingVersion } from './serving.js';

/** A deployment or rollback, with the version numbers it went between. */
export interface Deployment {
  readonly record: Extract<DeployResult, { ok: true }>['deployment'];
  readonly version: number;
  readonly previousVersion: number | null;
}

/** 409 `invalid-transition`: `v` cannot be `verb`ed from `current`. */
export function conflictOf(
  v: ModelVersionRecord,
  verb: string,
  current: VersionStatus,
): InvalidTransitionError {
  return new InvalidTransitionError(
    `Cannot ${verb} version ${String(v.version)} of model ${v.model}: it is ${current}`,
    current,
  );
}

/** The error for a change of `v` the store refused. */
export function refusalOf(v: ModelVersionRecord, verb: string, r: VersionRefusal): Error {
  if (r.reason === 'missing') {
    return new RegistryNotFoundError(
      'version-not-found',
      `Model ${v.model} has no version ${String(v.version)}`,
    );
  }
  return conflictOf(v, verb, r.current);
}

/**
 * A version as the serving side loads it: from its blob, or its folder materialized and verified
 * when the artifact is a folder manifest (also what replicas following a deploy load).
 */
export function servingVersion(blobs: BlobStore, v: ModelVersionRecord): Promise<ServingVersion> {
  return withFolder(blobs, {
    model: v.model,
    versionId: v.id,
    version: v.version,
    backend: v.backend,
    task: v.task,
    sha256: v.artifactSha256,
    size: v.artifactSize,
    artifactPath: blobs.pathOf(v.artifactSha256),
    params: v.params,
  });
}

/** Asks `serving` (if any) to load `v` from its blob (or folder) beside what is served. */
async function prepare(
  serving: RegistryServing | undefined,
  blobs: BlobStore,
  v: ModelVersionRecord,
): Promise<PreparedVersion | undefined> {
  if (serving === undefined) return undefined;
  const version = await servingVersion(blobs, v).catch((err: unknown) => {
    throw unloadable(v, err);
  });
  return serving.prepare(version).catch((err: unknown) => {
    throw unloadable(v, err);
  });
}

/**
 * What a failed prepare answers: a refusal the caller can act on as it is (invalid params 400,
 * shutting down 503), else 422 `artifact-unloadable` in public terms.
 */
function unloadable(v: ModelVersionRecord, err: unknown): unknown {
  if (err instanceof GatewayError && (err.statusCode === 400 || err.statusCode === 503)) return err;
  const why =
    err instanceof GatewayError && err.code === 'MODEL_ARTIFACT_INVALID'
      ? 'its artifact is missing, unreadable or does not match its approved sha256'
      : `the ${v.backend} backend could not load its artifact`;
  return new VersionUnloadableError(
    `Version ${String(v.version)} of ${v.model} cannot be served: ${why}. Nothing changed.`,
    { cause: err },
  );
}

/**
 * Makes `v` the served version: prepare → `record` (the store's deploy or rollback) → commit;
 * a refusal or failure of the store aborts what was prepared. Without `serving` it only records.
 */
export async function goLive(
  serving: RegistryServing | undefined,
  blobs: BlobStore,
  v: ModelVersionRecord,
  record: () => Promise<DeployResult>,
): Promise<Deployment> {
  let prepared = await prepare(serving, blobs, v);
  let result: DeployResult;
  try {
    result = await record();
  } catch (err) {
    await prepared?.abort();
    throw err;
  }
  if (!result.ok) {
    await prepared?.abort();
    throw refusalOf(v, 'deploy', result);
  }
  if (result.current.id !== v.id) {
    // A concurrent rollback moved the store elsewhere first: serve what it recorded.
    await prepared?.abort();
    prepared = await prepare(serving, blobs, result.current);
  }
  prepared?.commit();
  return {
    record: result.deployment,
    version: result.current.version,
    previousVersion: result.previous?.version ?? null,
  };
}
