/**
 * @module inference/registry-serving — the inference side of deploy, rollback and retire
 * (the `RegistryServing` contract of registry/serving): a version is loaded beside what is served
 * — its file's sha256 checked against the approved digest first, its params validated by the
 * backend's config schema — and swapped in by one `Map` write. A request looks its model up once
 * and keeps that model's scheduler and handle, so requests in flight (queued or running) finish
 * on the version they started on; the replaced version's scheduler is then drained and its
 * handle closed. Nothing that was accepted fails because of a swap.
 *
 * A version's artifact is one file (a blob: a GGUF for `llama-cpp`; `echo` reads none, but its
 * file is still verified) or a folder artifact (`tfjs`, `onnx`): its manifest blob is verified
 * here like a file, and the backend loads the folder the registry materialized and verified file
 * by file (`ServingVersion.folder`).
 */
import type { PreparedVersion, RegistryServing, ServingVersion } from '../registry/index.js';
import type { ModelVersionRecord, RegistryStore } from '../store/index.js';
import { verifyArtifact } from './artifact.js';
import { ModelParamsInvalidError, ModelUnavailableError } from './errors.js';
import {
  loadHandle,
  serve,
  type ServedModel,
  type ServedModels,
  type ServedModelsDeps,
  type ServedVersion,
} from './served-models.js';
import { servingVersion, specOf, taskOf } from './version-spec.js';

/** Where a version's artifact is on disk: its blob (`BlobStore.pathOf`) or its registered file. */
export type ArtifactPathOf = (version: ModelVersionRecord) => string;

/**
 * Readies a restored version's artifact before it loads (registry `withFolder`: a folder
 * artifact is materialized and verified); a rejection fails that model like a failed load.
 */
export type ResolveArtifact = (version: ServingVersion) => Promise<ServingVersion>;

/** The registry reads restoring at start-up needs. */
export type ActiveVersions = Pick<RegistryStore, 'listModels' | 'activeVersion'>;

/** Config `inference`: the models the few-shot classifiers are built on (null: none). */
export interface ClassifierModels {
  readonly moderation: { readonly model: string } | null;
  readonly promptInjection: { readonly model: string } | null;
}

/** Active versions read at start-up, their ids already pinned; `load` serves them. */
export interface Restore {
  readonly versions: readonly ServingVersion[];
  /**
   * Loads each version one after the other; settles when all are served or failed, never
   * rejects. Called again, returns the same promise.
   */
  load(): Promise<void>;
}

/** Lets what `model` accepted finish, then frees its handle. */
async function drain(model: ServedModel): Promise<void> {
  await (model.batcher ?? model.slots)?.close();
  await model.handle.close();
}

/** Serves registry versions in `served`, beside (and over) the config file's models. */
export class InferenceRegistryServing implements RegistryServing {
  readonly #served: ServedModels;
  readonly #deps: ServedModelsDeps;
  /** Model ids the few-shot classifiers are built on or named: never swapped under them. */
  readonly #classifierIds: ReadonlySet<string>;

