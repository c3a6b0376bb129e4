/** @module lib/random — identifiers and secrets from the CSPRNG. */
import { randomBytes } from 'node:crypto';

/** Generates ids; injectable so tests can make them predictable. */
export type IdGenerator = () => string;

/** A base64url string of `bytes` random bytes (default 16, i.e. 128 bits). */
export function randomToken(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

/** The default id generator: 128 random bits, base64url. */
export const randomId: IdGenerator = () => randomToken(16);
