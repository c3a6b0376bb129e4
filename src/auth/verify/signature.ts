/**
 * @module auth/verify/signature — JWS signature verification with node:crypto on keys that jose
 * imported. Each (key, alg) pair is bound once — the key type, curve and size must fit the
 * algorithm (RFC 8725 §3.1) — so the per-token work is one signature check. RSA is checked
 * synchronously (cheaper than a thread-pool round trip); EC and EdDSA run on the libuv pool so
 * concurrent verifications use every core.
 */
import { constants, KeyObject, verify as cryptoVerify } from 'node:crypto';
import type { CryptoKey } from 'jose';

/** How one JWS algorithm maps onto node:crypto. */
interface AlgSpec {
  hash: string | null;
  keyTypes: readonly string[];
  curve?: string;
  pss?: number;
  async: boolean;
}

const SPECS: ReadonlyMap<string, AlgSpec> = new Map<string, AlgSpec>([
  ['ES256', { hash: 'sha256', keyTypes: ['ec'], curve: 'prime256v1', async: true }],
  ['ES384', { hash: 'sha384', keyTypes: ['ec'], curve: 'secp384r1', async: true }],
  ['ES512', { hash: 'sha512', keyTypes: ['ec'], curve: 'secp521r1', async: true }],
  ['EdDSA', { hash: null, keyTypes: ['ed25519'], async: true }],
  ['Ed25519', { hash: null, keyTypes: ['ed25519'], async: true }],
  ['RS256', { hash: 'sha256', keyTypes: ['rsa'], async: false }],
  ['RS384', { hash: 'sha384', keyTypes: ['rsa'], async: false }],
  ['RS512', { hash: 'sha512', keyTypes: ['rsa'], async: false }],
  ['PS256', { hash: 'sha256', keyTypes: ['rsa', 'rsa-pss'], pss: 32, async: false }],
  ['PS384', { hash: 'sha384', keyTypes: ['rsa', 'rsa-pss'], pss: 48, async: false }],
  ['PS512', { hash: 'sha512', keyTypes: ['rsa', 'rsa-pss'], pss: 64, async: false }],
]);

/** A public key bound to exactly one algorithm. */
interface BoundKey {
  spec: AlgSpec;
  key:
    | KeyObject
    | { key: KeyObject; dsaEncoding: 'ieee-p1363' }
    | { key: KeyObject; padding: number; saltLength: number };
}

const bound = new WeakMap<CryptoKey, Map<string, BoundKey | null>>();

function bind(cryptoKey: CryptoKey, alg: string): BoundKey | null {
  const spec = SPECS.get(alg);
  if (spec === undefined || cryptoKey.type !== 'public') return null;
  const key = KeyObject.from(cryptoKey);
  const type = key.asymmetricKeyType ?? '';
  const details = key.asymmetricKeyDetails ?? {};
  if (!spec.keyTypes.includes(type)) return null;
  if (spec.curve !== undefined && details.namedCurve !== spec.curve) return null;
  if (type.startsWith('rsa') && (details.modulusLength ?? 0) < 2048) return null;
  if (spec.curve !== undefined) return { spec, key: { key, dsaEncoding: 'ieee-p1363' } };
  if (spec.pss !== undefined) {
    return { spec, key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.pss } };
  }
  return { spec, key };
}

function boundKey(cryptoKey: CryptoKey, alg: string): BoundKey | null {
  let perAlg = bound.get(cryptoKey);
  if (perAlg === undefined) {
    perAlg = new Map();
    bound.set(cryptoKey, perAlg);
  }
  let b = perAlg.get(alg);
  if (b === undefined) {
    b = bind(cryptoKey, alg);
    perAlg.set(alg, b);
  }
  return b;
}

/**
 * True if `signature` is a valid `alg` signature of `signingInput` under `cryptoKey`. A key that
 * does not fit the algorithm never verifies anything.
 */
export function verifySignature(
  alg: string,
  cryptoKey: CryptoKey,
  signingInput: Buffer,
  signature: Buffer,
): boolean | Promise<boolean> {
  const b = boundKey(cryptoKey, alg);
  if (b === null) return false;
  try {
    if (!b.spec.async) return cryptoVerify(b.spec.hash, signingInput, b.key, signature);
  } catch {
    return false;
  }
  return new Promise((resolve) => {
    try {
      cryptoVerify(b.spec.hash, signingInput, b.key, signature, (err, ok) => {
        resolve(err === null && ok);
      });
    } catch {
      resolve(false);
    }
  });
}
