/** @module lib/hash — small digests used as keys and fingerprints. */
import { createHash } from 'node:crypto';

/** base64url SHA-256 of a string (UTF-8). */
export function sha256b64url(input: string): string {
  return createHash('sha256').update(input).digest('base64url');
}
