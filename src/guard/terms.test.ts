import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createScanner } from './scan.js';
import { allowedTerms, DENIED_TERM, deniedTermsDetector, foldTerm } from './terms.js';

function found(terms: readonly string[], text: string): string[] {
  return deniedTermsDetector(terms)
    .detect(text)
    .map((f) => text.slice(f.start, f.end));
}

describe('deniedTermsDetector', () => {
  it('reports DENIED_TERM findings, case-insensitively, as whole words', () => {
    const d = deniedTermsDetector(['Project Falcon', 'acme-internal']);
    const text = 'About PROJECT FALCON and project falcons; see ACME-Internal.';
    expect(d.detect(text)).toEqual([
      { type: DENIED_TERM, start: 6, end: 20, guard: 'denied-terms' },
      { type: DENIED_TERM, start: 46, end: 59, guard: 'denied-terms' },
    ]);
    expect(d.types).toEqual([DENIED_TERM]);
    expect(d.maxSpan).toBe(4 * 'project falcon'.length);
    expect(found(['falcon'], 'falconry, xfalcon, project_falcon, falcon2, (falcon)')).toEqual([
      'falcon',
      'falcon',
    ]);
  });

  it('an empty list, or one of blank terms, finds nothing', () => {
    expect(found([], 'anything at all')).toEqual([]);
    expect(found(['', '   ', '\u200b'], 'anything at all')).toEqual([]);
    expect(deniedTermsDetector([]).maxSpan).toBe(0);
    expect(found(['x'], '')).toEqual([]);
  });

  it('overlapping and nested terms: leftmost, then longest, never overlapping', () => {
    expect(found(['red', 'red team', 'team alpha'], 'the red team alpha')).toEqual(['red team']);
    expect(found(['team alpha', 'red'], 'the red team alpha')).toEqual(['red', 'team alpha']);
    expect(found(['abc', 'abc', 'ABC'], 'abc abc')).toEqual(['abc', 'abc']);
    // not whole-word inside, whole-word as a suffix: the shorter term still matches
    expect(found(['x-ray', 'ray'], 'gamma-x-ray ray')).toEqual(['x-ray', 'ray']);
  });

  it('takes regex metacharacters literally', () => {
    const terms = ['a.b', '(secret)', 'c++', '[x]*', '^$', '\\d'];
    expect(found(terms, 'axb a.b (secret) secret c++ c+ [x]* xx ^$ \\d 5')).toEqual([
      'a.b',
      '(secret)',
      'c++',
      '[x]*',
      '^$',
      '\\d',
    ]);
    // edges that are not letters or digits need no word boundary
    expect(found(['(secret)'], 'x(secret)y')).toEqual(['(secret)']);
  });

  it('Turkish İ and ı, German ß, Greek final sigma, full-width and ligatures', () => {
    expect(found(['istanbul'], 'İSTANBUL, İstanbul, ıstanbul, Istanbul')).toEqual([
      'İSTANBUL',
      'İstanbul',
      'ıstanbul',
      'Istanbul',
    ]);
    expect(found(['İzmir'], 'izmir IZMIR i\u0307zmir')).toEqual(['izmir', 'IZMIR', 'i\u0307zmir']);
    expect(found(['Straße'], 'STRASSE strasse STRAẞE straße Strasser')).toEqual([
      'STRASSE',
      'strasse',
      'STRAẞE',
      'straße',
    ]);
    expect(found(['ΟΔΟΣ'], 'οδος οδοσ ΟΔΟΣ')).toEqual(['οδος', 'οδοσ', 'ΟΔΟΣ']);
    expect(found(['falcon'], 'ＦＡＬＣＯＮ and ﬁne')).toEqual(['ＦＡＬＣＯＮ']);
    expect(found(['fine'], 'ﬁne')).toEqual(['ﬁne']);
    // precomposed and combining accents meet; an accent is part of the word
    expect(found(['café'], 'cafe\u0301 café cafe')).toEqual(['cafe\u0301', 'café']);
  });

  it('CJK and other unspaced scripts match inside running text', () => {
    expect(found(['机密'], '这是机密文件，不是机密性')).toEqual(['机密', '机密']);
    expect(found(['ひみつ'], 'これはひみつです')).toEqual(['ひみつ']);
    expect(found(['비밀'], '비밀을 지켜')).toEqual(['비밀']);
    expect(found(['ความลับ'], 'นี่คือความลับของเรา')).toEqual(['ความลับ']);
    // a Latin term inside Chinese text is a word of its own
    expect(found(['falcon'], '项目falcon文件')).toEqual(['falcon']);
    // offsets are UTF-16 offsets of the original, astral characters included
    const text = '😀😀 𠀀机密𠀀';
    const [f] = deniedTermsDetector(['机密']).detect(text);
    expect(f && text.slice(f.start, f.end)).toBe('机密');
  });

  it('strips invisible characters inside a term before matching', () => {
    const hidden = ['fal\u200bcon', 'f\u200da\u2060l\ufeffcon', 'fal\u00adcon', 'fa\u{e0041}lcon'];
    for (const h of hidden) expect(found(['falcon'], `the ${h} file`)).toEqual([h]);
    // an invisible character does not make a word boundary either
    expect(found(['word'], 'pass\u200bword')).toEqual([]);
    expect(found(['fal\u200bcon'], 'falcon')).toEqual(['falcon']);
  });

  it('runs in linear time on a 1 MB input', () => {
    const terms = Array.from({ length: 500 }, (_, i) => `term${i} word${i % 37}`);
    terms.push('aaaa', 'aaab', 'a a a a');
    const d = deniedTermsDetector(terms);
    const inputs = [
      'a'.repeat(1 << 20),
      'a '.repeat(1 << 19),
      'term1 word1 '.repeat((1 << 20) / 12),
      'İ機\u200b'.repeat((1 << 20) / 3),
    ];
    const counts = inputs.map((t) => d.detect(t).length);
    expect(counts[0]).toBe(0);
    expect(counts[1]).toBe((1 << 19) / 4);
    expect(counts[2]).toBe(Math.floor((1 << 20) / 12));
    expect(counts[3]).toBe(0);
  });

  it('agrees with a naive case-insensitive search on ASCII texts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-c]{1,3}$/), { minLength: 1, maxLength: 4 }),
        fc.stringMatching(/^[a-cA-C ]{0,40}$/),
        (terms, text) => {
          const got = found(terms, text).map((v) => v.toLowerCase());
          const want: string[] = [];
          const lower = text.toLowerCase();
          for (let i = 0; i < lower.length;) {
            const at = terms
              .filter((t) => lower.startsWith(t, i))
              .filter(
                (t) =>
                  (i === 0 || lower[i - 1] === ' ') &&
                  [' ', undefined].includes(lower[i + t.length]),
              )
              .sort((a, b) => b.length - a.length)[0];
            if (at === undefined) i++;
            else {
              want.push(at);
              i += at.length;
            }
          }
          expect(got).toEqual(want);
        },
      ),
    );
  });

  it('plugs into a Scanner next to the built-in detectors', () => {
    const s = createScanner([deniedTermsDetector(['falcon'])]);
    expect(s.maxSpan).toBe(24);
    expect(s.scan('Falcon ships').map((f) => f.type)).toEqual([DENIED_TERM]);
  });
});

