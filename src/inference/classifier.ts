/**
 * @module inference/classifier — few-shot text classification over any embedding model: the
 * examples of each label are embedded once at start-up, and a text is scored against them. The
 * result satisfies ClassificationHandle, so the scheduler runs it like any other classifier.
 *
 * Scoring (`method`):
 * - `head` (the default): a softmax regression trained on the example vectors at start-up,
 *   averaged with a k-nearest-neighbour vote (k 10, temperature 0.05); see classifier-head.ts.
 * - `centroid`, `top-k`, `hybrid`: per label a similarity — cosine to the label's centroid, the
 *   mean of the k best example cosines, or the mean of the two — turned into scores by a softmax
 *   with a temperature (default 0.02).
 * The best label wins if its score reaches `threshold`; otherwise the result is `fallbackLabel`.
 *
 * Why `head`, measured by `npm run bench:classifiers` on the labelled evaluation set
 * (src/inference/examples/eval, none of it a training example): the similarity softmax only
 * compares labels with each other, so a text far from every example still gives one label a
 * score near 1 — `hi` scored harassment 0.99, and half of all benign texts were flagged. The
 * trained head learns what separates the harmless label from the others; with the extended
 * example sets it flags no short greeting and ~2% of English benign text, at ~95% recall.
 * The extended sets alone (with `hybrid`) already stop the greetings but still flag 20% of
 * English benign text (moderation) and 17% (prompt injection).
 *
 * USE-lite is English-trained: other languages embed close to each other rather than by
 * meaning, so with benign greetings in several languages among the examples, foreign everyday
 * text is not flagged (0% in fr, de, es, it, pt, nl) but neither is foreign harmful text (0 of
 * 18 in the evaluation set). Training on the examples costs ~150–400 ms at start-up on this
 * 2-core machine, beside embedding them (~350 and ~310 texts for the built-in sets).
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { ModelUnavailableError } from './errors.js';
import { validateExampleSets, type ExampleSets } from './classifier-examples.js';
import {
  headProbabilities,
  nearestVote,
  trainSoftmaxHead,
  type SoftmaxHead,
} from './classifier-head.js';
import type { BackendInfo, ClassificationHandle, EmbeddingHandle } from './types.js';

export {
  builtinExampleSet,
  loadExampleSets,
  validateExampleSets,
  type BuiltinExampleSet,
  type BuiltinExampleSetName,
  type ExampleSets,
} from './classifier-examples.js';

/** How a label's similarity is computed from its examples. */
export type FewShotMethod = 'head' | 'centroid' | 'top-k' | 'hybrid';

/** Tuning of a few-shot classifier; every field has a default. */
export interface FewShotOptions {
  /** Id for logs and /v1/models; default `<embedding model id>/few-shot`. */
  id?: string;
  /** Minimum score of the best label; below it the result is `fallbackLabel`. Default 0.5. */
  threshold?: number;
  /** Label reported when no label reaches `threshold` (e.g. `safe`, `benign`). */
  fallbackLabel?: string;
  /** How texts are scored; default `head` (see the module notes). */
  method?: FewShotMethod;
  /** Nearest examples that vote (`head`, default 10) or are averaged per label (`top-k`,
   * `hybrid`, default 3). */
  k?: number;
  /** `head`: temperature of the nearest-neighbour vote (default 0.05); the others: of the
   * softmax over label similarities (default 0.02). */
  temperature?: number;
  /** Examples per `embed` call at start-up; default 32. */
  batchSize?: number;
}

/** The verdict on one text. */
export interface FewShotResult {
  /** Best label, or `fallbackLabel` when the best label's score is below the threshold. */
  label: string;
  /** Score of the best-scoring label, in [0,1]. */
  score: number;
  /** Whether the best label's score reached the threshold. */
  confident: boolean;
  /** Score per label, in the classifier's `labels` order; they sum to 1. */
  scores: Float32Array;
  /** Cosine similarity per label, same order: `head` the nearest example's, the other methods
   * the one their softmax takes. */
  similarities: Float32Array;
}

