/**
 * @module inference/backends/onnx/math — turns the raw output tensors of an ONNX encoder into
 * what the handles return (pooled unit vectors, per-label probabilities). Pure functions over
 * typed arrays, so they are tested without a model.
 */

/** How logits become scores: one distribution over labels, or one probability per label. */
export type ScoreFunction = 'softmax' | 'sigmoid';

function checkShape(name: string, length: number, expected: number): void {
  if (length !== expected) {
    throw new RangeError(`${name} has ${length} values, expected ${expected}`);
  }
}

/**
 * Mean of the token vectors that the attention mask keeps (padding excluded), then L2
 * normalised — the sentence-transformers recipe. `hidden` is `[batch, seq, dim]` row-major,
 * `mask` is `[batch, seq]` (1 = real token). Sums run in float64 so that a text embedded
 * alone and inside a padded batch gives the same vector to float32 precision.
 */
export function meanPoolNormalize(
  hidden: Float32Array,
  mask: ArrayLike<number | bigint>,
  batch: number,
  seq: number,
  dim: number,
): Float32Array[] {
  checkShape('hidden state', hidden.length, batch * seq * dim);
  checkShape('attention mask', mask.length, batch * seq);
  const out: Float32Array[] = [];
  const sum = new Float64Array(dim);
  for (let b = 0; b < batch; b++) {
    sum.fill(0);
    let kept = 0;
    for (let s = 0; s < seq; s++) {
      if (Number(mask[b * seq + s]) === 0) continue;
      kept++;
      const base = (b * seq + s) * dim;
      for (let d = 0; d < dim; d++) sum[d] = (sum[d] ?? 0) + (hidden[base + d] ?? 0);
    }
    // Same clamps as sentence-transformers (count) and torch's F.normalize (norm).
    const count = Math.max(kept, 1e-9);
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      const mean = (sum[d] ?? 0) / count;
      sum[d] = mean;
      norm += mean * mean;
    }
    const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
    const vector = new Float32Array(dim);
    for (let d = 0; d < dim; d++) vector[d] = (sum[d] ?? 0) * scale;
    out.push(vector);
  }
  return out;
}

/**
 * Scores each row of `logits` (`[batch, width]`): `softmax` gives a distribution that sums to
 * 1 (single-label models); `sigmoid` gives independent probabilities (multi-label models).
 */
export function scoreRows(
  logits: Float32Array,
  batch: number,
  width: number,
  fn: ScoreFunction,
): Float32Array[] {
  checkShape('logits', logits.length, batch * width);
  const out: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const row = logits.subarray(b * width, (b + 1) * width);
    const scores = new Float32Array(width);
    if (fn === 'sigmoid') {
      for (let i = 0; i < width; i++) scores[i] = 1 / (1 + Math.exp(-(row[i] ?? 0)));
    } else {
      // Subtracting the maximum keeps exp() finite for large logits.
      let max = -Infinity;
      for (const v of row) max = Math.max(max, v);
      let total = 0;
      const exps = new Float64Array(width);
      for (let i = 0; i < width; i++) {
        const e = Math.exp((row[i] ?? 0) - max);
        exps[i] = e;
        total += e;
      }
      for (let i = 0; i < width; i++) scores[i] = (exps[i] ?? 0) / total;
    }
    out.push(scores);
  }
  return out;
}

/**
 * Labels in index order from a Hugging Face `id2label` object (`{"0": "neg", "1": "pos"}`).
 * Returns undefined unless the keys are exactly 0..n-1 and every value is a non-empty string.
 */
export function labelsFromId2Label(id2label: unknown): string[] | undefined {
  if (typeof id2label !== 'object' || id2label === null || Array.isArray(id2label)) {
    return undefined;
  }
  const entries = Object.entries(id2label);
  if (entries.length === 0) return undefined;
  const labels = new Array<string>(entries.length);
  const seen = new Set<number>();
  for (const [key, value] of entries) {
    if (!/^(0|[1-9]\d*)$/.test(key) || typeof value !== 'string' || value === '') return undefined;
    const index = Number(key);
    if (index >= entries.length || seen.has(index)) return undefined;
    seen.add(index);
    labels[index] = value;
  }
  return labels;
}

/**
 * The longest input the encoder accepts: the tokenizer's `model_max_length`, but never more
 * than the model's position table (`max_position_embeddings`) — tokenizer configs often
 * claim 512 for models built with fewer positions, and one token past the table makes ONNX
 * Runtime fail with an out-of-range Gather.
 */
export function maxInputTokens(tokenizerMax: unknown, positions: unknown): number {
  const limits = [tokenizerMax, positions].filter(
    (v): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0,
  );
  return limits.length === 0 ? 512 : Math.min(...limits);
}
