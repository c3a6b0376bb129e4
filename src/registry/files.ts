/**
 * @module registry/files — opening and digesting the files the registry serves or registers.
 * A file is looked at, opened, then checked again through the open handle, so what is checked
 * is what is read: O_NOFOLLOW refuses a final symlink swapped in, O_NONBLOCK keeps a FIFO swapped
 * in from blocking the open (a regular file ignores it).
 */
import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { StoreError } from '../errors.js';

/** A regular file open for reading, with its size at opening. */
export interface OpenedFile {
  readonly handle: FileHandle;
  readonly size: number;
}

/** Why a path could not be opened as a regular file. */
export type NotOpened = 'absent' | 'symlink' | 'not-regular';

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** The `code` of a Node system error, if `err` is one. */
export function errnoOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}

/**
 * Opens `path` when it is a regular file; otherwise says why not. What is there is looked at
 * before it is opened (opening a device can have effects), then checked again through the
 * handle: a file swapped in between counts as not regular. Other failures (permissions, I/O)
 * are thrown as they came.
 */
export async function openRegular(path: string): Promise<OpenedFile | NotOpened> {
  let before: Stats;
  try {
    before = await lstat(path);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'absent';
    throw err;
  }
  if (before.isSymbolicLink()) return 'symlink';
  if (!before.isFile()) return 'not-regular';
  let handle: FileHandle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'absent';
    if (code === 'ELOOP') return 'symlink';
    throw err;
  }
  try {
    const st = await handle.stat();
    if (st.isFile() && st.ino === before.ino && st.dev === before.dev) {
      return { handle, size: st.size };
    }
  } catch (err) {
    await handle.close();
    throw err;
  }
  await handle.close();
  return 'not-regular';
}

/** SHA-256 (lower-case hex) and byte count of everything read from `handle`; closes it. */
export async function digestHandle(handle: FileHandle): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  // The stream owns the handle from here: it closes it at the end and on error.
  for await (const chunk of handle.createReadStream({ start: 0 })) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    size += bytes.byteLength;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Runs a filesystem step; its failure becomes a StoreError (500, details only in `cause`). */
export async function onDisk<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw new StoreError(`blob store: cannot ${what}`, { cause: err });
  }
}
