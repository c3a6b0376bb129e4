/**
 * @module guard/profile — one cheap pass over a text that counts what the guards need at the
 * very least (digits and how close together they stand, capitals, `@`, a `-----` run, `eyJ`,
 * long token runs, a few punctuation marks, invisible format characters), so that a scan skips
 * every detector and every injection check that cannot possibly match. Most prompts are prose:
 * no digit run, no `@`, no 15-character token, and nearly everything is skipped. The prompt
 * phase profiles a text once and hands the profile to both the PII scan and the injection
 * heuristics, and the same pass steps the injection phrases' keyword probe over it (whether the
 * text holds a keyword a phrase match could start with: most do not, and are never folded).
 *
 * Each built-in detector registers its gate here (`withGate`), with a comment on why it is
 * conservative: a gate may only answer false when `detect` would return nothing. Gates belong to
 * the exact detector object they were registered with, so a copy or a wrapper of a detector has
 * none and always runs.
 */
import { HIT, probeUnit, ROOT, STAY, type KeywordProbe } from './injection/skeleton.js';
import type { Detector } from './types.js';

/** What the gates look at; counts are of ASCII characters. */
export interface TextProfile {
  /** Digits `0-9`. */
  readonly digits: number;
  /**
   * Most digits in one stretch where each digit stands at most {@link DIGIT_GAP} code units after
   * the one before (`(415) 555-2671` is one stretch of 10): every number a detector reports.
   */
  readonly digitRun: number;
  /** Capitals `A-Z`. */
  readonly upper: number;
  /** Whether two capitals and two digits stand in a row (`GB82`: where every IBAN starts). */
  readonly ibanStart: boolean;
  /** Colons. */
  readonly colons: number;
  /** Dots with a digit on both sides (`1.2`): a dotted quad has three. */
  readonly digitDots: number;
  /** Whether the text holds an `@`. */
  readonly at: boolean;
  /** Whether the text holds five dashes in a row. */
  readonly dashes: boolean;
  /** Whether the text holds `eyJ` (base64 of `{"` and a letter: where every JWT starts). */
  readonly eyJ: boolean;
  /** Longest run of token characters `[A-Za-z0-9_~.+/=-]`: every API key is such a run. */
  readonly tokenRun: number;
  /** Which of the {@link MARKED} characters occur: bit `i` for `MARKED[i]`. */
  readonly marks: number;
  /** Whether the text holds a code unit that can start hidden text (see {@link isFormatUnit}). */
  readonly format: boolean;
  /**
   * Where those code units are, in order — in a whole text's profile with at most
   * {@link MAX_FORMAT_AT} of them; otherwise undefined (the hidden-text scan then finds them
   * itself).
   */
  readonly formatAt: readonly number[] | undefined;
  /**
   * Whether the keyword probe handed to {@link profileText} reaches one of its keywords on the
   * text's skeleton (exactly `reachesAccept(text, probe)`); undefined when none was handed, or
   * for a prefix's profile that has found none yet.
   */
  readonly keyword: boolean | undefined;
}

/**
 * A detector's necessary condition: false only when `detect` cannot find anything. Gates are
 * monotone (more of any count never shuts one), so a scan may stop profiling once all are open.
 */
export type Gate = (profile: TextProfile) => boolean;

/** Most code units between two digits of one `digitRun` stretch, plus one. */
export const DIGIT_GAP = 4;

/** Punctuation whose presence `marks` records (what the injection checks look for first). */
export const MARKED = '<[(#=*:%\\@';

const DIGIT = 1;
const UPPER = 2;
const TOKEN = 4;

/** Character classes of the ASCII range (code units from 128 up are in none). */
const CLASS = new Uint8Array(128);
/** The `marks` bit of each ASCII character (0: not marked). */
const MARK = new Uint16Array(128);
const AT = 1 << MARKED.indexOf('@');
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[0-9]/.test(ch)) CLASS[c] = DIGIT | TOKEN;
  else if (/[A-Z]/.test(ch)) CLASS[c] = UPPER | TOKEN;
  else if (/[a-z_~.+/=-]/.test(ch)) CLASS[c] = TOKEN;
  const k = MARKED.indexOf(ch);
  if (k >= 0) MARK[c] = 1 << k;
}

/**
 * Whether code unit `c` can start hidden text: soft hyphen, combining grapheme joiner, Mongolian
 * vowel separator, zero-width space/joiners, bidi embeddings and overrides, word joiner and
 * invisible operators, bidi isolates, variation selectors, BOM, or the high surrogate of the
 * tag and supplementary-selector blocks (U+E0000–E01EF). Exactly what hidden.ts checks first.
 */
