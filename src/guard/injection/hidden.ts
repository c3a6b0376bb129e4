/**
 * @module guard/injection/hidden — hidden text: zero-width characters inside Latin words or in
 * runs, bidi overrides that reorder ASCII, Unicode tag characters outside emoji flag sequences
 * ("ASCII smuggling") and runs of variation selectors (byte smuggling), decoded so the caller
 * can re-scan them. Legitimate uses — ZWJ in emoji, ZWNJ/ZWJ in Arabic, Persian and Indic
 * scripts, ZWSP in Thai, Khmer or Japanese, soft hyphens, LRM/RLM, subdivision flags — are not
 * signals.
 */

/** One hidden-text signal on `[start, end)`; `payload` is the decoded smuggled text, if any. */
export interface HiddenSignal {
  readonly kind:
    | 'zero-width-in-word'
    | 'invisible-run'
    | 'tag-smuggling'
    | 'variation-smuggling'
    | 'bidi-override';
  readonly start: number;
  readonly end: number;
  readonly weight: number;
  readonly payload?: string;
}

import type { TextProfile } from '../profile.js';

const ZERO_WIDTH = new Set([
  0x200b, 0x200c, 0x200d, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xfeff, 0x180e, 0x034f, 0x00ad,
]);
// Cheap pre-check: texts without any of these code units cannot hold a signal (the profile's
// `format` answers the same, isFormatUnit: tested on every code unit).
export const SUSPECT =
  /\u00ad|\u034f|\u180e|[\u200b-\u200d]|[\u202a-\u202e]|[\u2060-\u2069]|[\ufe00-\ufe0f]|\ufeff|\udb40/;
const BLACK_FLAG = 0x1f3f4;
const MAX_OPEN_BIDI = 16;
const utf8 = new TextDecoder('utf-8', { fatal: false });

const isTag = (cp: number): boolean => cp >= 0xe0000 && cp <= 0xe007f;
const isVs = (cp: number): boolean =>
  (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef);
const isLatin = (cp: number): boolean =>
  (cp >= 0x41 && cp <= 0x5a) ||
  (cp >= 0x61 && cp <= 0x7a) ||
  (cp >= 0xc0 && cp <= 0x24f && cp !== 0xd7 && cp !== 0xf7);
const isAsciiAlnum = (cp: number): boolean =>
  (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
const RTL = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]/;

const width = (cp: number): number => (cp > 0xffff ? 2 : 1);

/**
 * Every hidden-text signal in `text`, in one pass over its code points; `profile`, when given, is
 * `profileText(text)` (its `format` says whether a SUSPECT code unit occurs).
 */
export function findHidden(text: string, profile?: TextProfile): HiddenSignal[] {
  if (!(profile === undefined ? SUSPECT.test(text) : profile.format)) return [];
  const out: HiddenSignal[] = [];
  const bidi: Bidi = { text, out, open: [], hasRtl: undefined };
  const open = bidi.open;
  // the profile's list of candidates, walked with `k`, when it has one; else a native scan
  const listed = profile?.formatAt;
  let k = 0;
  let prev: number | undefined;
  for (let i = 0; i < text.length;) {
    if (open.length === 0) {
      // Nothing open: only an invisible code point or a bidi opener can start a signal, so
      // jump to the next one with `prev` as the loop would have left it.
      let next: number;
      if (listed === undefined) next = nextStarter(text, i);
      else {
        while (k < listed.length && ((listed[k] ?? 0) < i || !isStarterAt(text, listed[k] ?? 0)))
          k++;
        next = listed[k] ?? text.length;
      }
      if (next > i) {
        prev = codePointBefore(text, next);
        i = next;
        if (i >= text.length) break;
      }
    }
    const cp = text.codePointAt(i) ?? 0;
    if (cp < 0xad) {
      // below every invisible and bidi code point: only line ends and ASCII letters matter
      if (cp === 0x0a || cp === 0x0d) while (open.length > 0) closeBidi(bidi, i);
      else if (open.length > 0 && isAsciiAlnum(cp)) for (const o of open) o.ascii = true;
      prev = cp;
      i++;
      continue;
    }
    if (isTag(cp) || isVs(cp) || ZERO_WIDTH.has(cp)) {
      i = invisibleRun(text, i, prev, out);
      prev = 0; // never Latin: a run is not a letter
      continue;
    }
    if ((cp >= 0x202a && cp <= 0x202e && cp !== 0x202c) || (cp >= 0x2066 && cp <= 0x2068)) {
      if (open.length < MAX_OPEN_BIDI) open.push({ at: i, cp, ascii: false });
    } else if (cp === 0x202c || cp === 0x2069) closeBidi(bidi, i + 1);
    else if (cp === 0x2029) while (open.length > 0) closeBidi(bidi, i);
    prev = cp;
    i += width(cp);
  }
  while (open.length > 0) closeBidi(bidi, text.length);
  return out;
}

