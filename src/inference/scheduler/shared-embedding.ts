/**
 * @module inference/scheduler/shared-embedding — the embedding model as the few-shot
 * classifiers see it: an EmbeddingHandle whose `embed` goes through the base model's fair
 * batcher, so a moderation request shares batches, queue bound and deadline with
 * `/v1/embeddings` instead of running beside them.
 *
 * How the caller's identity reaches `embed`: `createFewShotClassifier` knows nothing of callers
 * (it calls `base.embed(texts)`), so {@link SharedEmbedding.as} names the caller for the
 * `classify` call it wraps, and `embed` reads it. The classifier calls `embed` before its first
 * `await` (a contract its tests keep: see shared-embedding.test.ts), so the caller is set exactly
 * while that call starts, and no AsyncLocalStorage (and its cost on every promise) is needed. An
 * `embed` outside `as` (the examples at start-up) runs as the classifier's own identity.
 */
import type { EmbeddingHandle } from '../types.js';
import type { Caller, MicroBatcher } from './batcher.js';

/** An embedding model shared through its batcher, with the caller named per call. */
export class SharedEmbedding {
  /** Pass this to `createFewShotClassifier`; `close()` leaves the base model open. */
  readonly handle: EmbeddingHandle;
  #caller: Caller | undefined;

  /** `own`: the identity of embeds made outside {@link as} (e.g. `classifier:moderation`). */
  constructor(base: EmbeddingHandle, batcher: MicroBatcher<string, Float32Array>, own: string) {
    const self: Caller = { identity: own };
    this.handle = {
      task: 'embedding',
      dimensions: base.dimensions,
      info: base.info,
      countTokens: (text) => base.countTokens(text),
      embed: (texts) => batcher.submit(texts, this.#caller ?? self),
      close: () => Promise.resolve(),
    };
  }

  /** Runs `fn` (which starts its embeds synchronously) on behalf of `caller`. */
  as<T>(caller: Caller, fn: () => Promise<T>): Promise<T> {
    const outer = this.#caller;
    this.#caller = caller;
    try {
      return fn();
    } finally {
      this.#caller = outer;
    }
  }
}
