import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Redactor } from './redact.js';
import { applies, type GuardAction } from './rules.js';
import { builtinDetectors } from './detectors/index.js';
import { createScanner } from './scan.js';
import { deniedTermsDetector } from './terms.js';
import { oneShot, rulesOf, SECRETS, splitAt, streamed, twinRedactors } from './stream.case.js';
import { LOOKAHEAD, OutputStream } from './stream.js';

const VALUES = [
  ...SECRETS.map(([, v]) => v),
  'bo.li@mail.example.org',
  '(415) 555-2671',
  '5555555555554444',
  'DE89 3704 0044 0532 0130 00',
  '123-45-6789',
  '10.0.0.1',
  '2001:db8::1',
  'AKIAIOSFODNN7EXAMPLE',
  `aws_secret_access_key = ${'.'.repeat(90)} wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`,
  'tokensk_live_4eC39HqLyjWDarjtT1zdp7dc',
  'Project Falcon',
  'fal\u200bcon',
  '机密',
];
// Filler that can glue onto a value and change what is found (digits, '@', '.', '-', letters):
// the stream must agree with the one-shot scan on those edge cases too. Nothing here can grow
// a finding past 512 code units, the declared span of `narrow` below.
const filler = fc.string({
  unit: fc.constantFrom(' ', 'a', 'Z', '\n', ',', '.', '@', '1', '-', 'é', '日', '😀', 'x'),
  maxLength: 24,
});
const doc = fc
  .array(fc.tuple(filler, fc.constantFrom(...VALUES), fc.boolean()), { maxLength: 10 })
  .map((parts) => parts.map(([f, v, spaced]) => (spaced ? ` ${f} ${v} ` : `${f}${v}`)).join(''));
const TYPES = [
  'EMAIL',
  'PHONE',
  'CREDIT_CARD',
  'IBAN',
  'US_SSN',
  'IP_ADDRESS',
  'PRIVATE_KEY',
  'JWT',
  'API_KEY',
  'DENIED_TERM',
];
const actions = fc.dictionary(
  fc.constantFrom(...TYPES),
  fc.constantFrom<GuardAction>('allow', 'redact', 'block'),
);
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });
const batch = fc.constantFrom(0, 1, 7, 100);
// built-ins plus a denied-term list: the stream must agree for operator detectors too
const scanner = createScanner([
  ...builtinDetectors(),
  deniedTermsDetector(['falcon', '机密', 'project falcon']),
]);
const PROMPT = 'from ana.lima+ops@mail.example.org, card 5555555555554444';

function chunks(text: string, at: readonly number[], lo = 0, hi = text.length): string[] {
  return splitAt(
    text,
    at.map((x) => lo + Math.floor(x * (hi - lo))),
  );
}

describe('OutputStream properties (any text, any split into chunks)', () => {
  it('concat(push…, end) and findings() equal the one-shot result', () => {
    fc.assert(
      fc.property(doc, cuts, actions, fc.subarray(TYPES), batch, (text, at, acts, dry, b) => {
        const rules = rulesOf(scanner, { maxSpan: 512, actions: acts, dryRun: dry });
        const [r1, r2] = twinRedactors(PROMPT, rules);
        const want = oneShot(rules, text, r1);
        const got = streamed(rules, chunks(text, at), r2, { batch: b });
        expect(got).toEqual(want);
      }),
      { numRuns: 400 },
    );
  });

  it('with the genuine built-in span: emit limits landing inside the text agree too', () => {
    const rules = rulesOf(scanner);
    const hold = rules.maxSpan + LOOKAHEAD;
    fc.assert(
      fc.property(doc, cuts, (body, at) => {
        const text = body + ' '.repeat(hold);
        const want = oneShot(rules, text, new Redactor());
        // a first push of k characters settles text before k - hold: aim k at the body
        const got = streamed(rules, chunks(text, at, hold, hold + body.length), new Redactor());
        expect(got).toEqual(want);
      }),
      { numRuns: 40 },
    );
  });

  it('never emits a value the one-shot scan redacted, and keeps one placeholder per value', () => {
    fc.assert(
      fc.property(doc, cuts, (body, at) => {
        const rules = rulesOf(scanner, { maxSpan: 512 });
        const text = `${body}\n${body}`;
        const r = new Redactor();
        const prompt = r.redact(PROMPT, rules.inspect(PROMPT));
        expect(prompt).toBe('from [EMAIL_1], card [CREDIT_CARD_1]');
        const s = new OutputStream(rules, r);
        const got =
          chunks(text, at)
            .map((c) => s.push(c))
            .join('') + s.end();
        const oneShotOut = oneShot(rules, text, new Redactor()).text;
        for (const f of rules.inspect(text)) {
          const value = text.slice(f.start, f.end);
          if (!oneShotOut.includes(value)) expect(got).not.toContain(value);
        }
        // every redacted finding shows as the placeholder its value has in this request (the
        // prompt's own for the prompt's values), and nothing else looks like a placeholder
        const redacted = s.findings().filter((f) => applies(f));
        const want = redacted.map((f) => r.placeholder(f.type, text.slice(f.start, f.end)));
        expect(got.match(/\[[A-Z_]+_\d+\]/g) ?? []).toEqual(want);
        for (const f of redacted) {
          const value = text.slice(f.start, f.end);
          if (value === 'ana.lima+ops@mail.example.org')
            expect(r.placeholder(f.type, value)).toBe('[EMAIL_1]');
        }
      }),
      { numRuns: 300 },
    );
  });
});