export function isFormatUnit(c: number): boolean {
  if (c < 0x2000) return c === 0xad || c === 0x34f || c === 0x180e;
  if (c <= 0x206f)
    return (
      (c >= 0x200b && c <= 0x200d) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2060 && c <= 0x2069)
    );
  return (c >= 0xfe00 && c <= 0xfe0f) || c === 0xfeff || c === 0xdb40;
}

/** Most positions `formatAt` lists: a flood of invisible characters is scanned for instead. */
export const MAX_FORMAT_AT = 1024;

/** Code units between two `enough` checks. */
const BLOCK = 256;
/** Code units copied into UNITS at a time (a multiple of BLOCK). */
export const PROFILE_CHUNK = 16384;
const CHUNK = PROFILE_CHUNK;
/** The chunk of the text being profiled (profileText never runs inside itself). */
const UNITS_BUFFER = Buffer.alloc(CHUNK * 2);
const UNITS = new Uint16Array(UNITS_BUFFER.buffer, UNITS_BUFFER.byteOffset, CHUNK);

/** The tables of a profile made without a probe (never read: it steps nothing). */
const NO_JUMP = new Uint16Array(1);
const NO_COLUMN = new Uint8Array(128);

/**
 * Profiles `text` in one pass over its code units. With `enough`, counting may stop early, at a
 * block boundary where `enough` holds: the counts are then those of a prefix, each at most the
 * whole text's (for a monotone question such as "is every gate open?", the answer is the same).
 * With `probe`, the same pass answers `keyword` (and stops stepping the probe at a keyword).
 */
export function profileText(
  text: string,
  enough?: (p: TextProfile) => boolean,
  probe?: KeywordProbe,
): TextProfile {
  // locals, not fields, in the hot loop; a profile object is made at each check and at the end
  let digits = 0;
  let digitRun = 0;
  let upper = 0;
  let ibanStart = false;
  let colons = 0;
  let digitDots = 0;
  let dashes = false;
  let eyJ = false;
  let tokenRun = 0;
  let marks = 0;
  let format = false;
  let formatAt: number[] | undefined;
  let listed = true; // whether formatAt holds every one so far
  let runFrom = 0; // where the current token run started
  let chain = 0; // digits of the current stretch
  let lastDigit = -DIGIT_GAP - 1;
  // the probe's state; HIT once a keyword is found, or from the start without a probe
  let state = probe === undefined ? HIT : 0;
  const jump = probe?.jump ?? NO_JUMP;
  const shift = probe?.shift ?? 0;
  const column = probe?.column ?? NO_COLUMN;
  const kinds = probe?.kinds ?? NO_COLUMN;
  const n = text.length;
  let base = 0; // where the chunk in UNITS starts
  // (no closure over the counters: captured, they would live in a context, not in registers)
  for (let from = 0; from < n; from += BLOCK) {
    if (from > 0 && enough !== undefined) {
      const run = Math.max(tokenRun, from - runFrom);
      // a prefix's profile: no formatAt, it would miss the rest of the text
      const p = made(
        digits,
        digitRun,
        upper,
        ibanStart,
        colons,
        digitDots,
        dashes,
        eyJ,
        run,
        marks,
        format,
        undefined,
        probe !== undefined && state === HIT ? true : undefined,
      );
      if (enough(p)) return p;
    }
    if (from % CHUNK === 0) {
      // the next chunk's code units, copied natively: a typed array is read faster than
      // charCodeAt, whose string may be of either width (the lookbacks below still read text)
      base = from;
      UNITS_BUFFER.write(text.substring(from, from + CHUNK), 0, 'utf16le');
    }
    const to = Math.min(n, from + BLOCK);
    for (let i = from; i < to; i++) {
      const c = UNITS[i - base] ?? 0;
      if (c < 128) {
        // the probe's step, independent of the counting below: the two overlap
        if (state !== HIT) state = jump[(state << shift) + (column[c] ?? 0)] ?? 0;
        if (c >= 97 && c <= 122) continue; // a-z, the common case: a token character, no count
      } else {
        if (state !== HIT && probe !== undefined) {
          // what most non-ASCII units do to the probe, read here; the rest asks probeUnit
          const kind = kinds[c] ?? 0;
          if (kind === ROOT) state = 0;
          else if (kind !== STAY) state = probeUnit(probe, state, text, i);
        }
        if (i - runFrom > tokenRun) tokenRun = i - runFrom;
        runFrom = i + 1;
        if (isFormatUnit(c)) {
          format = true;
          if (listed) {
            if ((formatAt ??= []).length < MAX_FORMAT_AT) formatAt.push(i);
            else listed = false;
          }
        }
        continue;
      }
      const cls = CLASS[c] ?? 0;
      marks |= MARK[c] ?? 0;
      if ((cls & TOKEN) === 0) {
        if (i - runFrom > tokenRun) tokenRun = i - runFrom;
        runFrom = i + 1;
        if (c === 58) colons++;
        continue;
      }
      if ((cls & DIGIT) !== 0) {
        digits++;
        chain = i - lastDigit > DIGIT_GAP ? 1 : chain + 1;
        if (chain > digitRun) digitRun = chain;
        if (!ibanStart && lastDigit === i - 1 && i >= 3 && twoCapitals(text, i - 3))
          ibanStart = true;
        lastDigit = i;
      } else if ((cls & UPPER) !== 0) {
        upper++;
        // "eyJ"
        if (c === 74 && i >= 2 && text.charCodeAt(i - 1) === 121 && text.charCodeAt(i - 2) === 101)
          eyJ = true;
      } else if (c === 45) {
        if (!dashes && i >= 4 && fourDashesBefore(text, i)) dashes = true;
      } else if (c === 46 && i > 0 && i + 1 < n) {
        if (isDigit(text.charCodeAt(i - 1)) && isDigit(text.charCodeAt(i + 1))) digitDots++;
      }
    }
  }
  const run = Math.max(tokenRun, n - runFrom);
  const formats = listed ? (formatAt ?? NO_POSITIONS) : undefined;
  return made(
    digits,
    digitRun,
    upper,
    ibanStart,
    colons,
    digitDots,
    dashes,
    eyJ,
    run,
    marks,
    format,
    formats,
    probe === undefined ? undefined : state === HIT,
  );
}