  /** `classifiers`: config `inference`, for the classifiers' models (`moderation.model`, …). */
  constructor(served: ServedModels, classifiers: ClassifierModels, deps: ServedModelsDeps) {
    this.#served = served;
    this.#deps = deps;
    const { moderation, promptInjection } = classifiers;
    this.#classifierIds = new Set([
      ...(moderation === null ? [] : [moderation.model, 'moderation']),
      ...(promptInjection === null ? [] : [promptInjection.model, 'prompt-injection']),
    ]);
  }

  prepare(version: ServingVersion): Promise<PreparedVersion> {
    return this.#served.during(this.#prepare(version));
  }

  async #prepare(version: ServingVersion): Promise<PreparedVersion> {
    if (this.#classifierIds.has(version.model))
      throw new ModelParamsInvalidError(
        `model ${version.model} is a few-shot classifier or the model one is built on; it is served from the config file only`,
      );
    const spec = specOf(version);
    this.#refuseIfStopping();
    const started = performance.now();
    const rssBefore = process.memoryUsage().rss;
    // Before any backend reads a byte: a file replaced by hand does not match the approval.
    await verifyArtifact(version.artifactPath, version.sha256);
    const handle = await loadHandle(spec, this.#deps.loaders);
    try {
      if (handle.task !== taskOf(version))
        throw new ModelParamsInvalidError(
          `version ${String(version.version)} of model ${version.model} serves ${handle.task}, not ${version.task}`,
        );
      // Loads cannot be interrupted: one that ends after close() began is freed at once.
      this.#refuseIfStopping();
    } catch (err) {
      await handle.close();
      throw err;
    }
    const facts: ServedVersion = {
      versionId: version.versionId,
      version: version.version,
      sha256: version.sha256,
    };
    const model: ServedModel = {
      ...serve(
        spec,
        handle,
        {
          ...handle.info,
          sha256: version.sha256,
          sizeBytes: version.size,
          loadMs: Math.round(performance.now() - started),
          rssDeltaBytes: Math.max(0, process.memoryUsage().rss - rssBefore),
        },
        Math.floor((this.#deps.now?.() ?? Date.now()) / 1000),
      ),
      version: facts,
    };
    let state: 'prepared' | 'committed' | 'aborted' = 'prepared';
    return {
      commit: () => {
        if (state === 'committed') return;
        if (state === 'aborted') throw new Error('commit() after abort()');
        state = 'committed';
        if (this.#served.stopping) {
          // Shutting down: close() may already have freed what it found; free this one here.
          this.#release(model, 'not served: the server is shutting down');
          return;
        }
        const old = this.#served.swap(model);
        this.#deps.log(
          'info',
          {
            model: version.model,
            version: version.version,
            versionId: version.versionId,
            sha256: version.sha256,
            loadMs: model.info.loadMs,
            replaced: old?.version?.versionId ?? (old === undefined ? null : 'config'),
          },
          'model version serving',
        );
        if (old !== undefined) this.#release(old, 'replaced version drained and freed');
      },
      abort: async () => {
        if (state !== 'prepared') return;
        state = 'aborted';
        await model.handle.close();
      },
    };
  }

  async retire(model: string, versionId: string): Promise<void> {
    const current = this.served(model);
    if (current?.versionId !== versionId) return;
    const old = this.#served.withdraw(model);
    if (old === undefined) return;
    this.#deps.log(
      'info',
      { model, version: current.version, versionId },
      'model version retired: no longer served',
    );
    await this.#served.during(drain(old));
  }

  served(model: string): ServedVersion | undefined {
    try {
      return this.#served.get(model).version;
    } catch {
      return undefined;
    }
  }

  /**
   * Reads the active version of every registry model and pins their ids at once (a config
   * entry of the same id is not loaded: the registry's version wins, and is logged); `load`
   * then serves them. A version that fails to load leaves its model failed (503).
   */
  async restoreActive(
    registry: ActiveVersions,
    artifactPathOf: ArtifactPathOf,
    resolve: ResolveArtifact = (v) => Promise.resolve(v),
  ): Promise<Restore> {
    const active: ServingVersion[] = [];
    for (const name of await registry.listModels()) {
      const record = await registry.activeVersion(name);
      if (record !== undefined) active.push(servingVersion(record, artifactPathOf(record)));
    }
    const configured = new Set(this.#served.status().map((s) => s.id));
    const versions: ServingVersion[] = [];
    for (const v of active) {
      const facts = { model: v.model, version: v.version, versionId: v.versionId };
      if (this.#classifierIds.has(v.model)) {
        // prepare() would refuse it; its config entry (if any) is served instead.
        this.#deps.log(
          'error',
          facts,
          'active version not served: a few-shot classifier is built on this model; the config entry is served',
        );
        continue;
      }
      versions.push(v);
      if (configured.has(v.model))
        this.#deps.log(
          'info',
          facts,
          'the registry has an active version of this model: its config entry is not loaded',
        );
      this.#served.pin(v.model);
    }
    let loading: Promise<void> | undefined;
    return {
      versions,
      load: () => (loading ??= this.#served.during(this.#restore(versions, resolve))),
    };
  }

  async #restore(versions: readonly ServingVersion[], resolve: ResolveArtifact): Promise<void> {
    for (const v of versions) {
      if (this.#served.stopping) break;
      const facts = { model: v.model, version: v.version, versionId: v.versionId };
      try {
        (await this.#prepare(await resolve(v))).commit();
      } catch (err) {
        this.#served.settle(v.model, err);
        const error = err instanceof Error ? err.message : String(err);
        this.#deps.log('error', { ...facts, error }, 'active model version failed to load');
      }
    }
  }

  #refuseIfStopping(): void {
    if (this.#served.stopping) throw new ModelUnavailableError('The server is shutting down');
  }

  /** Drains and frees `model` in the background (`close` waits for it); failures are logged. */
  #release(model: ServedModel, msg: string): void {
    const facts = { model: model.config.id, versionId: model.version?.versionId ?? null };
    this.#served
      .during(drain(model))
      .then(() => {
        this.#deps.log('info', facts, msg);
      })
      .catch((err: unknown) => {
        const error = err instanceof Error ? err.message : String(err);
        this.#deps.log('error', { ...facts, error }, 'freeing a model version failed');
      });
  }
}
