/**
 * Receipts verified the way a client would, with nothing of Gatehouse: plain `jose` against the
 * JWKS the running server publishes (found through its discovery document over a real socket),
 * and for batched receipts the RFC 9162 inclusion proof recomputed with node:crypto, as the
 * README shows.
 */
import { createHash } from 'node:crypto';
import { compactVerify, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promptSha256, textOutputSha256 } from '../src/audit/digests.js';
import { createReceiptSigner, type ReceiptSigner } from '../src/audit/receipts-signer.js';
import { verifyReceipt } from '../src/audit/receipts-verify.js';
import type { ReceiptSubject } from '../src/audit/receipts.js';
import { openKeyRing } from '../src/auth/index.js';
import { startApp, type Fixture } from './support/app-fixture.js';

let f: Fixture;
let jwksUri: URL;
let single: ReceiptSigner;
let batch: ReceiptSigner;

const messages = [{ role: 'user', content: 'Tell me a story' }];
const output = 'Once upon a time…';
const subject = (seq: number): ReceiptSubject => ({
  sub: 'client:alice',
  client_id: 'alice',
  request_id: `req-${String(seq)}`,
  model: 'echo',
  model_sha256: null,
  prompt_sha256: promptSha256(messages),
  output_sha256: textOutputSha256(output),
  chain: 'replica-a',
  seq,
});

beforeAll(async () => {
  f = await startApp({ listen: true, realClock: true });
  const discovery = (await (await fetch(`${f.base}/.well-known/openid-configuration`)).json()) as {
    jwks_uri: string;
  };
  jwksUri = new URL(discovery.jwks_uri);
  // The signing keys of that server's store, as the server opens them.
  const keys = await openKeyRing(f.config, f.app.store, Date.now);
  const common = { keys, issuer: f.config.auth.issuer, clock: Date.now };
  single = createReceiptSigner({ ...common, mode: 'single' });
  batch = createReceiptSigner({ ...common, mode: 'batch' });
});

afterAll(async () => {
  await single.close();
  await batch.close();
  await f.close();
});

/** RFC 9162 §2.1.3.2, as a client writes it: the root an inclusion path leads to. */
function rootOf(leaf: Buffer, index: number, size: number, path: Buffer[]): Buffer | null {
  const h = (...parts: Buffer[]) => {
    const d = createHash('sha256');
    for (const p of parts) d.update(p);
    return d.digest();
  };
  let fn = index;
  let sn = size - 1;
  let r = h(Buffer.of(0), leaf);
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = h(Buffer.of(1), p, r);
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn >> 1, sn >> 1];
    } else {
      r = h(Buffer.of(1), r, p);
    }
    [fn, sn] = [fn >> 1, sn >> 1];
  }
  return sn === 0 ? r : null;
}

describe('a receipt verified with plain jose from the published JWKS', () => {
  it('single: jwtVerify with the exact typ, issuer and algorithm', async () => {
    const receipt = await single.sign(subject(1));
    const { payload, protectedHeader } = await jwtVerify(receipt, createRemoteJWKSet(jwksUri), {
      typ: 'gatehouse-receipt+jwt',
      issuer: f.config.auth.issuer,
      algorithms: ['ES256'],
    });
    expect(protectedHeader.kid).toBe(decodeProtectedHeader(receipt).kid);
    expect(payload).toMatchObject({ ...subject(1), iss: f.config.auth.issuer });
    expect(payload.prompt_sha256).toBe(promptSha256(messages));
  });

  it('batch: compactVerify the batch JWS, then the inclusion proof of the leaf', async () => {
    const receipts = await Promise.all([1, 2, 3].map((i) => batch.sign(subject(i))));
    for (const [i, receipt] of receipts.entries()) {
      const [jws = '', leafSeg = '', proofSeg = ''] = receipt.split('~');
      const { payload, protectedHeader } = await compactVerify(jws, createRemoteJWKSet(jwksUri), {
        algorithms: ['ES256'],
      });
      expect(protectedHeader.typ).toBe('gatehouse-receipt-batch+jwt');
      const root = JSON.parse(new TextDecoder().decode(payload)) as {
        root_hash: string;
        tree_size: number;
        vds: string;
      };
      expect(root).toMatchObject({ tree_size: 3, vds: 'RFC9162_SHA256' });
      const leaf = Buffer.from(leafSeg, 'base64url');
      const proof = JSON.parse(Buffer.from(proofSeg, 'base64url').toString()) as {
        index: number;
        path: string[];
      };
      const path = proof.path.map((p) => Buffer.from(p, 'base64url'));
      const computed = rootOf(leaf, proof.index, root.tree_size, path);
      expect(computed?.toString('base64url')).toBe(root.root_hash);
      expect(JSON.parse(leaf.toString())).toMatchObject(subject(i + 1));
    }
  });

  it('and verifyReceipt agrees on the fetched JWKS, texts included', async () => {
    const jwks = (await (await fetch(jwksUri)).json()) as { keys: unknown[] };
    for (const receipt of [await single.sign(subject(9)), await batch.sign(subject(10))]) {
      const claims = await verifyReceipt(receipt, jwks, { prompt: messages, output });
      expect(claims.iss).toBe(f.config.auth.issuer);
    }
  });
});
