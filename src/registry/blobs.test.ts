import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '../errors.js';
import {
  ABC,
  chunks,
  counting,
  EMPTY,
  expectRefusal,
  MiB,
  sha256,
  tree,
  freshStore,
  removeStore,
} from './blob-fixtures.case.js';
import { BlobStore } from './blobs.js';
import { BlobTooLargeError, RegistryInputError } from './errors.js';

let root: string;
let dir: string;
let store: BlobStore;

beforeEach(async () => ({ root, dir, store } = await freshStore()));
afterEach(() => removeStore(root));

describe('BlobStore.put', () => {
  it('stores a body under its digest, read-only in a 0700 directory, and reads it back', async () => {
    const res = await store.put(ABC, chunks('a', 'b', 'c'), { maxBytes: 3 });
    expect(res).toEqual({ sha256: ABC, size: 3, path: join(dir, 'ba', ABC), created: true });
    expect(await tree(root)).toEqual(['blobs/', 'blobs/ba/', `blobs/ba/${ABC}`]);
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
    expect(await tree(root)).toEqual([]);
  });

  it('refuses a body whose digest differs with 400 digest-mismatch and keeps nothing', async () => {
    await store.put(EMPTY, chunks(), { maxBytes: 0 });
    const before = await tree(root);
    await expectRefusal(store.put(ABC, chunks('a', 'b', 'd'), { maxBytes: 10 }), 'digest-mismatch');
    expect(await tree(root)).toEqual(before);
    // The digest's directory did not exist before: the failed upload removed the one it made.
    expect(before).not.toContain('blobs/ba/');
  });

  it('keeps a shared blob directory when an upload into it fails', async () => {
    const other = 'ba' + '0'.repeat(62);
    await mkdir(join(dir, 'ba'), { recursive: true });
    await writeFile(join(dir, 'ba', other), 'someone else');
    const before = await tree(root);
    await expectRefusal(store.put(ABC, chunks('abd'), { maxBytes: 10 }), 'digest-mismatch');
    expect(await tree(root)).toEqual(before);
  });

  it('refuses string chunks (a stream with an encoding set) and keeps nothing', async () => {
    const r = Readable.from(['abc']);
    await expect(store.put(ABC, r, { maxBytes: 10 })).rejects.toThrow(TypeError);
    expect(await tree(root)).toEqual([]);
  });
});

describe('BlobStore.put of an existing blob', () => {
  it('reads and verifies the upload, then leaves the stored file untouched', async () => {
    const first = await store.put(ABC, chunks('abc'), { maxBytes: 10 });
    const past = new Date('2020-01-01T00:00:00Z');
    await utimes(first.path, past, past);
    const before = await stat(first.path);
    const tb = await tree(root);

    const body = Readable.from([Buffer.from('a'), Buffer.from('bc')]);
    const again = await store.put(ABC, body, { maxBytes: 10 });
    expect(again).toEqual({ ...first, created: false });
    expect(body.readableEnded).toBe(true); // read to its end, not cut short
    const after = await stat(first.path);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(past.getTime());
    expect(after.nlink).toBe(1);
    expect(await tree(root)).toEqual(tb);

    await expectRefusal(store.put(ABC, chunks('abd'), { maxBytes: 10 }), 'digest-mismatch');
    await expect(store.put(ABC, chunks('abc'), { maxBytes: 2 })).rejects.toBeInstanceOf(
      BlobTooLargeError,
    );
    expect((await stat(first.path)).mtimeMs).toBe(past.getTime());
    expect(await tree(root)).toEqual(tb);
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
    expect(await tree(root)).toEqual(['blobs/', 'blobs/ba/', `blobs/ba/${ABC}`]);
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
    expect(await tree(root)).toEqual(['blobs/', 'blobs/ba/', `blobs/ba/${ABC}`]);
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
    expect(await tree(root)).toEqual(['blobs/', 'blobs/ba/']);
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