/** A ClassificationHandle that also explains its verdicts. */
export interface FewShotClassifier extends ClassificationHandle {
  readonly threshold: number;
  readonly fallbackLabel: string | undefined;
  /** How it scores (the `method` option, defaulted). */
  readonly method: FewShotMethod;
  /** Id of the embedding model it runs on (`info.id` of the model it was built over). */
  readonly builtOn: string;
  /** Scores all `texts` with one `embed` call. */
  classifyBatch(texts: readonly string[]): Promise<FewShotResult[]>;
  /** Scores texts already embedded by the base model (e.g. through its shared queue). */
  scoreVectors(vectors: readonly Float32Array[]): FewShotResult[];
}

/** Unit-length copy of `v`; the zero vector stays zero (its cosine with anything is 0). */
function normalized(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(v.length);
  if (norm > 0) for (let i = 0; i < v.length; i++) out[i] = (v[i] ?? 0) / norm;
  return out;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] ?? 0) * (b[i] ?? 0);
  return s;
}

/** Softmax of `values / temperature`, shifted by the maximum for stability. */
function softmax(values: Float32Array, temperature: number): Float32Array {
  let max = -Infinity;
  for (const v of values) max = Math.max(max, v);
  const out = new Float32Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const e = Math.exp(((values[i] ?? 0) - max) / temperature);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) / sum;
  return out;
}

interface LabelVectors {
  centroid: Float32Array;
  examples: readonly Float32Array[];
}

/** Similarity of unit vector `v` to one label by `method`. */
function labelSimilarity(v: Float32Array, label: LabelVectors, method: FewShotMethod, k: number) {
  const central = dot(v, label.centroid);
  if (method === 'centroid') return central;
  const sims = label.examples.map((e) => dot(v, e)).sort((a, b) => b - a);
  const top = sims.slice(0, Math.min(k, sims.length));
  const nearest = top.reduce((s, x) => s + x, 0) / top.length;
  return method === 'top-k' ? nearest : (central + nearest) / 2;
}

function centroidOf(vectors: readonly Float32Array[], dimensions: number): Float32Array {
  const sum = new Float32Array(dimensions);
  for (const v of vectors)
    for (let i = 0; i < dimensions; i++) sum[i] = (sum[i] ?? 0) + (v[i] ?? 0);
  return normalized(sum);
}

function checkOptions(labels: readonly string[], o: FewShotOptions): void {
  const bad = (what: string): never => {
    throw new ConfigError(`few-shot classifier: ${what}`);
  };
  if (o.threshold !== undefined && !(o.threshold >= 0 && o.threshold <= 1))
    bad('threshold must be in [0, 1]');
  if (o.k !== undefined && !(Number.isInteger(o.k) && o.k >= 1)) bad('k must be an integer ≥ 1');
  if (o.temperature !== undefined && !(o.temperature > 0 && Number.isFinite(o.temperature)))
    bad('temperature must be a positive number');
  if (o.batchSize !== undefined && !(Number.isInteger(o.batchSize) && o.batchSize >= 1))
    bad('batchSize must be an integer ≥ 1');
  if (o.fallbackLabel !== undefined && !labels.includes(o.fallbackLabel))
    bad(`fallbackLabel "${o.fallbackLabel}" is not one of the labels`);
}

/**
 * Builds a few-shot classifier over `model` from `examples` (validated as by
 * validateExampleSets). Embeds every example now, `batchSize` at a time.
 *
 * `info.sha256` identifies the whole classifier for audit: a digest of the embedding model's
 * sha256, the example texts and the scoring settings. `close()` drops the example vectors but
 * leaves `model` open: it is usually shared with `/v1/embeddings` and other classifiers.
 */
