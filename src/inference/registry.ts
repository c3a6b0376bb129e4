/**
 * @module inference/registry — the models this server serves: loaded at start-up from config,
 * each with its scheduler (a fair micro-batcher for embedding/classification, fair slots for
 * generation; both enforce the model's `timeoutMs`). A model that fails to load is reported and the server serves the others.
 */
import type { ModelConfig } from '../config/index.js';
import { ModelNotFoundError, ModelUnavailableError } from './errors.js';
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
}

/** A configured model that could not be loaded. */
export interface FailedModel {
  readonly config: ModelConfig;
  readonly error: string;
}

/** Where each backend's loader lives; heavy backends are imported only when configured. */
const LOADERS: Readonly<Record<BackendName, () => Promise<LoadModel>>> = {
  tfjs: async () => (await import('./backends/tfjs.js')).loadModel,
  onnx: async () => (await import('./backends/onnx.js')).loadModel,
  'llama-cpp': async () => (await import('./backends/llama-cpp.js')).loadModel,
  echo: async () => (await import('./backends/echo.js')).loadModel,
};

export interface RegistryDeps {
  log: (level: 'info' | 'error', obj: Record<string, unknown>, msg: string) => void;
  /** Replaces backend loaders (tests). */
  loaders?: Partial<Record<BackendName, LoadModel>>;
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

/** The set of served models. */
export class ModelRegistry {
  readonly #served = new Map<string, ServedModel>();
  readonly #failed = new Map<string, FailedModel>();

  /** Loads every configured model, one after the other (bounded memory peaks). */
  static async open(configs: readonly ModelConfig[], deps: RegistryDeps): Promise<ModelRegistry> {
    const reg = new ModelRegistry();
    for (const config of configs) await reg.#load(config, deps);
    return reg;
  }

  async #load(config: ModelConfig, deps: RegistryDeps): Promise<void> {
    const started = performance.now();
    const rssBefore = process.memoryUsage().rss;
    try {
      const load = deps.loaders?.[config.backend] ?? (await LOADERS[config.backend]());
      const handle = await load({ ...config });
      const info: ModelInfo = {
        ...handle.info,
        loadMs: Math.round(performance.now() - started),
        rssDeltaBytes: Math.max(0, process.memoryUsage().rss - rssBefore),
      };
      const created = Math.floor((deps.now?.() ?? Date.now()) / 1000);
      this.#served.set(config.id, serve(config, handle, info, created));
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
      deps.log(
        'error',
        { model: config.id, backend: config.backend, error },
        'model failed to load; serving the others',
      );
    }
  }

  /** The served model `id`; 404 if unknown, 503 if it failed to load. */
  get(id: string): ServedModel {
    const m = this.#served.get(id);
    if (m !== undefined) return m;
    if (this.#failed.has(id)) throw new ModelUnavailableError(`The model '${id}' failed to load`);
    throw new ModelNotFoundError(id);
  }

  /** Served models, in config order. */
  served(): ServedModel[] {
    return [...this.#served.values()];
  }

  /** Models that failed to load. */
  failed(): FailedModel[] {
    return [...this.#failed.values()];
  }

  /** Stops taking work, lets accepted work finish, then frees every model. */
  async close(): Promise<void> {
    const models = this.served();
    await Promise.all(models.map((m) => (m.batcher ?? m.slots)?.close() ?? Promise.resolve()));
    await Promise.all(models.map((m) => m.handle.close()));
  }
}
