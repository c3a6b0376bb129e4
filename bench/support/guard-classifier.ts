/**
 * @module bench/support/guard-classifier — the built-in `prompt-injection` few-shot classifier on
 * the real USE-lite model, as the server builds it (config defaults), for the guard benchmark:
 * its probability of label `injection` per text, and its latency per prompt in batches.
 */
import { loadModel } from '../../src/inference/backends/tfjs/index.js';
import {
  builtinExampleSet,
  createFewShotClassifier,
  type FewShotClassifier,
} from '../../src/inference/classifier.js';
import type { EmbeddingHandle } from '../../src/inference/types.js';
import { modelSpec } from '../../test/support/model-spec.js';
import { median } from './measure.js';

/** The loaded classifier. */
export interface InjectionClassifier {
  /** Load time of model and classifier, ms. */
  readonly loadMs: number;
  /** P(injection) of each text, scored in batches of `batch`. */
  probabilities(texts: readonly string[], batch?: number): Promise<number[]>;
  /** Median ms per prompt of classifying `texts` in one batch, over `runs` runs. */
  msPerPrompt(texts: readonly string[], runs: number): Promise<number>;
  close(): Promise<void>;
}

/** Loads USE-lite and builds the `prompt-injection` classifier with the built-in examples. */
export async function loadInjectionClassifier(): Promise<InjectionClassifier> {
  const t0 = performance.now();
  const handle = await loadModel(modelSpec({ id: 'use-lite', backend: 'tfjs' }));
  if (handle.task !== 'embedding') throw new Error('use-lite is not an embedding model');
  const model: EmbeddingHandle = handle;
  const builtin = builtinExampleSet('prompt-injection');
  const classifier: FewShotClassifier = await createFewShotClassifier(model, builtin.examples, {
    id: 'prompt-injection',
    fallbackLabel: builtin.fallbackLabel,
  });
  const loadMs = performance.now() - t0;
  const index = classifier.labels.indexOf('injection');
  if (index < 0) throw new Error('prompt-injection classifier has no label injection');
  const score = async (texts: readonly string[]) =>
    (await classifier.classifyBatch(texts)).map((r) => r.scores[index] ?? 0);
  return {
    loadMs,
    probabilities: async (texts, batch = 64) => {
      const out: number[] = [];
      for (let i = 0; i < texts.length; i += batch)
        out.push(...(await score(texts.slice(i, i + batch))));
      return out;
    },
    msPerPrompt: async (texts, runs) => {
      await score(texts);
      const times: number[] = [];
      for (let r = 0; r < runs; r++) {
        const t = performance.now();
        await score(texts);
        times.push((performance.now() - t) / texts.length);
      }
      return median(times);
    },
    close: async () => {
      await classifier.close();
      await model.close();
    },
  };
}
