/**
 * @module audit/canonical — the exact byte encoding hashed into the audit chain and into the
 * prompt/output digests: the JSON Canonicalization Scheme (RFC 8785). Object members are sorted
 * by their names' UTF-16 code units; strings and numbers are written as ECMAScript's
 * `JSON.stringify` writes them (which is what RFC 8785 §3.2.2 prescribes); no whitespace.
 * Lone surrogates, which I-JSON forbids, are escaped (`\udXXX`) as `JSON.stringify` does, so any
 * string a client sent still has exactly one encoding.
 */

/** A value the canonical encoding accepts. */
export type Canonical =
  | null
  | boolean
  | number
  | string
  | readonly Canonical[]
  | { readonly [key: string]: Canonical | undefined };

/**
 * The RFC 8785 encoding of `value`. Members whose value is `undefined` are left out (as
 * `JSON.stringify` does); non-finite numbers throw, since JSON cannot carry them.
 */
export function canonicalize(value: Canonical): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${(value as readonly Canonical[]).map(canonicalize).join(',')}]`;
  }
  const obj = value as Readonly<Record<string, Canonical | undefined>>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    const v = obj[key];
    if (v !== undefined) parts.push(`${JSON.stringify(key)}:${canonicalize(v)}`);
  }
  return `{${parts.join(',')}}`;
}