const NO_POSITIONS: readonly number[] = Object.freeze([]);

function made(
  digits: number,
  digitRun: number,
  upper: number,
  ibanStart: boolean,
  colons: number,
  digitDots: number,
  dashes: boolean,
  eyJ: boolean,
  tokenRun: number,
  marks: number,
  format: boolean,
  formatAt: readonly number[] | undefined,
  keyword: boolean | undefined,
): TextProfile {
  const at = (marks & AT) !== 0;
  return {
    digits,
    digitRun,
    upper,
    ibanStart,
    colons,
    digitDots,
    at,
    dashes,
    eyJ,
    tokenRun,
    marks,
    format,
    formatAt,
    keyword,
  };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function twoCapitals(text: string, i: number): boolean {
  const a = text.charCodeAt(i);
  const b = text.charCodeAt(i + 1);
  return a >= 65 && a <= 90 && b >= 65 && b <= 90;
}

function fourDashesBefore(text: string, i: number): boolean {
  return (
    text.charCodeAt(i - 1) === 45 &&
    text.charCodeAt(i - 2) === 45 &&
    text.charCodeAt(i - 3) === 45 &&
    text.charCodeAt(i - 4) === 45
  );
}

/**
 * The `marks` bits of `chars` (each in {@link MARKED}), for {@link mayHoldMarks}; -1 (every
 * bit) when one is not recorded.
 */
export function marksOf(chars: string): number {
  let mask = 0;
  for (let k = 0; k < chars.length; k++) {
    const bit = MARKED.indexOf(chars.charAt(k));
    if (bit < 0) return -1;
    mask |= 1 << bit;
  }
  return mask;
}

/**
 * Whether `profile` may hold one of the characters of `mask` (from {@link marksOf}): false only
 * when none occurs.
 */
export function mayHoldMarks(profile: TextProfile, mask: number): boolean {
  return mask === -1 || (profile.marks & mask) !== 0;
}

/**
 * A profile on which every gate and check is open: handing it to a scan runs every detector and
 * every injection check, as if nothing were known of the text (the reference of the tests).
 */
export const OPEN_PROFILE: TextProfile = Object.freeze({
  digits: Infinity,
  digitRun: Infinity,
  upper: Infinity,
  ibanStart: true,
  colons: Infinity,
  digitDots: Infinity,
  at: true,
  dashes: true,
  eyJ: true,
  tokenRun: Infinity,
  marks: (1 << MARKED.length) - 1,
  format: true,
  formatAt: undefined,
  keyword: true,
});

const gates = new WeakMap<Detector, Gate>();

/** Registers `gate` for exactly this `detector` object and returns the detector. */
export function withGate(detector: Detector, gate: Gate): Detector {
  gates.set(detector, gate);
  return detector;
}

/** The gate registered for `detector`, if any (none: the detector always runs). */
export function gateOf(detector: Detector): Gate | undefined {
  return gates.get(detector);
}
