/**
 * @module guard/terms — the deny and allow term lists of a model or role. Denied terms are
 * found in one Aho–Corasick pass over a folded copy of the text, so the cost is linear in the
 * text plus the hits, however many terms there are.
 *
 * Folding, per code point and mapped back to UTF-16 offsets of the original: compatibility
 * decomposition (NFKD: full-width forms, ligatures, precomposed vs combining accents all meet),
 * case folded as lower(upper(lower(c))) (so final ς ≡ σ, ſ ≡ s, ß ≡ ẞ ≡ ss — the full rather than the
 * simple fold, so that `Straße` also catches `STRASSE`), the Turkish dotted İ and dotless ı
 * folded to i (a term matches Turkish text whichever i it uses), and every default-ignorable
 * code point (zero-width spaces and joiners, soft hyphen, bidi controls, variation selectors,
 * tag characters) dropped, so invisible characters inside a term do not hide it.
 *
 * Whole words: a term whose first (last) character is a letter, digit or mark matches only
 * where the folded text has no such character before (after) it. Scripts written without
 * spaces between words (Han, kana, Hangul, Thai, Lao, Khmer, Myanmar) never need a boundary:
 * there a term matches anywhere, and a Latin term next to Chinese text is a word of its own.
 * `_` is not a word character, so `falcon` is found in `project_falcon`.
 */
import { buildAutomaton, type Automaton } from './injection/automaton.js';
import type { Detector, Finding } from './types.js';

/** The finding type of a denied term. */
export const DENIED_TERM = 'DENIED_TERM';
const GUARD = 'denied-terms';

const IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u;
const WORDISH = /^[\p{L}\p{N}\p{M}]$/u;
const UNSPACED =
  /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]$/u;
const ASCII_ONLY = /^[^\u0080-\uffff]*$/;
const DOT_ABOVE = 0x0307;

const folds = new Map<number, string>();

/** The folded form of one code point ('' for an invisible one). */
function foldCodePoint(cp: number): string {
  if (cp < 0x80)
    return cp >= 65 && cp <= 90 ? String.fromCharCode(cp + 32) : String.fromCharCode(cp);
  const known = folds.get(cp);
  if (known !== undefined) return known;
  const ch = String.fromCodePoint(cp);
  let out = '';
  if (!IGNORABLE.test(ch)) {
    for (const c of ch.normalize('NFKD')) {
      // lower first so that ẞ goes ß → SS → ss like ß itself
      out += c.toLowerCase().toUpperCase().toLowerCase().normalize('NFKD');
    }
    // İ decomposes to I + U+0307; i is soft-dotted, so the dot adds nothing
    if (
      out.length > 1 &&
      out.charCodeAt(1) === DOT_ABOVE &&
      (out.startsWith('i') || out.startsWith('j'))
    )
      out = out.charAt(0) + out.slice(2);
  }
  if (folds.size < 65536) folds.set(cp, out);
  return out;
}

/** A folded text; folded code unit `i` came from `source.slice(from[i], to[i])`. */
interface Folded {
  readonly text: string;
  readonly from: ArrayLike<number> | undefined; // undefined: identity (ASCII)
  readonly to: ArrayLike<number> | undefined;
}

function fold(source: string): Folded {
  if (ASCII_ONLY.test(source))
    return { text: source.toLowerCase(), from: undefined, to: undefined };
  // typed buffers, grown on demand: string concatenation per code point is several times slower
  let units = new Uint16Array(source.length + 16);
  let from = new Int32Array(units.length);
  let to = new Int32Array(units.length);
  let n = 0;
  for (let i = 0; i < source.length;) {
    const cp = source.codePointAt(i) ?? 0;
    const w = cp > 0xffff ? 2 : 1;
    if (cp >= 65 && cp <= 90) {
      units[n] = cp + 32;
      from[n] = i;
      to[n++] = i + 1;
      i++;
      continue;
    }
    let f = cp < 0x80 ? String.fromCharCode(cp) : foldCodePoint(cp);
    // a soft dot written as its own combining mark after i or j
    if (cp === DOT_ABOVE && n > 0 && (units[n - 1] === 0x69 || units[n - 1] === 0x6a)) f = '';
    if (n + f.length > units.length) {
      const grown = new Uint16Array(2 * units.length + f.length);
      grown.set(units);
      units = grown;
      const gf = new Int32Array(grown.length);
      gf.set(from);
      from = gf;
      const gt = new Int32Array(grown.length);
      gt.set(to);
      to = gt;
    }
    for (let k = 0; k < f.length; k++) {
      units[n] = f.charCodeAt(k);
      from[n] = i;
      to[n++] = i + w;
    }
    i += w;
  }
  let text = '';
  for (let k = 0; k < n; k += 8192)
    text += String.fromCharCode(...units.subarray(k, Math.min(n, k + 8192)));
  return { text, from, to };
}

