/**
 * @module audit/checkpoint — signed checkpoints over a chain head: a compact JWS with
 * `typ: gatehouse-checkpoint+jwt` whose payload is `{iss, chain, seq, hash, iat}`, signed with
 * the server's current signing key and verified with public keys only (the audit JWKS, which
 * keeps every key the server ever had).
 */
import {
  CompactSign,
  compactVerify,
  decodeProtectedHeader,
  importJWK,
  type CryptoKey,
  type JWK,
} from 'jose';

/** The JWS `typ` of a checkpoint. */
export const CHECKPOINT_TYP = 'gatehouse-checkpoint+jwt';
/** The JWS `typ` of a purge record (same claims: the last purged event's seq and hash). */
export const PURGE_TYP = 'gatehouse-purge+jwt';

/** What a checkpoint asserts. */
export interface CheckpointClaims {
  iss: string;
  chain: string;
  seq: number;
  hash: string;
  /** Epoch seconds. */
  iat: number;
}

/** Signs `payload` as a compact JWS with header `typ`; the server's key ring supplies it. */
export type PayloadSigner = (
  payload: Readonly<Record<string, unknown>>,
  typ: string,
) => Promise<string>;

/** A signing key as the key ring hands it out. */
export interface SignerKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
}

/** A {@link PayloadSigner} that signs with whatever key `current()` returns at the time. */
export function jwsSigner(current: () => SignerKey): PayloadSigner {
  return async (payload, typ) => {
    const key = current();
    return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ })
      .sign(key.privateKey);
  };
}

/** Algorithms a checkpoint may be signed with (the server's signing algorithms). */
const ALGS = ['ES256', 'EdDSA', 'Ed25519', 'RS256'];

/** Public keys by `kid`, imported once. */
export class PublicKeys {
  readonly #jwks = new Map<string, JWK>();
  readonly #imported = new Map<string, Promise<CryptoKey | Uint8Array | undefined>>();

  constructor(jwks: { keys: readonly JWK[] }) {
    for (const k of jwks.keys) {
      // Public members only: a JWK carrying `d` is refused rather than trusted.
      if (typeof k.kid === 'string' && k.d === undefined) this.#jwks.set(k.kid, k);
    }
  }

  /** The key `kid` as a verification key, or undefined. */
  get(kid: string, alg: string): Promise<CryptoKey | Uint8Array | undefined> {
    const cacheKey = `${kid}\u0000${alg}`;
    let p = this.#imported.get(cacheKey);
    if (p === undefined) {
      const jwk = this.#jwks.get(kid);
      p =
        jwk === undefined || (jwk.alg !== undefined && jwk.alg !== alg)
          ? Promise.resolve(undefined)
          : importJWK(jwk, alg).catch(() => undefined);
      this.#imported.set(cacheKey, p);
    }
    return p;
  }
}

/**
 * Verifies a checkpoint JWS against `keys`; returns its claims, or a reason it is bad. Never
 * throws, whatever `jws` holds.
 */
export async function verifyCheckpoint(
  jws: string,
  keys: PublicKeys,
  typ: string = CHECKPOINT_TYP,
): Promise<{ ok: true; claims: CheckpointClaims } | { ok: false; reason: string }> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    return { ok: false, reason: 'not a compact JWS' };
  }
  if (header.typ !== typ) return { ok: false, reason: 'wrong typ' };
  if (typeof header.alg !== 'string' || !ALGS.includes(header.alg)) {
    return { ok: false, reason: 'algorithm not allowed' };
  }
  if (typeof header.kid !== 'string') return { ok: false, reason: 'no kid' };
  const key = await keys.get(header.kid, header.alg);
  if (key === undefined) return { ok: false, reason: `unknown key ${header.kid.slice(0, 64)}` };
  let payload: unknown;
  try {
    const verified = await compactVerify(jws, key, { algorithms: [header.alg] });
    payload = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch {
    return { ok: false, reason: 'signature does not verify' };
  }
  if (!isClaims(payload)) return { ok: false, reason: 'malformed claims' };
  return { ok: true, claims: payload };
}

function isClaims(v: unknown): v is CheckpointClaims {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return (
    typeof c.iss === 'string' &&
    typeof c.chain === 'string' &&
    typeof c.seq === 'number' &&
    Number.isSafeInteger(c.seq) &&
    typeof c.hash === 'string' &&
    typeof c.iat === 'number'
  );
}
