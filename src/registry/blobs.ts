/**
 * @module registry/blobs — a content-addressed store of immutable files (model artifacts,
 * dataset versions) laid out as `<dir>/<first 2 hex>/<sha256>`. An upload streams into a temp
 * file in the blob's own directory, hashed and size-checked as it arrives, is fsynced, then
 * hard-linked into place. A link, unlike a rename, fails on an existing name: a stored blob is
 * never rewritten, and concurrent uploads of one digest leave exactly one file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { NotFoundError, StoreError } from '../errors.js';
import { BlobTooLargeError, BlobUploadAbortedError, RegistryInputError } from './errors.js';
import { digestHandle, errnoOf, openRegular } from './files.js';

/** A stored blob: its digest (lower-case hex), size in bytes and absolute path. */
export interface BlobInfo {
  readonly sha256: string;
  readonly size: number;
  readonly path: string;
}

/** What an upload reads from: an async iterable of bytes, or a Node readable stream. */
export type BlobBody = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

/** Limits of one upload. */
export interface PutOptions {
  /** The most bytes accepted; one more and the upload stops with 413. */
  readonly maxBytes: number;
  /** Cancels the upload (client gone, shutdown): nothing is kept. */
  readonly signal?: AbortSignal;
}

/** A stored blob, and whether this upload stored it (false: it was already there). */
export interface PutResult extends BlobInfo {
  readonly created: boolean;
}

const DIGEST = /^[0-9a-f]{64}$/;
const DIR_MODE = 0o700;
const TEMP_MODE = 0o600;
/** Placed blobs are read-only: nothing in the server has reason to write one again. */
const BLOB_MODE = 0o400;

/** Returns `sha256` when it is 64 lower-case hex characters; 400 `digest-invalid` otherwise. */
export function assertDigest(sha256: string): string {
  if (typeof sha256 !== 'string' || !DIGEST.test(sha256)) {
    throw new RegistryInputError(
      'digest-invalid',
      'A blob digest is a sha256 in 64 lower-case hex characters',
    );
  }
  return sha256;
}

/** A content-addressed blob store in one directory (created 0700 on first upload). */
export class BlobStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** Where the blob `sha256` lives; the only source of a path component is the digest. */
  pathOf(sha256: string): string {
    assertDigest(sha256);
    return join(this.dir, sha256.slice(0, 2), sha256);
  }

  /**
   * Streams `body` into the store under `sha256`. The body must hash to `sha256` (else 400
   * `digest-mismatch`) and stay within `maxBytes` (else 413 as soon as it passes, the source
   * stopped); any failure, cancellation included, leaves nothing behind. An existing blob is
   * never rewritten: the body is still read and verified, then dropped (`created: false`).
   */
  async put(sha256: string, body: BlobBody, opts: PutOptions): Promise<PutResult> {
    const path = this.pathOf(sha256);
    const { maxBytes, signal } = opts;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new RangeError('maxBytes must be a non-negative integer');
    }
    if (signal?.aborted === true) {
      stopSource(body, undefined);
      throw new BlobUploadAbortedError({ cause: signal.reason });
    }
    let temp: TempFile;
    try {
      temp = await openTemp(dirname(path));
    } catch (err) {
      stopSource(body, undefined);
      throw err;
    }
    let handle: FileHandle | undefined = temp.handle;
    let created: boolean | undefined;
    try {
      const got = await receive(body, handle, maxBytes, signal);
      if (got.sha256 !== sha256) {
        throw new RegistryInputError(
          'digest-mismatch',
          `The body's sha256 is ${got.sha256}, not the ${sha256} it was uploaded as`,
        );
      }
      const written = handle;
      await disk('flush the upload', async () => {
        await written.chmod(BLOB_MODE);
        await written.sync();
      });
      handle = undefined;
      await disk('close the upload', () => written.close());
      // A cancellation that came while flushing still wins: nothing is kept.
      throwIfAborted(signal);
      created = await place(temp.path, path, got.size);
      return { sha256, size: got.size, path, created };
    } finally {
      await handle?.close().catch(ignore);
      // After a link the blob keeps its other name; on every failure this is the only name.
      await unlink(temp.path).catch(ignore);
      if (created === undefined) await removeMadeDirs(dirname(path), temp.made);
    }
  }

  /** Whether the blob is stored. */
  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== undefined;
  }

  /** The stored blob's info, or undefined when absent (a non-file in its place counts as absent). */
  async stat(sha256: string): Promise<BlobInfo | undefined> {
    const path = this.pathOf(sha256);
    try {
      const st = await lstat(path);
      return st.isFile() ? { sha256, size: st.size, path } : undefined;
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new StoreError('blob store: cannot stat a blob', { cause: err });
    }
  }

  /** A read stream of the blob (never loaded whole into memory); 404 when absent. */
  async open(sha256: string): Promise<{ info: BlobInfo; stream: NodeJS.ReadableStream }> {
    const path = this.pathOf(sha256);
    const opened = await disk('open a blob', () => openRegular(path));
    if (typeof opened === 'string') throw new NotFoundError(`No blob ${sha256} is stored`);
    return {
      info: { sha256, size: opened.size, path },
      stream: opened.handle.createReadStream({ start: 0 }),
    };
  }

  /** Re-hashes the stored blob: true when its content still matches its name; 404 when absent. */
  async verify(sha256: string): Promise<boolean> {
    const path = this.pathOf(sha256);
    const opened = await disk('open a blob', () => openRegular(path));
    if (typeof opened === 'string') throw new NotFoundError(`No blob ${sha256} is stored`);
    const got = await disk('read a blob', () => digestHandle(opened.handle));
    return got.sha256 === sha256;
  }

  /** Removes the blob; false when it was not there. */
  async delete(sha256: string): Promise<boolean> {
    const path = this.pathOf(sha256);
    try {
      await unlink(path);
      return true;
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw new StoreError('blob store: cannot delete a blob', { cause: err });
    }
  }
}

/** Reads `body` into `handle`, hashing and counting; stops the source on any failure. */
async function receive(
  body: BlobBody,
  handle: FileHandle,
  maxBytes: number,
  signal: AbortSignal | undefined,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const it = (body as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  let finished = false;
  try {
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
      await disk('write the upload', () => writeAll(handle, chunk));
    }
    finished = true;
  } finally {
    if (!finished) stopSource(body, it);
  }
  return { sha256: hash.digest('hex'), size };
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
function stopSource(body: BlobBody, it: AsyncIterator<unknown> | undefined): void {
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
    const m = await disk('create the blob directory', () =>
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
    if (errnoOf(err) !== 'EEXIST')
      throw new StoreError('blob store: cannot place a blob', { cause: err });
    const st = await disk('stat an existing blob', () => lstat(path));
    if (!st.isFile()) throw new StoreError('blob store: a blob name is held by a non-file');
    if (st.size !== size)
      throw new StoreError('blob store: a stored blob differs in size from its digest');
    return false;
  }
  // The new name must survive a crash too: fsync the directory that holds it.
  await disk('flush the blob directory', async () => {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  });
  return true;
}

/** Runs a filesystem step; its failure becomes a StoreError (500, details only in `cause`). */
async function disk<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw new StoreError(`blob store: cannot ${what}`, { cause: err });
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new BlobUploadAbortedError({ cause: signal.reason });
}

function ignore(): void {
  // Best-effort cleanup: the operation's own outcome is what the caller hears.
}