/** The code point of `text` ending just before `i`, or -1. */
function codePointBefore(text: string, i: number): number {
  if (i <= 0) return -1;
  const lo = text.charCodeAt(i - 1);
  if (lo >= 0xdc00 && lo <= 0xdfff && i >= 2) return text.codePointAt(i - 2) ?? -1;
  return lo;
}

/** Whether `cp` belongs to a word of a script that separates words with spaces. */
function spacedWordChar(cp: number): boolean {
  if (cp < 0) return false;
  if (cp < 0x80) return (cp >= 48 && cp <= 57) || (cp >= 97 && cp <= 122) || (cp >= 65 && cp <= 90);
  const ch = String.fromCodePoint(cp);
  return WORDISH.test(ch) && !UNSPACED.test(ch);
}

interface Term {
  readonly left: boolean; // needs a word boundary before it
  readonly right: boolean; // needs a word boundary after it
}

/**
 * A detector for denied terms: type `DENIED_TERM`, case- and NFKC-insensitive, blind to
 * invisible characters, whole-word at a term's letter or digit edges, linear in the text.
 * `maxSpan` bounds a match with one invisible character (or a surrogate pair) per character.
 */
export function deniedTermsDetector(terms: readonly string[]): Detector {
  const folded = [...new Set(terms.map(foldTerm))].filter((t) => t.length > 0);
  const meta: Term[] = folded.map((t) => ({
    left: spacedWordChar(t.codePointAt(0) ?? -1),
    right: spacedWordChar(codePointBefore(t, t.length)),
  }));
  const automaton: Automaton | undefined = folded.length === 0 ? undefined : buildAutomaton(folded);
  const longest = folded.reduce((m, t) => Math.max(m, t.length), 0);
  return {
    name: GUARD,
    types: [DENIED_TERM],
    maxSpan: 4 * longest,
    detect(text: string): Finding[] {
      if (automaton === undefined || text.length === 0) return [];
      const f = fold(text);
      const spans: { start: number; end: number }[] = [];
      automaton.scan(f.text, (hit) => {
        const m = meta[hit.id];
        if (m === undefined) return;
        if (m.left && spacedWordChar(codePointBefore(f.text, hit.start))) return;
        if (m.right && spacedWordChar(f.text.codePointAt(hit.end) ?? -1)) return;
        spans.push({ start: hit.start, end: hit.end });
      });
      // leftmost, then longest; hits arrive ordered by end
      spans.sort((a, b) => a.start - b.start || b.end - a.end);
      const out: Finding[] = [];
      let until = 0;
      for (const s of spans) {
        if (s.start < until) continue;
        until = s.end;
        const start = f.from === undefined ? s.start : (f.from[s.start] ?? 0);
        const end = f.to === undefined ? s.end : (f.to[s.end - 1] ?? 0);
        out.push({ type: DENIED_TERM, start, end, guard: GUARD });
      }
      return out;
    },
  };
}

/** The form terms are compared in (folded as above, trimmed): e.g. to merge lists of roles. */
export function foldTerm(term: string): string {
  return fold(term).text.trim();
}

/**
 * Whether the text of a finding is an allowed term (allow list: values never treated as
 * sensitive, e.g. the company's own support address), compared trimmed and folded as above.
 */
export function allowedTerms(terms: readonly string[]): (value: string) => boolean {
  const allowed = new Set(terms.map(foldTerm).filter((t) => t.length > 0));
  return (value) => allowed.size > 0 && allowed.has(foldTerm(value));
}
