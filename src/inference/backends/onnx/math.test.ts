/** @module inference/backends/onnx/math.test — pooling, scoring and label mapping, no model. */
import { describe, expect, it } from 'vitest';
import { labelsFromId2Label, maxInputTokens, meanPoolNormalize, scoreRows } from './math.js';

const norm = (v: Float32Array): number => Math.hypot(...v);

describe('meanPoolNormalize', () => {
  it('averages only the tokens the mask keeps, then scales to unit length', () => {
    // batch 2, seq 3, dim 2; the second text has one padding token holding junk.
    const hidden = Float32Array.from([1, 0, 3, 0, 9, 9, 0, 2, 0, 4, 100, 100]);
    const mask = BigInt64Array.from([1n, 1n, 0n, 1n, 1n, 0n]);
    const [a, b] = meanPoolNormalize(hidden, mask, 2, 3, 2);
    expect(Array.from(a!)).toEqual([1, 0]);
    expect(Array.from(b!)).toEqual([0, 1]);
  });

  it('gives unit vectors, and zeros rather than NaN for an all-zero state', () => {
    const [v] = meanPoolNormalize(Float32Array.from([3, 4, -1, 2]), [1, 1], 1, 2, 2);
    expect(norm(v!)).toBeCloseTo(1, 6);
    const [zero] = meanPoolNormalize(new Float32Array(2), [1], 1, 1, 2);
    expect(Array.from(zero!)).toEqual([0, 0]);
  });

  it('rejects tensors whose size does not match the stated shape', () => {
    expect(() => meanPoolNormalize(new Float32Array(5), [1, 1], 1, 2, 3)).toThrow(RangeError);
    expect(() => meanPoolNormalize(new Float32Array(6), [1], 1, 2, 3)).toThrow(RangeError);
  });
});

describe('scoreRows', () => {
  it('softmax gives a distribution per row, in label order', () => {
    const logits = Float32Array.from([0, Math.log(2), Math.log(5), 1, 1, 1]);
    const [first, second] = scoreRows(logits, 2, 3, 'softmax');
    expect(Array.from(first!).map((p) => +p.toFixed(6))).toEqual([0.125, 0.25, 0.625]);
    expect(Array.from(second!).map((p) => +p.toFixed(6))).toEqual([0.333333, 0.333333, 0.333333]);
  });

  it('softmax stays finite for huge logits', () => {
    const [row] = scoreRows(Float32Array.from([1000, 1000, -1000]), 1, 3, 'softmax');
    expect(Array.from(row!)).toEqual([0.5, 0.5, 0]);
  });

  it('sigmoid scores each label on its own (multi-label models)', () => {
    const [row] = scoreRows(Float32Array.from([0, Math.log(3)]), 1, 2, 'sigmoid');
    expect(row![0]).toBeCloseTo(0.5, 6);
    expect(row![1]).toBeCloseTo(0.75, 6);
  });

  it('rejects logits whose size does not match batch × width', () => {
    expect(() => scoreRows(new Float32Array(5), 2, 3, 'softmax')).toThrow(RangeError);
  });
});

describe('labelsFromId2Label', () => {
  it('orders labels by index, not by key order in the JSON', () => {
    expect(labelsFromId2Label({ '1': 'POSITIVE', '0': 'NEGATIVE' })).toEqual([
      'NEGATIVE',
      'POSITIVE',
    ]);
  });

  it.each([
    ['missing', undefined],
    ['empty', {}],
    ['an array', ['a', 'b']],
    ['a gap', { '0': 'a', '2': 'c' }],
    ['a non-numeric key', { '0': 'a', x: 'b' }],
    ['a padded key', { '0': 'a', '01': 'b' }],
    ['a non-string label', { '0': 'a', '1': 2 }],
    ['an empty label', { '0': '' }],
  ])('refuses %s', (_what, value) => {
    expect(labelsFromId2Label(value)).toBeUndefined();
  });
});

describe('maxInputTokens', () => {
  it('never exceeds the position table, whatever the tokenizer claims', () => {
    expect(maxInputTokens(512, 128)).toBe(128);
    expect(maxInputTokens(512, 514)).toBe(512);
    expect(maxInputTokens(1e30, 256)).toBe(256);
    expect(maxInputTokens(undefined, undefined)).toBe(512);
    expect(maxInputTokens('512', null)).toBe(512);
  });
});
