/**
 * @module registry/upload.test — how an upload is bounded and stopped: the size limit, the
 * free-space floor, cancellation and failures mid-way, each leaving nothing behind.
 */
import { mkdir, rm, statfs, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, StoreError } from '../errors.js';
import {
  ABC,
  chunks,
  counting,
  EMPTY,
  MiB,
  tree,
  freshStore,
  removeStore,
} from './blob-fixtures.case.js';
import { BlobStore } from './blobs.js';
import { BlobTooLargeError, BlobUploadAbortedError, InsufficientStorageError } from './errors.js';
import { FREE_CHECK_BYTES } from './upload.js';

let root: string;
let dir: string;
let store: BlobStore;

beforeEach(async () => ({ root, dir, store } = await freshStore()));
afterEach(() => removeStore(root));

describe('BlobStore.put limits', () => {
  it('accepts a body of exactly maxBytes and refuses one byte more with 413, keeping nothing', async () => {
    const before = await tree(root);
    const err: unknown = await store
      .put(ABC, chunks('ab', 'cd'), { maxBytes: 3 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobTooLargeError);
    expect((err as BlobTooLargeError).statusCode).toBe(413);
    expect((err as BlobTooLargeError).code).toBe('PAYLOAD_TOO_LARGE');
    expect((err as BlobTooLargeError).limit).toBe(3);
    expect(await tree(root)).toEqual(before);
    expect((await store.put(ABC, chunks('ab', 'c'), { maxBytes: 3 })).created).toBe(true);
  });

  it('stops pulling a 100 MB body once it passes the limit, and ends the generator', async () => {
    const { state, body } = counting(100 * MiB);
    await expect(store.put(EMPTY, body, { maxBytes: MiB })).rejects.toBeInstanceOf(
      BlobTooLargeError,
    );
    expect(state.pulled).toBeLessThanOrEqual(MiB + 64 * 1024);
    expect(state.closed).toBe(true);
    expect(await tree(root)).toEqual([]);
  });

  it('destroys a readable body that passes the limit, which unpipes what feeds it', async () => {
    const { state, body } = counting(100 * MiB);
    const source = Readable.from(body);
    const pass = new PassThrough();
    source.pipe(pass);
    await expect(store.put(EMPTY, pass, { maxBytes: MiB })).rejects.toBeInstanceOf(
      BlobTooLargeError,
    );
    expect(pass.destroyed).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(source.listenerCount('data')).toBe(0);
    expect(state.pulled).toBeLessThan(4 * MiB);
    source.destroy();
    expect(await tree(root)).toEqual([]);
  });

  it('refuses an upload that would eat into the free-space floor with 507, pulling nothing', async () => {
    const full = new BlobStore(dir, { minFreeBytes: 2 ** 52 });
    const { state, body } = counting(10 * MiB);
    const err: unknown = await full
      .put(EMPTY, body, { maxBytes: 20 * MiB })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientStorageError);
    expect(err).toMatchObject({ statusCode: 507, code: 'INSUFFICIENT_STORAGE', expose: true });
    expect(state.pulled).toBe(0);
    expect(await body.next()).toEqual({ done: true, value: undefined }); // stopped, not left open
    expect(await tree(root)).toEqual([]);
  });

  it('stops an upload once what it wrote brings the disk down to the floor, keeping nothing', async () => {
    // the floor sits 4 MiB below the free space now (less the check interval): the first check
    // passes, and the one after a check interval was written finds the upload ate into it
    await mkdir(dir, { recursive: true });
    const { bavail, bsize } = await statfs(dir);
    const floor = bavail * bsize - FREE_CHECK_BYTES - 4 * MiB;
    const near = new BlobStore(dir, { minFreeBytes: floor });
    const { state, body } = counting(8 * FREE_CHECK_BYTES);
    const err: unknown = await near
      .put(EMPTY, body, { maxBytes: 16 * FREE_CHECK_BYTES })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientStorageError);
    expect(state.pulled).toBeGreaterThanOrEqual(FREE_CHECK_BYTES);
    expect(state.pulled).toBeLessThan(8 * FREE_CHECK_BYTES);
    expect(state.closed).toBe(true);
    expect(await tree(root)).toEqual(['blobs/']);
    // and with room to spare the same store takes a small blob
    const roomy = new BlobStore(dir, { minFreeBytes: MiB });
    expect((await roomy.put(ABC, chunks('abc'), { maxBytes: 3 })).created).toBe(true);
  });
});

