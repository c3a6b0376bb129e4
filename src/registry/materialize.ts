/**
 * @module registry/materialize — a folder artifact laid out as the folder its backend loads:
 * `<dataDir>/artifacts/<manifest sha256>/` holding each listed file at its path, hard-linked to
 * its blob (copied when a link cannot be made), built in a temp directory and renamed into place
 * so a half-built folder is never seen, then made read-only. Each file is verified against the
 * manifest after it is placed, and a folder already in place is verified whole before it is
 * reused (exactly the listed files, each with its digest; else it is rebuilt): a blob changed on
 * disk by hand is refused, and nothing the approved manifest does not list is ever served.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import { chmod, copyFile, link, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StoreError } from '../errors.js';
import type { BlobStore } from './blobs.js';
import { FolderArtifactError, RegistryInputError, RegistryNotFoundError } from './errors.js';
import { digestHandle, errnoOf, onDisk, openRegular } from './files.js';
import { storedManifest } from './folder-blobs.js';
import type { FolderFile, FolderManifest } from './folders.js';
import type { ServingVersion } from './serving.js';

const DIR_MODE = 0o700;
const READ_ONLY_DIR = 0o500;
const READ_ONLY_FILE = 0o400;

/** Where folder artifacts are materialized: `artifacts/` beside the blob store's directory. */
export function artifactsDirOf(blobs: BlobStore): string {
  return join(dirname(blobs.dir), 'artifacts');
}

/**
 * The manifest the approved artifact `sha256` is, or undefined when it is a single file. The
 * manifest's own bytes are checked against `sha256` before they are trusted.
 */
export async function servedManifest(
  blobs: BlobStore,
  sha256: string,
): Promise<FolderManifest | undefined> {
  try {
    return await storedManifest(blobs, sha256, true);
  } catch (err) {
    if (err instanceof RegistryInputError || err instanceof RegistryNotFoundError) {
      throw new FolderArtifactError(`folder artifact ${sha256}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** Whether the regular file at `path` holds exactly `f`'s bytes. */
async function matches(path: string, f: FolderFile): Promise<boolean> {
  const opened = await onDisk('open a folder file', () => openRegular(path));
  if (typeof opened === 'string') return false;
  if (opened.size !== f.size) {
    await opened.handle.close();
    return false;
  }
  const got = await onDisk('read a folder file', () => digestHandle(opened.handle));
  return got.sha256 === f.sha256 && got.size === f.size;
}

/** Every non-directory below `dir`, as `/`-separated relative paths (false: something odd). */
async function filesBelow(dir: string, prefix = ''): Promise<string[] | false> {
  let list: Dirent[];
  try {
    list = await readdir(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  const out: string[] = [];
  for (const e of list) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory()) {
      const below = await filesBelow(join(dir, e.name), rel);
      if (below === false) return false;
      out.push(...below);
    } else if (e.isFile()) out.push(rel);
    else return false; // a symlink, FIFO, … was put there: not ours
  }
  return out;
}

/** Whether `dir` is the folder `manifest` describes: the listed files only, each verified. */
async function complete(dir: string, manifest: FolderManifest): Promise<boolean> {
  const st = await lstat(dir).catch(() => undefined);
  if (st?.isDirectory() !== true) return false;
  const present = await filesBelow(dir);
  if (present === false || present.length !== manifest.files.length) return false;
  const listed = new Set(manifest.files.map((f) => f.path));
  if (!present.every((p) => listed.has(p))) return false;
  for (const f of manifest.files) {
    if (!(await matches(join(dir, ...f.path.split('/')), f))) return false;
  }
  return true;
}

/** Removes `dir` and everything below it, read-only directories included. */
async function removeTree(dir: string): Promise<void> {
  const writable = async (d: string): Promise<void> => {
    await chmod(d, DIR_MODE).catch(() => undefined);
    const list = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of list) if (e.isDirectory()) await writable(join(d, e.name));
  };
  await writable(dir);
  await onDisk('remove a folder artifact', () => rm(dir, { recursive: true, force: true }));
}

/** Makes every directory below and including `dir` read-only. */
async function readOnly(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) await readOnly(join(dir, e.name));
  }
  await chmod(dir, READ_ONLY_DIR);
}

/** Places blob `f` at `dest`: a hard link, or a read-only copy where links cannot be made. */
async function place(blobs: BlobStore, f: FolderFile, dest: string, manifest: string) {
  const src = blobs.pathOf(f.sha256);
  try {
    await link(src, dest);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT') {
      throw new FolderArtifactError(
        `folder artifact ${manifest}: its file ${f.path} is not stored`,
      );
    }
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') {
      throw new FolderArtifactError(`folder artifact ${manifest}: cannot place ${f.path}`, {
        cause: err,
      });
    }
    await onDisk('copy a folder file', async () => {
      await copyFile(src, dest, constants.COPYFILE_EXCL);
      await chmod(dest, READ_ONLY_FILE);
    });
  }
  if (!(await matches(dest, f))) {
    throw new FolderArtifactError(
      `folder artifact ${manifest}: its file ${f.path} does not match its sha256 ${f.sha256}`,
    );
  }
}

/**
 * The directory holding the folder artifact `sha256` (whose manifest is `manifest`), made if
 * needed and verified either way. Throws FolderArtifactError when a file is missing or differs.
 */
export async function materializeFolder(
  blobs: BlobStore,
  sha256: string,
  manifest: FolderManifest,
  artifactsDir: string = artifactsDirOf(blobs),
): Promise<string> {
  const target = join(artifactsDir, sha256);
  if (await complete(target, manifest)) return target;
  await removeTree(target);
  await onDisk('create the artifacts directory', () =>
    mkdir(artifactsDir, { recursive: true, mode: DIR_MODE }),
  );
  const temp = join(artifactsDir, `.tmp-${sha256.slice(0, 16)}-${randomBytes(8).toString('hex')}`);
  try {
    await onDisk('create a folder artifact', () => mkdir(temp, { mode: DIR_MODE }));
    for (const f of manifest.files) {
      const dest = join(temp, ...f.path.split('/'));
      await onDisk('create a folder', () =>
        mkdir(dirname(dest), { recursive: true, mode: DIR_MODE }),
      );
      await place(blobs, f, dest, sha256);
    }
    await onDisk('seal a folder artifact', () => readOnly(temp));
    try {
      await rename(temp, target);
    } catch (err) {
      const code = errnoOf(err);
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') {
        throw new StoreError('blob store: cannot place a folder artifact', { cause: err });
      }
      // Another deploy of the same folder placed it first: use that one, once verified.
      if (!(await complete(target, manifest))) {
        throw new FolderArtifactError(`folder artifact ${sha256}: its folder changed while placed`);
      }
    }
  } finally {
    await removeTree(temp);
  }
  return target;
}

/**
 * `version` with its folder materialized when its artifact is a folder manifest (as it is when
 * it is a single file). Throws FolderArtifactError when the folder cannot be served as approved.
 */
export async function withFolder(
  blobs: BlobStore,
  version: ServingVersion,
): Promise<ServingVersion> {
  const manifest = await servedManifest(blobs, version.sha256);
  if (manifest === undefined) return version;
  return { ...version, folder: await materializeFolder(blobs, version.sha256, manifest) };
}
