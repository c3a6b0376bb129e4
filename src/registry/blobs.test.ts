import { createHash } from 'node:crypto';
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  statfs,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, StoreError } from '../errors.js';
import { BlobStore } from './blobs.js';
import {
  BlobTooLargeError,
  BlobUploadAbortedError,
  InsufficientStorageError,
  RegistryInputError,
} from './errors.js';
import { FREE_CHECK_BYTES } from './upload.js';

// Known answers from FIPS 180-2, so the store is checked against digests it did not compute.
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const MiB = 1024 * 1024;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let root: string;
let dir: string;
let store: BlobStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'gatehouse-blobs-'));
  dir = join(root, 'blobs');
  store = new BlobStore(dir);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every entry under `base`, relative, directories ending in '/' (empty when it is absent). */
async function tree(base = root): Promise<string[]> {
  const entries = await readdir(base, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .map((e) => join(e.parentPath, e.name).slice(base.length + 1) + (e.isDirectory() ? '/' : ''))
    .sort();
}

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) {
    await Promise.resolve();
    yield Buffer.from(p);
  }
}

/** A body of `total` bytes in 64 KiB chunks that counts what was pulled and whether it ended. */
function counting(total: number) {
  const state = { pulled: 0, closed: false };
  async function* gen(): AsyncGenerator<Uint8Array> {
    try {
      while (state.pulled < total) {
        const n = Math.min(64 * 1024, total - state.pulled);
        state.pulled += n;
        await Promise.resolve();
        yield new Uint8Array(n);
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, body: gen() };
}

async function expectRefusal(p: Promise<unknown>, reason: string): Promise<void> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RegistryInputError);
  expect((err as RegistryInputError).reason).toBe(reason);
  expect((err as RegistryInputError).statusCode).toBe(400);
}

