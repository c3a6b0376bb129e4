/**
 * @module guard/injection/encoded — candidate encoded payloads (base64, hex, URL-encoding) found
 * by linear scans and decoded within a byte budget, so the caller can re-scan the decoded text.
 * Only decodings that look like text are returned; hashes, UUIDs and binary blobs decode to noise
 * and are dropped.
 */

/** A decoded candidate: `text.slice(start, end)` decoded to `payload`. */
export interface DecodedPayload {
  readonly encoding: 'base64' | 'hex' | 'url';
  readonly start: number;
  readonly end: number;
  readonly payload: string;
}

/** Limits on decoding work per text, which keep the whole scan linear and bounded. */
export interface DecodeLimits {
  /** Longest candidate decoded (characters; longer ones are decoded up to this length). */
  readonly maxCandidate: number;
  /** Total characters decoded per text. */
  readonly budget: number;
}

/** Default decode limits. */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxCandidate: 4096, budget: 262144 };

const BASE64 = /[A-Za-z0-9+/_-]{16,}={0,2}/g;
const HEX = /(?:\\x[0-9a-fA-F]{2}){8,}|\b(?:[0-9a-fA-F]{2}){10,}\b/g;
// One alternation whose branches start with different characters: no backtracking.
const URL_RUN = /(?:%[0-9a-fA-F]{2}|[A-Za-z0-9._~+\-!*()'])+/g;
const MIN_URL_ESCAPES = 4;

function countPercent(s: string): number {
  let n = 0;
  for (let i = s.indexOf('%'); i >= 0 && n < MIN_URL_ESCAPES; i = s.indexOf('%', i + 1)) n++;
  return n;
}
const utf8 = new TextDecoder('utf-8', { fatal: true });

function looksLikeText(s: string): boolean {
  if (s.length < 8) return false;
  let bad = 0;
  let letters = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0xfffd || c === 0x7f) bad++;
    else if (/[\p{L}\s]/u.test(ch)) letters++;
  }
  return bad === 0 && letters * 2 >= s.length;
}

function decodeBytes(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function fromBase64(s: string): string | undefined {
  const clean = s.replace(/=+$/, '');
  if (clean.length % 4 === 1) return undefined;
  return decodeBytes(Buffer.from(clean.replaceAll('-', '+').replaceAll('_', '/'), 'base64'));
}

function fromHex(s: string): string | undefined {
  const digits = s.replaceAll('\\x', '');
  return decodeBytes(Buffer.from(digits.length % 2 === 0 ? digits : digits.slice(0, -1), 'hex'));
}

function fromUrl(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/** Every text-like decoded payload in `text`, within `limits`. */
export function findEncoded(
  text: string,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): DecodedPayload[] {
  const out: DecodedPayload[] = [];
  let budget = limits.budget;
  const scan = (
    re: RegExp,
    encoding: DecodedPayload['encoding'],
    decode: (s: string) => string | undefined,
    accept: (s: string) => boolean,
  ): void => {
    re.lastIndex = 0;
    for (const m of text.matchAll(re)) {
      if (budget <= 0) return;
      if (!accept(m[0])) continue;
      const candidate = m[0].slice(0, limits.maxCandidate);
      budget -= candidate.length;
      const payload = decode(candidate);
      if (payload !== undefined && looksLikeText(payload)) {
        out.push({ encoding, start: m.index, end: m.index + m[0].length, payload });
      }
    }
  };
  scan(BASE64, 'base64', fromBase64, (s) => /[A-Z]/.test(s) && /[a-z0-9]/.test(s));
  scan(HEX, 'hex', fromHex, () => true);
  if (text.includes('%')) scan(URL_RUN, 'url', fromUrl, (s) => countPercent(s) >= MIN_URL_ESCAPES);
  return out;
}

/** ROT13 of the Latin letters of `s` (a skeleton: lower-case already). */
export function rot13(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out +=
      c >= 0x61 && c <= 0x7a ? String.fromCharCode(((c - 0x61 + 13) % 26) + 0x61) : (s[i] ?? '');
  }
  return out;
}
