/**
 * @module guard/detectors/profile.test — the detectors' gates are conservative: a gate answers
 * false only where its detector finds nothing (near misses at every threshold, the PII corpus,
 * random text), and a gated scan equals a scan that runs every detector.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createScanner } from '../scan.js';
import type { Detector } from '../types.js';
import { builtinDetectors } from './index.js';
import { PROMPT_KEYWORDS } from '../injection/index.js';
import { gateOf, MARKED, OPEN_PROFILE, PROFILE_CHUNK, profileText, withGate } from '../profile.js';

const detectors = builtinDetectors();
const byName = (name: string): Detector => {
  const d = detectors.find((x) => x.name === name);
  if (d === undefined) throw new Error(`no detector ${name}`);
  return d;
};
const gatePasses = (d: Detector, text: string): boolean => gateOf(d)?.(profileText(text)) ?? true;

const corpus = readFileSync(
  new URL('../../../test/fixtures/guard/pii-corpus.jsonl', import.meta.url),
  'utf8',
)
  .trim()
  .split('\n')
  .map((l) => (JSON.parse(l) as { text: string }).text);

// Pieces the detectors react to, so random texts come close to every threshold.
const piece = fc.oneof(
  fc.constantFrom(
    '@',
    '.',
    '-',
    '-----',
    '-----BEGIN PRIVATE KEY-----',
    ':',
    '::',
    ' ',
    '+',
    '(',
    ')',
    '/',
    '_',
    '=',
    '~',
    'eyJ',
    'eyJhbGciOiJub25lIn0',
    'xoxb-',
    'sk-',
    'ghp_',
    'AKIA',
    'secret',
    'NO93',
    'GB82',
    '+44',
    '4111',
    'é',
    '\u00a0',
    '😀',
  ),
  fc.stringMatching(/^[0-9]{1,6}$/),
  fc.stringMatching(/^[A-Za-z0-9]{1,12}$/),
  fc.stringMatching(/^[a-f0-9:.]{1,8}$/),
  fc.string({ maxLength: 4 }),
  fc.constantFrom(...corpus).map((l) => l.slice(0, 40)),
);
const text = fc.array(piece, { maxLength: 16 }).map((p) => p.join(''));

describe('profileText', () => {
  it('counts what the gates look at', () => {
    expect(
      profileText('Call 10.0.0.1:80 or mail a@b.io -----BEGIN eyJx sk_live_0123456789ABCD'),
    ).toEqual({
      digits: 17,
      digitRun: 10,
      upper: 11,
      ibanStart: false,
      colons: 1,
      digitDots: 3,
      at: true,
      dashes: true,
      eyJ: true,
      tokenRun: 22,
      marks: (1 << MARKED.indexOf(':')) | (1 << MARKED.indexOf('@')),
      format: false,
      formatAt: [],
    });
    expect(profileText('')).toMatchObject({ digits: 0, at: false, eyJ: false, tokenRun: 0 });
    // a run of four dashes, "ey J", a dot without digits on both sides: none counts
    expect(profileText('---- ey J 1. .2 é')).toMatchObject({
      dashes: false,
      eyJ: false,
      digitDots: 0,
    });
  });

  it('may stop at a block boundary once `enough` holds, counting a prefix', () => {
    const text = 'a'.repeat(256) + '1'.repeat(1000);
    expect(profileText(text, () => true).digits).toBe(0);
    expect(profileText(text, (p) => p.digits >= 300).digits).toBe(512);
    expect(profileText(text, () => false).digits).toBe(1000);
    expect(profileText(text).digits).toBe(1000);
  });

  it('reads a text of several chunks as one: what straddles a chunk boundary counts', () => {
    // each feature placed across the boundary of the units copied at a time
    const across = (feature: string, k = 1) =>
      'a'.repeat(PROFILE_CHUNK * k - Math.floor(feature.length / 2)) + feature + ' tail';
    expect(profileText(across('eyJ')).eyJ).toBe(true);
    expect(profileText(across('-----', 2)).dashes).toBe(true);
    expect(profileText(across(' 4111 ')).digitRun).toBe(4);
    expect(profileText(across(' GB82 ')).ibanStart).toBe(true);
    expect(profileText(across(' 1.2 ')).digitDots).toBe(1);
    expect(profileText(across('\u200b')).formatAt).toEqual([PROFILE_CHUNK]);
    const long = profileText('x '.repeat(PROFILE_CHUNK) + 'y'.repeat(PROFILE_CHUNK + 7));
    expect(long).toMatchObject({ tokenRun: PROFILE_CHUNK + 7, upper: 0, format: false });
    expect(profileText(across('ignore', 3), undefined, PROMPT_KEYWORDS).keyword).toBe(true);
    expect(profileText(across('ignor', 3), undefined, PROMPT_KEYWORDS).keyword).toBe(false);
    // and a lone surrogate at a boundary is read as the unit it is (the high half of the tag
    // block starts hidden text; a copy that replaced it with U+FFFD would not list it)
    expect(profileText(across('\udb40')).formatAt).toEqual([PROFILE_CHUNK]);
  });
});

describe('detector gates', () => {
  it('gives every built-in detector a gate; a copy of a detector has none', () => {
    for (const d of detectors) expect(gateOf(d), d.name).toBeTypeOf('function');
    expect(gateOf({ ...byName('email') })).toBeUndefined();
    const custom = withGate({ ...byName('email') }, () => false);
    expect(createScanner([custom]).scan('a@b.io')).toEqual([]);
  });

  it.each([
    // [detector, the smallest text it finds something in, a near miss just under the gate]
    ['email', 'a@b.co', 'a(at)b.co'],
    ['private-key', '-----BEGIN PRIVATE KEY-----\nMIIB', '----BEGIN PRIVATE KEY----\nMIIB'],
    // the same kind of token, its header JSON starting with a newline: not `eyJ`, not reported
    ['jwt', 'eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.', 'ewogImFsZyI6Im5vbmUifQ.ewoieCI6MX0.'],
    ['api-key', 'xoxb-0123456789', 'xoxb-012345678'],
    ['credit-card', '4222222222222', '422222222222'],
    // 13 digits in all, but two stretches: digits more than three code units apart
    ['credit-card', '4222 2222 2222 2', '4222 2222 2222 .. 2'],
    ['iban', 'NO9386011117947', 'no9386011117947'],
    ['iban', 'NO9386011117947', 'NO 9386011117947 N0 93'],
    ['us-ssn', '078-05-1120', '078-05-112'],
    ['us-ssn', '078 05 1120', '078 05 1 x  120'],
    ['ip-address', '1.2.3.4', '1.2.3'],
    ['ip-address', '::1', 'a::b'],
    ['phone', '+1 234 5678', '+1 234 567'],
    // the widest gap a phone number has: `) (`, a separator between two parenthesised groups
    ['phone', '+44 (0) (20) 7946 0958', '+44 (0) (20)    7946 095'],
    ['phone', '(415) 555-2671', '(415)  555'],
  ])('%s: finds %j (gate open), gate shut on %j', (name, hit, miss) => {
    const d = byName(name);
    expect(d.detect(hit)).not.toEqual([]);
    expect(gatePasses(d, hit)).toBe(true);
    expect(gatePasses(d, miss)).toBe(false);
    expect(d.detect(miss)).toEqual([]);
  });

  it('never shuts on a corpus line its detector finds something in', () => {
    for (const line of corpus)
      for (const d of detectors)
        if (d.detect(line).length > 0) expect(gatePasses(d, line), `${d.name}: ${line}`).toBe(true);
  });

  it('never shuts on a random text its detector finds something in', () => {
    fc.assert(
      fc.property(text, (t) => {
        for (const d of detectors) if (d.detect(t).length > 0) expect(gatePasses(d, t)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('leave the scan unchanged: a gated scan equals one that runs every detector', () => {
    const gated = createScanner();
    const ungated = createScanner(builtinDetectors().map((d) => ({ ...d })));
    fc.assert(
      fc.property(text, (t) => {
        expect(gated.scan(t)).toEqual(ungated.scan(t));
      }),
      { numRuns: 2000 },
    );
  });

  it('leave the scan unchanged when the caller hands over the profile (the prompt phase)', () => {
    const gated = createScanner();
    fc.assert(
      fc.property(text, (t) => {
        const all = gated.scan(t, { profile: OPEN_PROFILE });
        expect(gated.scan(t, { profile: profileText(t) })).toEqual(all);
        expect(gated.scan(t)).toEqual(all);
      }),
      { numRuns: 2000 },
    );
  });

  it('leave the scan unchanged on long texts too (profiling stops once every gate is open)', () => {
    const gated = createScanner();
    const ungated = createScanner(builtinDetectors().map((d) => ({ ...d })));
    const long = fc.array(piece, { minLength: 40, maxLength: 300 }).map((p) => p.join('\n'));
    fc.assert(
      fc.property(long, (t) => {
        expect(gated.scan(t)).toEqual(ungated.scan(t));
      }),
      { numRuns: 300 },
    );
  });
});
