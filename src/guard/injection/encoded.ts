/**
 * @module guard/injection/encoded — candidate encoded payloads (base64, hex, URL-encoding) found
 * by linear scans and decoded within a byte budget, so the caller can re-scan the decoded text.
 * Only decodings that look like text are returned; hashes, UUIDs and binary blobs decode to noise
 * and are dropped.
 */
import { marksOf, mayHoldMarks, OPEN_PROFILE, type TextProfile } from '../profile.js';

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

/**
 * Whether `text` holds `MIN_URL_ESCAPES` escapes `%XX` (X a hex digit): a URL_RUN match is only
 * accepted with that many `%`, each of which starts an escape inside the run, so fewer escapes in
 * the whole text means no accepted match. Prose with a stray "12 %" skips the run scan.
 */
function mayHoldUrlEncoding(text: string): boolean {
  let n = 0;
  for (let i = text.indexOf('%'); i >= 0; i = text.indexOf('%', i + 1)) {
    if (isHexUnit(text.charCodeAt(i + 1)) && isHexUnit(text.charCodeAt(i + 2))) {
      if (++n >= MIN_URL_ESCAPES) return true;
    }
  }
  return false;
}

function isHexUnit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
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

const BACKSLASH = marksOf('\\');
const PERCENT = marksOf('%');

const B64_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) if (/[A-Za-z0-9+/_-]/.test(String.fromCharCode(c))) B64_CHAR[c] = 1;

/**
 * Whether `text` can hold a BASE64 or HEX match: the first needs a run of 16 characters of the
 * base64 alphabet, the second either `\x` or a run of 20 hex digits (base64 characters too).
 */
function mayHoldBase64OrHex(text: string): boolean {
  if (text.includes('\\x')) return true;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128 && B64_CHAR[c] === 1) {
      if (++run >= 16) return true;
    } else run = 0;
  }
  return false;
}

const base64Accept = (s: string): boolean => /[A-Z]/.test(s) && /[a-z0-9]/.test(s);
const hexAccept = (): boolean => true;
const urlAccept = (s: string): boolean => countPercent(s) >= MIN_URL_ESCAPES;

/**
 * Every text-like decoded payload in `text`, within `limits`; `profile`, when given, is
 * `profileText(text)`: without a 16-character token run or a backslash there is no base64 or
 * hex candidate, without a `%` no URL escape, and the scans below are skipped.
 */
export function findEncoded(
  text: string,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
  profile: TextProfile = OPEN_PROFILE,
): DecodedPayload[] {
  const out: DecodedPayload[] = [];
  let budget = limits.budget;
  // the token run's alphabet holds the base64 one (and so the hex digits)
  if ((profile.tokenRun >= 16 || mayHoldMarks(profile, BACKSLASH)) && mayHoldBase64OrHex(text)) {
    budget = collect(text, BASE64, 'base64', fromBase64, base64Accept, limits, budget, out);
    budget = collect(text, HEX, 'hex', fromHex, hexAccept, limits, budget, out);
  }
  if (mayHoldMarks(profile, PERCENT) && mayHoldUrlEncoding(text)) {
    collect(text, URL_RUN, 'url', fromUrl, urlAccept, limits, budget, out);
  }
  return out;
}

/** Decodes the accepted matches of `re` into `out` within `budget`; returns what is left. */
function collect(
  text: string,
  re: RegExp,
  encoding: DecodedPayload['encoding'],
  decode: (s: string) => string | undefined,
  accept: (s: string) => boolean,
  limits: DecodeLimits,
  budget: number,
  out: DecodedPayload[],
): number {
  let left = budget;
  // exec on the shared regex (reset first) rather than matchAll, which clones it per call
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (left <= 0) break;
    if (!accept(m[0])) continue;
    const candidate = m[0].slice(0, limits.maxCandidate);
    left -= candidate.length;
    const payload = decode(candidate);
    if (payload !== undefined && looksLikeText(payload)) {
      out.push({ encoding, start: m.index, end: m.index + m[0].length, payload });
    }
  }
  return left;
}
