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
  it('resolves overlaps: longest wins, then detector order', () => {
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
      ['B', 3, 9],
      ['A', 10, 12],
      ['B', 20, 22],
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
    expect(() => s.scan('a@b.io', { budgetMs: 10, now })).toThrow('exceeded its time budget');
    t = 0;
    expect(s.scan('a@b.io', { budgetMs: 1000, now }).map((f) => f.type)).toEqual(['EMAIL']);
  });
  it('exposes the longest span to hold back while streaming', () => {
    expect(createScanner().maxSpan).toBe(Math.max(...builtinDetectors().map((d) => d.maxSpan)));
  });
});
