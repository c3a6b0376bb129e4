/** @module lib/hash — small digests used as keys and fingerprints. */
import { createHash, timingSafeEqual } from 'node:crypto';

/** base64url SHA-256 of a string (UTF-8). */
export function sha256b64url(input: string): string {
  return createHash('sha256').update(input).digest('base64url');
}

/** Constant-time comparison of two strings of possibly different lengths. */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  // Compare against self on length mismatch so timing does not reveal where they differ.
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}
