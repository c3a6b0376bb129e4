/**
 * @module auth/secrets — client secrets are stored only as scrypt hashes and compared in
 * constant time. `hashSecret` (registration, rare) runs on the libuv pool; the token endpoint's
 * checks run on a dedicated worker thread instead (oauth/scrypt-worker.ts), so a flood of wrong
 * secrets never delays the JWT checks that share the libuv pool.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

const PARAMS = { N: 1 << 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEYLEN = 32;
/** The memory cap every scrypt check runs with (a stored hash cannot ask for more). */
export const SCRYPT_MAXMEM = PARAMS.maxmem;

/** A stored hash, taken apart: what scrypt needs to recompute it, and the expected result. */
export interface ParsedSecretHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  expected: Buffer;
}

/** Hashes a secret as `scrypt$N$r$p$salt$hash` (base64url parts). */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(secret, salt, KEYLEN, PARAMS);
  return [
    'scrypt',
    PARAMS.N,
    PARAMS.r,
    PARAMS.p,
    salt.toString('base64url'),
    hash.toString('base64url'),
  ].join('$');
}

/** A stored hash that matches nothing, used to keep timing even for unknown clients. */
export const DUMMY_HASH = `scrypt$${PARAMS.N}$8$1$${'A'.repeat(22)}$${'A'.repeat(43)}`;

const POSITIVE_INT = /^[1-9][0-9]{0,9}$/;

/** Parses `scrypt$N$r$p$salt$hash`; undefined for anything else (which then matches nothing). */
export function parseSecretHash(stored: string): ParsedSecretHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  if (!POSITIVE_INT.test(n) || !POSITIVE_INT.test(r) || !POSITIVE_INT.test(p)) return undefined;
  const expected = Buffer.from(hash, 'base64url');
  if (expected.length === 0) return undefined;
  return {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    salt: Buffer.from(salt, 'base64url'),
    expected,
  };
}

/** Constant-time comparison of a derived key with the stored one. */
export function keyMatches(derived: Uint8Array, parsed: ParsedSecretHash): boolean {
  return derived.length === parsed.expected.length && timingSafeEqual(derived, parsed.expected);
}

/** True if `secret` matches `stored` (on the libuv pool; the CLI and benchmarks use it). */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parsed = parseSecretHash(stored);
  if (parsed === undefined) return false;
  const actual = await scryptAsync(secret, parsed.salt, parsed.expected.length, {
    N: parsed.N,
    r: parsed.r,
    p: parsed.p,
    maxmem: PARAMS.maxmem,
  });
  return keyMatches(actual, parsed);
}
