/**
 * @module inference/backends/echo.test — the echo model through the conformance suite of each
 * task it serves, generating with and without a per-word delay.
 */
import {
  classificationConformance,
  embeddingConformance,
  generationConformance,
} from '../inference.case.js';
import type {
  ClassificationHandle,
  EmbeddingHandle,
  GenerationHandle,
  ModelSpecOf,
  ModelTask,
} from '../types.js';
import { modelSpec } from '../../../test/support/model-spec.js';
import { loadModel } from './echo.js';

type EchoSpec = ModelSpecOf<'echo'>;
const spec = (task: ModelTask, over: Partial<EchoSpec> = {}): EchoSpec =>
  modelSpec({ id: `echo-${task}`, backend: 'echo', task, slots: 3, ...over });

async function openEmbedding(): Promise<EmbeddingHandle> {
  const handle = await loadModel(spec('embedding'));
  if (handle.task !== 'embedding') throw new Error(`expected embedding, got ${handle.task}`);
  return handle;
}

async function openClassification(): Promise<ClassificationHandle> {
  const handle = await loadModel(spec('classification'));
  if (handle.task !== 'classification') throw new Error(`expected classifier, got ${handle.task}`);
  return handle;
}

async function openGeneration(over: Partial<EchoSpec> = {}): Promise<GenerationHandle> {
  const handle = await loadModel(spec('generation', over));
  if (handle.task !== 'generation') throw new Error(`expected generation, got ${handle.task}`);
  return handle;
}

embeddingConformance('echo', openEmbedding);
classificationConformance('echo', openClassification);
generationConformance('echo', () => openGeneration());
// With a delay the abort lands while a word is pending, not between words.
generationConformance('echo, 2 ms per word', () => openGeneration({ delayMs: 2 }));
