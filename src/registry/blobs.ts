/**
 * @module registry/blobs — a content-addressed store of immutable files (model artifacts,
 * dataset versions) laid out as `<dir>/<first 2 hex>/<sha256>`, files read-only, directories
 * 0700. The only path component that comes from outside is a validated digest. How uploads
 * arrive safely is in ./upload.ts.
 */
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { NotFoundError, StoreError } from '../errors.js';
import { RegistryInputError } from './errors.js';
import { digestHandle, errnoOf, onDisk, openRegular } from './files.js';
import { stopSource, upload, type BlobBody, type UploadOptions } from './upload.js';

export type { BlobBody } from './upload.js';

/** A stored blob: its digest (lower-case hex), size in bytes and absolute path. */
export interface BlobInfo {
  readonly sha256: string;
  readonly size: number;
  readonly path: string;
}

/** Limits of one upload: `maxBytes`, and a `signal` that cancels it. */
export type PutOptions = UploadOptions;

/** A stored blob, and whether this upload stored it (false: it was already there). */
export interface PutResult extends BlobInfo {
  readonly created: boolean;
}

const DIGEST = /^[0-9a-f]{64}$/;

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
  /** Free bytes every upload leaves on the file system (`registry.minFreeBytes`; 0: none). */
  readonly minFreeBytes: number;

  constructor(dir: string, options: { minFreeBytes?: number } = {}) {
    this.dir = resolve(dir);
    this.minFreeBytes = options.minFreeBytes ?? 0;
  }

  /** Where the blob `sha256` lives; the only source of a path component is the digest. */
  pathOf(sha256: string): string {
    assertDigest(sha256);
    return join(this.dir, sha256.slice(0, 2), sha256);
  }

  /**
   * Streams `body` into the store under `sha256`. The body must hash to `sha256` (else 400
   * `digest-mismatch`) and stay within `maxBytes` (else 413 as soon as it passes, the source
   * stopped) and leave the store's `minFreeBytes` free on its file system (else 507); any
   * failure, cancellation included, leaves nothing behind. An existing blob is
   * never rewritten: the body is still read and verified, then dropped (`created: false`).
   */
  async put(sha256: string, body: BlobBody, opts: PutOptions): Promise<PutResult> {
    let path: string;
    try {
      path = this.pathOf(sha256);
      if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 0) {
        throw new RangeError('maxBytes must be a non-negative integer');
      }
    } catch (err) {
      stopSource(body, undefined);
      throw err;
    }
    const { size, created } = await upload(path, sha256, body, {
      minFreeBytes: this.minFreeBytes,
      ...opts,
    });
    return { sha256, size, path, created };
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

  /**
   * A read stream of the blob (never loaded whole into memory); 404 when absent. The stream owns
   * an open file: read it to its end or destroy it.
   */
  async open(sha256: string): Promise<{ info: BlobInfo; stream: NodeJS.ReadableStream }> {
    const path = this.pathOf(sha256);
    const opened = await onDisk('open a blob', () => openRegular(path));
    if (typeof opened === 'string') throw new NotFoundError(`No blob ${sha256} is stored`);
    return {
      info: { sha256, size: opened.size, path },
      stream: opened.handle.createReadStream({ start: 0 }),
    };
  }

  /** Re-hashes the stored blob: true when its content still matches its name; 404 when absent. */
  async verify(sha256: string): Promise<boolean> {
    const path = this.pathOf(sha256);
    const opened = await onDisk('open a blob', () => openRegular(path));
    if (typeof opened === 'string') throw new NotFoundError(`No blob ${sha256} is stored`);
    const got = await onDisk('read a blob', () => digestHandle(opened.handle));
    return got.sha256 === sha256;
  }

  /**
   * Removes the partial files (`.tmp-…`) of uploads that never finished — a process killed
   * mid-upload leaves one — last modified more than `olderThanMs` ago (so an upload still
   * running, here or on a replica sharing the directory, is never cut: pass at least the
   * longest an upload may take). Returns how many went.
   */
  async sweepPartials(olderThanMs: number, now: number = Date.now()): Promise<number> {
    let shards: string[];
    try {
      shards = await readdir(this.dir);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return 0;
      throw new StoreError('blob store: cannot list the store', { cause: err });
    }
    let removed = 0;
    for (const shard of shards) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      const dir = join(this.dir, shard);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue; // not a directory, or gone meanwhile
      }
      for (const name of names) {
        if (!name.startsWith('.tmp-')) continue;
        const path = join(dir, name);
        try {
          const st = await lstat(path);
          if (!st.isFile() || now - st.mtimeMs <= olderThanMs) continue;
          await unlink(path);
          removed++;
        } catch (err) {
          if (errnoOf(err) !== 'ENOENT')
            throw new StoreError('blob store: cannot sweep', { cause: err });
        }
      }
    }
    return removed;
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
