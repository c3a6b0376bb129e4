/**
 * @module inference/classifier-head — the `head` scoring of few-shot classifiers: a softmax
 * regression trained on the example vectors when the classifier is built, averaged with a
 * k-nearest-neighbour vote over the same examples. Plain numeric code, no model calls.
 *
 * Why both, measured with USE-lite on the labelled evaluation set (src/inference/examples/eval,
 * `npm run bench:classifiers`): the regression is the better judge of "none of the above" (it
 * learns which directions of the embedding separate harmless text from each category, where a
 * similarity softmax only compares labels with each other, so `hi` ended up "harassment 0.99"),
 * and the nearest-neighbour vote keeps recall on texts that paraphrase one example closely.
 * English benign false positives at threshold 0.5, moderation: regression alone 5.4%, vote
 * alone 4.6%, their mean 2.3%, at English recall 97%, 97%, 95%; prompt injection: 2.4%, 4.4%,
 * 2.4% at recall 96%, 95%, 96% (the vote alone also flagged 2 short texts). The mean halves
 * the false positives for a point or two of recall (at threshold 0.4 it keeps 100% English
 * recall with 4.6% false positives). The evaluation set
 * chose among ~30 such settings, so these figures are optimistic for unseen text.
 *
 * Training is deterministic: weights start at zero, full-batch gradient descent with Nesterov
 * momentum for a fixed number of epochs, so the same examples give the same classifier.
 * Classes are weighted by 1/size, so a large harmless set does not drown the categories.
 */

/** A trained softmax-regression head: `labels × dimensions` weights (label-major) and biases. */
export interface SoftmaxHead {
  readonly dimensions: number;
  readonly labels: number;
  readonly weights: Float64Array;
  readonly bias: Float64Array;
}

/** Training settings; the defaults are the measured ones (module notes). */
export interface HeadTraining {
  /** Full-batch gradient steps; default 50. */
  epochs?: number;
  /** Step size; default 4. */
  learningRate?: number;
  /** Nesterov momentum; default 0.9. */
  momentum?: number;
  /** L2 penalty on the weights; default 1e-4. */
  l2?: number;
}

/** In-place softmax of `z` (shifted by its maximum), returning `z`. */
export function softmaxInPlace(z: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of z) max = Math.max(max, v);
  let sum = 0;
  for (let i = 0; i < z.length; i++) {
    const e = Math.exp((z[i] ?? 0) - max);
    z[i] = e;
    sum += e;
  }
  for (let i = 0; i < z.length; i++) z[i] = (z[i] ?? 0) / sum;
  return z;
}

/** `bias + weights·v` into `out`; `weights` is label-major (`labels` rows of `dimensions`). */
function logits(
  v: Float32Array,
  weights: Float64Array,
  bias: Float64Array,
  out: Float64Array,
): Float64Array {
  const d = v.length;
  for (let j = 0; j < bias.length; j++) {
    let s = bias[j] ?? 0;
    const row = j * d;
    for (let i = 0; i < d; i++) s += (v[i] ?? 0) * (weights[row + i] ?? 0);
    out[j] = s;
  }
  return out;
}

/**
 * Trains a softmax regression on unit `vectors` whose classes are `classOf[i]` (0 … labels−1).
 * Every class must have at least one vector.
 */
export function trainSoftmaxHead(
  vectors: readonly Float32Array[],
  classOf: readonly number[],
  labels: number,
  dimensions: number,
  training: HeadTraining = {},
): SoftmaxHead {
  const epochs = training.epochs ?? 50;
  const rate = training.learningRate ?? 4;
  const momentum = training.momentum ?? 0.9;
  const l2 = training.l2 ?? 1e-4;
  const counts = new Float64Array(labels);
  for (const c of classOf) counts[c] = (counts[c] ?? 0) + 1;
  // Each class weighs 1 in total; the gradient is the weighted mean over the examples.
  const sampleWeight = classOf.map((c) => 1 / (counts[c] ?? 1) / labels);

  const size = dimensions * labels;
  const weights = new Float64Array(size);
  const bias = new Float64Array(labels);
  const velocityW = new Float64Array(size);
  const velocityB = new Float64Array(labels);
  const aheadW = new Float64Array(size);
  const aheadB = new Float64Array(labels);
  const gradW = new Float64Array(size);
  const gradB = new Float64Array(labels);
  const p = new Float64Array(labels);

  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = 0; i < size; i++) {
      const ahead = (weights[i] ?? 0) + momentum * (velocityW[i] ?? 0);
      aheadW[i] = ahead;
      gradW[i] = l2 * ahead;
    }
    for (let j = 0; j < labels; j++) {
      aheadB[j] = (bias[j] ?? 0) + momentum * (velocityB[j] ?? 0);
      gradB[j] = 0;
    }
    for (let n = 0; n < vectors.length; n++) {
      const v = vectors[n] ?? new Float32Array(dimensions);
      softmaxInPlace(logits(v, aheadW, aheadB, p));
      const w = sampleWeight[n] ?? 0;
      const c = classOf[n] ?? 0;
      for (let j = 0; j < labels; j++) {
        const g = ((p[j] ?? 0) - (j === c ? 1 : 0)) * w;
        gradB[j] = (gradB[j] ?? 0) + g;
        const row = j * dimensions;
        for (let i = 0; i < dimensions; i++)
          gradW[row + i] = (gradW[row + i] ?? 0) + g * (v[i] ?? 0);
      }
    }
    for (let i = 0; i < size; i++) {
      const vel = momentum * (velocityW[i] ?? 0) - rate * (gradW[i] ?? 0);
      velocityW[i] = vel;
      weights[i] = (weights[i] ?? 0) + vel;
    }
    for (let j = 0; j < labels; j++) {
      const vel = momentum * (velocityB[j] ?? 0) - rate * (gradB[j] ?? 0);
      velocityB[j] = vel;
      bias[j] = (bias[j] ?? 0) + vel;
    }
  }
  return { dimensions, labels, weights, bias };
}

/** Class probabilities of unit vector `v` under `head`. */
export function headProbabilities(head: SoftmaxHead, v: Float32Array): Float64Array {
  return softmaxInPlace(logits(v, head.weights, head.bias, new Float64Array(head.labels)));
}

/**
 * k-nearest-neighbour vote: the `k` examples most similar to `v` (cosines `sims`, one per
 * example) each vote for their class with weight exp(cosine / temperature); normalised to 1.
 * Ties in similarity keep example order, so the vote is deterministic.
 */
export function nearestVote(
  sims: Float64Array,
  classOf: readonly number[],
  labels: number,
  k: number,
  temperature: number,
): Float64Array {
  const order = Array.from(sims.keys()).sort((a, b) => (sims[b] ?? 0) - (sims[a] ?? 0) || a - b);
  const top = order.slice(0, Math.min(k, order.length));
  const best = sims[top[0] ?? 0] ?? 0;
  const votes = new Float64Array(labels);
  let sum = 0;
  for (const i of top) {
    const w = Math.exp(((sims[i] ?? 0) - best) / temperature);
    const c = classOf[i] ?? 0;
    votes[c] = (votes[c] ?? 0) + w;
    sum += w;
  }
  for (let j = 0; j < labels; j++) votes[j] = sum > 0 ? (votes[j] ?? 0) / sum : 1 / labels;
  return votes;
}
