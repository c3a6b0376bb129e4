import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Redactor, redactText } from './redact.js';
import { scan } from './scan.js';

const VALUES = [
  'ana@example.com',
  'bo.li@mail.example.org',
  '+44 20 7946 0958',
  '(415) 555-2671',
  '4111 1111 1111 1111',
  '5555555555554444',
  'DE89 3704 0044 0532 0130 00',
  '123-45-6789',
  '10.0.0.1',
  '2001:db8::1',
  'AKIAIOSFODNN7EXAMPLE',
  'sk_live_4eC39HqLyjWDarjtT1zdp7dc',
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLWJ5dGVz',
];
const filler = fc.string({
  unit: fc.constantFrom(' ', 'a', 'Z', '\n', ',', 'é', '日', '😀', 'x', '-'),
  maxLength: 20,
});
const doc = fc
  .array(fc.tuple(filler, fc.constantFrom(...VALUES)), { maxLength: 8 })
  .map((parts) => parts.map(([f, v]) => ` ${f} ${v} `).join(''));

describe('Redactor', () => {
  it('gives typed placeholders, the same one for the same value within a request', () => {
    const r = new Redactor();
    const t1 = 'from ana@example.com to bo@example.org';
    const out1 = r.redact(t1, scan(t1));
    const t2 = 'reply to bo@example.org, call 06 12 34 56 78';
    const out2 = r.redact(t2, scan(t2));
    expect(out1).toBe('from [EMAIL_1] to [EMAIL_2]');
    expect(out2).toBe('reply to [EMAIL_2], call [PHONE_1]');
    expect(r.counts()).toEqual({ EMAIL: 2, PHONE: 1 });
    expect(JSON.stringify(r)).toBe('{"EMAIL":2,"PHONE":1}');
    // a fresh request starts again at 1
    expect(redactText(t2, scan(t2))).toBe('reply to [EMAIL_1], call [PHONE_1]');
  });
  it('property: redacted text never contains a detected value', () => {
    fc.assert(
      fc.property(doc, (text) => {
        const findings = scan(text);
        const out = new Redactor().redact(text, findings);
        for (const f of findings) expect(out.includes(text.slice(f.start, f.end))).toBe(false);
      }),
    );
  });
  it('property: placeholders are stable within a redactor', () => {
    fc.assert(
      fc.property(doc, doc, (a, b) => {
        const r = new Redactor();
        const first = new Map<string, string>();
        for (const text of [a, b, a]) {
          for (const f of scan(text)) {
            const v = text.slice(f.start, f.end);
            const ph = r.placeholder(f.type, v);
            expect(ph).toMatch(new RegExp(`^\\[${f.type}_\\d+\\]$`));
            expect(first.get(v) ?? ph).toBe(ph);
            first.set(v, ph);
          }
        }
      }),
    );
  });
  it('property: every planted value is found and offsets slice back to it', () => {
    fc.assert(
      fc.property(doc, (text) => {
        const findings = scan(text);
        for (const f of findings) expect(f.end).toBeGreaterThan(f.start);
        const found = findings.map((f) => text.slice(f.start, f.end));
        for (const v of VALUES) if (text.includes(` ${v} `)) expect(found).toContain(v);
      }),
    );
  });
  it('property: random text never throws and findings are in bounds, sorted, disjoint', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const findings = scan(text);
        let last = 0;
        for (const f of findings) {
          expect(f.start).toBeGreaterThanOrEqual(last);
          expect(f.end).toBeLessThanOrEqual(text.length);
          last = f.end;
        }
        new Redactor().redact(text, findings);
      }),
      { numRuns: 300 },
    );
  });
});
