/**
 * @module registry/artifacts — what a proposed version's artifact and task are: an uploaded blob
 * named by its digest (a model file, or a folder manifest: ./folders), or a file or folder under
 * `registry.allowedPaths` hashed and copied into the blob store (served from there, so a file changed under allowedPaths later changes nothing the
 * registry approved); the task defaults to the backend's.
 */
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { assertDigest, type BlobStore } from './blobs.js';
import { RegistryInputError, RegistryNotFoundError } from './errors.js';
import { onDisk } from './files.js';
import { assertFolderStored, storedManifest } from './folder-blobs.js';
import { hashFolder, storeFolder } from './folder-walk.js';
import { allowedFile, allowedPath, hashFile } from './paths.js';

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

/** What a version's artifact is: one file, or a folder (a manifest blob, ./folders). */
export type ArtifactKind = 'file' | 'folder';

function kindRefused(kind: ArtifactKind, is: ArtifactKind): never {
  throw new RegistryInputError(
    'artifact-kind',
    `The artifact was proposed as a ${kind} but is a ${is}${is === 'folder' ? ' (a folder manifest)' : ''}`,
  );
}

/**
 * The stored artifact a proposal names: the blob `sha256` (404 `blob-not-found` if absent), or
 * the file or folder at `path` (400 on path tricks), copied into the store; a `sha256` given with
 * a path must be the file's, or the folder's manifest's (400 `digest-mismatch`). Neither: 400
 * `artifact-source`. A folder is told by what is there (a directory, or a blob that is a folder
 * manifest, whose files must all be stored: 400 `folder-incomplete` naming the first missing);
 * `kind`, when given, must agree (400 `artifact-kind`).
 */
export async function storedArtifact(
  src: ArtifactSources,
  sha256: string | undefined,
  path: string | undefined,
  kind?: ArtifactKind,
): Promise<{ sha256: string; size: number; kind: ArtifactKind }> {
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
    const manifest = await storedManifest(src.blobs, sha256);
    const is: ArtifactKind = manifest === undefined ? 'file' : 'folder';
    if (kind !== undefined && kind !== is) kindRefused(kind, is);
    if (manifest !== undefined) await assertFolderStored(src.blobs, manifest);
    return { sha256: info.sha256, size: info.size, kind: is };
  }
  const real = await allowedPath(path, src.allowedPaths);
  if ((await onDisk('look at a registered path', () => lstat(real))).isDirectory()) {
    if (kind === 'file') kindRefused(kind, 'folder');
    const hashed = await hashFolder(real);
    mustMatch(sha256, hashed.sha256, "folder's manifest");
    return { ...(await storeFolder(src.blobs, hashed, src.maxBlobBytes)), kind: 'folder' };
  }
  if (kind === 'folder') kindRefused(kind, 'file');
  const file = await allowedFile(path, src.allowedPaths);
  const hashed = await hashFile(file);
  mustMatch(sha256, hashed.sha256, "file's");
  // Verified again on the way in: a file changed since it was hashed is refused.
  const put = await src.blobs.put(hashed.sha256, createReadStream(file), {
    maxBytes: src.maxBlobBytes,
  });
  return { sha256: put.sha256, size: put.size, kind: 'file' };
}

function mustMatch(given: string | undefined, actual: string, what: string): void {
  if (given !== undefined && assertDigest(given) !== actual) {
    throw new RegistryInputError(
      'digest-mismatch',
      `The ${what} sha256 is ${actual}, not the ${given} it was registered with`,
    );
  }
}
