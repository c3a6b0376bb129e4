/**
 * @module guard/detectors/ssn — US Social Security numbers written `AAA-GG-SSSS` (or with
 * spaces): area 001–899 except 666, group 01–99, serial 0001–9999 (SSA rules). Undelimited
 * nine-digit runs are not reported: without a separator they are indistinguishable from ids.
 */
import type { Detector, Finding } from '../types.js';
import { codeAt, isDigit, isWordChar } from './chars.js';
import { withGate } from '../profile.js';

const RE = /(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w]|-\d)/g;

/** Builds the US SSN detector. */
export function ssnDetector(): Detector {
  const detector: Detector = {
    name: 'us-ssn',
    types: ['US_SSN'],
    maxSpan: 11,
    detect(text: string): Finding[] {
      const out: Finding[] = [];
      // exec on the shared regex (reset first) rather than matchAll, which clones it per call
      RE.lastIndex = 0;
      for (let m = RE.exec(text); m !== null; m = RE.exec(text)) {
        const area = Number(m[1]);
        const group = Number(m[3]);
        const serial = Number(m[4]);
        if (area === 0 || area === 666 || area >= 900 || group === 0 || serial === 0) continue;
        const start = m.index;
        // a dotted or slashed neighbour means a longer number (date, version)
        const before = codeAt(text, start - 1);
        const after = codeAt(text, start + 11);
        if ((before === 46 || before === 47) && isDigit(codeAt(text, start - 2))) continue;
        if ((after === 46 || after === 47) && isDigit(codeAt(text, start + 12))) continue;
        if (isWordChar(before)) continue;
        out.push({ type: 'US_SSN', start, end: start + 11, guard: 'us-ssn' });
      }
      return out;
    },
  };
  // `AAA-GG-SSSS` holds nine digits, one separator at most between two of them.
  return withGate(detector, (p) => p.digitRun >= 9);
}
