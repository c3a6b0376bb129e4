/**
 * @module guard/detectors/email — e-mail addresses (RFC 5321 dot-atom local part, DNS domain
 * with an alphabetic TLD). Scans outward from each `@`, so the cost is bounded per `@`.
 */
import type { Detector, Finding } from '../types.js';
import { isAlnum, isAlpha, codeAt } from './chars.js';
import { withGate } from '../profile.js';

const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;

function isLocalChar(c: number): boolean {
  // dot-atom atext without the rarely-used `{|}~'` etc. that mostly appear in code.
  return isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
}

function isDomainChar(c: number): boolean {
  return isAlnum(c) || c === 45 || c === 46;
}

/** Builds the e-mail detector. */
export function emailDetector(): Detector {
  const detector: Detector = {
    name: 'email',
    types: ['EMAIL'],
    maxSpan: MAX_LOCAL + 1 + MAX_DOMAIN,
    whitespaceFree: true,
    detect(text: string): Finding[] {
      const out: Finding[] = [];
      let at = text.indexOf('@');
      let lastEnd = 0;
      while (at !== -1) {
        let s = at;
        while (s > lastEnd && at - s < MAX_LOCAL && isLocalChar(codeAt(text, s - 1))) s--;
        while (s < at && codeAt(text, s) === 46) s++; // no leading dot
        let e = at + 1;
        let dot = false;
        while (e < text.length && e - at - 1 < MAX_DOMAIN && isDomainChar(codeAt(text, e))) {
          if (text.charCodeAt(e) === 46) dot = true;
          e++;
        }
        if (!dot || s === at) {
          at = text.indexOf('@', at + 1);
          continue;
        }
        // trailing sentence punctuation is not part of the domain
        while (e > at + 1 && (codeAt(text, e - 1) === 46 || codeAt(text, e - 1) === 45)) e--;
        const local = text.slice(s, at);
        const domain = text.slice(at + 1, e);
        if (validLocal(local) && validDomain(domain) && codeAt(text, e) !== 64) {
          out.push({ type: 'EMAIL', start: s, end: e, guard: 'email' });
          lastEnd = e;
        }
        at = text.indexOf('@', at + 1);
      }
      return out;
    },
  };
  // Every address holds its `@`; detect looks at nothing else.
  return withGate(detector, (p) => p.at);
}

function validLocal(local: string): boolean {
  return local.length > 0 && !local.endsWith('.') && !local.includes('..');
}

function validDomain(domain: string): boolean {
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  for (const l of labels) {
    if (l.length === 0 || l.length > 63 || l.startsWith('-') || l.endsWith('-')) return false;
  }
  const tld = labels[labels.length - 1] ?? '';
  if (tld.length < 2 || tld.length > 24) return false;
  for (let i = 0; i < tld.length; i++) if (!isAlpha(tld.charCodeAt(i))) return false;
  return true;
}
