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

const ZERO_WIDTH = new Set([
  0x200b, 0x200c, 0x200d, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xfeff, 0x180e, 0x034f, 0x00ad,
]);
// Cheap pre-check: texts without any of these code units cannot hold a signal.
const SUSPECT =
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
  cp < 0x80 && /[A-Za-z0-9]/.test(String.fromCharCode(cp));
const isRtl = (cp: number): boolean =>
  (cp >= 0x0590 && cp <= 0x08ff) ||
  (cp >= 0xfb1d && cp <= 0xfdff) ||
  (cp >= 0xfe70 && cp <= 0xfefc);

interface CodePoint {
  readonly cp: number;
  readonly at: number;
  readonly width: number;
}

function codePoints(text: string): CodePoint[] {
  const out: CodePoint[] = [];
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i) ?? 0;
    const width = cp > 0xffff ? 2 : 1;
    out.push({ cp, at: i, width });
    i += width;
  }
  return out;
}

/** Every hidden-text signal in `text`, in one pass over its code points. */
export function findHidden(text: string): HiddenSignal[] {
  if (!SUSPECT.test(text)) return [];
  const cps = codePoints(text);
  const out: HiddenSignal[] = [];
  const hasRtl = cps.some((c) => isRtl(c.cp));
  const open: { at: number; cp: number; ascii: boolean }[] = [];
  const closeBidi = (until: number): void => {
    const o = open.pop();
    if (!o?.ascii) return;
    const override = o.cp === 0x202d || o.cp === 0x202e;
    if (override || !hasRtl)
      out.push({ kind: 'bidi-override', start: o.at, end: until, weight: override ? 0.6 : 0.35 });
  };
  for (let k = 0; k < cps.length;) {
    const c = cps[k];
    if (c === undefined) break;
    const { cp } = c;
    if (isTag(cp) || isVs(cp) || ZERO_WIDTH.has(cp)) {
      k = invisibleRun(cps, k, text, out);
      continue;
    }
    if ((cp >= 0x202a && cp <= 0x202e && cp !== 0x202c) || (cp >= 0x2066 && cp <= 0x2068)) {
      if (open.length < MAX_OPEN_BIDI) open.push({ at: c.at, cp, ascii: false });
    } else if (cp === 0x202c || cp === 0x2069) closeBidi(c.at + 1);
    else if (cp === 0x0a || cp === 0x0d || cp === 0x2029) while (open.length > 0) closeBidi(c.at);
    else if (isAsciiAlnum(cp)) for (const o of open) o.ascii = true;
    k++;
  }
  while (open.length > 0) closeBidi(text.length);
  return out;
}

/** Classifies the run of invisible code points starting at `k`; returns the index after it. */
function invisibleRun(
  cps: readonly CodePoint[],
  k: number,
  text: string,
  out: HiddenSignal[],
): number {
  let j = k;
  let tags = '';
  let tagCount = 0;
  const vsBytes: number[] = [];
  let zw = 0;
  for (; j < cps.length; j++) {
    const cp = cps[j]?.cp ?? 0;
    if (isTag(cp)) {
      tagCount++;
      if (cp >= 0xe0020 && cp <= 0xe007e) tags += String.fromCharCode(cp - 0xe0000);
    } else if (isVs(cp)) vsBytes.push(cp <= 0xfe0f ? cp - 0xfe00 : cp - 0xe0100 + 16);
    else if (ZERO_WIDTH.has(cp)) zw++;
    else break;
  }
  const first = cps[k];
  const lastCp = cps[j - 1];
  const start = first?.at ?? 0;
  const end = lastCp === undefined ? start : lastCp.at + lastCp.width;
  const before = k > 0 ? cps[k - 1]?.cp : undefined;
  const after = cps[j]?.cp;
  if (tagCount > 0) {
    const flag =
      before === BLACK_FLAG && lastCp?.cp === 0xe007f && tagCount <= 8 && /^[a-z0-9]*$/.test(tags);
    if (!flag) out.push({ kind: 'tag-smuggling', start, end, weight: 0.8, payload: tags });
    return j;
  }
  if (vsBytes.length >= 2) {
    const payload = utf8.decode(Uint8Array.from(vsBytes));
    out.push({
      kind: 'variation-smuggling',
      start,
      end,
      weight: vsBytes.length >= 4 ? 0.7 : 0.3,
      payload,
    });
    return j;
  }
  if (zw + vsBytes.length >= 3) {
    out.push({ kind: 'invisible-run', start, end, weight: 0.6 });
    return j;
  }
  const softHyphenOnly = text.slice(start, end).replaceAll('\u00ad', '') === '';
  if (
    zw > 0 &&
    !softHyphenOnly &&
    before !== undefined &&
    after !== undefined &&
    isLatin(before) &&
    isLatin(after)
  ) {
    out.push({ kind: 'zero-width-in-word', start, end, weight: 0.25 });
  }
  return j;
}
