/**
 * @module audit/digests — TEMPORARY lead copy, replaced by the receipts helper's file at merge.
 */
import { createHash } from 'node:crypto';
import { canonicalize, type Canonical } from './canonical.js';

const hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** SHA-256 (hex) of the RFC 8785 encoding of what the client sent as input. */
export function inputDigest(input: Canonical): string {
  return hex(canonicalize(input));
}

/** SHA-256 (hex) of the UTF-8 generated text. */
export function textDigest(text: string): string {
  return hex(text);
}

/** SHA-256 (hex) of the canonical JSON array of vectors (arrays of finite numbers). */
export function vectorsDigest(vectors: readonly (readonly number[] | Float32Array)[]): string {
  const h = createHash('sha256');
  h.update('[');
  vectors.forEach((v, i) => {
    // For arrays of finite numbers JSON.stringify writes exactly the RFC 8785 form.
    h.update(`${i === 0 ? '' : ','}${JSON.stringify(Array.from(v))}`);
  });
  h.update(']');
  return h.digest('hex');
}
