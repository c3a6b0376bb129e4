/**
 * The batch Merkle tree against RFC 9162: the Certificate Transparency test vectors, the
 * definition of MTH and PATH written out naively, and inclusion proofs that verify for every
 * leaf of every tree size and fail for any other leaf, index, size or path.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTree, leafHash, nodeHash, rootFromPath } from './receipts-merkle.js';

const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** RFC 9162 §2.1.1 MTH, literally. */
function mth(d: readonly Buffer[]): Buffer {
  if (d.length === 1) return sha(Buffer.of(0), d[0] ?? Buffer.alloc(0));
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return sha(Buffer.of(1), mth(d.slice(0, k)), mth(d.slice(k)));
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]), literally. */
function path(m: number, d: readonly Buffer[]): Buffer[] {
  if (d.length === 1) return [];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m < k
    ? [...path(m, d.slice(0, k)), mth(d.slice(k))]
    : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}

// The inputs and roots of the RFC 6962 / certificate-transparency test vectors.
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657'];
CT_LEAVES.push('606162636465666768696a6b6c6d6e6f');
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`leaf ${i}`));

describe('receipt batch Merkle tree (RFC 9162)', () => {
  it('reproduces the Certificate Transparency test vectors', () => {
    const data = CT_LEAVES.map((h) => Buffer.from(h, 'hex'));
    for (let n = 1; n <= data.length; n++) {
      const tree = buildTree(data.slice(0, n).map(leafHash));
      expect(tree.root.toString('hex'), `size ${n}`).toBe(CT_ROOTS[n - 1]);
    }
  });

  it('computes MTH and PATH exactly as the RFC defines them, for sizes 1–70', () => {
    for (let n = 1; n <= 70; n++) {
      const d = leavesOf(n);
      const tree = buildTree(d.map(leafHash));
      expect(tree.root.equals(mth(d)), `root of ${n}`).toBe(true);
      for (let m = 0; m < n; m++) {
        expect(tree.paths[m]?.map((p) => p.toString('hex'))).toEqual(
          path(m, d).map((p) => p.toString('hex')),
        );
      }
    }
  });

  it('verifies every inclusion proof, and not for another leaf, index or path', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), (n, pick) => {
        const d = leavesOf(n);
        const tree = buildTree(d.map(leafHash));
        const m = pick % n;
        const p = tree.paths[m] ?? [];
        const leaf = leafHash(d[m] ?? Buffer.alloc(0));
        expect(rootFromPath(leaf, m, n, p)?.equals(tree.root)).toBe(true);
        // Another leaf or index, or a shortened or lengthened path, leads elsewhere. (The size is
        // bound by the signature over the root, not by the proof: RFC 9162 proofs of the first
        // leaves of a size-5 and a size-6 tree look alike.)
        const other = leafHash(d[(m + 1) % n] ?? Buffer.alloc(0));
        if (n > 1) expect(rootFromPath(other, m, n, p)?.equals(tree.root) ?? false).toBe(false);
        if (n > 1) {
          const moved = rootFromPath(leaf, (m + 1) % n, n, p);
          expect(moved?.equals(tree.root) ?? false).toBe(false);
        }
        if (p.length > 0) expect(rootFromPath(leaf, m, n, p.slice(1))).not.toEqual(tree.root);
        expect(rootFromPath(leaf, m, n, [...p, leaf])).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('refuses indexes outside the tree', () => {
    const leaf = leafHash(Buffer.from('x'));
    expect(rootFromPath(leaf, 1, 1, [])).toBeNull();
    expect(rootFromPath(leaf, -1, 4, [])).toBeNull();
    expect(rootFromPath(leaf, 0.5, 4, [])).toBeNull();
    expect(rootFromPath(leaf, 0, 2 ** 40, [])).toBeNull();
    expect(rootFromPath(leaf, 0, 1, [])?.equals(leaf)).toBe(true);
    expect(() => buildTree([])).toThrow(RangeError);
  });

  it('hashes leaves and nodes with distinct prefixes (no second-preimage by reinterpretation)', () => {
    const a = leafHash(Buffer.from('a'));
    const b = leafHash(Buffer.from('b'));
    const node = nodeHash(a, b);
    expect(node.equals(leafHash(Buffer.concat([a, b])))).toBe(false);
    expect(node.equals(sha(Buffer.of(1), a, b))).toBe(true);
  });
});
