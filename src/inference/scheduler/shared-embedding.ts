/**
 * @module inference/scheduler/shared-embedding — the embedding model as the few-shot
 * classifiers see it: its embeds go through the base model's fair batcher, so a moderation
 * request shares batches, queue bound and deadline with `/v1/embeddings` instead of running
 * beside them. A request embeds on behalf of its caller ({@link SharedEmbedding.embedAs}), then
 * the classifier scores the vectors; the examples embedded at start-up run as the classifier's
 * own identity (`handle`).
 */
import type { EmbeddingHandle } from '../types.js';
import type { Caller, MicroBatcher } from './batcher.js';

/** An embedding model shared through its batcher. */
export class SharedEmbedding {
  /** Pass this to `createFewShotClassifier`; `close()` leaves the base model open. */
  readonly handle: EmbeddingHandle;
  readonly #batcher: MicroBatcher<string, Float32Array>;

  /** `own`: the identity of embeds made through `handle` (e.g. `classifier:moderation`). */
  constructor(base: EmbeddingHandle, batcher: MicroBatcher<string, Float32Array>, own: string) {
    this.#batcher = batcher;
    const self: Caller = { identity: own };
    this.handle = {
      task: 'embedding',
      dimensions: base.dimensions,
      info: base.info,
      countTokens: (text) => base.countTokens(text),
      embed: (texts) => batcher.submit(texts, self),
      close: () => Promise.resolve(),
    };
  }

  /** Embeds `texts` on behalf of `caller`: its queue share, deadline and cancellation. */
  embedAs(texts: readonly string[], caller: Caller): Promise<Float32Array[]> {
    return this.#batcher.submit(texts, caller);
  }
}
