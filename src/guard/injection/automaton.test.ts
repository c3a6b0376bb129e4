/** @module guard/injection/automaton.test — Aho–Corasick hits and skeleton folding. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildAutomaton, type Hit } from './automaton.js';
import { buildSkeleton, foldString } from './skeleton.js';

const hits = (words: string[], text: string): Hit[] => {
  const out: Hit[] = [];
  buildAutomaton(words).scan(text, (h) => out.push(h));
  return out;
};

describe('buildAutomaton', () => {
  it('reports overlapping and nested keywords', () => {
    expect(hits(['he', 'she', 'hers', 'his'], 'ushers')).toEqual([
      { id: 1, start: 1, end: 4 },
      { id: 0, start: 2, end: 4 },
      { id: 2, start: 2, end: 6 },
    ]);
  });

  it('agrees with indexOf on random texts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[ab]{1,4}$/), { minLength: 1, maxLength: 5 }),
        fc.stringMatching(/^[ab]{0,40}$/),
        (words, text) => {
          const got = new Set(hits(words, text).map((h) => `${words[h.id]}@${h.start}`));
          const want = new Set<string>();
          for (const w of words)
            for (let i = text.indexOf(w); i >= 0; i = text.indexOf(w, i + 1)) want.add(`${w}@${i}`);
          expect(got).toEqual(want);
        },
      ),
    );
  });
});

describe('buildAutomaton transitions', () => {
  // ASCII keyword characters go through the flat table, others through the goto maps: mix both.
  const unit = fc.constantFrom('a', 'b', 'é', 'б', '東', 'z');
  const word = fc.array(unit, { minLength: 1, maxLength: 4 }).map((u) => u.join(''));
  const str = fc.array(fc.oneof(unit, fc.constantFrom('x', ' ', '😀')), { maxLength: 40 });

  it('agree with indexOf on texts mixing ASCII and other code units', () => {
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 6 }), str, (words, units) => {
        const text = units.join('');
        const got = new Set(hits(words, text).map((h) => `${String(h.id)}@${String(h.start)}`));
        const want = new Set<string>();
        words.forEach((w, id) => {
          for (let i = text.indexOf(w); i >= 0; i = text.indexOf(w, i + 1))
            want.add(`${String(id)}@${String(i)}`);
        });
        expect(got).toEqual(want);
      }),
    );
  });

  it('report the same hits, in the same order, from code units as from a string', () => {
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 6 }), str, (words, units) => {
        const text = units.join('');
        const automaton = buildAutomaton(words);
        const codes = Uint16Array.from({ length: text.length + 3 }, (_v, i) => text.charCodeAt(i));
        const fromCodes: Hit[] = [];
        // only [0, length) counts: the code units after it (here NaN → 0) are never read
        automaton.scanCodes(codes, text.length, {
          hit: (id, start, end) => fromCodes.push({ id, start, end }),
        });
        expect(fromCodes).toEqual(hits(words, text));
      }),
    );
  });
});

describe('buildAutomaton without a transition table', () => {
  it('finds every keyword when the set is too large for the table (maps only)', () => {
    // 8,000 random 8-character alphanumeric keywords: ~56,000 states × 62 columns, over the cap
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    const alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    const pick = (): string => alnum.charAt(Math.floor(rnd() * alnum.length));
    const words = Array.from({ length: 8000 }, () => Array.from({ length: 8 }, pick).join(''));
    const text = [words[5], 'é', words[7999], 'x', words[5]?.slice(0, 6), words[42]].join(' ');
    const want = new Set<string>();
    words.forEach((w, id) => {
      for (let i = text.indexOf(w); i >= 0; i = text.indexOf(w, i + 1))
        want.add(`${String(id)}@${String(i)}`);
    });
    const got = new Set(hits(words, text).map((h) => `${String(h.id)}@${String(h.start)}`));
    expect(want.size).toBeGreaterThanOrEqual(3);
    expect(got).toEqual(want);
  });
});

describe('buildSkeleton', () => {
  it('folds case, diacritics, full-width, homoglyphs and leetspeak, and maps offsets back', () => {
    const text = 'Ｉ g-n 0 r é  Ρrеv';
    const sk = buildSkeleton(text);
    expect(sk.text).toBe('ignoreprev');
    expect(text.slice(sk.start[4], sk.end[4])).toBe('r');
    expect(text.slice(sk.start[5], sk.end[5])).toBe('é');
    expect(foldString('Straße')).toBe('strasse');
  });

  it('keeps offsets within the text for astral characters', () => {
    const sk = buildSkeleton('a𝐀b');
    expect(sk.text).toBe('aab');
    expect([sk.start[1], sk.end[1]]).toEqual([1, 3]);
  });
});
