/**
 * @module registry/files — opening and digesting the files the registry serves or registers.
 * Files are opened before they are checked, and checked through the open handle, so what is
 * checked is what is read: O_NOFOLLOW refuses a final symlink and O_NONBLOCK keeps a FIFO from
 * blocking the open (a regular file ignores it).
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

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
 * Opens `path` when it is a regular file; otherwise says why not. Other failures (permissions,
 * I/O) are thrown as they came.
 */
export async function openRegular(path: string): Promise<OpenedFile | NotOpened> {
  let handle: FileHandle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'absent';
    if (code === 'ELOOP') return 'symlink';
    // Opening a socket fails rather than succeeding as a non-regular file.
    if (code === 'ENXIO' || code === 'EOPNOTSUPP') return 'not-regular';
    throw err;
  }
  try {
    const st = await handle.stat();
    if (st.isFile()) return { handle, size: st.size };
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
