/**
 * @module inference/backends/onnx — embedding and text-classification encoders in ONNX format,
 * run by ONNX Runtime (CPU) through transformers.js, strictly offline.
 *
 * Offline: transformers.js keeps its settings in one process-wide `env`. Every load sets
 * remote models off, local models on, `localModelPath` to the folder's parent and all caches
 * off, then loads by folder name. With the file-system cache off transformers.js reads the
 * ONNX file into memory and hands ONNX Runtime the bytes (no copy is ever written, and no
 * stale copy in its default `.cache` folder can shadow the verified file). Loads run one at a
 * time because `env` is shared. The digest is streamed by verifyArtifact and the file is then
 * read again by transformers.js: a file replaced in between is not caught (closing that needs
 * a verify-these-bytes helper in artifact.ts and a custom transformers.js cache).
 *
 * Threads: transformers.js passes `session_options` through to `InferenceSession.create`, so
 * each session gets the CPU provider with `intraOpNumThreads = spec.threads` and
 * `interOpNumThreads = 1` (sequential execution).
 *
 * Token counts include the special tokens ([CLS], [SEP], …) because the model computes over
 * them, and are not truncated: they count what the caller sent. `embed` and `classify`
 * truncate each text to the model's maximum input length.
 */
import type { PreTrainedModel, PreTrainedTokenizer } from '@huggingface/transformers';
import { isMissingPackage } from '../../../lib/missing-package.js';
import { ModelArtifactError, verifyArtifact } from '../../artifact.js';
import { ModelUnavailableError } from '../../errors.js';
import type { BackendInfo, ClassificationHandle, EmbeddingHandle, LoadModel } from '../../types.js';
import {
  classificationHead,
  declaredHiddenSize,
  inspectOnnxFolder,
  resolveTask,
  type OnnxFolder,
  type OnnxTask,
} from './folder.js';
import { maxInputTokens, meanPoolNormalize, scoreRows } from './math.js';
import { makeForward } from './session.js';

type Transformers = typeof import('@huggingface/transformers');

let envLock: Promise<void> = Promise.resolve();

/** Runs `fn` after every earlier load has finished, since they all share transformers' `env`. */
function withEnvLock<T>(fn: () => Promise<T>): Promise<T> {
  const run = envLock.then(fn);
  envLock = run.then(
    () => undefined,
    () => undefined,
  );
  return run;
}

/** First line of an error from the runtime, short enough for a log line, no stack. */
function summary(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n')[0] ?? '').slice(0, 300);
}

async function loadFromFolder(
  lib: Transformers,
  folder: OnnxFolder,
  task: OnnxTask,
  threads: number,
): Promise<{ tokenizer: PreTrainedTokenizer; model: PreTrainedModel }> {
  const { env } = lib;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = folder.parent;
  env.useFSCache = false;
  env.useBrowserCache = false;
  env.useCustomCache = false;
  const common = { local_files_only: true } as const;
  const tokenizer = await lib.AutoTokenizer.from_pretrained(folder.name, common);
  const Auto = task === 'classification' ? lib.AutoModelForSequenceClassification : lib.AutoModel;
  const model = await Auto.from_pretrained(folder.name, {
    ...common,
    device: 'cpu',
    dtype: folder.dtype,
    session_options: {
      executionProviders: ['cpu'],
      intraOpNumThreads: Math.max(1, Math.floor(threads)),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    },
  });
  return { tokenizer, model };
}

/**
 * Loads an ONNX encoder folder (transformers.js layout) for `embedding` or `classification`.
 * The ONNX file's sha256 is checked before any runtime reads it; one warm-up pass checks the
 * output widths against the config. Never touches the network.
 */
export const loadModel: LoadModel<'onnx'> = async (spec) => {
  const folder = await inspectOnnxFolder(spec.path);
  const task = resolveTask(spec.task, folder.config);
  const head = task === 'classification' ? classificationHead(folder) : undefined;
  const artifact = await verifyArtifact(folder.modelFile, spec.sha256);

  let lib: Transformers;
  try {
    lib = await import('@huggingface/transformers');
  } catch (err) {
    // Not a dependency of the default install (it brings ~350 MB of ONNX Runtime and sharp).
    if (isMissingPackage(err, '@huggingface/transformers')) {
      throw new ModelUnavailableError(
        'the onnx backend needs @huggingface/transformers, which is not installed: npm install @huggingface/transformers@3',
      );
    }
    throw new ModelUnavailableError(`onnx backend unavailable on this machine: ${summary(err)}`);
  }
  let loaded: { tokenizer: PreTrainedTokenizer; model: PreTrainedModel };
  try {
    loaded = await withEnvLock(() => loadFromFolder(lib, folder, task, spec.threads));
  } catch (err) {
    throw new ModelArtifactError(
      `onnx model ${spec.id} could not be loaded from ${folder.dir}: ${summary(err)}`,
    );
  }
  const { tokenizer, model } = loaded;
  const output = task === 'classification' ? 'logits' : 'last_hidden_state';
  const maxLength = maxInputTokens(
    tokenizer.model_max_length,
    folder.config.max_position_embeddings,
  );
  const forward = makeForward(lib, tokenizer, model, output, maxLength);
  if (typeof forward === 'string') {
    await model.dispose();
    throw new ModelArtifactError(`onnx model ${spec.id}: ${folder.modelFile} ${forward}`);
  }
  // Warm-up: the first run pays for allocations, and its shape proves the config right.
  let dims: readonly number[];
  try {
    dims = (await forward.run(['warm-up'])).dims;
  } catch (err) {
    await model.dispose();
    throw new ModelArtifactError(`onnx model ${spec.id} fails to run: ${summary(err)}`);
  }
  // [batch, seq, hidden] for an encoder, [batch, labels] for a classifier.
  const rank = head ? 2 : 3;
  const width = dims.length === rank ? (dims[rank - 1] ?? 0) : 0;
  const expected = head ? head.labels.length : (declaredHiddenSize(folder.config) ?? width);
  if (width !== expected || width === 0) {
    await model.dispose();
    const what = head ? `${head.labels.length} labels in id2label` : `hidden size ${expected}`;
    throw new ModelArtifactError(
      `onnx model ${spec.id}: ${output} has shape [${dims.join(', ')}], ` +
        `which does not match ${what} in config.json`,
    );
  }

  let closed = false;
  const ensureOpen = (): void => {
    if (closed) throw new ModelUnavailableError(`model ${spec.id} is closed`);
  };
  const base = {
    countTokens(text: string): number {
      ensureOpen();
      return tokenizer.encode(text).length;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await model.dispose();
    },
  };
  const info: BackendInfo = {
    id: spec.id,
    backend: 'onnx',
    task,
    sha256: artifact.sha256,
    sizeBytes: artifact.sizeBytes,
    maxInputTokens: maxLength,
    ...(head ? { labels: head.labels } : { dimensions: width }),
  };

  if (head) {
    const handle: ClassificationHandle = {
      ...base,
      task: 'classification',
      info,
      labels: head.labels,
      async classify(texts) {
        ensureOpen();
        if (texts.length === 0) return [];
        const { data } = await forward.run(texts);
        return scoreRows(data, texts.length, width, head.scoreFunction);
      },
    };
    return handle;
  }
  const handle: EmbeddingHandle = {
    ...base,
    task: 'embedding',
    info,
    dimensions: width,
    async embed(texts) {
      ensureOpen();
      if (texts.length === 0) return [];
      const { data, dims, mask } = await forward.run(texts);
      return meanPoolNormalize(data, mask, texts.length, dims[1] ?? 0, width);
    },
  };
  return handle;
};
