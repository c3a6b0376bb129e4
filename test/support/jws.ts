/**
 * @module test/support/jws — hand-built JWS compact tokens for adversarial tests: any header, any
 * payload (objects or raw JSON text), any signature bytes, signed with node:crypto so that no
 * library second-guesses what the attacker wants to send.
 */
import { createHmac, KeyObject, sign as nodeSign } from 'node:crypto';
import type { CryptoKey } from 'jose';

/** JSON text used verbatim (for arrays, duplicate members and other shapes objects cannot express). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** base64url of bytes or UTF-8 text. */
export const b64u = (v: string | Uint8Array): string => Buffer.from(v).toString('base64url');

/** base64url of a JSON value, or of raw JSON text. */
export function segment(value: unknown): string {
  return b64u(value instanceof RawJson ? value.text : JSON.stringify(value));
}

/** Signs `input` with an asymmetric private key the way JWS `alg` says. */
export function signInput(alg: string, key: CryptoKey | KeyObject, input: string): Buffer {
  const k = key instanceof KeyObject ? key : KeyObject.from(key);
  const data = Buffer.from(input);
  switch (alg) {
    case 'ES256':
      return nodeSign('sha256', data, { key: k, dsaEncoding: 'ieee-p1363' });
    case 'EdDSA':
    case 'Ed25519':
      return nodeSign(null, data, k);
    case 'RS256':
      return nodeSign('sha256', data, k);
    default:
      throw new Error(`signInput: unsupported alg ${alg}`);
  }
}

/** Builds `header.payload.signature` where the signature is made with `key` under `alg`. */
export function forge(
  header: Record<string, unknown> | RawJson,
  payload: Record<string, unknown> | RawJson,
  alg: string,
  key: CryptoKey | KeyObject,
): string {
  const input = `${segment(header)}.${segment(payload)}`;
  return `${input}.${b64u(signInput(alg, key, input))}`;
}

/**
 * Builds `header.payload.mac` with an HMAC under an `HS256`/`HS384`/`HS512` `alg`: the shape of an
 * algorithm-confusion attack, where `secret` is some encoding of the server's public key.
 */
export function hmacForge(
  header: Record<string, unknown> | RawJson,
  payload: Record<string, unknown> | RawJson,
  alg: string,
  secret: Uint8Array,
): string {
  if (!/^HS(256|384|512)$/.test(alg)) throw new Error(`hmacForge: unsupported alg ${alg}`);
  const input = `${segment(header)}.${segment(payload)}`;
  const mac = createHmac(`sha${alg.slice(2)}`, secret)
    .update(input)
    .digest();
  return `${input}.${b64u(mac)}`;
}

/** Builds a token with a literal signature (bytes are base64url-encoded; a string is used as is). */
export function withSignature(
  header: Record<string, unknown> | RawJson,
  payload: Record<string, unknown> | RawJson,
  signature: Uint8Array | string,
): string {
  const sig = typeof signature === 'string' ? signature : b64u(signature);
  return `${segment(header)}.${segment(payload)}.${sig}`;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The same bytes in a non-canonical spelling: flips an unused trailing bit of the last character.
 * Returns undefined when `seg` has no trailing bits (length a multiple of 4).
 */
export function malleate(seg: string): string | undefined {
  if (seg.length % 4 === 0) return undefined;
  const last = ALPHABET.indexOf(seg.at(-1) ?? '');
  return seg.slice(0, -1) + (ALPHABET[last ^ 1] ?? '');
}
