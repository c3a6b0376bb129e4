/**
 * @module guard/detectors/ip — IPv4 (dotted quad, no leading zeros) and IPv6 (RFC 4291 text
 * forms, `::` compression and embedded IPv4 included; RFC 5952 case-insensitive).
 *
 * Version strings are not addresses: a dotted quad glued to a letter or `/` (`v1.2.3.4`,
 * `Chrome/120.0.0.1`), part of a longer dotted run (`1.2.3.4.5`), or right after a word such as
 * `version`, `ver`, `v`, `build`, `release` is not reported. A bare `1.2.3.4` elsewhere is.
 * An IPv6 candidate must contain a digit (`dead::beef` is far likelier to be code) and is not
 * taken from inside a longer `::` chain such as `std::vector::at`.
 */
import type { Detector, Finding } from '../types.js';
import { codeAt, isAlpha, isDigit, isHex, isWordChar } from './chars.js';
import { withGate } from '../profile.js';

const VERSION_WORDS = new Set(['version', 'ver', 'v', 'build', 'release', 'rev', 'firmware']);

function octet(s: string): boolean {
  if (s.length === 0 || s.length > 3 || (s.length > 1 && s.startsWith('0'))) return false;
  for (let i = 0; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return Number(s) <= 255;
}

/** Whether `s` is a dotted-quad IPv4 address. */
export function isIpv4(s: string): boolean {
  const p = s.split('.');
  return p.length === 4 && p.every(octet);
}

/** Whether `s` is an IPv6 address in any RFC 4291 text form. */
export function isIpv6(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  let groups = s.split(':');
  let tailV4 = 0;
  const last = groups[groups.length - 1] ?? '';
  if (last.includes('.')) {
    if (!isIpv4(last)) return false;
    tailV4 = 2;
    groups = groups.slice(0, -1);
    groups.push('0'); // placeholder counted below as one of two groups
  }
  const dbl = s.indexOf('::');
  if (dbl !== -1 && s.includes('::', dbl + 1)) return false;
  if (dbl === -1) {
    if (groups.length + (tailV4 ? 1 : 0) !== 8) return false;
    return groups.every((g) => hexGroup(g));
  }
  // with "::": leading/trailing empties belong to the compression
  const [head = '', tail = ''] = s.split('::');
  const hg = head === '' ? [] : head.split(':');
  const tg = tail === '' ? [] : tail.split(':');
  if (tg.length > 0 && (tg[tg.length - 1] ?? '').includes('.')) tg[tg.length - 1] = '0';
  const count = hg.length + tg.length + (tailV4 ? 1 : 0);
  if (count > 7) return false;
  return hg.every(hexGroup) && tg.every(hexGroup);
}

function hexGroup(g: string): boolean {
  if (g.length === 0 || g.length > 4) return false;
  for (let i = 0; i < g.length; i++) if (!isHex(g.charCodeAt(i))) return false;
  return true;
}

function precededByVersionWord(text: string, i: number): boolean {
  let e = i;
  while (e > 0 && text.charCodeAt(e - 1) === 32 && i - e < 2) e--;
  let s = e;
  while (s > 0 && e - s < 9 && isAlpha(text.charCodeAt(s - 1))) s--;
  return (
    s < e && VERSION_WORDS.has(text.slice(s, e).toLowerCase()) && !isWordChar(codeAt(text, s - 1))
  );
}

/** Builds the IP address detector. */
export function ipDetector(): Detector {
  const detector: Detector = {
    name: 'ip-address',
    types: ['IP_ADDRESS'],
    maxSpan: 45,
    whitespaceFree: true,
    detect(text: string): Finding[] {
      const out: Finding[] = [];
      const n = text.length;
      let i = 0;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (!(isHex(c) || c === 58)) {
          i++;
          continue;
        }
        // maximal run of [0-9A-Fa-f:.]
        let j = i;
        let punct = false;
        while (j < n && j - i < 64) {
          const d = text.charCodeAt(j);
          if (isHex(d)) j++;
          else if (d === 58 || d === 46) {
            punct = true;
            j++;
          } else break;
        }
        if (!punct || isWordChar(codeAt(text, i - 1))) {
          // no address without "." or ":"; never start inside a word
          i = j;
          while (i < n && isWordChar(text.charCodeAt(i))) i++;
          continue;
        }
        let e = j;
        while (
          e > i &&
          (text.charCodeAt(e - 1) === 46 ||
            (text.charCodeAt(e - 1) === 58 && text.charCodeAt(e - 2) !== 58))
        )
          e--;
        const cand = text.slice(i, e);
        const before = codeAt(text, i - 1);
        const after = codeAt(text, e);
        const glued = isWordChar(before) || isWordChar(after) || j - i >= 64;
        const slashGlued = before === 47 && isWordChar(codeAt(text, i - 2));
        const trailingDotNum = after === 46 && isDigit(codeAt(text, e + 1));
        if (!glued && !slashGlued && !trailingDotNum && before !== 46 && before !== 45) {
          const colon = cand.indexOf(':');
          const v4 = colon > 0 ? cand.slice(0, colon) : '';
          if (colon !== -1 && /\d/.test(cand) && isIpv6(cand) && before !== 58 && after !== 58) {
            out.push({ type: 'IP_ADDRESS', start: i, end: e, guard: 'ip-address' });
          } else if (colon > 0 && isIpv4(v4) && /^:\d{1,5}$/.test(cand.slice(colon))) {
            // "10.0.0.1:8080": the address without its port
            if (!precededByVersionWord(text, i))
              out.push({ type: 'IP_ADDRESS', start: i, end: i + colon, guard: 'ip-address' });
          } else if (colon === -1 && isIpv4(cand) && !precededByVersionWord(text, i)) {
            out.push({ type: 'IP_ADDRESS', start: i, end: e, guard: 'ip-address' });
          }
        }
        i = j;
        while (i < n && isWordChar(text.charCodeAt(i))) i++;
      }
      return out;
    },
  };
  // IPv4 (also with a port) is four digit groups joined by three dots; IPv6 has a digit (checked
  // above) and either `::` or seven colons (six before an embedded IPv4).
  return withGate(detector, (p) => p.digitDots >= 3 || (p.colons >= 2 && p.digits >= 1));
}
