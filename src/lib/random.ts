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

/**
 * Ids that are unique but need not be unguessable (request ids, response ids): 72 random bits
 * drawn once per generator, then a counter — no CSPRNG call per id.
 */
export function uniqueIds(): IdGenerator {
  const prefix = randomToken(9);
  let n = 0;
  return () => `${prefix}${(++n).toString(36)}`;
}
