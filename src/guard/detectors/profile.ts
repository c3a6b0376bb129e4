/**
 * @module guard/detectors/profile — one cheap pass over a text that counts what the built-in
 * detectors need at the very least (digits, capitals, `@`, a `-----` run, `eyJ`, long token
 * runs), so that a scan skips every detector that cannot possibly match. Most prompts are prose:
 * no digit, no `@`, no 15-character token, and every detector but one or two is skipped.
 *
 * Each built-in detector registers its gate here (`withGate`), with a comment on why it is
 * conservative: a gate may only answer false when `detect` would return nothing. Gates belong to
 * the exact detector object they were registered with, so a copy or a wrapper of a detector has
 * none and always runs.
 */
import type { Detector } from '../types.js';

/** What the built-in detectors' gates look at; counts are of ASCII characters. */
export interface TextProfile {
  /** Digits `0-9`. */
  readonly digits: number;
  /** Capitals `A-Z`. */
  readonly upper: number;
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
}

/**
 * A detector's necessary condition: false only when `detect` cannot find anything. Gates are
 * monotone (more of any count never shuts one), so a scan may stop profiling once all are open.
 */
export type Gate = (profile: TextProfile) => boolean;

const DIGIT = 1;
const UPPER = 2;
const TOKEN = 4;

/** Character classes of the ASCII range (code units from 128 up are in none). */
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[0-9]/.test(ch)) CLASS[c] = DIGIT | TOKEN;
  else if (/[A-Z]/.test(ch)) CLASS[c] = UPPER | TOKEN;
  else if (/[a-z_~.+/=-]/.test(ch)) CLASS[c] = TOKEN;
}

/** Code units between two `enough` checks. */
const BLOCK = 256;

/**
 * Profiles `text` in one pass over its code units. With `enough`, counting may stop early, at a
 * block boundary where `enough` holds: the counts are then those of a prefix, each at most the
 * whole text's (for a monotone question such as "is every gate open?", the answer is the same).
 */
export function profileText(text: string, enough?: (p: TextProfile) => boolean): TextProfile {
  // locals, not fields, in the hot loop; a profile object is made at each check and at the end
  let digits = 0;
  let upper = 0;
  let colons = 0;
  let digitDots = 0;
  let at = false;
  let dashes = false;
  let eyJ = false;
  let tokenRun = 0;
  let run = 0;
  let dashRun = 0;
  let prev = -1; // the code unit before `c`
  let prev2 = -1;
  const n = text.length;
  for (let from = 0; from < n; from += BLOCK) {
    if (from > 0 && enough !== undefined) {
      const p = { digits, upper, colons, digitDots, at, dashes, eyJ, tokenRun };
      if (enough(p)) return p;
    }
    const to = Math.min(n, from + BLOCK);
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      const cls = c < 128 ? (CLASS[c] ?? 0) : 0;
      if ((cls & TOKEN) !== 0) {
        run++;
        if (run > tokenRun) tokenRun = run;
      } else run = 0;
      if ((cls & DIGIT) !== 0) digits++;
      else if ((cls & UPPER) !== 0) {
        upper++;
        if (c === 74 && prev === 121 && prev2 === 101) eyJ = true; // "eyJ"
      } else if (c === 45) {
        dashRun++;
        if (dashRun >= 5) dashes = true;
      } else if (c === 58) colons++;
      else if (c === 64) at = true;
      else if (c === 46 && prev >= 48 && prev <= 57) {
        const next = i + 1 < n ? text.charCodeAt(i + 1) : -1;
        if (next >= 48 && next <= 57) digitDots++;
      }
      if (c !== 45) dashRun = 0;
      prev2 = prev;
      prev = c;
    }
  }
  return { digits, upper, colons, digitDots, at, dashes, eyJ, tokenRun };
}

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
