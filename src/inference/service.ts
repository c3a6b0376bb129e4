/**
 * @module inference/service — the operations the API exposes, on top of the registry: embed,
 * classify, generate and moderate, each with the model's deadline, its input limits and its
 * scheduler in between. Takes plain values; knows nothing about HTTP.
 */
import {
  DeadlineError,
  ModelNotFoundError,
  ModelUnavailableError,
  PayloadTooLargeError,
} from './errors.js';
import type { ModelRegistry, ServedModel } from './registry.js';
import type { GenerateRequest, GenerateResult, ModelTask } from './types.js';

/** Who asks, and how long they are willing to wait. */
export interface CallContext {
  /** The caller's identity key, for fair scheduling (e.g. `iss|sub`). */
  identity: string;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** Labels that mean "nothing to flag". */
const HARMLESS = new Set(['safe', 'benign']);

/** One text's moderation verdict (OpenAI shape, camel-cased). */
export interface ModerationResult {
  flagged: boolean;
  categories: Record<string, boolean>;
  categoryScores: Record<string, number>;
}

/** Callbacks of a generation: `onStart` once a slot is held (errors before it are plain). */
export interface GenerateHooks {
  onStart?: () => void;
  onText?: (text: string) => void;
}

/** A classifier the service runs for moderation or injection detection. */
export interface NamedClassifier {
  readonly model: ServedModel;
  readonly threshold: number;
}

function deadline(
  model: ServedModel,
  signal: AbortSignal,
): { signal: AbortSignal; timedOut: () => boolean } {
  const timeout = AbortSignal.timeout(model.config.timeoutMs);
  return { signal: AbortSignal.any([signal, timeout]), timedOut: () => timeout.aborted };
}

/** Runs inference requests against served models. */
export class InferenceService {
  readonly #registry: ModelRegistry;
  readonly #classifiers: ReadonlyMap<string, NamedClassifier>;

  /** `classifiers`: few-shot classifiers by name (`moderation`, `prompt-injection`). */
  constructor(
    registry: ModelRegistry,
    classifiers: ReadonlyMap<string, NamedClassifier> = new Map(),
  ) {
    this.#registry = registry;
    this.#classifiers = classifiers;
  }

  /** Every served model, in config order. */
  models(): ServedModel[] {
    return this.#registry.served();
  }

  /** The served model `id`: 404 if unknown, 503 if it failed to load. */
  lookup(id: string): ServedModel {
    return this.#registry.get(id);
  }

  /** The served model `id`, checked to serve `task`. */
  model(id: string, task: ModelTask): ServedModel {
    const m = this.#registry.get(id);
    if (m.handle.task !== task) {
      throw new ModelUnavailableError(`The model '${id}' does not serve ${task}`);
    }
    return m;
  }

  #checkInputs(m: ServedModel, texts: readonly string[]): number {
    // The operator's limit, else the model's own window: never cut an input silently.
    const limit = m.config.maxInputTokens ?? m.info.maxInputTokens;
    let tokens = 0;
    for (const t of texts) {
      const n = m.handle.countTokens(t);
      if (limit !== undefined && n > limit) {
        throw new PayloadTooLargeError(
          `An input has ${n} tokens; the model '${m.config.id}' accepts at most ${limit}`,
        );
      }
      tokens += n;
    }
    return tokens;
  }

  async #batched(m: ServedModel, texts: string[], ctx: CallContext): Promise<Float32Array[]> {
    const d = deadline(m, ctx.signal);
    const batcher = m.batcher;
    if (batcher === undefined)
      throw new ModelUnavailableError(`The model '${m.config.id}' cannot batch`);
    try {
      return await batcher.submit(texts, d.signal);
    } catch (err) {
      if (d.timedOut()) throw new DeadlineError();
      throw err;
    }
  }

  /** Embeds `texts` with model `id`; vectors in input order plus prompt token usage. */
  async embed(
    id: string,
    texts: string[],
    ctx: CallContext,
  ): Promise<{ vectors: Float32Array[]; promptTokens: number }> {
    const m = this.model(id, 'embedding');
    const promptTokens = this.#checkInputs(m, texts);
    return { vectors: await this.#batched(m, texts, ctx), promptTokens };
  }

  /** Label probabilities for `texts` with classification model `id`. */
  async classify(
    id: string,
    texts: string[],
    ctx: CallContext,
  ): Promise<{ labels: readonly string[]; scores: Float32Array[] }> {
    const m = this.model(id, 'classification');
    if (m.handle.task !== 'classification') throw new ModelUnavailableError('not a classifier');
    this.#checkInputs(m, texts);
    return { labels: m.handle.labels, scores: await this.#batched(m, texts, ctx) };
  }

  /** Names of the loaded moderation-style classifiers. */
  get classifierNames(): string[] {
    return [...this.#classifiers.keys()];
  }

  /**
   * Scores `texts` with the named classifier. A category is flagged when its score reaches the
   * classifier's threshold; the harmless labels (`safe`, `benign`) are never flagged.
   */
  async moderate(name: string, texts: string[], ctx: CallContext): Promise<ModerationResult[]> {
    const c = this.#classifiers.get(name);
    if (c === undefined) throw this.#registry.unavailable(name) ?? new ModelNotFoundError(name);
    const { handle } = c.model;
    if (handle.task !== 'classification') throw new ModelUnavailableError('not a classifier');
    this.#checkInputs(c.model, texts);
    const scores = await this.#batched(c.model, texts, ctx);
    return scores.map((s) => {
      const categories: Record<string, boolean> = {};
      const categoryScores: Record<string, number> = {};
      handle.labels.forEach((label, i) => {
        if (HARMLESS.has(label)) return;
        const score = s[i] ?? 0;
        categoryScores[label] = score;
        categories[label] = score >= c.threshold;
      });
      return { flagged: Object.values(categories).some(Boolean), categories, categoryScores };
    });
  }

  /**
   * Generates with model `id`: waits for a fair slot, runs under the model's deadline, frees the
   * slot when done, cancelled or failed. `hooks.onText` receives streamed text.
   */
  async generate(
    id: string,
    req: Omit<GenerateRequest, 'signal'>,
    ctx: CallContext,
    hooks: GenerateHooks = {},
  ): Promise<GenerateResult> {
    const m = this.model(id, 'generation');
    const { handle, slots } = m;
    if (handle.task !== 'generation' || slots === undefined)
      throw new ModelUnavailableError('not a generator');
    const promptText = req.prompt ?? (req.messages ?? []).map((x) => x.content).join('\n');
    const promptTokens = handle.countTokens(promptText);
    const limit = m.config.maxInputTokens ?? handle.contextSize;
    if (promptTokens >= limit) {
      throw new PayloadTooLargeError(
        `The prompt has ${promptTokens} tokens; the model '${id}' accepts at most ${limit - 1}`,
      );
    }
    const d = deadline(m, ctx.signal);
    const release = await slots.acquire(ctx.identity, d.signal).catch((err: unknown) => {
      throw d.timedOut() ? new DeadlineError() : err;
    });
    try {
      hooks.onStart?.();
      const maxTokens = Math.max(1, Math.min(req.maxTokens, handle.contextSize - promptTokens));
      const result = await handle.generate(
        { ...req, maxTokens, signal: d.signal },
        hooks.onText ?? (() => undefined),
      );
      if (result.finishReason === 'cancelled' && d.timedOut()) throw new DeadlineError();
      return result;
    } finally {
      release();
    }
  }

  /** The loaded few-shot classifiers (by name) as served models, for listing. */
  classifierModels(): ServedModel[] {
    return [...this.#classifiers.values()].map((c) => c.model);
  }
}
