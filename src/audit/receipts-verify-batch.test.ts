/**
 * Adversarial tests of receipt verification, part 2: batched receipts (`<JWS>~<leaf>~<proof>`).
 * Altered leaves and proofs, leaves moved between receipts and batches, forged batch payloads
 * (signed with the real key, to show the checks after the signature hold on their own) — each
 * refused with its exact reason.
 */
import { generateKeyPairSync } from 'node:crypto';
import { exportJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { b64u, forge, RawJson } from '../../test/support/jws.js';
import { canonicalize, type Canonical } from './canonical.js';
import { buildTree, leafHash } from './receipts-merkle.js';
import { createReceiptSigner } from './receipts-signer.js';
import { verifyReceipt, type ReceiptJwks, type ReceiptRejection } from './receipts-verify.js';
import type { ReceiptSubject } from './receipts.js';

const ISS = 'https://gatehouse.test';
const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
let jwks: ReceiptJwks;

const subject = (seq: number): ReceiptSubject => ({
  sub: `client:${String(seq)}`,
  client_id: null,
  request_id: `req-${String(seq)}`,
  model: 'use-lite',
  model_sha256: 'c'.repeat(64),
  prompt_sha256: 'a'.repeat(64),
  output_sha256: 'b'.repeat(64),
  chain: 'replica-a',
  seq,
});

/** `n` receipts signed together (one batch). */
async function batchOf(n: number, first = 1): Promise<string[]> {
  const signer = createReceiptSigner({
    keys: { signingKey: () => ({ kid: 'a', alg: 'ES256', privateKey: key.privateKey }) },
    issuer: ISS,
    clock: () => 1_800_000_000_000,
  });
  const out = await Promise.all(
    Array.from({ length: n }, (_, i) => signer.sign(subject(first + i))),
  );
  await signer.close();
  return out;
}

const parts = (r: string) => {
  const [jws = '', leaf = '', proof = ''] = r.split('~');
  return { jws, leaf, proof };
};
const decoded = (seg: string) => JSON.parse(Buffer.from(seg, 'base64url').toString()) as unknown;
const enc = (v: unknown) => b64u(canonicalize(v as Canonical));

async function reason(r: string): Promise<ReceiptRejection | 'accepted'> {
  try {
    await verifyReceipt(r, jwks);
    return 'accepted';
  } catch (err) {
    return (err as { reason: ReceiptRejection }).reason;
  }
}

/** A batch receipt made by hand: any batch payload and leaves, signed with the real key. */
function handmade(batch: Record<string, unknown> | RawJson, leaves: Buffer[], index = 0): string {
  const tree = buildTree(leaves.map((l) => leafHash(l)));
  const h = { alg: 'ES256', kid: 'a', typ: 'gatehouse-receipt-batch+jwt' };
  const p = batch instanceof RawJson ? batch : new RawJson(canonicalize(batch as Canonical));
  const proof = { index, path: (tree.paths[index] ?? []).map((x) => x.toString('base64url')) };
  return `${forge(h, p, 'ES256', key.privateKey)}~${b64u(leaves[index] ?? '')}~${enc(proof)}`;
}
const claimsBytes = (c: Record<string, unknown>) => Buffer.from(canonicalize(c as Canonical));
const claimsOf = (seq: number) => ({ ...subject(seq), iss: ISS, iat: 1_800_000_000 });
const rootOf = (leaves: Buffer[]) => buildTree(leaves.map((l) => leafHash(l))).root;
const batchPayload = (leaves: Buffer[], over: Record<string, unknown> = {}) => ({
  iat: 1_800_000_000,
  iss: ISS,
  root_hash: rootOf(leaves).toString('base64url'),
  tree_size: leaves.length,
  vds: 'RFC9162_SHA256',
  ...over,
});

beforeAll(async () => {
  jwks = { keys: [{ ...(await exportJWK(key.publicKey)), kid: 'a', alg: 'ES256' }] };
});

describe('batched receipts', () => {
  it('of every size up to 33 share one signature and each verifies alone', async () => {
    for (const n of [1, 2, 3, 5, 8, 13, 33]) {
      const rs = await batchOf(n);
      expect(new Set(rs.map((r) => parts(r).jws)).size).toBe(1);
      const claims = await Promise.all(rs.map((r) => verifyReceipt(r, jwks)));
      expect(claims.map((c) => c.seq)).toEqual(rs.map((_, i) => i + 1));
    }
  });

  it('refuse an altered leaf, even one re-encoded canonically', async () => {
    const [r = ''] = await batchOf(4);
    const { jws, leaf, proof } = parts(r);
    const claims = decoded(leaf) as Record<string, unknown>;
    for (const change of [{ sub: 'client:mallory' }, { seq: 99 }, { chain: 'replica-b' }]) {
      expect(await reason(`${jws}~${enc({ ...claims, ...change })}~${proof}`)).toBe('bad_proof');
    }
    expect(await reason(`${jws}~${leaf.slice(0, -4)}~${proof}`)).toBe('bad_proof');
    expect(await reason(`${jws}~~${proof}`)).toBe('malformed');
  });

  it('refuse an altered proof: a flipped hash, another index, a shorter or longer path', async () => {
    const [, r = ''] = await batchOf(5);
    const { jws, leaf, proof } = parts(r);
    const p = decoded(proof) as { index: number; path: string[] };
    const flipped = Buffer.from(p.path[0] ?? '', 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    const variants = [
      { index: p.index, path: [flipped.toString('base64url'), ...p.path.slice(1)] },
      { index: p.index + 1, path: p.path },
      { index: 7, path: p.path },
      { index: -1, path: p.path },
      { index: p.index, path: p.path.slice(1) },
      { index: p.index, path: [...p.path, p.path[0]] },
      { index: p.index, path: [...p.path.slice(0, -1), 'AAAA'] },
      { index: p.index, path: p.path, size: 5 },
      { index: String(p.index), path: p.path },
    ];
    for (const v of variants) {
      expect(await reason(`${jws}~${leaf}~${enc(v)}`), JSON.stringify(v)).toBe('bad_proof');
    }
    const spaced = b64u(JSON.stringify(p, null, 1));
    expect(await reason(`${jws}~${leaf}~${spaced}`)).toBe('bad_proof');
    expect(await reason(`${jws}~${leaf}~${proof}=`)).toBe('bad_proof');
    expect(await reason(`${jws}~${leaf}~`)).toBe('bad_proof');
  });

  it('refuse a leaf moved to another receipt of its batch, or from another batch', async () => {
    const [a = '', b = ''] = await batchOf(3);
    const [other = ''] = await batchOf(3, 100);
    const pa = parts(a);
    const pb = parts(b);
    const po = parts(other);
    expect(await reason(`${pa.jws}~${pb.leaf}~${pa.proof}`)).toBe('bad_proof');
    expect(await reason(`${pa.jws}~${po.leaf}~${po.proof}`)).toBe('bad_proof');
    expect(await reason(`${po.jws}~${pa.leaf}~${pa.proof}`)).toBe('bad_proof');
  });

  it('refuse forged batch payloads and leaves even under a valid signature', async () => {
    const leaves = [claimsBytes(claimsOf(1)), claimsBytes(claimsOf(2))];
    expect(await reason(handmade(batchPayload(leaves), leaves, 1))).toBe('accepted');
    const bad: [Record<string, unknown> | RawJson, ReceiptRejection][] = [
      [batchPayload(leaves, { vds: 'RFC6962' }), 'bad_payload'],
      [batchPayload(leaves, { extra: 1 }), 'bad_payload'],
      [batchPayload(leaves, { tree_size: 0 }), 'bad_payload'],
      [batchPayload(leaves, { tree_size: 3 }), 'bad_proof'],
      [batchPayload(leaves, { root_hash: 'AAAA' }), 'bad_payload'],
      [batchPayload(leaves, { root_hash: Buffer.alloc(32).toString('base64url') }), 'bad_proof'],
      [batchPayload(leaves, { iss: 'https://other.test' }), 'bad_claims'],
      [new RawJson(JSON.stringify(batchPayload(leaves), null, 1)), 'bad_payload'],
    ];
    for (const [payload, want] of bad) {
      expect(await reason(handmade(payload, leaves, 1)), JSON.stringify(payload)).toBe(want);
    }
  });

  it('refuse leaves that are not canonical claims, even inside a signed tree', async () => {
    const cases: [Buffer, ReceiptRejection][] = [
      [Buffer.from(JSON.stringify(claimsOf(1), null, 1)), 'bad_claims'],
      [Buffer.from('not json'), 'bad_claims'],
      [Buffer.from([0xff, 0xfe]), 'bad_claims'],
      [claimsBytes({ ...claimsOf(1), seq: -1 }), 'bad_claims'],
      [claimsBytes({ ...claimsOf(1), request_id: undefined }), 'bad_claims'],
    ];
    for (const [leaf, want] of cases) {
      const leaves = [leaf, claimsBytes(claimsOf(2))];
      expect(await reason(handmade(batchPayload(leaves), leaves, 0))).toBe(want);
    }
  });

  it('refuse the batch JWS alone, and a batch JWS given a single-receipt typ', async () => {
    const [r = ''] = await batchOf(2);
    expect(await reason(parts(r).jws)).toBe('bad_typ');
    const leaves = [claimsBytes(claimsOf(1))];
    const h = { alg: 'ES256', kid: 'a', typ: 'gatehouse-receipt+jwt' };
    const jws = forge(h, new RawJson(canonicalize(batchPayload(leaves))), 'ES256', key.privateKey);
    expect(await reason(`${jws}~${b64u(leaves[0] ?? '')}~${enc({ index: 0, path: [] })}`)).toBe(
      'bad_typ',
    );
  });
});
