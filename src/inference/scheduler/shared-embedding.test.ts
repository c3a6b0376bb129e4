import { describe, expect, it } from 'vitest';
import { createFewShotClassifier, type FewShotClassifier } from '../classifier.js';
import { OverloadedError, RequestCancelledError } from '../errors.js';
import type { EmbeddingHandle } from '../types.js';
import { MicroBatcher, type Caller } from './batcher.js';
import { SharedEmbedding } from './shared-embedding.js';

/** 2-d vectors: "bad…" points one way, anything else the other. */
const vec = (t: string) => Float32Array.from(t.startsWith('bad') ? [1, 0] : [0, 1]);

const base: EmbeddingHandle = {
  task: 'embedding',
  dimensions: 2,
  info: { id: 'base', backend: 'echo', task: 'embedding', sha256: undefined, sizeBytes: undefined },
  countTokens: (t) => t.length,
  embed: (texts) => Promise.resolve(texts.map(vec)),
  close: () => Promise.resolve(),
};

async function setup() {
  const batches: string[][] = [];
  const gates: (() => void)[] = [];
  let gated = false;
  const batcher = new MicroBatcher<string, Float32Array>({
    run: (xs) => {
      batches.push([...xs]);
      if (!gated) return base.embed(xs);
      return new Promise((resolve) => gates.push(() => void base.embed(xs).then(resolve)));
    },
    maxBatch: 4,
    windowMs: 0,
    maxQueue: 16,
    timeoutMs: 60_000,
  });
  const shared = new SharedEmbedding(base, batcher, 'classifier:test');
  const classifier = await createFewShotClassifier(
    shared.handle,
    { harm: ['bad one', 'bad two'], safe: ['good one', 'fine two'] },
    { fallbackLabel: 'safe' },
  );
  gated = true;
  const finish = async () => {
    while (gates.length > 0) {
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { batches, batcher, shared, classifier, finish };
}

/** What the service does for a moderation request: embed as the caller, then score. */
async function classifyAs(
  shared: SharedEmbedding,
  classifier: FewShotClassifier,
  caller: Caller,
  texts: string[],
): Promise<Float32Array[]> {
  return classifier.scoreVectors(await shared.embedAs(texts, caller)).map((r) => r.scores);
}

describe('SharedEmbedding', () => {
  it("runs a classifier's embeds through the base batcher as the caller, fairly", async () => {
    const { batches, batcher, shared, classifier, finish } = await setup();
    batches.length = 0;
    const heavy = batcher.submit(
      Array.from({ length: 12 }, (_, i) => `a${i}`),
      { identity: 'A' },
    );
    const verdict = classifyAs(shared, classifier, { identity: 'B' }, ['bad thing']);
    // A's second batch could not start before B's text: it rides in the next batch.
    expect(batches[0]).toEqual(['a0', 'a1', 'a2', 'a3']);
    await finish();
    expect(batches[1]).toContain('bad thing');
    const [scores] = await verdict;
    expect(scores?.[0]).toBeGreaterThan(0.5);
    await heavy;
  });

  it("counts the classifier's inputs against the caller's own share, and honours its signal", async () => {
    const { batcher, shared, classifier, finish } = await setup();
    const heavy = batcher.submit(
      Array.from({ length: 8 }, (_, i) => `a${i}`),
      { identity: 'A' },
    );
    // A already waits with 4 inputs, its whole share (maxQueue 16 → 4): A's moderation is refused.
    await expect(classifyAs(shared, classifier, { identity: 'A' }, ['x'])).rejects.toBeInstanceOf(
      OverloadedError,
    );
    const ac = new AbortController();
    const gone = classifyAs(shared, classifier, { identity: 'B', signal: ac.signal }, ['y']);
    ac.abort();
    await expect(gone).rejects.toBeInstanceOf(RequestCancelledError);
    expect(batcher.queued).toBe(4);
    await finish();
    await heavy;
  });
});
