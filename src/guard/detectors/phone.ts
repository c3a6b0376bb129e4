/**
 * @module guard/detectors/phone — telephone numbers: international (`+CC …`, E.164, 8–15
 * digits, a real country code) and national formats with a trunk `0` (UK, DE, FR, IT, NL, JP,
 * AU, CN landlines…) or a country's own shape (US/CA NXX-NXX-XXXX, ES, IT mobile, IN, CN mobile,
 * BR). A national number must be written with separators: an undelimited digit run is an id,
 * a timestamp or an amount far more often than a phone number. Dates, times, versions and IPs
 * are rejected by their shape (digit counts, `:` and dotted neighbours).
 */
import type { Detector, Finding } from '../types.js';
import { codeAt, isDigit, isWordChar, nextMatch } from './chars.js';
import { withGate } from '../profile.js';

const MAX_SPAN = 32;
/** Where a number can start: a digit, or `+` / `(` before one. */
const START = /[0-9]|[+(](?=[0-9])/g;

/** ITU-T E.164 country calling codes (1–3 digits). */
const CC = new Set(
  (
    '1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 ' +
    '63 64 65 66 81 82 84 86 90 91 92 93 94 95 98 211 212 213 216 218 220 221 222 223 224 225 ' +
    '226 227 228 229 230 231 232 233 234 235 236 237 238 239 240 241 242 243 244 245 246 248 ' +
    '249 250 251 252 253 254 255 256 257 258 260 261 262 263 264 265 266 267 268 269 290 291 ' +
    '297 298 299 350 351 352 353 354 355 356 357 358 359 370 371 372 373 374 375 376 377 378 ' +
    '380 381 382 383 385 386 387 389 420 421 423 500 501 502 503 504 505 506 507 508 509 590 ' +
    '591 592 593 594 595 596 597 598 599 670 672 673 674 675 676 677 678 679 680 681 682 683 ' +
    '685 686 687 688 689 690 691 692 850 852 853 855 856 880 886 960 961 962 963 964 965 966 ' +
    '967 968 970 971 972 973 974 975 976 977 992 993 994 995 996 998'
  ).split(' '),
);

function isSep(c: number): boolean {
  return c === 32 || c === 45 || c === 46 || c === 47;
}

interface Run {
  readonly end: number;
  readonly groups: string[];
  readonly seps: string;
  readonly paren: boolean; // first group in parentheses
  readonly trunkParen: boolean; // an "(0)" after the country code
}

function readRun(text: string, start: number, plus: boolean): Run {
  const groups: string[] = [];
  let seps = '';
  let j = plus ? start + 1 : start;
  let cur = '';
  let paren = false;
  let trunkParen = false;
  let lastGood = j;
  const limit = Math.min(text.length, start + MAX_SPAN);
  while (j < limit) {
    const c = text.charCodeAt(j);
    if (isDigit(c)) {
      cur += text.charAt(j);
      j++;
      lastGood = j;
      continue;
    }
    if (c === 40) {
      // "(" opens an area code: "(415) 555-2671", "+44 (0)20 …"
      let close = j + 1;
      while (close < limit && close - j <= 5 && text.charCodeAt(close) !== 41) close++;
      if (codeAt(text, close) !== 41 || close - j > 5 || close === j + 1) break;
      const inner = text.slice(j + 1, close);
      if (!/^\d{1,4}$/.test(inner)) break;
      if (cur !== '') groups.push(cur);
      cur = '';
      if (inner === '0' && plus) trunkParen = true;
      else {
        if (groups.length === 0) paren = true;
        groups.push(inner);
      }
      j = close + 1;
      lastGood = j;
      if (codeAt(text, j) === 32 || codeAt(text, j) === 45) j++;
      continue;
    }
    if (isSep(c) && cur !== '' && (isDigit(codeAt(text, j + 1)) || codeAt(text, j + 1) === 40)) {
      groups.push(cur);
      cur = '';
      seps += text.charAt(j);
      j++;
      continue;
    }
    if (c === 32 && cur === '' && plus && groups.length === 0) break;
    break;
  }
  if (cur !== '') groups.push(cur);
  return { end: lastGood, groups, seps, paren, trunkParen };
}

function validCountryCode(digits: string): boolean {
  return CC.has(digits.slice(0, 1)) || CC.has(digits.slice(0, 2)) || CC.has(digits.slice(0, 3));
}

function shape(groups: readonly string[]): string {
  return groups.map((g) => g.length).join(',');
}

function nationalOk(run: Run): boolean {
  const { groups, seps } = run;
  if (groups.length < 2) return false;
  const d = groups.join('');
  const s = shape(groups);
  const first = groups[0] ?? '';
  const dotted = seps.includes('.');
  // US / CA (NANP), optionally with the leading 1
  const nanp = first === '1' && groups.length === 4 ? groups.slice(1) : groups;
  if (shape(nanp) === '3,3,4') {
    const a = nanp[0] ?? '';
    const x = nanp[1] ?? '';
    if (!a.startsWith('0') && !a.startsWith('1') && !x.startsWith('0') && !x.startsWith('1'))
      return true;
  }
  if (d.startsWith('0') && d[1] !== '0') {
    // trunk prefix: every group at least two digits, 9–12 digits in all
    if (d.length < 9 || d.length > 12 || first.length > 5) return false;
    if (groups.some((g) => g.length < 2)) return false;
    return !(dotted && groups.length === 3 && s === '2,2,4');
  }
  if (dotted) return false;
  if (/^[6-9]/.test(d) && (s === '3,3,3' || s === '3,2,2,2')) return true; // ES
  if (d.startsWith('3') && (s === '3,7' || s === '3,3,4')) return true; // IT mobile
  if (/^[6-9]/.test(d) && s === '5,5') return true; // IN mobile
  if (/^1[3-9]/.test(d) && s === '3,4,4') return true; // CN mobile
  if (run.paren && first.length === 2 && !first.startsWith('0') && (s === '2,4,4' || s === '2,5,4'))
    return true; // BR
  return false;
}

/** Builds the phone number detector. */
export function phoneDetector(): Detector {
  const detector: Detector = {
    name: 'phone',
    types: ['PHONE'],
    maxSpan: MAX_SPAN,
    detect(text: string): Finding[] {
      const out: Finding[] = [];
      const n = text.length;
      let i = 0;
      while (i < n) {
        const c = text.charCodeAt(i);
        const plus = c === 43 && isDigit(codeAt(text, i + 1));
        if (!(plus || isDigit(c) || (c === 40 && isDigit(codeAt(text, i + 1))))) {
          i = nextMatch(START, text, i + 1);
          continue;
        }
        const b = codeAt(text, i - 1);
        if (isWordChar(b) || b === 43 || ((isSep(b) || b === 58) && isDigit(codeAt(text, i - 2)))) {
          i = skipDigits(text, i);
          continue;
        }
        const run = readRun(text, i, plus);
        const a = codeAt(text, run.end);
        const a2 = codeAt(text, run.end + 1);
        const cleanEnd =
          !isWordChar(a) && !((isSep(a) || a === 58 || a === 44) && isDigit(a2)) && a !== 41;
        const digits = run.groups.join('');
        let ok = false;
        if (cleanEnd && plus) {
          ok = digits.length >= 8 && digits.length <= 15 && validCountryCode(digits);
        } else if (cleanEnd) {
          ok = nationalOk(run);
        }
        if (ok) {
          out.push({ type: 'PHONE', start: i, end: run.end, guard: 'phone' });
          i = run.end;
        } else i = Math.max(skipDigits(text, i), run.end, i + 1);
      }
      return out;
    },
  };
  // International numbers have 8 digits or more, national ones 9 or more (every nationalOk
  // shape), and no two digits of one are more than 3 code units apart: `4 (0`, `0) 2`, and at
  // most `) (` (a separator after a parenthesised group, then another group).
  return withGate(detector, (p) => p.digitRun >= 8);
}

function skipDigits(text: string, i: number): number {
  let j = i + 1;
  while (j < text.length && (isDigit(text.charCodeAt(j)) || isSep(text.charCodeAt(j)))) j++;
  return j;
}
