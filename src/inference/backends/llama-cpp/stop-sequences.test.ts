/** @module inference/backends/llama-cpp/stop-sequences.test — stop sequences over any split of the text. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createStopScanner } from './stop-sequences.js';

/** Feeds `chunks` through a scanner for `stops`; returns what it emitted and whether it stopped. */
function scan(stops: readonly string[], chunks: readonly string[]) {
  const emitted: string[] = [];
  const scanner = createStopScanner(stops, (t) => emitted.push(t));
  for (const c of chunks) if (scanner.push(c)) break;
  scanner.flush();
  return { emitted, text: emitted.join(''), stopped: scanner.stopped };
}

describe('createStopScanner', () => {
  it('cuts before a stop that starts with a space or inside a chunk', () => {
    expect(scan([' day'], ['.', ' One', ' day', ','])).toMatchObject({
      text: '. One',
      stopped: true,
    });
    expect(scan(['da'], ['. One', ' day'])).toMatchObject({ text: '. One ', stopped: true });
  });

  it('holds back only a tail that could start a stop, and passes it on when it does not', () => {
    const emitted: string[] = [];
    const scanner = createStopScanner(['\nUser:'], (t) => emitted.push(t));
    expect(scanner.push('Hello\nUs')).toBe(false);
    expect(emitted).toEqual(['Hello']);
    expect(scanner.push('ually')).toBe(false);
    expect(emitted).toEqual(['Hello', '\nUsually']);
    scanner.push('\n');
    scanner.flush();
    expect(emitted.join('')).toBe('Hello\nUsually\n');
  });

  it('ignores empty stop strings and never emits an empty chunk', () => {
    expect(scan(['', 'zz'], ['', 'ab', '', 'c'])).toEqual({
      emitted: ['ab', 'c'],
      text: 'abc',
      stopped: false,
    });
  });

  it('ends the text just before a stop and holds no whole stop, however it is split', () => {
    // Which stop wins can depend on the split: in 'a é ' with stops ' é ' and 'é', the chunk
    // 'a é' completes 'é' first (text 'a '), the whole text at once has ' é ' first (text 'a').
    const alphabet = fc.constantFrom('a', 'b', ' ', '\n', 'é', '😀');
    const text = fc.array(alphabet, { maxLength: 40 }).map((a) => a.join(''));
    const stop = fc.array(alphabet, { minLength: 1, maxLength: 4 }).map((a) => a.join(''));
    fc.assert(
      fc.property(
        text,
        fc.array(stop, { maxLength: 3 }),
        fc.array(fc.nat(40), { maxLength: 8 }),
        (full, stops, cuts) => {
          const points = [...new Set(cuts.map((c) => Math.min(c, full.length)))].sort(
            (a, b) => a - b,
          );
          const chunks = [0, ...points].map((p, i) => full.slice(p, points[i] ?? full.length));
          const r = scan(stops, chunks);
          expect(r.emitted).not.toContain('');
          expect(r.stopped).toBe(stops.some((s) => full.includes(s)));
          if (!r.stopped) {
            expect(r.text).toBe(full);
            return;
          }
          expect(full.startsWith(r.text)).toBe(true);
          expect(stops.some((s) => full.startsWith(s, r.text.length))).toBe(true);
          expect(stops.filter((s) => r.text.includes(s))).toEqual([]);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
