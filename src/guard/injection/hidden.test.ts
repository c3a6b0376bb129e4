/** @module guard/injection/hidden.test — hidden-text signals and their legitimate look-alikes. */
import { describe, expect, it } from 'vitest';
import { findHidden } from './hidden.js';

const vs = (s: string): string =>
  [...Buffer.from(s)]
    .map((b) => String.fromCodePoint(b < 16 ? 0xfe00 + b : 0xe0100 + b - 16))
    .join('');

describe('findHidden', () => {
  it.each([
    ['emoji ZWJ family', '👨\u200d👩\u200d👧'],
    ['rainbow flag', '🏳️\u200d🌈'],
    ['Persian ZWNJ', 'می\u200cخواهم'],
    ['Devanagari ZWJ', 'क्ष\u200d'],
    ['Thai word breaks', 'ภาษาไทย\u200bไม่มี\u200bช่องว่าง'],
    ['Japanese ZWSP', 'これは\u200b長い\u200b文章'],
    ['French NBSP/NNBSP', '1\u202f234,56\u00a0€ ?\u202f!'],
    ['German soft hyphens', 'Donau\u00addampf\u00adschiff'],
    ['Hebrew RLM/LRM', 'הזמנה \u200f#12\u200f ב-\u200e2026\u200e'],
    ['isolate in RTL text', 'هذا \u2067English\u2069 عربي'],
    ['subdivision flag', '🏴\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}'],
    ['leading BOM', '\ufeffid,name'],
    ['single variation selector', '❤️ 葛\u{e0100}'],
  ])('does not flag %s', (_name, text) => {
    expect(findHidden(text)).toEqual([]);
  });

  it('flags a zero-width character between Latin letters with its exact span', () => {
    expect(findHidden('pass\u200bword')).toEqual([
      { kind: 'zero-width-in-word', start: 4, end: 5, weight: 0.25 },
    ]);
  });

  it('flags runs of invisible characters', () => {
    expect(findHidden('a \u200b\u200c\u200d\u2060 b')).toEqual([
      { kind: 'invisible-run', start: 2, end: 6, weight: 0.6 },
    ]);
  });

  it('decodes tag characters outside a flag sequence', () => {
    const hidden = Array.from('hi there', (c) =>
      String.fromCodePoint(0xe0000 + c.charCodeAt(0)),
    ).join('');
    const [signal] = findHidden(`x${hidden}`);
    expect(signal).toEqual({
      kind: 'tag-smuggling',
      start: 1,
      end: 1 + hidden.length,
      weight: 0.8,
      payload: 'hi there',
    });
  });

  it('decodes variation-selector smuggling', () => {
    const [signal] = findHidden(`ok${vs('secret')}`);
    expect(signal?.kind).toBe('variation-smuggling');
    expect(signal?.payload).toBe('secret');
  });

  it('flags bidi overrides that reorder ASCII, up to the closing PDF', () => {
    const text = 'see \u202eexe.gnp\u202c file';
    expect(findHidden(text)).toEqual([{ kind: 'bidi-override', start: 4, end: 13, weight: 0.6 }]);
  });
});
