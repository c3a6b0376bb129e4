/**
 * @module guard/injection/skeleton — folds text into a letters-only "skeleton" (case, diacritics,
 * full-width forms, common homoglyphs and leetspeak folded; spaces, punctuation and invisible
 * characters dropped) with a map back to UTF-16 offsets of the original, so "I g n 0 r е" (with a
 * Cyrillic е) and "ignore" meet in one linear pass.
 */

/** A folded view of a text: `text[i]` came from `source.slice(start[i], end[i])`. */
export interface Skeleton {
  readonly text: string;
  readonly start: readonly number[];
  readonly end: readonly number[];
  /** `boundary[i]` is true when a separator (or the end) follows skeleton position `i`. */
  readonly boundary: readonly boolean[];
}

// Lookalikes that NFKD does not fold; keys are lower-case code points.
const CONFUSABLES = new Map<string, string>([
  ['а', 'a'],
  ['е', 'e'],
  ['о', 'o'],
  ['р', 'p'],
  ['с', 'c'],
  ['у', 'y'],
  ['х', 'x'],
  ['і', 'i'],
  ['ј', 'j'],
  ['ѕ', 's'],
  ['ԁ', 'd'],
  ['ɡ', 'g'],
  ['ӏ', 'l'],
  ['к', 'k'],
  ['м', 'm'],
  ['т', 't'],
  ['н', 'h'],
  ['в', 'b'],
  ['α', 'a'],
  ['ο', 'o'],
  ['ι', 'i'],
  ['ε', 'e'],
  ['ν', 'v'],
  ['ρ', 'p'],
  ['τ', 't'],
  ['κ', 'k'],
  ['υ', 'u'],
  ['χ', 'x'],
  ['ł', 'l'],
  ['ø', 'o'],
  ['đ', 'd'],
  ['ß', 'ss'],
  ['ı', 'i'],
  ['æ', 'ae'],
  ['œ', 'oe'],
  ['ɪ', 'i'],
  ['ᴀ', 'a'],
  ['ᴇ', 'e'],
  ['ᴏ', 'o'],
]);
const LEET = new Map<string, string>([
  ['0', 'o'],
  ['1', 'i'],
  ['3', 'e'],
  ['4', 'a'],
  ['5', 's'],
  ['7', 't'],
  ['@', 'a'],
  ['$', 's'],
]);
const KEEP = /[\p{L}\p{N}]/u;
const MARK = /\p{M}/u;

const ascii: string[] = [];
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  const low = ch.toLowerCase();
  ascii.push(LEET.get(ch) ?? (KEEP.test(low) ? low : ''));
}
const cache = new Map<number, string>();
const CACHE_MAX = 65536;

/** Folds one code point to zero or more skeleton characters. */
export function foldCodePoint(cp: number): string {
  if (cp < 128) return ascii[cp] ?? '';
  const hit = cache.get(cp);
  if (hit !== undefined) return hit;
  let out = '';
  const decomposed = String.fromCodePoint(cp).normalize('NFKD').toLowerCase().normalize('NFKD');
  for (const ch of decomposed) {
    if (MARK.test(ch)) continue;
    const c = ch.codePointAt(0) ?? 0;
    if (c < 128) out += ascii[c] ?? '';
    else {
      const mapped = CONFUSABLES.get(ch) ?? ch;
      if (KEEP.test(mapped)) out += mapped;
    }
  }
  if (cache.size < CACHE_MAX) cache.set(cp, out);
  return out;
}

/** Folds a plain string (a phrase of the dictionary) exactly as `buildSkeleton` folds text. */
export function foldString(s: string): string {
  let out = '';
  for (const ch of s) out += foldCodePoint(ch.codePointAt(0) ?? 0);
  return out;
}

/** Builds the skeleton of `source` in one pass. */
export function buildSkeleton(source: string): Skeleton {
  const parts: string[] = [];
  const start: number[] = [];
  const end: number[] = [];
  const boundary: boolean[] = [];
  for (let i = 0; i < source.length;) {
    const cp = source.codePointAt(i) ?? 0;
    const width = cp > 0xffff ? 2 : 1;
    const folded = foldCodePoint(cp);
    if (folded === '') {
      if (boundary.length > 0 && !isInvisible(cp)) boundary[boundary.length - 1] = true;
    } else {
      // Code units, not code points: the automaton indexes the skeleton by code unit.
      for (const ch of folded.split('')) {
        parts.push(ch);
        start.push(i);
        end.push(i + width);
        boundary.push(false);
      }
    }
    i += width;
  }
  if (boundary.length > 0) boundary[boundary.length - 1] = true;
  return { text: parts.join(''), start, end, boundary };
}

/** Format characters that hide inside words rather than separate them. */
function isInvisible(cp: number): boolean {
  return (
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x2060 && cp <= 0x2064) ||
    cp === 0xfeff ||
    cp === 0x00ad ||
    cp === 0x034f ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    (cp >= 0xe0000 && cp <= 0xe01ef)
  );
}
