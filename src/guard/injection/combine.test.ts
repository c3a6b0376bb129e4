/** @module guard/injection/combine.test — the combined prompt-injection score. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  combineInjectionScore,
  DEFAULT_INJECTION_THRESHOLD,
  INJECTION_CLASSIFIER_FLOOR,
} from './index.js';

const blocked = (h: number, c: number | undefined): boolean =>
  combineInjectionScore(h, c) >= DEFAULT_INJECTION_THRESHOLD;
const unit = fc.double({ min: 0, max: 1, noNaN: true });

describe('combineInjectionScore', () => {
  it('is the heuristic score when the classifier did not run', () => {
    for (const h of [0, 0.2, 0.5, 0.93, 1]) expect(combineInjectionScore(h, undefined)).toBe(h);
  });

  it('ignores a classifier that is merely fairly sure (the hard negatives score up to 0.98)', () => {
    expect(combineInjectionScore(0, 0.7)).toBe(0);
    expect(combineInjectionScore(0, INJECTION_CLASSIFIER_FLOOR)).toBe(0);
    expect(combineInjectionScore(0.26, 0.96)).toBe(0.26);
    expect(blocked(0, 0.985)).toBe(false);
  });

  it('blocks on a nearly certain classifier alone', () => {
    expect(blocked(0, 0.995)).toBe(true);
    expect(combineInjectionScore(0, 1)).toBe(1);
  });

  it('adds weak heuristic evidence to a confident classifier', () => {
    expect(blocked(0.3, undefined)).toBe(false);
    expect(blocked(0, 0.988)).toBe(false);
    expect(blocked(0.3, 0.988)).toBe(true);
  });

  it('stays in [0, 1], never below the heuristic score, non-decreasing in both', () => {
    fc.assert(
      fc.property(unit, unit, unit, unit, (h1, h2, c1, c2) => {
        const [hLo, hHi] = h1 <= h2 ? [h1, h2] : [h2, h1];
        const [cLo, cHi] = c1 <= c2 ? [c1, c2] : [c2, c1];
        const s = combineInjectionScore(hLo, cLo);
        expect(s).toBeGreaterThanOrEqual(hLo);
        expect(s).toBeLessThanOrEqual(1);
        expect(combineInjectionScore(hHi, cLo)).toBeGreaterThanOrEqual(s);
        expect(combineInjectionScore(hLo, cHi)).toBeGreaterThanOrEqual(s);
      }),
    );
  });

  it('clamps finite values outside [0, 1] and refuses NaN', () => {
    expect(combineInjectionScore(1.5, -1)).toBe(1);
    expect(combineInjectionScore(-0.1, undefined)).toBe(0);
    expect(() => combineInjectionScore(Number.NaN, 0.5)).toThrow(RangeError);
    expect(() => combineInjectionScore(0.5, Number.NaN)).toThrow(RangeError);
  });
});