export async function createFewShotClassifier(
  model: EmbeddingHandle,
  examples: ExampleSets,
  options: FewShotOptions = {},
): Promise<FewShotClassifier> {
  const sets = validateExampleSets(examples, options.id ?? 'few-shot classifier');
  const labels = Object.freeze(Object.keys(sets));
  checkOptions(labels, options);
  const threshold = options.threshold ?? 0.5;
  const method = options.method ?? 'head';
  const k = method === 'centroid' ? 0 : (options.k ?? (method === 'head' ? 10 : 3));
  const temperature = options.temperature ?? (method === 'head' ? 0.05 : 0.02);
  const batchSize = options.batchSize ?? 32;
  const fallbackLabel = options.fallbackLabel;

  const texts = labels.flatMap((label) => sets[label] ?? []);
  const classOf = labels.flatMap((label, i) => (sets[label] ?? []).map(() => i));
  let vectors: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += batchSize) {
    for (const v of await model.embed(texts.slice(i, i + batchSize))) vectors.push(normalized(v));
  }
  let offset = 0;
  let perLabel: LabelVectors[] = labels.map((label) => {
    const own = vectors.slice(offset, (offset += sets[label]?.length ?? 0));
    return { centroid: centroidOf(own, model.dimensions), examples: own };
  });
  const head: SoftmaxHead | undefined =
    method === 'head'
      ? trainSoftmaxHead(vectors, classOf, labels.length, model.dimensions)
      : undefined;

  const settings = { method, k, temperature, threshold, fallbackLabel: fallbackLabel ?? null };
  const sha256 = createHash('sha256')
    .update(JSON.stringify({ model: model.info.sha256 ?? null, settings }))
    .update(JSON.stringify(labels.map((label) => [label, sets[label]])))
    .digest('hex');
  const info: BackendInfo = {
    id: options.id ?? `${model.info.id}/few-shot`,
    backend: model.info.backend,
    task: 'classification',
    sha256,
    sizeBytes: model.info.sizeBytes,
    labels,
  };

  /** `head`: mean of the regression's probabilities and the nearest-neighbour vote. */
  function headScores(v: Float32Array, trained: SoftmaxHead) {
    const sims = new Float64Array(vectors.map((e) => dot(v, e)));
    const similarities = new Float32Array(labels.length).fill(-1);
    sims.forEach((s, i) => {
      const c = classOf[i] ?? 0;
      similarities[c] = Math.max(similarities[c] ?? -1, s);
    });
    const regression = headProbabilities(trained, v);
    const vote = nearestVote(sims, classOf, labels.length, k, temperature);
    const scores = new Float32Array(labels.length);
    for (let j = 0; j < scores.length; j++) scores[j] = ((regression[j] ?? 0) + (vote[j] ?? 0)) / 2;
    return { scores, similarities };
  }

  function verdict(vector: Float32Array): FewShotResult {
    const v = normalized(vector);
    let scores: Float32Array;
    let similarities: Float32Array;
    if (head === undefined) {
      similarities = new Float32Array(perLabel.map((l) => labelSimilarity(v, l, method, k)));
      scores = softmax(similarities, temperature);
    } else {
      ({ scores, similarities } = headScores(v, head));
    }
    let best = 0;
    for (let i = 1; i < scores.length; i++) if ((scores[i] ?? 0) > (scores[best] ?? 0)) best = i;
    const score = scores[best] ?? 0;
    const confident = score >= threshold;
    const label = confident ? (labels[best] ?? '') : (fallbackLabel ?? labels[best] ?? '');
    return { label, score, confident, scores, similarities };
  }

  function scoreVectors(rows: readonly Float32Array[]): FewShotResult[] {
    if (perLabel.length === 0) {
      throw new ModelUnavailableError(`classifier ${info.id} is closed`);
    }
    return rows.map(verdict);
  }

  async function classifyBatch(batch: readonly string[]): Promise<FewShotResult[]> {
    if (perLabel.length === 0) {
      throw new ModelUnavailableError(`classifier ${info.id} is closed`);
    }
    if (batch.length === 0) return [];
    return scoreVectors(await model.embed(batch));
  }

  return {
    task: 'classification',
    labels,
    threshold,
    fallbackLabel,
    method,
    builtOn: model.info.id,
    info,
    countTokens: (text) => model.countTokens(text),
    classifyBatch,
    scoreVectors,
    classify: async (batch) => (await classifyBatch(batch)).map((r) => r.scores),
    close() {
      perLabel = [];
      vectors = [];
      return Promise.resolve();
    },
  };
}
