/**
 * @module inference/types — what a loaded model can do, behind one small interface per task.
 * Backends (tfjs, onnx, llama-cpp, echo) turn a ModelSpec into a ModelHandle; the scheduler
 * and HTTP layer only ever see these interfaces.
 */
import type { AbortLike } from '../lib/abort.js';
import type { BackendName, ModelConfig, ModelConfigOf } from '../config/index.js';

/** The tasks a model can serve. */
export type ModelTask = 'embedding' | 'classification' | 'generation';

/**
 * One model as declared in config (`models: [...]`): one shape per backend, derived from the
 * config schema, so a backend sees exactly the keys that apply to it.
 */
export type ModelSpec = ModelConfig;
/** The spec of a model served by backend `B`. */
export type ModelSpecOf<B extends BackendName> = ModelConfigOf<B>;
export type { BackendName };

/** Measured facts about a loaded model, for logs, /v1/models and `gatehouse models list`. */
export interface ModelInfo {
  id: string;
  backend: BackendName;
  task: ModelTask;
  /** Hex sha256 of the artifact (file, or the ONNX model file), if there is one. */
  sha256: string | undefined;
  sizeBytes: number | undefined;
  loadMs: number;
  /** Growth of the process's resident set while loading, bytes (approximate). */
  rssDeltaBytes: number;
  /** Embedding width, for embedding models. */
  dimensions?: number | undefined;
  /** Context window, for generation models. */
  contextSize?: number | undefined;
  /** Labels, for classification models. */
  labels?: readonly string[] | undefined;
  /** Longest input the model reads, in its tokens; longer inputs are refused (413), not cut. */
  maxInputTokens?: number | undefined;
}

/** What a backend knows about the model it loaded; the loader adds the load measurements. */
export type BackendInfo = Omit<ModelInfo, 'loadMs' | 'rssDeltaBytes'>;

interface BaseHandle {
  readonly info: BackendInfo;
  /** Tokens in `text` by the model's own tokenizer. */
  countTokens(text: string): number;
  /** Frees the model's memory. */
  close(): Promise<void>;
}

/** Turns texts into vectors; `embed` takes a whole batch at once. */
export interface EmbeddingHandle extends BaseHandle {
  readonly task: 'embedding';
  readonly dimensions: number;
  /** How many `embed` calls can usefully run at once (e.g. worker threads); default 1. */
  readonly parallelism?: number;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

/** Scores texts against fixed labels (probabilities per label, same order as `labels`). */
export interface ClassificationHandle extends BaseHandle {
  readonly task: 'classification';
  readonly labels: readonly string[];
  classify(texts: readonly string[]): Promise<Float32Array[]>;
}

/** A chat message (OpenAI shape, text content only). */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'developer' | 'tool';
  content: string;
}

/** One generation job. Either `messages` (chat, the model's own template) or `prompt`. */
export interface GenerateRequest {
  messages?: readonly ChatMessage[] | undefined;
  prompt?: string | undefined;
  maxTokens: number;
  temperature?: number | undefined;
  topP?: number | undefined;
  seed?: number | undefined;
  stop?: readonly string[] | undefined;
  /**
   * Aborted on client disconnect or deadline; generation stops and the slot is freed. Check
   * `aborted`; a backend that needs an AbortSignal takes `abortSignalOf(signal)`.
   */
  signal: AbortLike;
}

/** Why generation ended (OpenAI `finish_reason`, plus our cancellation). */
export type FinishReason = 'stop' | 'length' | 'cancelled';

/** The outcome of one generation job; counts come from the model's tokenizer. */
export interface GenerateResult {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
}

/** Generates text; up to `slots` jobs may run at once (the scheduler guarantees no more). */
export interface GenerationHandle extends BaseHandle {
  readonly task: 'generation';
  readonly slots: number;
  readonly contextSize: number;
  /** Runs one job; `onText` receives text as it is produced (for streaming). */
  generate(req: GenerateRequest, onText: (text: string) => void): Promise<GenerateResult>;
}

/** Any loaded model. */
export type ModelHandle = EmbeddingHandle | ClassificationHandle | GenerationHandle;

/** What a backend module exports: load one model from its spec (any backend's by default). */
export type LoadModel<B extends BackendName = BackendName> = (
  spec: ModelSpecOf<B>,
) => Promise<ModelHandle>;