describe('BlobStore.put when the upload fails mid-way', () => {
  it('removes the temp file when the signal aborts while a read is pending', async () => {
    const ac = new AbortController();
    let during: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let closed!: () => void;
    const ended = new Promise<void>((r) => (closed = r));
    async function* body(): AsyncGenerator<Uint8Array> {
      try {
        yield Buffer.from('ab');
        during = await tree(root);
        ac.abort(new Error('client went away'));
        await gate; // a read that never answers on its own
        yield Buffer.from('c');
      } finally {
        closed();
      }
    }
    const err: unknown = await store
      .put(ABC, body(), { maxBytes: 10, signal: ac.signal })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobUploadAbortedError);
    expect((err as BlobUploadAbortedError).code).toBe('REQUEST_CANCELLED');
    expect((err as Error).cause).toEqual(new Error('client went away'));
    expect(during.filter((p) => p.startsWith('blobs/ba/.tmp-'))).toHaveLength(1);
    expect(await tree(root)).toEqual([]);
    release();
    await ended; // the generator was told to return, and does once its read answers
  });

  it('destroys a stalled readable body on abort and keeps nothing', async () => {
    const ac = new AbortController();
    let firstRead!: () => void;
    const reading = new Promise<void>((r) => (firstRead = r));
    let pushed = false;
    const body = new Readable({
      read() {
        if (!pushed) {
          pushed = true;
          this.push(Buffer.from('ab'));
          firstRead();
        }
      },
    });
    const p = store.put(ABC, body, { maxBytes: 10, signal: ac.signal });
    await reading;
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(BlobUploadAbortedError);
    expect(body.destroyed).toBe(true);
    expect(await tree(root)).toEqual([]);
  });

  it('reads nothing and creates nothing when the signal is already aborted', async () => {
    const { state, body } = counting(10);
    await expect(
      store.put(ABC, body, { maxBytes: 10, signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(BlobUploadAbortedError);
    expect(state.pulled).toBe(0);
    expect(await tree(root)).toEqual([]);
  });

  it('passes on the error of a source that fails mid-way and keeps nothing', async () => {
    const broke = new Error('source broke');
    let during: string[] = [];
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('ab');
      during = await tree(root);
      throw broke;
    }
    await expect(store.put(ABC, body(), { maxBytes: 10 })).rejects.toBe(broke);
    expect(during.filter((p) => p.includes('.tmp-'))).toHaveLength(1);
    expect(await tree(root)).toEqual([]);
  });

  it('passes on the error of a readable destroyed mid-way and keeps nothing', async () => {
    const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    let n = 0;
    const body = new Readable({
      read() {
        if (n++ === 0) this.push(Buffer.from('ab'));
        else this.destroy(reset);
      },
    });
    await expect(store.put(ABC, body, { maxBytes: 10 })).rejects.toBe(reset);
    expect(await tree(root)).toEqual([]);
  });

  it('fails with a StoreError and keeps nothing when the disk refuses the write', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'ba'), 'not a directory');
    const before = await tree(root);
    const body = Readable.from([Buffer.from('abc')]);
    const err: unknown = await store.put(ABC, body, { maxBytes: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).statusCode).toBe(500);
    expect(body.destroyed).toBe(true);
    expect(await tree(root)).toEqual(before);
  });

  it('refuses to treat a directory or a symlink holding the blob name as the stored blob', async () => {
    await mkdir(join(dir, 'ba', ABC), { recursive: true });
    await expect(store.put(ABC, chunks('abc'), { maxBytes: 10 })).rejects.toBeInstanceOf(
      StoreError,
    );
    expect(await tree(root)).toEqual(['blobs/', 'blobs/ba/', `blobs/ba/${ABC}/`]);
    expect(await store.stat(ABC)).toBeUndefined();
    await rm(join(dir, 'ba', ABC), { recursive: true });

    // A symlink planted by hand, to a file with the right content; its own size (the length of
    // its target, 3) even equals the blob's, so only its type gives it away.
    await writeFile(join(dir, 'ba', 'xyz'), 'abc');
    await symlink('xyz', join(dir, 'ba', ABC));
    await expect(store.put(ABC, chunks('abc'), { maxBytes: 10 })).rejects.toBeInstanceOf(
      StoreError,
    );
    expect(await store.has(ABC)).toBe(false);
    await expect(store.open(ABC)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.verify(ABC)).rejects.toBeInstanceOf(NotFoundError);
  });
});