/**
 * What starts a signal when no bidi control is open: a zero-width or other invisible code point
 * (ZERO_WIDTH), a variation selector, a tag character (U+E0000–E007F, or a supplementary
 * selector U+E0100–E01EF: both behind the high surrogate U+DB40), or a bidi opener.
 */
export const STARTER =
  /\u00ad|\u034f|\u180e|[\u200b-\u200d]|[\u202a\u202b\u202d\u202e]|[\u2060-\u2064]|[\u2066-\u2068]|[\ufe00-\ufe0f]|\ufeff|\udb40[\udc00-\udc7f]|\udb40[\udd00-\uddef]/g;

/** Whether a STARTER match begins at `i` (as `STARTER` with lastIndex `i` would find there). */
export function isStarterAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c === 0xdb40) {
    const lo = text.charCodeAt(i + 1);
    return (lo >= 0xdc00 && lo <= 0xdc7f) || (lo >= 0xdd00 && lo <= 0xddef);
  }
  return (
    c === 0xad ||
    c === 0x34f ||
    c === 0x180e ||
    (c >= 0x200b && c <= 0x200d) ||
    (c >= 0x202a && c <= 0x202e && c !== 0x202c) ||
    (c >= 0x2060 && c <= 0x2064) ||
    (c >= 0x2066 && c <= 0x2068) ||
    (c >= 0xfe00 && c <= 0xfe0f) ||
    c === 0xfeff
  );
}

/** The offset of the first STARTER at or after `from`, or `text.length`. */
function nextStarter(text: string, from: number): number {
  STARTER.lastIndex = from;
  const m = STARTER.exec(text);
  return m === null ? text.length : m.index;
}

/** The code point that ends right before `at` (a surrogate pair read whole). */
function codePointBefore(text: string, at: number): number {
  const c = text.charCodeAt(at - 1);
  if (c >= 0xdc00 && c <= 0xdfff && at >= 2) {
    const h = text.charCodeAt(at - 2);
    if (h >= 0xd800 && h <= 0xdbff) return text.codePointAt(at - 2) ?? c;
  }
  return c;
}

/** Open bidi embeddings, overrides and isolates of one text. */
interface Bidi {
  readonly text: string;
  readonly out: HiddenSignal[];
  readonly open: { at: number; cp: number; ascii: boolean }[];
  /** Whether the text holds right-to-left letters, once asked. */
  hasRtl: boolean | undefined;
}

/** Closes the innermost open bidi control at `until`: a signal if it wrapped ASCII. */
function closeBidi(bidi: Bidi, until: number): void {
  const o = bidi.open.pop();
  if (!o?.ascii) return;
  const override = o.cp === 0x202d || o.cp === 0x202e;
  bidi.hasRtl ??= RTL.test(bidi.text);
  if (override || !bidi.hasRtl)
    bidi.out.push({
      kind: 'bidi-override',
      start: o.at,
      end: until,
      weight: override ? 0.6 : 0.35,
    });
}

/** Classifies the run of invisible code points starting at `i`; returns the offset after it. */
function invisibleRun(
  text: string,
  i: number,
  before: number | undefined,
  out: HiddenSignal[],
): number {
  let j = i;
  let tags = '';
  let tagCount = 0;
  const vsBytes: number[] = [];
  let zw = 0;
  let softHyphens = 0;
  let last = 0;
  while (j < text.length) {
    const cp = text.codePointAt(j) ?? 0;
    if (isTag(cp)) {
      tagCount++;
      if (cp >= 0xe0020 && cp <= 0xe007e) tags += String.fromCharCode(cp - 0xe0000);
    } else if (isVs(cp)) vsBytes.push(cp <= 0xfe0f ? cp - 0xfe00 : cp - 0xe0100 + 16);
    else if (ZERO_WIDTH.has(cp)) {
      zw++;
      if (cp === 0x00ad) softHyphens++;
    } else break;
    last = cp;
    j += width(cp);
  }
  const after = text.codePointAt(j);
  if (tagCount > 0) {
    const flag =
      before === BLACK_FLAG && last === 0xe007f && tagCount <= 8 && /^[a-z0-9]*$/.test(tags);
    if (!flag) out.push({ kind: 'tag-smuggling', start: i, end: j, weight: 0.8, payload: tags });
    return j;
  }
  if (vsBytes.length >= 2) {
    const payload = utf8.decode(Uint8Array.from(vsBytes));
    out.push({
      kind: 'variation-smuggling',
      start: i,
      end: j,
      weight: vsBytes.length >= 4 ? 0.7 : 0.3,
      payload,
    });
    return j;
  }
  if (zw + vsBytes.length >= 3) {
    out.push({ kind: 'invisible-run', start: i, end: j, weight: 0.6 });
    return j;
  }
  if (
    zw > softHyphens &&
    before !== undefined &&
    after !== undefined &&
    isLatin(before) &&
    isLatin(after)
  ) {
    out.push({ kind: 'zero-width-in-word', start: i, end: j, weight: 0.25 });
  }
  return j;
}
