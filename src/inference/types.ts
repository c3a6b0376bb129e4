/**
 * @module inference/types — what a loaded model can do, behind one small interface per task.
 * Backends (tfjs, onnx, llama-cpp, echo) turn a ModelSpec into a ModelHandle; the scheduler
 * and HTTP layer only ever see these interfaces.
 */

/** The tasks a model can serve. */
export type ModelTask = 'embedding' | 'classification' | 'generation';

/** Backend names as written in config. */
export type BackendName = 'tfjs' | 'onnx' | 'llama-cpp' | 'echo';

/** One model as declared in config (`models: [...]`). */
export interface ModelSpec {
  id: string;
  backend: BackendName;
  /** File (GGUF) or folder (ONNX) of the artifact; tfjs uses the bundled model when absent. */
  path?: string | undefined;
  /** Expected sha256 (hex) of the artifact; checked at load, refused on mismatch. */
  sha256?: string | undefined;
  /** For onnx: which task the folder holds. */
  task?: ModelTask | undefined;
  /** CPU threads for this model (llama-cpp, onnx); default 1. */
  threads: number;
  /** llama-cpp: context window in tokens (0 = the model's own, capped at 4096). */
  contextSize: number;
  /** llama-cpp: concurrent sequences (generation slots). */
  slots: number;
  /** echo only: delay per generated token, ms. */
  delayMs: number;
  /** tfjs only: niceness added to the worker threads on Linux (default {@link DEFAULT_WORKER_NICE}). */
  nice?: number | undefined;
}

/** How much lower than request handling the tfjs worker threads run (nice +10). */
export const DEFAULT_WORKER_NICE = 10;

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
  /** Aborted on client disconnect or deadline; generation stops and the slot is freed. */
  signal: AbortSignal;
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

/** What a backend module exports: load one model from its spec. */
export type LoadModel = (spec: ModelSpec) => Promise<ModelHandle>;
