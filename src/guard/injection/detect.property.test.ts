/** @module guard/injection/detect.property.test — properties of the detector on random text. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanInjection } from './index.js';

// Random text biased towards the characters the detectors care about.
const tricky = fc.constantFrom(
  '\u200b',
  '\u200c',
  '\u200d',
  '\u202e',
  '\u202c',
  '\u2066',
  '\u2069',
  '\ufe0f',
  '\u00ad',
  '\u{e0041}',
  '\u{e007f}',
  '🏴',
  '👨',
  '\u{e0100}',
  '<|im_start|>',
  '[INST]',
  'system:',
  'ignore',
  ' previous ',
  'instructions',
  '%41',
  '==',
  'é',
  'Ｉ',
  '\ud800',
  '\udc00',
  '\n',
);
const text = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 8 }),
      tricky,
      fc.string({ unit: 'binary', maxLength: 4 }),
    ),
    { maxLength: 40 },
  )
  .map((p) => p.join(''));

describe('scanInjection properties', () => {
  it('never throws, scores in [0, 1], and reports spans inside the text', () => {
    fc.assert(
      fc.property(text, (t) => {
        const r = scanInjection(t);
        expect(r.score).toBeGreaterThanOrEqual(0);
        expect(r.score).toBeLessThanOrEqual(1);
        for (const f of r.findings) {
          expect(f.start).toBeGreaterThanOrEqual(0);
          expect(f.end).toBeLessThanOrEqual(t.length);
          expect(f.start).toBeLessThan(f.end);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('is deterministic: the same text gives the same report', () => {
    fc.assert(
      fc.property(text, (t) => {
        expect(scanInjection(t)).toEqual(scanInjection(t));
      }),
      { numRuns: 200 },
    );
  });
});
