/**
 * @module guard/injection/skeleton — folds text into a letters-only "skeleton" (case, diacritics,
 * full-width forms, common homoglyphs and leetspeak folded; spaces, punctuation and invisible
 * characters dropped) with a map back to UTF-16 offsets of the original, so "I g n 0 r е" (with a
 * Cyrillic е) and "ignore" meet in one linear pass.
 */
import type { AsciiTable, Stepper } from './automaton.js';

/** A folded view of a text: `text[i]` came from `source.slice(start[i], end[i])`. */
export interface Skeleton {
  readonly text: string;
  readonly start: ArrayLike<number>;
  readonly end: ArrayLike<number>;
  /** `boundary[i]` is 1 when a separator (or the end) follows skeleton position `i`. */
  readonly boundary: ArrayLike<number>;
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

/**
 * BMP code points whose fold is known, by code point: 0 not yet folded, EMPTY folds to nothing,
 * MULTI folds to something else than one code unit (ask foldCodePoint), else the one code unit
 * it folds to (folds keep letters and digits only, so never 0–2). 128 KB, filled on first use.
 */
const BMP_FOLD = new Uint16Array(0x10000);
const EMPTY = 1;
const MULTI = 2;

/** BMP_FOLD for `cp` (≤ 0xFFFF), folding it on first use. */
function bmpSingle(cp: number): number {
  const known = BMP_FOLD[cp] ?? 0;
  if (known !== 0) return known;
  const folded = foldCodePoint(cp);
  const code = folded.length === 1 ? folded.charCodeAt(0) : 0;
  const value = folded === '' ? EMPTY : code > MULTI ? code : MULTI;
  BMP_FOLD[cp] = value;
  return value;
}

/** Folds a plain string (a phrase of the dictionary) exactly as `buildSkeleton` folds text. */
export function foldString(s: string): string {
  let out = '';
  for (const ch of s) out += foldCodePoint(ch.codePointAt(0) ?? 0);
  return out;
}

/**
 * Supplementary code points of plane 1 (emoji, mathematical letters, …) whose fold is known:
 * 0 not yet folded, EMPTY folds to nothing, MULTI to something (ask foldCodePoint). 64 KB.
 */
const PLANE1_FOLD = new Uint8Array(0x10000);

/** EMPTY or MULTI for a supplementary code point (`cp` > 0xFFFF), folding it on first use. */
function supplementary(cp: number): number {
  const k = cp - 0x10000;
  if (k >= 0x10000) return MULTI; // planes 2 and up: foldCodePoint's cache answers
  const known = PLANE1_FOLD[k] ?? 0;
  if (known !== 0) return known;
  const value = foldCodePoint(cp) === '' ? EMPTY : MULTI;
  PLANE1_FOLD[k] = value;
  return value;
}

/**
 * A skeleton in reusable typed arrays: positions `[0, length)` hold what `Skeleton` holds, with
 * the text as code units, except `end`: every skeleton character comes from the one code point
 * at `start[i]`, so its end is `skeletonEnd(source, start[i])` (not stored: one write less per
 * character). Scanning this directly spares a string and four arrays per text.
 */
export interface SkeletonBuffer {
  codes: Uint16Array;
  start: Int32Array;
  boundary: Uint8Array;
  length: number;
  /**
   * After a fold with a stepper: pairs (state, skeleton position) where the automaton stood in
   * an accepting state, in order — what `scanCodes` over the skeleton would report, found in the
   * same pass. Empty otherwise.
   */
  readonly hits: number[];
  /** The automaton's state while folding (internal). */
  state: number;
}

/** An empty buffer with room for `capacity` skeleton characters (it grows on demand). */
export function skeletonBuffer(capacity: number): SkeletonBuffer {
  return {
    codes: new Uint16Array(capacity),
    start: new Int32Array(capacity),
    boundary: new Uint8Array(capacity),
    length: 0,
    hits: [],
    state: 0,
  };
}

/** Where the code point of `source` at `start` ends: the end of a skeleton character from it. */
export function skeletonEnd(source: string, start: number): number {
  return (source.codePointAt(start) ?? 0) > 0xffff ? start + 2 : start + 1;
}

/** ASCII folds as code units (0: dropped); every ASCII character folds to at most one. */
const ASCII_FOLD = Uint16Array.from(ascii, (f) => (f === '' ? 0 : f.charCodeAt(0)));

/**
 * Builds the skeleton of `source` into `buf` (overwriting it) in one pass; returns `buf`. With
 * a `stepper` that has an ASCII table, the same pass runs that automaton over the skeleton and
 * lists its hits in `buf.hits` (without one, `buf.hits` stays empty).
 */
export function foldInto(source: string, buf: SkeletonBuffer, steps?: Stepper): SkeletonBuffer {
  const stepper = steps?.table === undefined ? undefined : steps;
  // Every ASCII character folds to at most one skeleton character: with room for the whole
  // source, the ASCII loop needs no capacity check (only a longer non-ASCII fold grows it).
  if (buf.codes.length < source.length) {
    const grownBuf = grown(buf.codes, buf.start, buf.boundary, source.length + 16);
    buf.codes = grownBuf.codes;
    buf.start = grownBuf.start;
    buf.boundary = grownBuf.boundary;
  }
  // Boundaries are cleared at once and only set below: a fold sets them below its own length,
  // so clearing the previous text's length leaves none behind.
  buf.boundary.fill(0, 0, buf.length);
  buf.hits.length = 0;
  buf.state = 0;
  let n = 0;
  for (let i = 0; i < source.length;) {
    const table = stepper?.table;
    const stop =
      stepper === undefined || table === undefined
        ? asciiRun(source, i, buf, n)
        : asciiRunStepping(source, i, buf, n, stepper, table);
    n = buf.length;
    i = stop;
    if (i >= source.length) break;
    const unit = source.charCodeAt(i);
    // only a high surrogate can start a pair
    const cp = unit >= 0xd800 && unit <= 0xdbff ? (source.codePointAt(i) ?? 0) : unit;
    const width = cp > 0xffff ? 2 : 1;
    const single = cp <= 0xffff ? bmpSingle(cp) : supplementary(cp);
    if (single === EMPTY) {
      // no skeleton character (a no-break space, CJK punctuation, an emoji, a joiner)
      if (n > 0 && !isInvisible(cp)) buf.boundary[n - 1] = 1;
      i += width;
      continue;
    }
    if (single > MULTI) {
      // the common non-ASCII case (an accented letter, a CJK character): one unit, no string
      buf.codes[n] = single;
      buf.start[n] = i;
      if (stepper !== undefined) stepOne(buf, stepper, single, n);
      n++;
      i++;
      continue;
    }
    const folded = foldCodePoint(cp);
    if (folded === '') {
      if (n > 0 && !isInvisible(cp)) buf.boundary[n - 1] = 1;
    } else {
      // room for the fold and for every remaining source character (see above)
      const need = n + folded.length + (source.length - i - width);
      if (need > buf.codes.length) {
        const g = grown(buf.codes, buf.start, buf.boundary, need * 2 + 16);
        buf.codes = g.codes;
        buf.start = g.start;
        buf.boundary = g.boundary;
      }
      const { codes, start } = buf;
      // Code units, not code points: the automaton indexes the skeleton by code unit.
      for (let k = 0; k < folded.length; k++) {
        codes[n] = folded.charCodeAt(k);
        start[n] = i;
        if (stepper !== undefined) stepOne(buf, stepper, folded.charCodeAt(k), n);
        n++;
      }
    }
    i += width;
  }
  if (n > 0) buf.boundary[n - 1] = 1;
  buf.length = n;
  return buf;
}

/**
 * An automaton's ASCII table recast for a scan that only asks whether some keyword occurs on a
 * skeleton (see {@link reachesAccept}): built once per automaton.
 */
export interface KeywordProbe {
  readonly stepper: Stepper;
  /** A state's row in `jump` starts at `state << shift` (rows padded to a power of two). */
  readonly shift: number;
  /**
   * The column of `jump` each ASCII code unit reads, its skeleton fold included: DROP for a
   * character the skeleton drops (the state stays), ROOT for one in no keyword (back to the
   * root), else the table column of its fold.
   */
  readonly column: Uint8Array;
  /**
   * `jump[(state << shift) + column]`: the next state, or HIT when a keyword ends there. One
   * 16-bit read per character (the shallow states breadth-first in the first rows: a 1 KB
   * prompt touches about a hundred 64-byte rows), no multiplication, one predictable branch.
   */
  readonly jump: Uint16Array;
  /**
   * What each code unit from 128 up does to the probe, learnt on first sight: UNSEEN, STAY (it
   * folds to nothing: the automaton reads nothing), ROOT (it folds to a letter in no keyword:
   * back to the root, as for most CJK text) or STEP (anything else, surrogates included: ask
   * {@link probeUnit}). A scan that steps ASCII itself reads this before calling probeUnit.
   */
  readonly kinds: Uint8Array;
}

/** The probe's answer once a keyword has ended: no state has this number. */
export const HIT = 0xffff;

/** See {@link KeywordProbe.kinds}. */
export const UNSEEN = 0;
export const STAY = 1;
export const ROOT = 2;
export const STEP = 3;

/**
 * The probe of `stepper`'s automaton (built once with it), or undefined when it has no ASCII
 * table or too many states for 16-bit entries.
 */
export function keywordProbe(stepper: Stepper): KeywordProbe | undefined {
  const table = stepper.table;
  const { accepts } = stepper;
  const states = accepts.length;
  if (table === undefined || states >= HIT) return undefined;
  const drop = table.width;
  const root = table.width + 1;
  const shift = Math.ceil(Math.log2(table.width + 2));
  const column = Uint8Array.from(ASCII_FOLD, (f) =>
    f === 0 ? drop : (table.column[f] ?? 0) === 0 ? root : (table.column[f] ?? 0) - 1,
  );
  const jump = new Uint16Array(states << shift);
  for (let s = 0; s < states; s++) {
    const row = s << shift;
    for (let k = 0; k < table.width; k++) {
      const to = table.delta[s * table.width + k] ?? 0;
      jump[row + k] = accepts[to] === 1 ? HIT : to;
    }
    jump[row + drop] = s;
    jump[row + root] = 0;
  }
  const kinds = new Uint8Array(0x10000);
  // A high surrogate may start a pair, read whole (see probeUnit). A low one reads nothing:
  // after a high one it was read with it, and alone it folds to nothing.
  kinds.fill(STEP, 0xd800, 0xdc00);
  kinds.fill(STAY, 0xdc00, 0xe000);
  return { stepper, shift, column, jump, kinds };
}

/**
 * Whether the automaton of `probe` reaches an accepting state anywhere on the skeleton of
 * `source`: exactly whether `foldInto(source, buf, probe.stepper)` would list any hit, found
 * without building the skeleton (no code, offset or boundary written) and stopping at the first
 * one. (The prompt phase asks `profileText` instead, which answers this in its own pass.)
 */
export function reachesAccept(source: string, probe: KeywordProbe): boolean {
  const { column, jump, shift } = probe;
  const len = source.length;
  let state = 0;
  for (let i = 0; i < len; i++) {
    const unit = source.charCodeAt(i);
    state =
      unit < 128
        ? (jump[(state << shift) + (column[unit] ?? 0)] ?? 0)
        : probeUnit(probe, state, source, i);
    if (state === HIT) return true;
  }
  return false;
}

/**
 * One step of a keyword probe over the code unit of `source` at `i` when it is not ASCII (the
 * slow path of a scan that steps ASCII itself, `jump[(state << shift) + column[unit]]`): the
 * next state, or HIT when a keyword ends. A surrogate pair is read at its high half, as
 * `foldInto` reads it.
 */
export function probeUnit(probe: KeywordProbe, state: number, source: string, i: number): number {
  const unit = source.charCodeAt(i);
  const { kinds, stepper } = probe;
  let kind = kinds[unit] ?? STEP;
  if (kind === UNSEEN) {
    // (never a surrogate: those are known from the start)
    const single = bmpSingle(unit);
    kind = single === EMPTY ? STAY : single >= 128 && !stepper.units.has(single) ? ROOT : STEP;
    kinds[unit] = kind;
  }
  if (kind === STAY) return state;
  if (kind === ROOT) return 0;
  const cp = unit >= 0xd800 && unit <= 0xdbff ? (source.codePointAt(i) ?? 0) : unit;
  // (a unit in no keyword was ROOT above: what is left is a fold into keyword letters, or a
  // high surrogate, whose pair folds to nothing or to several letters)
  const single = cp <= 0xffff ? bmpSingle(cp) : supplementary(cp);
  if (single === EMPTY) return state;
  const accepts = stepper.accepts;
  let next = state;
  if (single > MULTI) next = stepper.step(next, single);
  else {
    const folded = foldCodePoint(cp);
    for (let k = 0; k < folded.length && accepts[next] !== 1; k++)
      next = stepper.step(next, folded.charCodeAt(k));
  }
  return accepts[next] === 1 ? HIT : next;
}

/** Steps the automaton over skeleton character `c` at position `n`, noting a hit. */
function stepOne(buf: SkeletonBuffer, stepper: Stepper, c: number, n: number): void {
  const state = stepper.step(buf.state, c);
  buf.state = state;
  if (stepper.accepts[state] === 1) buf.hits.push(state, n);
}

/** `asciiRun`, stepping the automaton over each skeleton character with its ASCII table. */
function asciiRunStepping(
  source: string,
  from: number,
  buf: SkeletonBuffer,
  n: number,
  stepper: Stepper,
  table: AsciiTable,
): number {
  const { codes, start, boundary, hits } = buf;
  const { column, delta, width } = table;
  const accepts = stepper.accepts;
  let state = buf.state;
  const len = source.length;
  let i = from;
  for (; i < len; i++) {
    const unit = source.charCodeAt(i);
    if (unit >= 128) break;
    const f = ASCII_FOLD[unit] ?? 0;
    if (f === 0) {
      if (n > 0) boundary[n - 1] = 1;
      continue;
    }
    codes[n] = f;
    start[n] = i;
    // the table's step, inlined (every fold is ASCII, so below 128)
    const col = column[f] ?? 0;
    state = col === 0 ? 0 : (delta[state * width + col - 1] ?? 0);
    if (accepts[state] === 1) hits.push(state, n);
    n++;
  }
  buf.state = state;
  buf.length = n;
  return i;
}

/**
 * Folds the ASCII run of `source` from `from` into `buf` at `n` (the hot path: one table read
 * and at most one skeleton character per character, room already made); sets `buf.length` to
 * the new skeleton length and returns where the run stopped (a non-ASCII unit or the end).
 */
function asciiRun(source: string, from: number, buf: SkeletonBuffer, n: number): number {
  const { codes, start, boundary } = buf;
  const len = source.length;
  let i = from;
  for (; i < len; i++) {
    const unit = source.charCodeAt(i);
    if (unit >= 128) break;
    const f = ASCII_FOLD[unit] ?? 0;
    if (f === 0) {
      if (n > 0) boundary[n - 1] = 1;
      continue;
    }
    codes[n] = f;
    start[n] = i;
    n++;
  }
  buf.length = n;
  return i;
}

function grown(
  codes: Uint16Array,
  start: Int32Array,
  boundary: Uint8Array,
  cap: number,
): { codes: Uint16Array; start: Int32Array; boundary: Uint8Array } {
  return {
    codes: grow(codes, new Uint16Array(cap)),
    start: grow(start, new Int32Array(cap)),
    boundary: grow(boundary, new Uint8Array(cap)),
  };
}

/** Builds the skeleton of `source` in one pass. */
export function buildSkeleton(source: string): Skeleton {
  const { codes, start, boundary, length } = foldInto(source, skeletonBuffer(source.length + 16));
  const end = new Int32Array(length);
  for (let k = 0; k < length; k++) end[k] = skeletonEnd(source, start[k] ?? 0);
  return {
    text: decodeCodes(codes.subarray(0, length)),
    start: start.subarray(0, length),
    end,
    boundary: boundary.subarray(0, length),
  };
}

function grow<T extends Uint16Array | Int32Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

const CHUNK = 8192;
function decodeCodes(codes: Uint16Array): string {
  let out = '';
  for (let i = 0; i < codes.length; i += CHUNK) {
    out += String.fromCharCode(...codes.subarray(i, i + CHUNK));
  }
  return out;
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
