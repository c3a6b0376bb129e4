/**
 * @module registry/upload — how a blob arrives: streamed into a temp file in the blob's own
 * directory, hashed and size-checked chunk by chunk (the limit is checked before a chunk is
 * written, and the source is stopped the moment it is passed), fsynced, then hard-linked into
 * place. A link, unlike a rename, fails on an existing name: a stored blob is never rewritten,
 * and concurrent uploads of one digest leave exactly one file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, rmdir, statfs, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StoreError } from '../errors.js';
import {
  BlobTooLargeError,
  BlobUploadAbortedError,
  InsufficientStorageError,
  RegistryInputError,
} from './errors.js';
import { errnoOf, onDisk } from './files.js';

/** What an upload reads from: an async iterable of bytes, or a Node readable stream. */
export type BlobBody = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

/** Limits of one upload. */
export interface UploadOptions {
  /** The most bytes accepted; one more and the upload stops with 413. */
  readonly maxBytes: number;
  /** Cancels the upload (client gone, shutdown): nothing is kept. */
  readonly signal?: AbortSignal;
  /**
   * Free bytes the file system must keep: checked before the upload and every
   * {@link FREE_CHECK_BYTES} written; below it the upload stops with 507. Default 0 (none).
   */
  readonly minFreeBytes?: number;
}

/** Bytes written between two checks of the free space (a `statfs` each). */
export const FREE_CHECK_BYTES = 8 * 1024 * 1024;

const DIR_MODE = 0o700;
const TEMP_MODE = 0o600;
/** Placed blobs are read-only: nothing in the server has reason to write one again. */
const BLOB_MODE = 0o400;

/**
 * Streams `body` into a temp file beside `path`, checks it against `sha256` and `maxBytes`, and
 * links it to `path`. Any failure, cancellation included, stops the source and leaves nothing
 * behind; `created` is false when `path` already held the blob (it is left untouched).
 */
export async function upload(
  path: string,
  sha256: string,
  body: BlobBody,
  opts: UploadOptions,
): Promise<{ size: number; created: boolean }> {
  const { maxBytes, signal } = opts;
  let temp: TempFile;
  try {
    throwIfAborted(signal);
    temp = await openTemp(dirname(path));
  } catch (err) {
    stopSource(body, undefined);
    throw err;
  }
  let handle: FileHandle | undefined = temp.handle;
  let created: boolean | undefined;
  const floor = opts.minFreeBytes ?? 0;
  const dir = dirname(temp.path);
  const room = floor === 0 ? undefined : () => checkRoom(dir, floor);
  try {
    const got = await receive(body, handle, maxBytes, signal, room);
    if (got.sha256 !== sha256) {
      throw new RegistryInputError(
        'digest-mismatch',
        `The body's sha256 is ${got.sha256}, not the ${sha256} it was uploaded as`,
      );
    }
    const written = handle;
    await onDisk('flush the upload', async () => {
      await written.chmod(BLOB_MODE);
      await written.sync();
    });
    handle = undefined;
    await onDisk('close the upload', () => written.close());
    // A cancellation that came while flushing still wins: nothing is kept.
    throwIfAborted(signal);
    created = await place(temp.path, path, got.size);
    return { size: got.size, created };
  } finally {
    await handle?.close().catch(ignore);
    // After a link the blob keeps its other name; on every failure this is the only name.
    await unlink(temp.path).catch(ignore);
    if (created === undefined) await removeMadeDirs(dirname(path), temp.made);
  }
}

/**
 * Reads `body` into `handle`, hashing and counting, with the free space checked by `room` first
 * and every FREE_CHECK_BYTES; stops the source on any failure.
 */
