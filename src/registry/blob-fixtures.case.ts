/**
 * @module registry/blob-fixtures.case — what the blob store's test files share: known digests,
 * bodies that count what was pulled, and a listing of what an upload left on disk.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { BlobStore } from './blobs.js';
import { RegistryInputError } from './errors.js';

// Known answers from FIPS 180-2, so the store is checked against digests it did not compute.
export const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
export const MiB = 1024 * 1024;

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Every entry under `base`, relative, directories ending in '/' (empty when it is absent). */
export async function tree(base: string): Promise<string[]> {
  const entries = await readdir(base, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .map((e) => join(e.parentPath, e.name).slice(base.length + 1) + (e.isDirectory() ? '/' : ''))
    .sort();
}

/** A body of the given parts, one chunk each. */
export async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) {
    await Promise.resolve();
    yield Buffer.from(p);
  }
}

/** A body of `total` bytes in 64 KiB chunks that counts what was pulled and whether it ended. */
export function counting(total: number) {
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

/** Expects `p` to be refused with 400 and registry refusal `reason`. */
export async function expectRefusal(p: Promise<unknown>, reason: string): Promise<void> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RegistryInputError);
  expect((err as RegistryInputError).reason).toBe(reason);
  expect((err as RegistryInputError).statusCode).toBe(400);
}

/** A store in a fresh temp directory (`dir` is `root/blobs`, not made yet). */
export async function freshStore(): Promise<{ root: string; dir: string; store: BlobStore }> {
  const root = await mkdtemp(join(tmpdir(), 'gatehouse-blobs-'));
  const dir = join(root, 'blobs');
  return { root, dir, store: new BlobStore(dir) };
}

/** Removes what `freshStore` made. */
export function removeStore(root: string): Promise<void> {
  return rm(root, { recursive: true, force: true });
}
