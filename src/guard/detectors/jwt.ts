/**
 * @module guard/detectors/jwt — JSON Web Tokens in compact serialisation (JWS: three base64url
 * parts; JWE: five): the header must decode to a JSON object with a string `alg`, so random
 * dotted base64 (hashes, blobs) is not reported.
 */
import type { Detector, Finding } from '../types.js';
import { codeAt, isBase64Url } from './chars.js';
import { withGate } from '../profile.js';

const MAX_PART = 8 * 1024;
const MAX_SPAN = 5 * MAX_PART + 4;

function headerOk(part: string): boolean {
  if (part.length > 2048) return false;
  try {
    const json: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return (
      typeof json === 'object' &&
      json !== null &&
      typeof (json as { alg?: unknown }).alg === 'string'
    );
  } catch {
    return false;
  }
}

/** Builds the JWT detector. */
export function jwtDetector(): Detector {
  const detector: Detector = {
    name: 'jwt',
    types: ['JWT'],
    maxSpan: MAX_SPAN,
    whitespaceFree: true,
    detect(text: string): Finding[] {
      const out: Finding[] = [];
      for (let s = text.indexOf('eyJ'); s !== -1; s = text.indexOf('eyJ', s + 1)) {
        if (isBase64Url(codeAt(text, s - 1)) || codeAt(text, s - 1) === 46) continue;
        const ends: number[] = [];
        let j = s;
        let partStart = s;
        while (j < text.length && ends.length < 5) {
          const c = text.charCodeAt(j);
          if (isBase64Url(c) && j - partStart < MAX_PART) {
            j++;
            continue;
          }
          ends.push(j);
          if (c === 46 && ends.length < 5) {
            j++;
            partStart = j;
            continue;
          }
          break;
        }
        if (j >= text.length && ends[ends.length - 1] !== j) ends.push(j);
        const parts = ends.length;
        if (parts !== 3 && parts !== 5) {
          s = Math.max(s, j - 1);
          continue;
        }
        const end = ends[parts - 1] ?? j;
        if (
          isBase64Url(codeAt(text, end)) ||
          (codeAt(text, end) === 46 && isBase64Url(codeAt(text, end + 1))) ||
          !headerOk(text.slice(s, ends[0]))
        ) {
          s = Math.max(s, end - 1);
          continue;
        }
        const payloadLen = (ends[1] ?? 0) - (ends[0] ?? 0) - 1;
        if (payloadLen < 2) continue;
        out.push({ type: 'JWT', start: s, end, guard: 'jwt' });
        s = end - 1;
      }
      return out;
    },
  };
  // Every token starts at an `eyJ`; detect looks at nothing else.
  return withGate(detector, (p) => p.eyJ);
}