describe('BlobStore.put', () => {
  it('stores a body under its digest, read-only in a 0700 directory, and reads it back', async () => {
    const res = await store.put(ABC, chunks('a', 'b', 'c'), { maxBytes: 3 });
    expect(res).toEqual({ sha256: ABC, size: 3, path: join(dir, 'ba', ABC), created: true });
    expect(await tree()).toEqual(['blobs/', 'blobs/ba/', `blobs/ba/${ABC}`]);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'ba'))).mode & 0o777).toBe(0o700);
    expect((await stat(res.path)).mode & 0o777).toBe(0o400);
    expect(await readFile(res.path, 'utf8')).toBe('abc');
    expect(await store.has(ABC)).toBe(true);
    expect(await store.stat(ABC)).toEqual({ sha256: ABC, size: 3, path: res.path });
    const { info, stream } = await store.open(ABC);
    expect(info).toEqual({ sha256: ABC, size: 3, path: res.path });
    const got: Buffer[] = [];
    for await (const c of stream) got.push(c as Buffer);
    expect(Buffer.concat(got).toString()).toBe('abc');
    expect(await store.verify(ABC)).toBe(true);
  });

  it('stores a 0-byte blob', async () => {
    const res = await store.put(EMPTY, chunks(), { maxBytes: 0 });
    expect(res).toMatchObject({ sha256: EMPTY, size: 0, created: true });
    expect((await stat(res.path)).size).toBe(0);
    const { info, stream } = await store.open(EMPTY);
    expect(info.size).toBe(0);
    let n = 0;
    for await (const c of stream) n += (c as Buffer).length;
    expect(n).toBe(0);
  });

  it('takes a Node readable stream as the body', async () => {
    const res = await store.put(ABC, Readable.from([Buffer.from('ab'), Buffer.from('c')]), {
      maxBytes: 10,
    });
    expect(res.created).toBe(true);
    expect(await readFile(res.path, 'utf8')).toBe('abc');
  });

  it.each([
    ['upper case', ABC.toUpperCase()],
    ['63 characters', ABC.slice(1)],
    ['65 characters', `${ABC}0`],
    ['a non-hex character', `g${ABC.slice(1)}`],
    ['empty', ''],
    ['a path', `../${ABC.slice(3)}`],
    ['a slash', `ba/${ABC.slice(3)}`],
  ])('refuses a digest that is %s with 400 digest-invalid, creating nothing', async (_, bad) => {
    const body = counting(10);
    await expectRefusal(store.put(bad, body.body, { maxBytes: 10 }), 'digest-invalid');
    expect(body.state.pulled).toBe(0);
    await expectRefusal(store.has(bad), 'digest-invalid');
    await expectRefusal(store.stat(bad), 'digest-invalid');
    await expectRefusal(store.open(bad), 'digest-invalid');
    await expectRefusal(store.verify(bad), 'digest-invalid');
    await expectRefusal(store.delete(bad), 'digest-invalid');
    expect(await tree()).toEqual([]);
  });

  it('refuses a body whose digest differs with 400 digest-mismatch and keeps nothing', async () => {
    await store.put(EMPTY, chunks(), { maxBytes: 0 });
    const before = await tree();
    await expectRefusal(store.put(ABC, chunks('a', 'b', 'd'), { maxBytes: 10 }), 'digest-mismatch');
    expect(await tree()).toEqual(before);
    // The digest's directory did not exist before: the failed upload removed the one it made.
    expect(before).not.toContain('blobs/ba/');
  });

  it('keeps a shared blob directory when an upload into it fails', async () => {
    const other = 'ba' + '0'.repeat(62);
    await mkdir(join(dir, 'ba'), { recursive: true });
    await writeFile(join(dir, 'ba', other), 'someone else');
    const before = await tree();
    await expectRefusal(store.put(ABC, chunks('abd'), { maxBytes: 10 }), 'digest-mismatch');
    expect(await tree()).toEqual(before);
  });

  it('accepts a body of exactly maxBytes and refuses one byte more with 413, keeping nothing', async () => {
    const before = await tree();
    const err: unknown = await store
      .put(ABC, chunks('ab', 'cd'), { maxBytes: 3 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobTooLargeError);
    expect((err as BlobTooLargeError).statusCode).toBe(413);
    expect((err as BlobTooLargeError).code).toBe('PAYLOAD_TOO_LARGE');
    expect((err as BlobTooLargeError).limit).toBe(3);
    expect(await tree()).toEqual(before);
    expect((await store.put(ABC, chunks('ab', 'c'), { maxBytes: 3 })).created).toBe(true);
  });

  it('stops pulling a 100 MB body once it passes the limit, and ends the generator', async () => {
    const { state, body } = counting(100 * MiB);
    await expect(store.put(EMPTY, body, { maxBytes: MiB })).rejects.toBeInstanceOf(
      BlobTooLargeError,
    );
    expect(state.pulled).toBeLessThanOrEqual(MiB + 64 * 1024);
    expect(state.closed).toBe(true);
    expect(await tree()).toEqual([]);
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
    expect(await tree()).toEqual([]);
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
    expect(await tree()).toEqual([]);
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
    expect(await tree()).toEqual(['blobs/']);
    // and with room to spare the same store takes a small blob
    const roomy = new BlobStore(dir, { minFreeBytes: MiB });
    expect((await roomy.put(ABC, chunks('abc'), { maxBytes: 3 })).created).toBe(true);
  });

  it('refuses string chunks (a stream with an encoding set) and keeps nothing', async () => {
    const r = Readable.from(['abc']);
    await expect(store.put(ABC, r, { maxBytes: 10 })).rejects.toThrow(TypeError);
    expect(await tree()).toEqual([]);
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
        during = await tree();
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
    expect(await tree()).toEqual([]);
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
    expect(await tree()).toEqual([]);
  });

  it('reads nothing and creates nothing when the signal is already aborted', async () => {
    const { state, body } = counting(10);
    await expect(
      store.put(ABC, body, { maxBytes: 10, signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(BlobUploadAbortedError);
    expect(state.pulled).toBe(0);
    expect(await tree()).toEqual([]);
  });

  it('passes on the error of a source that fails mid-way and keeps nothing', async () => {
    const broke = new Error('source broke');
    let during: string[] = [];
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('ab');
      during = await tree();
      throw broke;
    }
    await expect(store.put(ABC, body(), { maxBytes: 10 })).rejects.toBe(broke);
    expect(during.filter((p) => p.includes('.tmp-'))).toHaveLength(1);
    expect(await tree()).toEqual([]);
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
    expect(await tree()).toEqual([]);
  });

  it('fails with a StoreError and keeps nothing when the disk refuses the write', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'ba'), 'not a directory');
    const before = await tree();
    const body = Readable.from([Buffer.from('abc')]);
    const err: unknown = await store.put(ABC, body, { maxBytes: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).statusCode).toBe(500);
    expect(body.destroyed).toBe(true);
    expect(await tree()).toEqual(before);
  });

  it('refuses to treat a directory or a symlink holding the blob name as the stored blob', async () => {
    await mkdir(join(dir, 'ba', ABC), { recursive: true });
    await expect(store.put(ABC, chunks('abc'), { maxBytes: 10 })).rejects.toBeInstanceOf(
      StoreError,
    );
    expect(await tree()).toEqual(['blobs/', 'blobs/ba/', `blobs/ba/${ABC}/`]);
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

describe('BlobStore.put of an existing blob', () => {
  it('reads and verifies the upload, then leaves the stored file untouched', async () => {
    const first = await store.put(ABC, chunks('abc'), { maxBytes: 10 });
    const past = new Date('2020-01-01T00:00:00Z');
    await utimes(first.path, past, past);
    const before = await stat(first.path);
    const tb = await tree();

    const body = Readable.from([Buffer.from('a'), Buffer.from('bc')]);
    const again = await store.put(ABC, body, { maxBytes: 10 });
    expect(again).toEqual({ ...first, created: false });
    expect(body.readableEnded).toBe(true); // read to its end, not cut short
    const after = await stat(first.path);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(past.getTime());
    expect(after.nlink).toBe(1);
    expect(await tree()).toEqual(tb);

    await expectRefusal(store.put(ABC, chunks('abd'), { maxBytes: 10 }), 'digest-mismatch');
    await expect(store.put(ABC, chunks('abc'), { maxBytes: 2 })).rejects.toBeInstanceOf(
      BlobTooLargeError,
    );
    expect((await stat(first.path)).mtimeMs).toBe(past.getTime());
    expect(await tree()).toEqual(tb);
  });

  it('stores exactly one file when uploads of one digest run at once, and all succeed', async () => {
    const n = 8;
    let arrived = 0;
    let release!: () => void;
    const allMidway = new Promise<void>((r) => (release = r));
    // Every upload has a temp file and half its body before any of them may finish.
    async function* body(split: number): AsyncGenerator<Uint8Array> {
      yield Buffer.from('abc'.slice(0, split));
      if (++arrived === n) release();
      await allMidway;
      yield Buffer.from('abc'.slice(split));
    }
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => store.put(ABC, body(i % 3), { maxBytes: 3 })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.path))).toEqual(new Set([join(dir, 'ba', ABC)]));
    expect(await tree()).toEqual(['blobs/', 'blobs/ba/', `blobs/ba/${ABC}`]);
    expect(await readFile(join(dir, 'ba', ABC), 'utf8')).toBe('abc');
    expect((await stat(join(dir, 'ba', ABC))).nlink).toBe(1);
  });

  it('lets uploads into a new directory succeed while others into it fail at the same time', async () => {
    const n = 8;
    let arrived = 0;
    let release!: () => void;
    const allMidway = new Promise<void>((r) => (release = r));
    async function* body(last: string): AsyncGenerator<Uint8Array> {
      yield Buffer.from('ab');
      if (++arrived === n) release();
      await allMidway;
      yield Buffer.from(last);
    }
    const settled = await Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        store.put(ABC, body(i % 2 === 0 ? 'c' : 'd'), { maxBytes: 3 }),
      ),
    );
    const ok = settled.filter((r) => r.status === 'fulfilled');
    const refused = settled.filter((r) => r.status === 'rejected');
    expect(ok).toHaveLength(n / 2);
    expect(refused.map((r) => (r.reason as RegistryInputError).reason)).toEqual(
      Array<string>(n / 2).fill('digest-mismatch'),
    );
    expect(await tree()).toEqual(['blobs/', 'blobs/ba/', `blobs/ba/${ABC}`]);
  });
});

