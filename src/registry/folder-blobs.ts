/**
 * @module registry/folder-blobs — folder manifests in the blob store: whether a stored blob is
 * one (told by its first bytes, then validated whole), and whether every file it lists is
 * stored, so a folder version is never proposed with a file the server does not hold.
 */
import type { BlobStore } from './blobs.js';
import { RegistryInputError, RegistryNotFoundError } from './errors.js';
import { onDisk, openRegular } from './files.js';
import {
  FOLDER_KIND,
  looksLikeManifest,
  MAX_MANIFEST_BYTES,
  parseManifest,
  sha256Of,
  type FolderManifest,
} from './folders.js';

const HEAD = 64;

/**
 * The manifest the stored blob `sha256` holds, or undefined when the blob is not a folder
 * manifest (a model file); 404 `blob-not-found` when it is not stored, 400 `manifest-invalid`
 * when it starts like a manifest but is not a valid one. With `verify`, the manifest's bytes must
 * hash to `sha256` (400 `digest-mismatch`): the blob may have been changed on disk.
 */
export async function storedManifest(
  blobs: BlobStore,
  sha256: string,
  verify = false,
): Promise<FolderManifest | undefined> {
  const opened = await onDisk('open a blob', () => openRegular(blobs.pathOf(sha256)));
  if (typeof opened === 'string') {
    throw new RegistryNotFoundError('blob-not-found', `No blob ${sha256} is stored`);
  }
  const { handle, size } = opened;
  try {
    const head = Buffer.alloc(Math.min(HEAD, size));
    await onDisk('read a blob', () => handle.read(head, 0, head.length, 0));
    if (!looksLikeManifest(head)) return undefined;
    if (size > MAX_MANIFEST_BYTES) {
      throw new RegistryInputError(
        'manifest-invalid',
        `The blob is not a folder manifest: it is over ${MAX_MANIFEST_BYTES} bytes`,
      );
    }
    const bytes = await onDisk('read a blob', () => handle.readFile());
    if (verify && sha256Of(bytes) !== sha256) {
      throw new RegistryInputError('digest-mismatch', 'The manifest does not match its sha256');
    }
    return parseManifest(bytes);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Checks that every file `manifest` lists is stored with its size; 400 `folder-incomplete`
 * naming the first file missing (its path and digest) otherwise.
 */
export async function assertFolderStored(
  blobs: BlobStore,
  manifest: FolderManifest,
): Promise<void> {
  for (const f of manifest.files) {
    const info = await blobs.stat(f.sha256);
    if (info?.size !== f.size) {
      throw new RegistryInputError(
        'folder-incomplete',
        `The folder's file ${f.path} (sha256 ${f.sha256}, ${String(f.size)} bytes) is not stored; upload it first`,
      );
    }
  }
}

/**
 * The stored folder manifest `sha256` names, checked whole: a valid manifest whose files are
 * all stored. 400 `artifact-kind` when the blob is not a manifest.
 */
export async function storedFolder(blobs: BlobStore, sha256: string): Promise<FolderManifest> {
  const manifest = await storedManifest(blobs, sha256);
  if (manifest === undefined) {
    throw new RegistryInputError(
      'artifact-kind',
      `The blob ${sha256} is not a folder manifest (${FOLDER_KIND}); upload the manifest, or propose the blob as a file`,
    );
  }
  await assertFolderStored(blobs, manifest);
  return manifest;
}

/**
 * A check of whether the artifact `artifact` is a folder listing the file `sha256`, reading each
 * manifest once (an artifact gone or unreadable lists nothing).
 */
export function folderLister(
  blobs: BlobStore,
): (artifact: string, sha256: string) => Promise<boolean> {
  const seen = new Map<string, ReadonlySet<string>>();
  return async (artifact, sha256) => {
    let files = seen.get(artifact);
    if (files === undefined) {
      const manifest = await storedManifest(blobs, artifact).catch(() => undefined);
      files = new Set(manifest?.files.map((f) => f.sha256) ?? []);
      seen.set(artifact, files);
    }
    return files.has(sha256);
  };
}
