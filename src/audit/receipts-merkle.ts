/**
 * @module audit/receipts-merkle — the Merkle tree of a receipt batch, exactly RFC 9162 §2.1
 * (Certificate Transparency v2, the `RFC9162_SHA256` verifiable data structure of COSE receipts):
 * leaf hash `SHA-256(0x00 ‖ leaf)`, node hash `SHA-256(0x01 ‖ left ‖ right)`, the split at the
 * largest power of two below the size, and inclusion proofs checked by the algorithm of
 * §2.1.3.2. One signature over the root then covers every receipt of the batch.
 */
import { hash } from 'node:crypto';

/** The byte a leaf is prefixed with before hashing (as a string: encodes to that one byte). */
export const LEAF_PREFIX = '\u0000';

/** RFC 9162 leaf hash of `leaf`'s bytes. */
export function leafHash(leaf: Uint8Array): Buffer {
  return hash('sha256', Buffer.concat([Buffer.of(0), leaf]), 'buffer');
}

/** RFC 9162 leaf hash of bytes that already start with the 0x00 prefix (saves a copy). */
export function prefixedLeafHash(prefixed: Uint8Array): Buffer {
  return hash('sha256', prefixed, 'buffer');
}

// One scratch buffer for 0x01 ‖ left ‖ right: hashing is synchronous, so it is never shared.
const scratch = Buffer.alloc(65);
scratch[0] = 1;

/** RFC 9162 interior node hash of two 32-byte hashes. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  scratch.set(left, 1);
  scratch.set(right, 33);
  return hash('sha256', scratch, 'buffer');
}

/** The largest power of two strictly below `n` (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** A built tree: its root and, per leaf, the inclusion path (nearest sibling first). */
export interface MerkleTree {
  root: Buffer;
  paths: Buffer[][];
}

/**
 * Builds the tree over `leaves` (leaf hashes, at least one) and every leaf's inclusion path in
 * one pass: each interior node is hashed once, and its two halves' roots are appended to the
 * paths of the leaves on the other side (deeper siblings are appended first, as §2.1.3.1 orders
 * them).
 */
export function buildTree(leaves: readonly Buffer[]): MerkleTree {
  if (leaves.length === 0) throw new RangeError('a Merkle batch needs at least one leaf');
  const paths: Buffer[][] = leaves.map(() => []);
  const mth = (lo: number, hi: number): Buffer => {
    const only = leaves[lo];
    if (hi - lo === 1 && only !== undefined) return only;
    const mid = lo + split(hi - lo);
    const left = mth(lo, mid);
    const right = mth(mid, hi);
    for (let i = lo; i < mid; i++) paths[i]?.push(right);
    for (let i = mid; i < hi; i++) paths[i]?.push(left);
    return nodeHash(left, right);
  };
  return { root: mth(0, leaves.length), paths };
}

/**
 * The root an inclusion path leads to from leaf `index` of a tree of `size` leaves (RFC 9162
 * §2.1.3.2), or null when the path cannot belong to such a tree (index out of range, too short
 * or too long). The caller compares the result with the signed root.
 */
export function rootFromPath(
  leaf: Uint8Array,
  index: number,
  size: number,
  path: readonly Uint8Array[],
): Buffer | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    return null;
  }
  // Bit operations on JS numbers are 32-bit; batch sizes are far below that.
  if (size > 0x7fffffff) return null;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of path) {
    if (sn === 0) return null;
    if ((fn & 1) === 1 || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1) === 0) {
        while ((fn & 1) === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 ? r : null;
}