describe('BlobStore reads', () => {
  it('answers absent blobs: has false, stat undefined, open and verify 404, delete false', async () => {
    expect(await store.has(ABC)).toBe(false);
    expect(await store.stat(ABC)).toBeUndefined();
    const err: unknown = await store.open(ABC).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).statusCode).toBe(404);
    await expect(store.verify(ABC)).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.delete(ABC)).toBe(false);
  });

  it('verify notices a blob whose content changed on disk', async () => {
    const { path } = await store.put(ABC, chunks('abc'), { maxBytes: 3 });
    await chmod(path, 0o600);
    await writeFile(path, 'abd');
    expect(await store.verify(ABC)).toBe(false);
    expect(sha256(await readFile(path))).not.toBe(ABC);
  });

  it('delete removes the blob once', async () => {
    await store.put(ABC, chunks('abc'), { maxBytes: 3 });
    expect(await store.delete(ABC)).toBe(true);
    expect(await store.has(ABC)).toBe(false);
    expect(await store.delete(ABC)).toBe(false);
    expect(await tree()).toEqual(['blobs/', 'blobs/ba/']);
  });

  it('streams a large blob back without reading it whole', async () => {
    const { state, body } = counting(8 * MiB);
    const expected = sha256(new Uint8Array(8 * MiB));
    await store.put(expected, body, { maxBytes: 8 * MiB });
    expect(state.closed).toBe(true);
    const { info, stream } = await store.open(expected);
    expect(info.size).toBe(8 * MiB);
    const h = createHash('sha256');
    let biggest = 0;
    for await (const c of stream) {
      h.update(c as Buffer);
      biggest = Math.max(biggest, (c as Buffer).length);
    }
    expect(h.digest('hex')).toBe(expected);
    expect(biggest).toBeLessThanOrEqual(64 * 1024);
  });
});

