import { describe, expect, it } from 'vitest';
import { GuardUnavailableError, createScanner, scan } from './scan.js';
import type { Detector } from './types.js';
import { builtinDetectors } from './detectors/index.js';

const fixed = (name: string, type: string, spans: [number, number][]): Detector => ({
  name,
  types: [type],
  maxSpan: 10,
  detect: () => spans.map(([start, end]) => ({ type, start, end, guard: name })),
});

describe('scan', () => {
  it('returns findings sorted by start with offsets that slice back to the value', () => {
    const text =
      'Mail ana@example.com, ✉️ call +33 6 12 34 56 78 from 10.1.2.3 😀 card 4111111111111111';
    const got = scan(text).map((f) => [f.type, text.slice(f.start, f.end)]);
    expect(got).toEqual([
      ['EMAIL', 'ana@example.com'],
      ['PHONE', '+33 6 12 34 56 78'],
      ['IP_ADDRESS', '10.1.2.3'],
      ['CREDIT_CARD', '4111111111111111'],
    ]);
  });
  it('resolves overlaps: longest wins, then detector order; what it leaves uncovered stays', () => {
    const s = createScanner([
      fixed('a', 'A', [
        [0, 5],
        [10, 12],
      ]),
      fixed('b', 'B', [
        [3, 9],
        [10, 12],
        [20, 22],
      ]),
    ]);
    expect(s.scan('x'.repeat(30)).map((f) => [f.type, f.start, f.end])).toEqual([
      ['A', 0, 3], // the part of A[0,5) that B[3,9) does not cover
      ['B', 3, 9],
      ['A', 10, 12],
      ['B', 20, 22],
    ]);
    // A finding a longer one overlaps on both sides keeps each uncovered piece.
    const t = createScanner([
      fixed('long', 'L', [
        [5, 15],
        [20, 30],
      ]),
      fixed('wide', 'W', [[0, 18]]),
    ]);
    expect(t.scan('x'.repeat(40)).map((f) => [f.type, f.start, f.end])).toEqual([
      ['W', 0, 18],
      ['L', 20, 30],
    ]);
    const u = createScanner([
      fixed('one', 'O', [[4, 8]]),
      fixed('two', 'T', [[12, 16]]),
      fixed('span', 'S', [[0, 20]]),
    ]);
    expect(u.scan('x'.repeat(40)).map((f) => [f.type, f.start, f.end])).toEqual([['S', 0, 20]]);
    const v = createScanner([
      fixed('a', 'A', [[2, 12]]),
      fixed('b', 'B', [[8, 20]]),
      fixed('c', 'C', [
        [0, 4],
        [10, 11],
        [18, 30],
      ]),
    ]);
    // Longest first, ties by detector order: B[8,20) stays whole, C[18,30) keeps [20,30),
    // A[2,12) keeps [2,8), C[0,4) keeps [0,2), C[10,11) lies inside B and goes.
    expect(v.scan('x'.repeat(40)).map((f) => [f.type, f.start, f.end])).toEqual([
      ['C', 0, 2],
      ['A', 2, 8],
      ['B', 8, 20],
      ['C', 20, 30],
    ]);
  });
  it('lets a key block swallow the e-mail inside it', () => {
    const text =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\nroot@example.com\n-----END OPENSSH PRIVATE KEY-----';
    expect(scan(text).map((f) => f.type)).toEqual(['PRIVATE_KEY']);
  });
  it('filters by type', () => {
    expect(scan('a@b.io 10.0.0.1', { types: new Set(['IP_ADDRESS']) }).map((f) => f.type)).toEqual([
      'IP_ADDRESS',
    ]);
  });
  it('fails closed when a detector throws', () => {
    const boom: Detector = {
      name: 'boom',
      types: ['X'],
      maxSpan: 1,
      detect: () => {
        throw new Error('secret text');
      },
    };
    const s = createScanner([boom]);
    expect(() => s.scan('hello')).toThrow(GuardUnavailableError);
    try {
      s.scan('hello');
    } catch (err) {
      expect((err as GuardUnavailableError).statusCode).toBe(503);
      expect((err as GuardUnavailableError).message).toBe('guard boom failed');
    }
  });
  it('fails closed past the time budget (controlled clock)', () => {
    let t = 0;
    const s = createScanner(builtinDetectors());
    const now = (): number => (t += 3);
    // every detector runs on this text: the clock is read after each
    const all = 'a@b.io eyJhbGciOiJub25lIn0.eyJ4IjoxfQ. -----BEGIN GB82 4111111111111111 10.0.0.1';
    expect(() => s.scan(all, { budgetMs: 10, now })).toThrow('exceeded its time budget');
    t = 0;
    expect(s.scan(all, { budgetMs: 1000, now }).map((f) => f.type)).toContain('EMAIL');
    // only the e-mail detector runs here: one reading after it and one at the end
    t = 0;
    expect(s.scan('a@b.io', { budgetMs: 10, now }).map((f) => f.type)).toEqual(['EMAIL']);
  });
  it('exposes the longest span to hold back while streaming', () => {
    expect(createScanner().maxSpan).toBe(Math.max(...builtinDetectors().map((d) => d.maxSpan)));
  });
});
