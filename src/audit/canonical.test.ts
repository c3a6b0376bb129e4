import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize } from './canonical.js';

describe('canonical JSON (RFC 8785)', () => {
  it('sorts members by UTF-16 code units, recursively, with no whitespace', () => {
    expect(
      canonicalize({ b: 1, a: [{ d: true, c: null }], '\u20ac': 'x', '\ud83d\ude00': 'y' }),
    ).toBe('{"a":[{"c":null,"d":true}],"b":1,"\u20ac":"x","\ud83d\ude00":"y"}');
    // RFC 8785 §3.2.3 example: "\u20ac" (U+20AC) sorts before "\ud83d\ude00" by code units,
    // although U+1F600 is the larger code point.
    expect(canonicalize({ '\ud83d\ude00': 1, '\u20ac': 2 })).toBe('{"\u20ac":2,"\ud83d\ude00":1}');
  });

  it('writes numbers and strings as RFC 8785 §3.2.2 says', () => {
    expect(canonicalize([1e21, 1e-7, -0, 0.1 + 0.2, 333333333.3333333])).toBe(
      '[1e+21,1e-7,0,0.30000000000000004,333333333.3333333]',
    );
    expect(canonicalize('\u0000\b\t\n\f\r"\\/\u007f\u2028')).toBe(
      '"\\u0000\\b\\t\\n\\f\\r\\"\\\\/\u007f\u2028"',
    );
    expect(canonicalize('\ud800')).toBe('"\\ud800"');
  });

  it('leaves out undefined members and refuses numbers JSON cannot carry', () => {
    expect(canonicalize({ a: undefined, b: 2 })).toBe('{"b":2}');
    expect(() => canonicalize(Number.NaN)).toThrow('non-finite');
    expect(() => canonicalize({ x: Infinity })).toThrow('non-finite');
  });

  it('parses back to the same value, and equal values encode equally whatever the key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalize(v);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(v)));
        const shuffled = JSON.parse(JSON.stringify(v), function (this: unknown, _k, val: unknown) {
          if (val === null || typeof val !== 'object' || Array.isArray(val)) return val;
          return Object.fromEntries(Object.entries(val).reverse());
        }) as never;
        expect(canonicalize(shuffled)).toBe(text);
      }),
    );
  });
});
