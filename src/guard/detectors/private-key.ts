/**
 * @module guard/detectors/private-key — PEM private keys of every kind (`-----BEGIN … PRIVATE
 * KEY-----`: PKCS#1 RSA, SEC1 EC, DSA, PKCS#8, encrypted PKCS#8, OpenSSH, PuTTY-less PGP
 * `PRIVATE KEY BLOCK`). The whole block is reported, header to footer; a block whose footer is
 * missing (truncated paste, stream still open) is reported up to the end of its base64 body.
 */
import type { Detector, Finding } from '../types.js';
import { withGate } from '../profile.js';

const BEGIN = '-----BEGIN ';
const END = '-----END ';
const DASHES = '-----';
/** An RSA-8192 PKCS#8 PEM is ~6.5 KB; allow generous headers (Proc-Type, DEK-Info). */
const MAX_SPAN = 16 * 1024;
const LABEL = /^[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?$/;

function isBodyChar(c: number): boolean {
  return (
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    (c >= 48 && c <= 57) ||
    c === 43 ||
    c === 47 ||
    c === 61 ||
    c === 10 ||
    c === 13 ||
    c === 32 ||
    c === 9 ||
    c === 58 ||
    c === 44 ||
    c === 45
  );
}

/** Builds the private key detector. */
export function privateKeyDetector(): Detector {
  const detector: Detector = {
    name: 'private-key',
    types: ['PRIVATE_KEY'],
    maxSpan: MAX_SPAN,
    openFrom(text: string): number | undefined {
      // The last header with no complete footer after it begins a block that may still grow.
      const begin = text.lastIndexOf(BEGIN);
      if (begin === -1 || text.length - begin > MAX_SPAN) return undefined;
      const end = text.indexOf(END, begin);
      if (end !== -1 && text.includes(DASHES, end + END.length)) return undefined;
      return begin;
    },
    detect(text: string): Finding[] {
      const out: Finding[] = [];
      // every footer position, found once, so each header's footer lookup is O(1) amortised
      const ends: number[] = [];
      for (let p = text.indexOf(END); p !== -1; p = text.indexOf(END, p + 1)) ends.push(p);
      let ei = 0;
      let from = 0;
      for (let b = text.indexOf(BEGIN); b !== -1; b = text.indexOf(BEGIN, Math.max(b + 1, from))) {
        const labelStart = b + BEGIN.length;
        const labelEnd = text.indexOf(DASHES, labelStart);
        if (labelEnd === -1 || labelEnd - labelStart > 60) continue;
        const label = text.slice(labelStart, labelEnd);
        if (!LABEL.test(label)) continue;
        const bodyStart = labelEnd + DASHES.length;
        while (ei < ends.length && (ends[ei] ?? 0) < bodyStart) ei++;
        const footer = ends[ei];
        const want = END + label + DASHES;
        let end = -1;
        if (footer !== undefined && footer - b <= MAX_SPAN && text.startsWith(want, footer)) {
          end = footer + want.length;
        } else {
          let e = bodyStart;
          while (e < text.length && e - b < MAX_SPAN && isBodyChar(text.charCodeAt(e))) e++;
          while (e > bodyStart && /\s/.test(text[e - 1] ?? '')) e--;
          end = e;
        }
        out.push({ type: 'PRIVATE_KEY', start: b, end, guard: 'private-key' });
        from = end;
      }
      return out;
    },
  };
  // Every block starts with `-----BEGIN `: five dashes in a row.
  return withGate(detector, (p) => p.dashes);
}
