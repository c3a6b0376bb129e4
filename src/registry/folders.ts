/**
 * @module registry/folders — folder artifacts (a tfjs model folder, an ONNX model with its
 * tokenizer files): a manifest listing each file's relative path, sha256 and size, kept as one
 * canonical JSON blob whose own sha256 is the version's artifact digest; each file is a blob in
 * the same store. The manifest is canonical (sorted, fixed key order, no spaces), so one folder
 * has one digest, and its bytes start with its kind, so a manifest is told from any other blob
 * by its content: what a digest names cannot change its meaning later.
 */
import { createHash } from 'node:crypto';
import { assertDigest } from './blobs.js';
import { RegistryInputError } from './errors.js';

/** The `kind` of a folder manifest. */
export const FOLDER_KIND = 'gatehouse.folder/v1';
/** The most files one folder may hold. */
export const MAX_FOLDER_FILES = 4096;
/** The longest relative path (UTF-16 code units) and path segment in a folder. */
export const MAX_FOLDER_PATH = 1024;
const MAX_SEGMENT = 255;
/** The largest manifest: MAX_FOLDER_FILES entries of the longest path, with room to spare. */
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
const PREFIX = `{"kind":"${FOLDER_KIND}","files":[`;

/** One file of a folder. */
export interface FolderFile {
  /** Relative, `/`-separated, no `.`/`..`/empty segments, no NUL, no backslash. */
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
}

/** A folder artifact: its files sorted by path. */
export interface FolderManifest {
  readonly kind: typeof FOLDER_KIND;
  readonly files: readonly FolderFile[];
}

function refuse(message: string): never {
  throw new RegistryInputError('folder-path-invalid', `A folder file path is refused: ${message}`);
}

/** Returns `path` when it may name a file in a folder; 400 `folder-path-invalid` otherwise. */
export function validFolderPath(path: unknown): string {
  if (typeof path !== 'string' || path === '') refuse('it is empty');
  if (path.length > MAX_FOLDER_PATH) refuse(`it is longer than ${MAX_FOLDER_PATH} characters`);
  if (path.includes('\0')) refuse('it contains a NUL byte');
  if (path.includes('\\')) refuse('it contains a backslash');
  if (path.startsWith('/')) refuse('it is absolute');
  // Control characters have no place in a model's file names and confuse logs and terminals.
  if (/\p{Cc}/u.test(path)) refuse('it contains a control character');
  for (const segment of path.split('/')) {
    if (segment === '') refuse('it has an empty segment');
    if (segment === '.' || segment === '..') refuse(`it has a '${segment}' segment`);
    if (segment.length > MAX_SEGMENT) refuse(`a segment is longer than ${MAX_SEGMENT} characters`);
  }
  return path;
}

/** Code-unit order, the same in every JavaScript engine and locale. */
const byPath = (a: FolderFile, b: FolderFile): number =>
  a.path < b.path ? -1 : a.path > b.path ? 1 : 0;

/**
 * Validates `files` and returns the folder's manifest, sorted by path. Refused with 400:
 * a bad path (`folder-path-invalid`), a bad digest or size, the same path twice or a path that
 * is both a file and a folder (`manifest-invalid`), none or more than MAX_FOLDER_FILES files
 * (`folder-too-large` for the latter).
 */
export function folderManifest(files: readonly FolderFile[]): FolderManifest {
  if (files.length === 0) {
    throw new RegistryInputError('manifest-invalid', 'A folder artifact holds at least one file');
  }
  if (files.length > MAX_FOLDER_FILES) {
    throw new RegistryInputError(
      'folder-too-large',
      `A folder artifact holds at most ${MAX_FOLDER_FILES} files`,
    );
  }
  const sorted = files
    .map((f) => {
      assertDigest(f.sha256);
      if (!Number.isSafeInteger(f.size) || f.size < 0) {
        throw new RegistryInputError('manifest-invalid', 'A folder file size is a whole number');
      }
      return { path: validFolderPath(f.path), sha256: f.sha256, size: f.size };
    })
    .sort(byPath);
  const paths = new Set<string>();
  for (const f of sorted) {
    if (paths.has(f.path)) {
      throw new RegistryInputError('manifest-invalid', `The folder lists ${f.path} twice`);
    }
    paths.add(f.path);
  }
  for (const f of sorted) {
    const segments = f.path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join('/');
      if (paths.has(parent)) {
        throw new RegistryInputError(
          'manifest-invalid',
          `The folder lists ${parent} both as a file and as a folder`,
        );
      }
    }
  }
  return { kind: FOLDER_KIND, files: sorted };
}

/** The canonical bytes of `manifest` (what is stored and hashed). */
export function manifestBytes(manifest: FolderManifest): Buffer {
  const files = manifest.files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size }));
  return Buffer.from(JSON.stringify({ kind: FOLDER_KIND, files }), 'utf8');
}

/** The sha256 (lower-case hex) of `bytes`. */
export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Whether `bytes` claim to be a folder manifest (they start like one); not a validation. */
export function looksLikeManifest(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, PREFIX.length)).toString('latin1') === PREFIX;
}

/**
 * Reads a stored manifest. The bytes must be exactly the canonical form of a valid manifest
 * (400 `manifest-invalid` otherwise), so two different blobs never describe one folder.
 */
export function parseManifest(bytes: Uint8Array): FolderManifest {
  const invalid = (why: string): never => {
    throw new RegistryInputError('manifest-invalid', `The blob is not a folder manifest: ${why}`);
  };
  if (bytes.byteLength > MAX_MANIFEST_BYTES) invalid(`it is over ${MAX_MANIFEST_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    invalid('it is not JSON in UTF-8');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) invalid('no object');
  const o = parsed as Record<string, unknown>;
  if (o.kind !== FOLDER_KIND) invalid(`its kind is not ${FOLDER_KIND}`);
  if (!Array.isArray(o.files)) invalid('it has no files list');
  const files = (o.files as unknown[]).map((f): FolderFile => {
    if (typeof f !== 'object' || f === null) return invalid('a file entry is not an object');
    const e = f as Record<string, unknown>;
    if (typeof e.path !== 'string' || typeof e.sha256 !== 'string' || typeof e.size !== 'number')
      return invalid('a file entry is not {path, sha256, size}');
    return { path: e.path, sha256: e.sha256, size: e.size };
  });
  const manifest = folderManifest(files);
  if (!Buffer.from(bytes).equals(manifestBytes(manifest))) invalid('it is not in canonical form');
  return manifest;
}