describe('BlobStore.sweepPartials', () => {
  it('removes only old partial files, never a blob, a fresh partial or a stranger', async () => {
    await store.put(ABC, chunks('abc'), { maxBytes: 10 });
    const shard = join(dir, 'ba');
    await writeFile(join(shard, '.tmp-old'), 'half an upload');
    await writeFile(join(shard, '.tmp-fresh'), 'an upload in progress');
    await mkdir(join(shard, '.tmp-dir'));
    await mkdir(join(dir, 'zz'));
    await writeFile(join(dir, 'zz', '.tmp-outside-a-shard'), 'x');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(join(shard, '.tmp-old'), hourAgo, hourAgo);
    await utimes(join(dir, 'zz', '.tmp-outside-a-shard'), hourAgo, hourAgo);

    expect(await store.sweepPartials(60_000)).toBe(1);
    expect(await tree(dir)).toEqual([
      'ba/',
      'ba/.tmp-dir/',
      'ba/.tmp-fresh',
      `ba/${ABC}`,
      'zz/',
      'zz/.tmp-outside-a-shard',
    ]);
    expect(await store.verify(ABC)).toBe(true);
    expect(await store.sweepPartials(60_000)).toBe(0);
  });

  it('finds nothing to do in a store that was never written', async () => {
    expect(await store.sweepPartials(0)).toBe(0);
  });
});