async function receive(
  body: BlobBody,
  handle: FileHandle,
  maxBytes: number,
  signal: AbortSignal | undefined,
  room: (() => Promise<void>) | undefined,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  let checked = 0; // bytes written when the free space was last checked
  const it = (body as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  let finished = false;
  try {
    await room?.();
    for (;;) {
      const r = await nextChunk(it, signal);
      if (r.done === true) break;
      const chunk: unknown = r.value;
      if (!(chunk instanceof Uint8Array)) {
        throw new TypeError('A blob body yields bytes (Uint8Array), not strings or objects');
      }
      size += chunk.byteLength;
      // Checked before the chunk is written: not one byte past the limit reaches the disk.
      if (size > maxBytes) throw new BlobTooLargeError(maxBytes);
      hash.update(chunk);
      if (room !== undefined && size - checked >= FREE_CHECK_BYTES) {
        await room();
        checked = size;
      }
      await onDisk('write the upload', () => writeAll(handle, chunk));
    }
    finished = true;
  } finally {
    if (!finished) stopSource(body, it);
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Throws InsufficientStorageError unless the file system of `dir` has `floor` free beyond what
 * the upload may write before the next check (so the floor holds to within one chunk).
 */
async function checkRoom(dir: string, floor: number): Promise<void> {
  const fs = await onDisk('check the free space', () => statfs(dir));
  if (fs.bavail * fs.bsize < floor + FREE_CHECK_BYTES) throw new InsufficientStorageError(floor);
}

/** The iterator's next chunk, or a rejection as soon as `signal` aborts (even mid-read). */
function nextChunk(
  it: AsyncIterator<unknown>,
  signal: AbortSignal | undefined,
): Promise<IteratorResult<unknown>> {
  if (signal === undefined) return it.next();
  if (signal.aborted) return Promise.reject(new BlobUploadAbortedError({ cause: signal.reason }));
  return new Promise((resolvePromise, reject) => {
    const onAbort = () => {
      reject(new BlobUploadAbortedError({ cause: signal.reason }));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    it.next().then(
      (r) => {
        signal.removeEventListener('abort', onAbort);
        resolvePromise(r);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * Stops a source that will not be read to its end: a stream is destroyed (which also unpipes it
 * from whatever feeds it), an iterator is returned (a generator runs its `finally`). Neither is
 * awaited: a generator stuck in an await would hold the failed upload open.
 */
export function stopSource(body: BlobBody, it: AsyncIterator<unknown> | undefined): void {
  const destroy: unknown = (body as { destroy?: unknown }).destroy;
  if (typeof destroy === 'function') destroy.call(body);
  try {
    const returned = it?.return?.();
    if (returned !== undefined) returned.then(ignore, ignore);
  } catch {
    // A throwing return() is the source's problem; the upload already failed.
  }
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

/** A fresh temp file in a blob's directory, and the topmost directory made for it, if any. */
interface TempFile {
  readonly path: string;
  readonly handle: FileHandle;
  readonly made: string | undefined;
}

/**
 * Makes `shard` (and the store's directory) 0700 if needed and creates a temp file in it, in the
 * same directory as the blob so that linking it into place never crosses a filesystem. A failed
 * upload removes the directories it made, so another upload may see its directory vanish
 * between the two steps: then it is made again.
 */
async function openTemp(shard: string): Promise<TempFile> {
  let made: string | undefined;
  for (let attempt = 1; ; attempt++) {
    const m = await onDisk('create the blob directory', () =>
      mkdir(shard, { recursive: true, mode: DIR_MODE }),
    );
    made = m ?? made;
    const path = join(shard, `.tmp-${randomBytes(12).toString('hex')}`);
    try {
      return { path, handle: await open(path, 'wx', TEMP_MODE), made };
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' && attempt < 5) continue;
      await removeMadeDirs(shard, made);
      throw new StoreError('blob store: cannot create a temp file', { cause: err });
    }
  }
}

/** Removes the now empty directories a failed upload made, from `shard` up to `made`. */
async function removeMadeDirs(shard: string, made: string | undefined): Promise<void> {
  if (made === undefined) return;
  for (let dir = shard; ; dir = dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return; // not empty: another upload or a stored blob lives there
    }
    if (dir === made || dirname(dir) === dir) return;
  }
}

/**
 * Links the verified temp file to its name. EEXIST means the blob is already stored (another
 * upload won the race, or it was there before): kept as it is, after checking that what holds
 * the name is a file of the verified size, never a directory or a symlink planted there.
 */
async function place(temp: string, path: string, size: number): Promise<boolean> {
  try {
    await link(temp, path);
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') {
      throw new StoreError('blob store: cannot place a blob', { cause: err });
    }
    const st = await onDisk('stat an existing blob', () => lstat(path));
    if (!st.isFile()) throw new StoreError('blob store: a blob name is held by a non-file');
    if (st.size !== size) {
      throw new StoreError('blob store: a stored blob differs in size from its digest');
    }
    return false;
  }
  // The new name must survive a crash too: fsync the directory that holds it. Should that fail,
  // the verified blob stays (another upload may already have been told it exists) and the
  // caller hears the error.
  await onDisk('flush the blob directory', async () => {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  });
  return true;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new BlobUploadAbortedError({ cause: signal.reason });
}

function ignore(): void {
  // Best-effort cleanup: the operation's own outcome is what the caller hears.
}
