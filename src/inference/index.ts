/**
 * @module inference — the inference area's public surface: loads the configured models and the
 * few-shot classifiers (moderation, prompt-injection detection) built on an embedding model.
 * A classifier has no scheduler of its own: its embeds go through the embedding model's fair
 * batcher as the caller, sharing its batches, queue bound and deadline.
 */
import type { Config } from '../config/index.js';
import {
  builtinExampleSet,
  createFewShotClassifier,
  loadExampleSets,
  type BuiltinExampleSetName,
} from './classifier.js';
import { ServedModels, type ServedModelsDeps, type ServedModel } from './served-models.js';
import { SharedEmbedding } from './scheduler/shared-embedding.js';
import { InferenceService, type NamedClassifier } from './service.js';

export {
  ServedModels,
  unpinned,
  type BackendLoaders,
  type ServedVersion,
  type FailedModel,
  type LoadState,
  type ModelStatus,
  type ServedModel,
} from './served-models.js';
export {
  InferenceService,
  type CallContext,
  type GenerateHooks,
  type ModerationResult,
} from './service.js';
export * from './errors.js';
export type * from './types.js';
export { digestFile, verifyArtifact, ModelArtifactError } from './artifact.js';
export { servingVersion, specOf, taskOf } from './version-spec.js';
export {
  InferenceRegistryServing,
  type ActiveVersions,
  type ArtifactPathOf,
  type ResolveArtifact,
  type ClassifierModels,
  type Restore,
} from './registry-serving.js';

/** How a configured classifier fared at start-up. */
export interface ClassifierStatus {
  readonly name: string;
  /** The embedding model it is built on. */
  readonly model: string;
  readonly examples: string | undefined;
  readonly status: 'ready' | 'failed';
  readonly labels: readonly string[] | undefined;
  readonly loadMs: number | undefined;
  readonly error: string | undefined;
}

/** The inference area, assembled. */
export interface Inference {
  readonly served: ServedModels;
  readonly service: InferenceService;
  /** Every configured classifier, ready or not, in a fixed order (filled as they load). */
  readonly classifiers: readonly ClassifierStatus[];
  /**
   * Starts loading the models, then the classifiers built on them (once; later calls return the
   * same promise). Settles when every one is loaded or has failed; never rejects.
   */
  load(): Promise<void>;
  /** Drains queues and frees every model. */
  close(): Promise<void>;
}

const CLASSIFIERS: readonly [BuiltinExampleSetName, 'moderation' | 'promptInjection'][] = [
  ['moderation', 'moderation'],
  ['prompt-injection', 'promptInjection'],
];

/** Loads models and classifiers from config and resolves once every one is settled. */
export async function createInference(config: Config, deps: ServedModelsDeps): Promise<Inference> {
  const inference = prepareInference(config, deps);
  await inference.load();
  return inference;
}

/**
 * The inference area with nothing loaded yet: every model and classifier reports `loading` and
 * requests for one get 503 with `Retry-After` until `load()` has loaded it. Failures are
 * logged; the rest is served.
 */
export function prepareInference(config: Config, deps: ServedModelsDeps): Inference {
  const served = new ServedModels(config.models, {
    requireDigest: config.registry.requireDigest,
  });
  const classifiers = new Map<string, NamedClassifier>();
  const statuses: ClassifierStatus[] = [];
  const enabled = CLASSIFIERS.flatMap(([name, key]) => {
    const spec = config.inference[key];
    return spec === null ? [] : [{ name, spec }];
  });
  for (const { name, spec } of enabled) {
    // A classifier is as required as the model it is built on.
    served.track(name, config.models.find((m) => m.id === spec.model)?.required ?? true);
  }
  const loadClassifiers = async (): Promise<void> => {
    for (const { name, spec } of enabled) {
      if (served.stopping) break;
      const meta = { name, model: spec.model, examples: spec.examples };
      const started = performance.now();
      try {
        const base = served.get(spec.model);
        if (base.handle.task !== 'embedding' || base.batcher === undefined)
          throw new Error(`model '${spec.model}' is not an embedding model`);
        // Its embeds share the base model's fair queue (see SharedEmbedding).
        const shared = new SharedEmbedding(base.handle, base.batcher, `classifier:${name}`);
        const builtin = builtinExampleSet(name);
        const examples =
          spec.examples === undefined ? builtin.examples : await loadExampleSets(spec.examples);
        const handle = await createFewShotClassifier(shared.handle, examples, {
          id: name,
          threshold: spec.threshold,
          ...(builtin.fallbackLabel in examples ? { fallbackLabel: builtin.fallbackLabel } : {}),
        });
        const loadMs = Math.round(performance.now() - started);
        const model: ServedModel = {
          config: { ...base.config, id: name },
          handle,
          info: { ...handle.info, loadMs, rssDeltaBytes: 0 },
          created: base.created,
          batcher: undefined,
          slots: undefined,
        };
        classifiers.set(name, {
          model,
          threshold: spec.threshold,
          fallbackLabel: handle.fallbackLabel,
          classify: async (texts, ctx) =>
            handle.scoreVectors(await shared.embedAs(texts, ctx)).map((r) => r.scores),
        });
        served.settle(name);
        statuses.push({
          ...meta,
          status: 'ready',
          labels: handle.labels,
          loadMs,
          error: undefined,
        });
        deps.log(
          'info',
          { classifier: name, model: spec.model, labels: handle.labels, loadMs },
          'classifier ready',
        );
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        statuses.push({ ...meta, status: 'failed', labels: undefined, loadMs: undefined, error });
        served.settle(name, err);
        deps.log('error', { classifier: name, model: spec.model, error }, 'classifier unavailable');
      }
    }
  };
  let loading: Promise<void> | undefined;
  const load = (): Promise<void> => (loading ??= served.load(deps).then(loadClassifiers));
  const service = new InferenceService(served, classifiers);
  return {
    served,
    service,
    classifiers: statuses,
    load,
    close: async () => {
      // Skip what has not started loading, wait for what is loading, then free the
      // classifiers before the models they are built on.
      served.stopLoading();
      await loading;
      await Promise.all([...classifiers.values()].map((c) => c.model.handle.close()));
      await served.close();
    },
  };
}
