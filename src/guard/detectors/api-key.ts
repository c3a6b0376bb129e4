/**
 * @module guard/detectors/api-key — API keys and tokens of common providers, each recognised by
 * its fixed prefix and exact alphabet/length (every quantifier bounded, every pattern anchored on
 * a literal prefix, so matching is linear), plus the checksum where the format has one (GitHub
 * and npm: CRC32 of the random part, base62). AWS secret access keys have no prefix: a 40-char
 * base64 token is reported only within 160 characters after an AWS key id or a `secret` keyword,
 * and only with mixed case and a digit (git SHAs and hex hashes never qualify).
 */
import { crc32 } from 'node:zlib';
import type { Detector, Finding } from '../types.js';
import { withGate } from '../profile.js';

interface Rule {
  readonly re: RegExp;
  readonly check?: (m: string) => boolean;
}

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** base62 of a 32-bit number, left-padded to 6 characters (GitHub/npm token checksum). */
export function base62Checksum(data: string): string {
  let n = crc32(data) >>> 0;
  let s = '';
  while (n > 0) {
    s = B62.charAt(n % 62) + s;
    n = Math.floor(n / 62);
  }
  return s.padStart(6, '0');
}

function crcOk(token: string): boolean {
  const body = token.slice(token.indexOf('_') + 1);
  return base62Checksum(body.slice(0, -6)) === body.slice(-6);
}

const L = '(?<![A-Za-z0-9_-])';
const R = '(?![A-Za-z0-9_-])';

const RULES: readonly Rule[] = [
  {
    re: new RegExp(
      `${L}(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z2-7]{16}${R}`,
      'g',
    ),
  },
  { re: new RegExp(`${L}AIza[0-9A-Za-z_-]{35}${R}`, 'g') },
  { re: new RegExp(`${L}ya29\\.[0-9A-Za-z_-]{20,1024}${R}`, 'g') },
  { re: /(?<![A-Za-z0-9+/])AccountKey=[A-Za-z0-9+/]{86}==/g },
  { re: new RegExp(`${L}[A-Za-z0-9_~.-]{3}\\dQ~[A-Za-z0-9_~.-]{31,34}${R}`, 'g') },
  { re: new RegExp(`${L}(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,99}${R}`, 'g') },
  { re: new RegExp(`${L}xox[abposr]-[0-9A-Za-z-]{10,250}${R}`, 'g') },
  { re: new RegExp(`${L}xapp-\\d-[A-Z0-9]{9,12}-\\d{10,14}-[a-f0-9]{40,80}${R}`, 'g') },
  { re: new RegExp(`${L}gh[pousr]_[A-Za-z0-9]{36}${R}`, 'g'), check: crcOk },
  { re: new RegExp(`${L}github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}${R}`, 'g') },
  { re: new RegExp(`${L}glpat-[0-9A-Za-z_-]{20,64}${R}`, 'g') },
  { re: new RegExp(`${L}sk-ant-(?:api|admin)\\d\\d-[A-Za-z0-9_-]{80,120}${R}`, 'g') },
  { re: new RegExp(`${L}sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,200}${R}`, 'g') },
  { re: new RegExp(`${L}sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}${R}`, 'g') },
  { re: new RegExp(`${L}sk-[A-Za-z0-9]{48}${R}`, 'g') },
  { re: new RegExp(`${L}(?:AC|SK)[0-9a-f]{32}${R}`, 'g') },
  { re: new RegExp(`${L}SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}${R}`, 'g') },
  { re: new RegExp(`${L}npm_[A-Za-z0-9]{36}${R}`, 'g'), check: crcOk },
  { re: new RegExp(`${L}hf_[A-Za-z0-9]{34}${R}`, 'g') },
];

const AWS_CONTEXT = /AKIA|ASIA|secret|SecretAccessKey|aws_secret/gi;
const AWS_SECRET = /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40}(?![A-Za-z0-9+/=])/g;

/**
 * Every match of every rule above (and every AWS secret) consists of `[A-Za-z0-9_~.+/=-]` only
 * (lookarounds are not part of a match) and is at least 15 long, the shortest being `xoxb-` and
 * ten characters: a text without such a run holds no key.
 */
const MIN_KEY_RUN = 15;

function mixed(s: string): boolean {
  return /[a-z]/.test(s) && /[A-Z]/.test(s) && /\d/.test(s);
}

/** Builds the API key detector. */
export function apiKeyDetector(): Detector {
  const detector: Detector = {
    name: 'api-key',
    types: ['API_KEY'],
    maxSpan: 1100,
    whitespaceFree: true,
    detect(text: string): Finding[] {
      const out: Finding[] = [];
      // exec on the shared regexes (reset first) rather than matchAll, which clones each per call
      for (const rule of RULES) {
        const re = rule.re;
        re.lastIndex = 0;
        for (let m = re.exec(text); m !== null; m = re.exec(text)) {
          if (rule.check !== undefined && !rule.check(m[0])) continue;
          out.push({
            type: 'API_KEY',
            start: m.index,
            end: m.index + m[0].length,
            guard: 'api-key',
          });
        }
      }
      const ctx: number[] = [];
      AWS_CONTEXT.lastIndex = 0;
      for (let m = AWS_CONTEXT.exec(text); m !== null; m = AWS_CONTEXT.exec(text))
        ctx.push(m.index + m[0].length);
      if (ctx.length > 0) {
        let k = 0;
        AWS_SECRET.lastIndex = 0;
        for (let m = AWS_SECRET.exec(text); m !== null; m = AWS_SECRET.exec(text)) {
          while (k + 1 < ctx.length && (ctx[k + 1] ?? Infinity) <= m.index) k++;
          const near = ctx[k];
          if (near === undefined || near > m.index || m.index - near > 160 || !mixed(m[0]))
            continue;
          out.push({ type: 'API_KEY', start: m.index, end: m.index + 40, guard: 'api-key' });
        }
      }
      out.sort((a, b) => a.start - b.start || b.end - a.end);
      // two rules can match one key (legacy OpenAI keys): keep one finding per start
      return out.filter((f, i) => i === 0 || (out[i - 1]?.start ?? -1) !== f.start);
    },
  };
  return withGate(detector, (p) => p.tokenRun >= MIN_KEY_RUN);
}
