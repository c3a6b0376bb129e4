/**
 * @module guard/detectors/card — payment card numbers: 13–19 digits, compact or grouped with
 * spaces or dashes (one kind per number), an issuer (IIN) range that issues that length, and a
 * valid Luhn check digit. Order numbers and ids that fail any of the three are not reported.
 */
import type { Detector, Finding } from '../types.js';
import { codeAt, isDigit, isWordChar, luhn, nextMatch } from './chars.js';
import { withGate } from '../profile.js';

const MAX_DIGITS = 19;
/** Where a number can start. */
const DIGIT = /[0-9]/g;

/** Whether `d` (digits only) starts with an IIN range that issues cards of its length. */
export function validIin(d: string): boolean {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  const p6 = Number(d.slice(0, 6));
  if (d.startsWith('4')) return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // Amex
  if (p4 >= 2200 && p4 <= 2204) return n >= 16 && n <= 19; // Mir
  if (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65 || (p6 >= 622126 && p6 <= 622925))
    return n >= 16 && n <= 19; // Discover
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19; // JCB
  if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) return n >= 14 && n <= 19; // Diners
  if (p2 === 62) return n >= 16 && n <= 19; // UnionPay
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return n >= 13 && n <= 19; // Maestro
  return false;
}

/** Builds the payment card detector. */
export function cardDetector(): Detector {
  const detector: Detector = {
    name: 'credit-card',
    types: ['CREDIT_CARD'],
    maxSpan: MAX_DIGITS * 2,
    detect(text: string): Finding[] {
      const out: Finding[] = [];
      const n = text.length;
      let i = 0;
      while (i < n) {
        if (!isDigit(text.charCodeAt(i))) {
          i = nextMatch(DIGIT, text, i);
          continue;
        }
        if (isWordChar(codeAt(text, i - 1)) || dottedBefore(text, i)) {
          i++;
          continue;
        }
        // maximal run of digits with single separators of one kind
        let j = i;
        let count = 0;
        let sep = -1;
        const cuts: { end: number; len: number }[] = [];
        while (j < n && count <= MAX_DIGITS) {
          const c = text.charCodeAt(j);
          if (isDigit(c)) {
            count++;
            j++;
            continue;
          }
          if ((c === 32 || c === 45) && (sep === -1 || sep === c) && isDigit(codeAt(text, j + 1))) {
            cuts.push({ end: j, len: count });
            sep = c;
            j++;
            continue;
          }
          break;
        }
        if (count < 13) {
          // every candidate below is a prefix of the run's digits: none is long enough
          i = Math.max(j, i + 1);
          continue;
        }
        cuts.push({ end: j, len: count });
        // the run is digits and separators of the one kind `sep`
        const run = text.slice(i, j);
        const digits = sep === -1 ? run : run.replaceAll(String.fromCharCode(sep), '');
        const trailing = codeAt(text, j);
        const cleanEnd =
          !isWordChar(trailing) && !(trailing === 46 && isDigit(codeAt(text, j + 1)));
        for (let k = cuts.length - 1; k >= 0; k--) {
          const cut = cuts[k];
          if (cut === undefined) continue;
          if (k === cuts.length - 1 && !cleanEnd) continue;
          const d = digits.slice(0, cut.len);
          if (d.length >= 13 && d.length <= MAX_DIGITS && validIin(d) && luhn(d)) {
            out.push({ type: 'CREDIT_CARD', start: i, end: cut.end, guard: 'credit-card' });
            break;
          }
        }
        i = Math.max(j, i + 1);
      }
      return out;
    },
  };
  // A reported number is 13 digits or more, one separator at most between two of them.
  return withGate(detector, (p) => p.digitRun >= 13);
}

function dottedBefore(text: string, i: number): boolean {
  const b = codeAt(text, i - 1);
  return (b === 46 || b === 45 || b === 47) && isDigit(codeAt(text, i - 2));
}
