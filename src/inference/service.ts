/**
 * @module inference/service — the operations the API exposes, on top of the served models: embed,
 * classify, generate and moderate, each with the model's deadline, its input limits and its
 * scheduler in between. Takes plain values; knows nothing about HTTP.
 */
import {
  DeadlineError,
  ModelNotFoundError,
  ModelTaskMismatchError,
  ModelUnavailableError,
  PayloadTooLargeError,
} from './errors.js';
import type { AbortLike } from '../lib/abort.js';
import type { ServedModels, ServedModel } from './served-models.js';
import type { Lease } from './scheduler/slots.js';
import type { GenerateRequest, GenerateResult, ModelTask } from './types.js';

/** Who asks, and until when they listen. The deadline is the model's `timeoutMs`. */
export interface CallContext {
  /** The caller's identity key, for fair scheduling (e.g. `iss|sub`). */
  identity: string;
  /** Aborted when the client goes away: queued work is dropped, generation stops. */
  signal: AbortLike;
  /**
   * Aborts `signal`, if the caller owns it: the scheduler then stops a generation at its
   * deadline through this signal instead of creating an AbortController per generation.
   */
  cancel?: () => void;
  /**
   * The caller's own limit on prompt tokens (its policy's `dataControls.maxPromptTokens`),
   * counted with the model's tokenizer like the model's limit; 413 beyond it.
   */
  maxPromptTokens?: number | undefined;
  /**
   * Told which served model takes the request, as the service looks it up (before it queues):
   * the one that answers it, even when another version is deployed meanwhile — what the audit
   * facts and the receipt should name (`info.sha256`, `version`), rather than a later lookup.
   */
  onModel?: (model: ServedModel) => void;
  /**
   * Reserves the caller's token budget once the prompt is counted and checked, before the
   * request queues for the model: `promptTokens` plus at most `completionTokens` generated (0
   * for embeddings). Rejects (429) when the budget is short; nothing runs then.
   */
  reserve?: ((promptTokens: number, completionTokens: number) => Promise<void> | void) | undefined;
  /**
   * Told the tokens the model actually spent, once the call is over: exactly once after every
   * `reserve` that resolved (prompt + generated; the prompt alone when a generation fails after
   * it started; 0 when it never got to run), so the reservation can be settled.
   */
  onUsage?: ((tokens: number) => void) | undefined;
}

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
  /** For listing; its `handle` is the classifier, which has no scheduler of its own. */
  readonly model: ServedModel;
  readonly threshold: number;
  /** The label that means "nothing to flag" (the classifier's own fallback label). */
  readonly fallbackLabel: string | undefined;
  /** Label probabilities; the embeds go through the base model's fair queue as `ctx`. */
  classify(texts: string[], ctx: CallContext): Promise<Float32Array[]>;
}

/** What the API calls each task, in error messages. */
const TASK_NOUN: Readonly<Record<ModelTask, string>> = {
  embedding: 'embeddings',
  classification: 'text classification',
  generation: 'text generation',
};
const MODERATION = 'moderation';
const NO_HOOKS: GenerateHooks = {};

/** Refuses a prompt beyond the caller's own token limit (413, naming it). */
function roleLimit(promptTokens: number, ctx: CallContext): void {
  const max = ctx.maxPromptTokens;
  if (max !== undefined && promptTokens > max) {
    throw new PayloadTooLargeError(
      `The prompt has ${String(promptTokens)} tokens; your policy allows at most ${String(max)} (dataControls.maxPromptTokens)`,
    );
  }
}
const ignoreText = (): void => undefined;

/** Runs inference requests against served models. */
export class InferenceService {
  readonly #served: ServedModels;
  readonly #classifiers: ReadonlyMap<string, NamedClassifier>;

  /** `classifiers`: few-shot classifiers by name (`moderation`, `prompt-injection`). */
  constructor(served: ServedModels, classifiers: ReadonlyMap<string, NamedClassifier> = new Map()) {
    this.#served = served;
    this.#classifiers = classifiers;
  }

  /** Every served model, in config order. */
  models(): ServedModel[] {
    return this.#served.served();
  }

  /** The served model `id`: 404 if unknown, 503 if it failed to load. */
  lookup(id: string): ServedModel {
    return this.#served.get(id);
  }

  /**
   * The served model `id`, checked to serve `task`: 404 if unknown, 503 if it failed to load,
   * 400 if it does something else (`asked` names the job in the message).
   */
  model(id: string, task: ModelTask, asked = TASK_NOUN[task]): ServedModel {
    let m: ServedModel;
    try {
      m = this.#served.get(id);
    } catch (err) {
      if (err instanceof ModelNotFoundError && this.#classifiers.has(id)) {
        throw this.#mismatch(id, MODERATION, asked, task);
      }
      throw err;
    }
    if (m.handle.task !== task) throw this.#mismatch(id, TASK_NOUN[m.handle.task], asked, task);
    return m;
  }

