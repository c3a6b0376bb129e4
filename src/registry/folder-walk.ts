/**
 * @module registry/folder-walk — reading a folder from disk as a folder artifact: every regular
 * file below it, hashed, and (on the server) copied into the blob store with the manifest last.
 * A symlink is followed only to a regular file inside the folder itself; one that leads out of
 * it (or to a folder, which could loop), a FIFO, a socket or a device is refused, so a folder
 * registered under `registry.allowedPaths` never brings in a byte from outside it.
 */
import { createReadStream, type Dirent } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { StoreError } from '../errors.js';
import type { BlobStore } from './blobs.js';
import { RegistryInputError } from './errors.js';
import {
  folderManifest,
  manifestBytes,
  MAX_FOLDER_FILES,
  MAX_MANIFEST_BYTES,
  sha256Of,
  validFolderPath,
  type FolderManifest,
} from './folders.js';
import { errnoOf } from './files.js';
import { hashFile } from './paths.js';

/** One file found in a folder: its path in the folder and the real file to read. */
export interface FoundFile {
  readonly path: string;
  readonly file: string;
}

const MAX_DEPTH = 32;

function within(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function refuse(reason: 'path-escape' | 'path-not-regular', path: string, why: string): never {
  throw new RegistryInputError(
    reason,
    `The folder's entry ${JSON.stringify(path)} is refused: ${why}`,
  );
}

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  } catch (err) {
    throw new StoreError('registry: cannot list a folder', { cause: err });
  }
}

/**
 * Every regular file below the folder `root` (a real path), sorted; at most `maxFiles` (400
 * `folder-too-large`), each path valid as a manifest path (400 `folder-path-invalid`).
 */
export async function walkFolder(
  root: string,
  maxFiles: number = MAX_FOLDER_FILES,
): Promise<FoundFile[]> {
  const found: FoundFile[] = [];
  const visit = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) {
      throw new RegistryInputError('folder-too-large', `A folder is at most ${MAX_DEPTH} deep`);
    }
    for (const entry of await entries(dir)) {
      const abs = join(dir, entry.name);
      const path = validFolderPath(relative(root, abs).split(sep).join('/'));
      if (entry.isDirectory()) {
        await visit(abs, depth + 1);
        continue;
      }
      let file = abs;
      if (entry.isSymbolicLink()) {
        file = await realpath(abs).catch((err: unknown) => {
          const code = errnoOf(err);
          if (code === 'ENOENT' || code === 'ELOOP')
            refuse('path-escape', path, 'a broken symlink');
          throw new StoreError('registry: cannot resolve a folder entry', { cause: err });
        });
        if (!within(file, root)) refuse('path-escape', path, 'a symlink out of the folder');
        const st = await lstat(file);
        if (!st.isFile()) refuse('path-not-regular', path, 'a symlink to something not a file');
      } else if (!entry.isFile()) {
        refuse('path-not-regular', path, 'not a regular file (a FIFO, socket or device)');
      }
      found.push({ path, file });
      if (found.length > maxFiles) {
        throw new RegistryInputError(
          'folder-too-large',
          `A folder artifact holds at most ${maxFiles} files`,
        );
      }
    }
  };
  await visit(root, 0);
  return found;
}

/** A folder read from disk: its manifest, the manifest's bytes and digest, and its files. */
export interface HashedFolder {
  readonly manifest: FolderManifest;
  readonly bytes: Buffer;
  readonly sha256: string;
  readonly found: readonly FoundFile[];
}

/** The folder `root` (a real path) as a folder artifact: each file found and hashed. */
export async function hashFolder(
  root: string,
  maxFiles: number = MAX_FOLDER_FILES,
): Promise<HashedFolder> {
  const found = await walkFolder(root, maxFiles);
  const files = [];
  for (const f of found) files.push({ path: f.path, ...(await hashFile(f.file)) });
  const manifest = folderManifest(files);
  const bytes = manifestBytes(manifest);
  return { manifest, bytes, sha256: sha256Of(bytes), found };
}

/**
 * Stores a hashed folder as a folder artifact: each file copied into `blobs` (verified again on
 * the way in, so a file changed since it was hashed is refused), then the manifest. Returns the
 * manifest's digest and size: the version's artifact.
 */
export async function storeFolder(
  blobs: BlobStore,
  folder: HashedFolder,
  maxBlobBytes: number,
): Promise<{ sha256: string; size: number }> {
  const fileOf = new Map(folder.found.map((f) => [f.path, f.file]));
  for (const f of folder.manifest.files) {
    const file = fileOf.get(f.path) ?? '';
    await blobs.put(f.sha256, createReadStream(file), { maxBytes: maxBlobBytes });
  }
  const stored = await blobs.put(folder.sha256, Readable.from([folder.bytes]), {
    maxBytes: MAX_MANIFEST_BYTES,
  });
  return { sha256: folder.sha256, size: stored.size };
}
