/**
 * @module guard/redact — typed placeholders for findings. One Redactor lives for one request:
 * the same value gets the same placeholder (`[EMAIL_1]`) everywhere in that request — prompt,
 * every message, the output stream — and different values get different numbers. The Redactor
 * keeps only a keyed digest of each value (HMAC-SHA-256 under a per-request random key), never
 * the value itself, so a dump or log of it leaks nothing.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Finding, FindingType } from './types.js';

/** Per-request placeholder allocator. */
export class Redactor {
  /** Drawn on first use: most requests have nothing to redact and pay no CSPRNG call. */
  #key: Buffer | undefined;
  readonly #byDigest = new Map<string, string>();
  readonly #counts = new Map<FindingType, number>();

  /** The placeholder for `value` of `type`, allocating `[TYPE_n]` the first time it is seen. */
  placeholder(type: FindingType, value: string): string {
    this.#key ??= randomBytes(32);
    const digest = createHmac('sha256', this.#key)
      .update(type)
      .update('\0')
      .update(value)
      .digest('base64');
    const known = this.#byDigest.get(digest);
    if (known !== undefined) return known;
    const n = (this.#counts.get(type) ?? 0) + 1;
    this.#counts.set(type, n);
    const ph = `[${type}_${String(n)}]`;
    this.#byDigest.set(digest, ph);
    return ph;
  }

  /** `text` with every finding replaced by its placeholder. Findings must not overlap. */
  redact(text: string, findings: readonly Finding[]): string {
    const sorted = [...findings].sort((a, b) => a.start - b.start);
    let out = '';
    let at = 0;
    for (const f of sorted) {
      if (f.start < at) continue; // overlapping: already covered
      out += text.slice(at, f.start) + this.placeholder(f.type, text.slice(f.start, f.end));
      at = f.end;
    }
    return out + text.slice(at);
  }

  /** Distinct values seen per type (safe to log: counts only). */
  counts(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  toJSON(): Record<string, number> {
    return this.counts();
  }
}

/** Redacts `text` with a fresh Redactor (one-shot use; keep a Redactor per request instead). */
export function redactText(
  text: string,
  findings: readonly Finding[],
  redactor = new Redactor(),
): string {
  return redactor.redact(text, findings);
}
