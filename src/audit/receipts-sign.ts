/**
 * @module audit/receipts-sign — JWS signatures with node:crypto's callback form, which computes
 * them on the libuv thread pool: the main thread only prepares the signing input and takes the
 * result. Keys that jose imported are converted to KeyObjects once, and must fit their algorithm.
 */
import { KeyObject, sign as cryptoSign, type SignKeyObjectInput } from 'node:crypto';
import type { CryptoKey } from 'jose';
import type { SigningAlg } from '../auth/index.js';

/** The key a receipt signer signs with (`KeyRing.signingKey()` returns one). */
export interface ReceiptSigningKey {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey | KeyObject;
}

/** A private key bound to one algorithm, ready for `sign`. */
export interface BoundSigner {
  hash: 'sha256' | null;
  key: KeyObject | SignKeyObjectInput;
}

const bound = new WeakMap<object, Map<string, BoundSigner>>();

function bind(key: KeyObject, alg: SigningAlg): BoundSigner {
  const type = key.asymmetricKeyType;
  if (key.type !== 'private') throw new TypeError('a receipt signing key must be a private key');
  switch (alg) {
    case 'ES256':
      if (type !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') break;
      return { hash: 'sha256', key: { key, dsaEncoding: 'ieee-p1363' } };
    case 'EdDSA':
      if (type !== 'ed25519') break;
      return { hash: null, key };
    case 'RS256':
      if (type !== 'rsa' || (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) break;
      return { hash: 'sha256', key };
  }
  throw new TypeError(`the signing key does not fit ${alg}`);
}

/** The node:crypto form of `k`, computed once per key and algorithm. */
export function boundSigner(k: ReceiptSigningKey): BoundSigner {
  let perAlg = bound.get(k.privateKey);
  if (perAlg === undefined) {
    perAlg = new Map();
    bound.set(k.privateKey, perAlg);
  }
  let b = perAlg.get(k.alg);
  if (b === undefined) {
    const key = k.privateKey instanceof KeyObject ? k.privateKey : KeyObject.from(k.privateKey);
    b = bind(key, k.alg);
    perAlg.set(k.alg, b);
  }
  return b;
}

/** Signs `data` on the thread pool; resolves with the JWS signature bytes (raw r‖s for ES256). */
export function signOnPool(signer: BoundSigner, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    cryptoSign(signer.hash, data, signer.key, (err, signature) => {
      if (err === null) resolve(signature);
      else reject(err);
    });
  });
}

const headers = new Map<string, string>();

/** base64url of the protected header `{alg, kid, typ}` (member order fixed; cached). */
export function encodedHeader(alg: string, kid: string, typ: string): string {
  const id = `${alg} ${kid} ${typ}`;
  let h = headers.get(id);
  if (h === undefined) {
    h = Buffer.from(JSON.stringify({ alg, kid, typ })).toString('base64url');
    if (headers.size > 64) headers.clear();
    headers.set(id, h);
  }
  return h;
}
