/** @module inference/classifier-head.test — the trained head and the nearest-neighbour vote. */
import { describe, expect, it } from 'vitest';
import {
  headProbabilities,
  nearestVote,
  softmaxInPlace,
  trainSoftmaxHead,
} from './classifier-head.js';

const unit = (...xs: number[]): Float32Array => {
  const n = Math.hypot(...xs);
  return new Float32Array(xs.map((x) => x / n));
};

describe('trainSoftmaxHead', () => {
  // Three classes along the axes of a 3-d space; class 2 has a single example.
  const vectors = [
    unit(1, 0.1, 0),
    unit(1, -0.1, 0),
    unit(1, 0, 0.1),
    unit(0.1, 1, 0),
    unit(-0.1, 1, 0),
    unit(0, 0, 1),
  ];
  const classOf = [0, 0, 0, 1, 1, 2];

  it('separates the classes, the small one included (classes weigh equally)', () => {
    const head = trainSoftmaxHead(vectors, classOf, 3, 3);
    vectors.forEach((v, i) => {
      const p = headProbabilities(head, v);
      expect(p.indexOf(Math.max(...p))).toBe(classOf[i]);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    });
  });

  it('is deterministic', () => {
    const a = trainSoftmaxHead(vectors, classOf, 3, 3);
    const b = trainSoftmaxHead(vectors, classOf, 3, 3);
    expect([...a.weights]).toEqual([...b.weights]);
    expect([...a.bias]).toEqual([...b.bias]);
  });

  it('trains further with more epochs', () => {
    const p = (epochs: number) =>
      headProbabilities(trainSoftmaxHead(vectors, classOf, 3, 3, { epochs }), vectors[5]!)[2]!;
    expect(p(1)).toBeLessThan(p(50));
  });
});

describe('nearestVote', () => {
  it('lets only the k most similar examples vote, weighted by similarity', () => {
    const sims = new Float64Array([0.9, 0.1, 0.8, 0.85]);
    const vote = nearestVote(sims, [0, 1, 1, 0], 2, 3, 0.05);
    // Examples 0, 3 (class 0) and 2 (class 1) vote; example 1 is not among the 3 nearest.
    const w = [1, Math.exp(-0.05 / 0.05), Math.exp(-0.1 / 0.05)];
    expect(vote[0]).toBeCloseTo((w[0]! + w[1]!) / (w[0]! + w[1]! + w[2]!), 9);
    expect(vote[0]! + vote[1]!).toBeCloseTo(1, 9);
  });

  it('keeps example order on ties', () => {
    const vote = nearestVote(new Float64Array([0.5, 0.5, 0.5]), [1, 0, 0], 2, 1, 0.05);
    expect([...vote]).toEqual([0, 1]);
  });
});

describe('softmaxInPlace', () => {
  it('stays finite for large logits', () => {
    expect([...softmaxInPlace(new Float64Array([1000, 1000]))]).toEqual([0.5, 0.5]);
  });
});
