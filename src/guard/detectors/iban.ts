/**
 * @module guard/detectors/iban — IBANs (ISO 13616): country code, two check digits and a BBAN
 * of the registered length for that country, compact or in groups of four, valid mod 97.
 */
import type { Detector, Finding } from '../types.js';
import { codeAt, isAlnum, isDigit, isWordChar, nextMatch } from './chars.js';
import { withGate } from '../profile.js';

/** Registered IBAN lengths per country (SWIFT IBAN registry). */
const LENGTHS = new Map<string, number>(
  Object.entries({
    AD: 24,
    AE: 23,
    AL: 28,
    AT: 20,
    AZ: 28,
    BA: 20,
    BE: 16,
    BG: 22,
    BH: 22,
    BI: 27,
    BR: 29,
    BY: 28,
    CH: 21,
    CR: 22,
    CY: 28,
    CZ: 24,
    DE: 22,
    DJ: 27,
    DK: 18,
    DO: 28,
    EE: 20,
    EG: 29,
    ES: 24,
    FI: 18,
    FK: 18,
    FO: 18,
    FR: 27,
    GB: 22,
    GE: 22,
    GI: 23,
    GL: 18,
    GR: 27,
    GT: 28,
    HR: 21,
    HU: 28,
    IE: 22,
    IL: 23,
    IQ: 23,
    IS: 26,
    IT: 27,
    JO: 30,
    KW: 30,
    KZ: 20,
    LB: 28,
    LC: 32,
    LI: 21,
    LT: 20,
    LU: 20,
    LV: 21,
    LY: 25,
    MC: 27,
    MD: 24,
    ME: 22,
    MK: 19,
    MN: 20,
    MR: 27,
    MT: 31,
    MU: 30,
    NI: 28,
    NL: 18,
    NO: 15,
    OM: 23,
    PK: 24,
    PL: 28,
    PS: 29,
    PT: 25,
    QA: 29,
    RO: 24,
    RS: 22,
    RU: 33,
    SA: 24,
    SC: 31,
    SD: 18,
    SE: 24,
    SI: 19,
    SK: 24,
    SM: 27,
    SO: 23,
    ST: 25,
    SV: 28,
    TL: 23,
    TN: 24,
    TR: 26,
    UA: 29,
    VA: 22,
    VG: 24,
    XK: 20,
    YE: 30,
  }),
);

/** Where an IBAN can start: country code and check digits. */
const START = /[A-Z]{2}[0-9]{2}/g;

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

/** ISO 7064 mod 97-10 over an IBAN in compact upper-case form. */
export function ibanMod97(iban: string): boolean {
  const s = iban.slice(4) + iban.slice(0, 4);
  let r = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isDigit(c)) r = (r * 10 + (c - 48)) % 97;
    else if (isUpper(c)) r = (r * 100 + (c - 55)) % 97;
    else return false;
  }
  return r === 1;
}

/** Builds the IBAN detector. */
export function ibanDetector(): Detector {
  const detector: Detector = {
    name: 'iban',
    types: ['IBAN'],
    maxSpan: 34 + 8,
    detect(text: string): Finding[] {
      const out: Finding[] = [];
      const n = text.length;
      for (let i = nextMatch(START, text, 0); i + 3 < n; i = nextMatch(START, text, i + 1)) {
        // START matched at i: two capitals, then two digits
        const c0 = text.charCodeAt(i);
        if (isWordChar(codeAt(text, i - 1))) continue;
        const len = LENGTHS.get(text.slice(i, i + 2));
        if (len === undefined) continue;
        // mod 97 over BBAN then country code and check digits, computed while scanning
        let r = 0;
        let count = 4;
        let j = i + 4;
        let sinceSep = 4;
        while (j < n && count < len) {
          const c = text.charCodeAt(j);
          if (isAlnum(c)) {
            r = isDigit(c) ? (r * 10 + (c - 48)) % 97 : (r * 100 + ((c | 32) - 87)) % 97;
            count++;
            sinceSep++;
            j++;
          } else if (c === 32 && sinceSep === 4 && isAlnum(codeAt(text, j + 1))) {
            sinceSep = 0;
            j++;
          } else break;
        }
        if (count !== len || isAlnum(codeAt(text, j))) continue;
        r = (r * 100 + (c0 - 55)) % 97;
        r = (r * 100 + (text.charCodeAt(i + 1) - 55)) % 97;
        r = (r * 100 + (text.charCodeAt(i + 2) - 48) * 10 + (text.charCodeAt(i + 3) - 48)) % 97;
        if (r !== 1) continue;
        out.push({ type: 'IBAN', start: i, end: j, guard: 'iban' });
        i = j - 1;
      }
      return out;
    },
  };
  // An IBAN starts with two capitals (the country) and two digits (the check): START.
  return withGate(detector, (p) => p.ibanStart);
}