describe('foldTerm', () => {
  it('gives equal forms to terms the detector treats alike', () => {
    const forms = ['Straße', ' STRASSE ', 'stra\u200bsse', 'ＳＴＲＡＳＳＥ'].map(foldTerm);
    expect(new Set(forms)).toEqual(new Set(['strasse']));
    expect(foldTerm('İzmir')).toBe(foldTerm('izmir'));
    expect(foldTerm('falcon')).not.toBe(foldTerm('falcons'));
  });
});

describe('allowedTerms', () => {
  const allowed = allowedTerms(['support@acme.example', '  Acme Corp ', '']);

  it('accepts listed values, trimmed and case-insensitively', () => {
    expect(allowed('support@acme.example')).toBe(true);
    expect(allowed('SUPPORT@ACME.EXAMPLE ')).toBe(true);
    expect(allowed('acme corp')).toBe(true);
    expect(allowed('ＡＣＭＥ ＣＯＲＰ')).toBe(true);
  });

  it('rejects everything else, including substrings and superstrings', () => {
    expect(allowed('sales@acme.example')).toBe(false);
    expect(allowed('support@acme.example.org')).toBe(false);
    expect(allowed('acme')).toBe(false);
    expect(allowed('')).toBe(false);
    expect(allowedTerms([])('anything')).toBe(false);
    expect(allowedTerms(['', ' '])('')).toBe(false);
  });
});
