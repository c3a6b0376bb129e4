/**
 * @module registry/artifacts — what a proposed version's artifact and task are: an uploaded blob
 * named by its digest, or a file under `registry.allowedPaths` hashed and copied into the blob
 * store (served from there, so a file changed under allowedPaths later changes nothing the
 * registry approved); the task defaults to the backend's.
 */
import { createReadStream } from 'node:fs';
import { assertDigest, type BlobStore } from './blobs.js';
import { RegistryInputError, RegistryNotFoundError } from './errors.js';
import { allowedFile, hashFile } from './paths.js';

/** The tasks each backend serves; the first is the default (`onnx` has none: name it). */
const BACKEND_TASKS: ReadonlyMap<string, readonly string[]> = new Map([
  ['tfjs', ['embedding']],
  ['onnx', ['embedding', 'classification']],
  ['llama-cpp', ['generation']],
  ['echo', ['generation', 'embedding', 'classification']],
]);

/** The task a version of `backend` serves: `task`, or the backend's default (400 otherwise). */
export function taskOf(backend: string, task: string | undefined): string {
  const tasks = BACKEND_TASKS.get(backend);
  if (tasks === undefined) {
    throw new RegistryInputError(
      'backend-invalid',
      `Unknown backend ${backend}; use one of ${[...BACKEND_TASKS.keys()].join(', ')}`,
    );
  }
  const chosen = task ?? (backend === 'onnx' ? undefined : tasks[0]);
  if (chosen === undefined || !tasks.includes(chosen)) {
    throw new RegistryInputError(
      'task-invalid',
      `Backend ${backend} serves the task${tasks.length > 1 ? 's' : ''} ${tasks.join(', ')}; name one`,
    );
  }
  return chosen;
}

/** Where artifacts live and may come from. */
export interface ArtifactSources {
  readonly blobs: BlobStore;
  /** `registry.allowedPaths`. */
  readonly allowedPaths: readonly string[];
  /** `registry.maxBlobBytes`. */
  readonly maxBlobBytes: number;
}

/**
 * The stored artifact a proposal names: the blob `sha256` (404 `blob-not-found` if absent), or
 * the file at `path` (400 on path tricks), copied into the store; a `sha256` given with a path
 * must be the file's (400 `digest-mismatch`). Neither: 400 `artifact-source`.
 */
export async function storedArtifact(
  src: ArtifactSources,
  sha256: string | undefined,
  path: string | undefined,
): Promise<{ sha256: string; size: number }> {
  if (path === undefined) {
    if (sha256 === undefined) {
      throw new RegistryInputError(
        'artifact-source',
        'Name the artifact: sha256 (an uploaded blob) or path (a file under registry.allowedPaths)',
      );
    }
    const info = await src.blobs.stat(assertDigest(sha256));
    if (info === undefined) {
      throw new RegistryNotFoundError('blob-not-found', `No blob ${sha256} is stored`);
    }
    return info;
  }
  const file = await allowedFile(path, src.allowedPaths);
  const hashed = await hashFile(file);
  if (sha256 !== undefined && assertDigest(sha256) !== hashed.sha256) {
    throw new RegistryInputError(
      'digest-mismatch',
      `The file's sha256 is ${hashed.sha256}, not the ${sha256} it was registered with`,
    );
  }
  // Verified again on the way in: a file changed since it was hashed is refused.
  return src.blobs.put(hashed.sha256, createReadStream(file), { maxBytes: src.maxBlobBytes });
}
