/**
 * @module registry/sync — replicas follow the registry: a deploy, rollback or retire made on
 * another replica (or by the CLI) is served here too within one interval. Each pass reads the
 * store's active version of every model and, where it differs from what this replica serves,
 * loads it through the same two-phase serving contract a local deploy uses (prepare → commit),
 * or retires what the store no longer has active. A model is never loaded twice at once: local
 * deploys go through {@link RegistrySync.serving}, which holds a per-model lock from `prepare`
 * to `commit`/`abort`, and a pass skips a model whose lock is held (the local change will leave
 * it right) and re-reads the store before committing what it loaded.
 */
import type { RegistryStore } from '../store/index.js';
import type { BlobStore } from './blobs.js';
import { servingVersion } from './go-live.js';
import type { PreparedVersion, RegistryServing, ServingVersion } from './serving.js';

/** Where the sync reports what it did or could not do. */
export type SyncSink = (
  level: 'info' | 'warn' | 'error',
  obj: Record<string, unknown>,
  msg: string,
) => void;

export interface RegistrySyncOptions {
  /** The shared store's registry (only its reads are used). */
  registry: Pick<RegistryStore, 'listModels' | 'activeVersion'>;
  /** The inference side (what app.ts builds). */
  serving: RegistryServing;
  /** Where artifacts are: the blob store every replica reads (a shared data dir or volume). */
  blobs: BlobStore;
  /** Milliseconds between passes (config `auth.revocationSyncInterval`, the same bound). */
  intervalMs: number;
  /**
   * Settles once the versions active at start-up are served (`Restore.load`): no pass runs
   * before, so a version being restored is never loaded a second time.
   */
  restored: () => Promise<void>;
  /** Milliseconds before a version that failed to load here is tried again (default 30 s). */
  retryMs?: number;
  clock?: () => number;
  log?: SyncSink;
}

/** Per-model mutual exclusion of version changes (a chain of promises per model). */
class ModelLocks {
  readonly #tails = new Map<string, Promise<void>>();

  held(model: string): boolean {
    return this.#tails.has(model);
  }

  /** Waits for the model's lock; resolves with its release (call it exactly once). */
  async acquire(model: string): Promise<() => void> {
    const before = this.#tails.get(model);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = (before ?? Promise.resolve()).then(() => mine);
    this.#tails.set(model, tail);
    await before;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      if (this.#tails.get(model) === tail) this.#tails.delete(model);
    };
  }
}

/** A serving side whose version changes hold the model's lock until they end. */
class LockedServing implements RegistryServing {
  readonly #inner: RegistryServing;
  readonly #locks: ModelLocks;

  constructor(inner: RegistryServing, locks: ModelLocks) {
    this.#inner = inner;
    this.#locks = locks;
  }

  async prepare(version: ServingVersion): Promise<PreparedVersion> {
    const release = await this.#locks.acquire(version.model);
    let prepared: PreparedVersion;
    try {
      prepared = await this.#inner.prepare(version);
    } catch (err) {
      release();
      throw err;
    }
    return {
      commit: () => {
        try {
          prepared.commit();
        } finally {
          release();
        }
      },
      abort: async () => {
        try {
          await prepared.abort();
        } finally {
          release();
        }
      },
    };
  }

  async retire(model: string, versionId: string): Promise<void> {
    const release = await this.#locks.acquire(model);
    try {
      await this.#inner.retire(model, versionId);
    } finally {
      release();
    }
  }

  served(model: string): ReturnType<RegistryServing['served']> {
    return this.#inner.served(model);
  }
}

/** Follows the store's active versions; `serving` is what local deploys must use. */
export class RegistrySync {
  /** The serving side for the registry service: local changes take the model's lock. */
  readonly serving: RegistryServing;
  readonly #o: Required<Omit<RegistrySyncOptions, 'log'>> & { log: SyncSink | undefined };
  readonly #locks = new ModelLocks();
  /** Version id → when it may be tried again, after it failed to load here. */
  readonly #failed = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> | undefined;
  #storeDown = false;

  constructor(options: RegistrySyncOptions) {
    this.#o = { retryMs: 30_000, clock: Date.now, ...options, log: options.log };
    this.serving = new LockedServing(options.serving, this.#locks);
  }

  /** Runs a pass every `intervalMs` until `stop()` (the timer does not hold the process). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      void this.follow();
    }, this.#o.intervalMs);
    this.#timer.unref();
  }

  /** Stops the passes and waits for one in flight. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#pass;
  }

  /** One pass now (joins a pass in flight); never rejects. */
  follow(): Promise<void> {
    this.#pass ??= this.#follow().finally(() => {
      this.#pass = undefined;
    });
    return this.#pass;
  }

  async #follow(): Promise<void> {
    await this.#o.restored();
    let models: string[];
    try {
      models = await this.#o.registry.listModels();
    } catch (err) {
      if (!this.#storeDown) this.#o.log?.('warn', { err }, 'registry sync: store unavailable');
      this.#storeDown = true;
      return;
    }
    this.#storeDown = false;
    for (const model of models) {
      // A local change in progress leaves this model as the store says; the next pass checks.
      if (this.#locks.held(model)) continue;
      const release = await this.#locks.acquire(model);
      try {
        await this.#followModel(model);
      } catch (err) {
        this.#o.log?.('warn', { err, model }, 'registry sync: model not followed this time');
      } finally {
        release();
      }
    }
  }

  async #followModel(model: string): Promise<void> {
    const inner = this.#o.serving;
    const active = await this.#o.registry.activeVersion(model);
    const served = inner.served(model);
    if (active === undefined) {
      if (served === undefined) return;
      // Retired (or rolled back to nothing) elsewhere: stop serving the version here too.
      await inner.retire(model, served.versionId);
      this.#o.log?.('info', { model, versionId: served.versionId }, 'registry sync: retired');
      return;
    }
    if (served?.versionId === active.id) return;
    const retryAt = this.#failed.get(active.id);
    if (retryAt !== undefined && this.#o.clock() < retryAt) return;
    let prepared: PreparedVersion;
    try {
      // A folder artifact is materialized (and verified) as a local deploy does.
      prepared = await inner.prepare(await servingVersion(this.#o.blobs, active));
    } catch (err) {
      this.#failed.set(active.id, this.#o.clock() + this.#o.retryMs);
      const facts = { model, version: active.version, versionId: active.id };
      const error = err instanceof Error ? err.message : String(err);
      this.#o.log?.('error', { ...facts, error }, 'registry sync: active version failed to load');
      return;
    }
    // The store may have moved on while the version loaded: commit only what is still active.
    const now = await this.#o.registry.activeVersion(model).catch(() => undefined);
    if (now?.id !== active.id) {
      await prepared.abort();
      return;
    }
    prepared.commit();
    this.#failed.delete(active.id);
    this.#o.log?.(
      'info',
      { model, version: active.version, versionId: active.id, previous: served?.versionId ?? null },
      'registry sync: serving the version made active on another replica',
    );
  }
}