  #mismatch(id: string, serves: string, asked: string, task: ModelTask | undefined) {
    // A hook for later policy: only models this caller may use should be suggested.
    const candidates =
      task === undefined
        ? this.classifierNames
        : this.#served
            .served()
            .filter((m) => m.handle.task === task)
            .map((m) => m.config.id);
    return new ModelTaskMismatchError(id, serves, asked, candidates);
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

  #batched(m: ServedModel, texts: string[], ctx: CallContext): Promise<Float32Array[]> {
    if (m.batcher === undefined)
      throw new ModelUnavailableError(`The model '${m.config.id}' cannot batch`);
    return m.batcher.submit(texts, ctx);
  }

  /** Embeds `texts` with model `id`; vectors in input order plus prompt token usage. */
  async embed(
    id: string,
    texts: string[],
    ctx: CallContext,
  ): Promise<{ vectors: Float32Array[]; promptTokens: number }> {
    const m = this.model(id, 'embedding');
    ctx.onModel?.(m);
    const promptTokens = this.#checkInputs(m, texts);
    roleLimit(promptTokens, ctx);
    if (ctx.reserve !== undefined) await ctx.reserve(promptTokens, 0);
    let spent = 0;
    try {
      const vectors = await this.#batched(m, texts, ctx);
      spent = promptTokens;
      return { vectors, promptTokens };
    } finally {
      ctx.onUsage?.(spent);
    }
  }

  /** Label probabilities for `texts` with classification model `id`. */
  async classify(
    id: string,
    texts: string[],
    ctx: CallContext,
  ): Promise<{ labels: readonly string[]; scores: Float32Array[] }> {
    const m = this.model(id, 'classification');
    ctx.onModel?.(m);
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
   * classifier's threshold; its fallback label (`safe`, `benign`: nothing found) is no category.
   * A served model that is not a moderation classifier is refused with 400.
   */
  async moderate(name: string, texts: string[], ctx: CallContext): Promise<ModerationResult[]> {
    const c = this.#classifiers.get(name);
    if (c === undefined) {
      // A classifier still loading is 503; any other model is the wrong task (or 404).
      const loading = this.#served.unavailable(name);
      if (loading !== undefined) throw loading;
      const m = this.#served.get(name);
      throw this.#mismatch(name, TASK_NOUN[m.handle.task], MODERATION, undefined);
    }
    const { handle } = c.model;
    if (handle.task !== 'classification') throw new ModelUnavailableError('not a classifier');
    this.#checkInputs(c.model, texts);
    ctx.onModel?.(c.model);
    const scores = await c.classify(texts, ctx);
    return scores.map((s) => {
      const categories: Record<string, boolean> = {};
      const categoryScores: Record<string, number> = {};
      handle.labels.forEach((label, i) => {
        if (label === c.fallbackLabel) return;
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
    hooks: GenerateHooks = NO_HOOKS,
  ): Promise<GenerateResult> {
    const asked = req.messages === undefined ? 'text completions' : 'chat completions';
    const m = this.model(id, 'generation', asked);
    ctx.onModel?.(m);
    const { handle, slots } = m;
    if (handle.task !== 'generation' || slots === undefined)
      throw new ModelUnavailableError('not a generator');
    const promptText = req.prompt ?? (req.messages ?? []).map((x) => x.content).join('\n');
    const promptTokens = handle.countTokens(promptText);
    roleLimit(promptTokens, ctx);
    const limit = m.config.maxInputTokens ?? handle.contextSize;
    if (promptTokens >= limit) {
      throw new PayloadTooLargeError(
        `The prompt has ${promptTokens} tokens; the model '${id}' accepts at most ${limit - 1}`,
      );
    }
    const maxTokens = Math.max(1, Math.min(req.maxTokens, handle.contextSize - promptTokens));
    if (ctx.reserve !== undefined) await ctx.reserve(promptTokens, maxTokens);
    // What the model spent, for the caller's token budget: nothing until it holds a slot, the
    // prompt once it started.
    let spent = 0;
    let lease: Lease | undefined;
    try {
      lease = slots.tryAcquire(ctx) ?? (await slots.acquire(ctx));
      spent = promptTokens;
      hooks.onStart?.();
      const result = await handle.generate(
        {
          messages: req.messages,
          prompt: req.prompt,
          maxTokens,
          temperature: req.temperature,
          topP: req.topP,
          seed: req.seed,
          stop: req.stop,
          signal: lease.signal,
        },
        hooks.onText ?? ignoreText,
      );
      spent = result.promptTokens + result.completionTokens;
      if (result.finishReason === 'cancelled' && lease.timedOut) throw new DeadlineError();
      return result;
    } finally {
      lease?.release();
      ctx.onUsage?.(spent);
    }
  }

  /** The loaded few-shot classifiers (by name) as served models, for listing. */
  classifierModels(): ServedModel[] {
    return [...this.#classifiers.values()].map((c) => c.model);
  }
}
