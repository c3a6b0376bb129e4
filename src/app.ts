/**
 * @module app — wires the areas into a running application, without listening. Tests call
 * `buildApp` with overrides (clock, fetch, ids, logger) and drive it with `inject()`; `serve`
 * builds it with `waitForModels: false`, listens, and lets the models load behind `/readyz`.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ClientLimitsCache, createAuth, type Auth, type AuthDeps } from './auth/index.js';
import type { Config } from './config/index.js';
import { buildHttp } from './http/server.js';
import {
  InferenceRegistryServing,
  prepareInference,
  type BackendLoaders,
  type Inference,
} from './inference/index.js';
import { systemClock, type Clock } from './lib/clock.js';
import { createLogger } from './lib/logger.js';
import { randomId, type IdGenerator } from './lib/random.js';
import { openAudit } from './audit-wiring.js';
import type { AuditLog } from './audit/index.js';
import { openPolicy, type Policy } from './policy/index.js';
import { openStore, StoreProbe, type Store } from './store/index.js';
import { openLimiter } from './ratelimit/index.js';
import {
  BlobStore,
  DatasetService,
  ModelRegistry,
  RegistrySync,
  withFolder,
} from './registry/index.js';
import { Metrics } from './metrics/index.js';
import { metricsServer, type MetricsServer } from './http/routes/metrics.js';

/** Things tests replace. */
export interface AppOverrides {
  clock?: Clock;
  newId?: IdGenerator;
  fetch?: typeof globalThis.fetch;
  logger?: Logger;
  store?: Store;
  /** Replaces model backends (tests). */
  loaders?: BackendLoaders;
  /** The identity area's injectable parts: secret check, refusal hook, failure throttle. */
  auth?: Pick<AuthDeps, 'secretCheck' | 'onRefusal' | 'throttle'>;
}

/** How to build. */
export interface BuildOptions {
  /**
   * Load the models before resolving (default true, what tests expect). False: resolve with
   * nothing loaded; `App.loadModels()` starts loading (`serve` calls it once it listens). Until
   * then `/readyz` says `loading` and requests for a model get 503 with `Retry-After`.
   */
  waitForModels?: boolean;
}

/** A built application. */
export interface App {
  readonly http: FastifyInstance;
  readonly auth: Auth;
  readonly inference: Inference;
  readonly store: Store;
  readonly config: Config;
  /** The audit log of this replica (undefined when `audit.enabled` is false). */
  readonly audit: AuditLog | undefined;
  /** The policy in force (reloaded when its file changes); `onReload` for the audit log. */
  readonly policy: Policy;
  /**
   * Loads the configured models (once; with `waitForModels` they already are) and settles when
   * each is loaded or has failed; never rejects.
   */
  loadModels(): Promise<void>;
  /** The server's Prometheus metrics (README "Metrics"); other stages report to it. */
  readonly metrics: Metrics;
  /**
   * Starts the unauthenticated `/metrics` listener on `metrics.host:metrics.port` and resolves
   * with its address; undefined (nothing started) when `metrics.port` is not set.
   */
  listenMetrics(): Promise<string | undefined>;
  /** Stops accepting requests, drains in-flight ones, closes the store. */
  close(): Promise<void>;
}

/** Builds the application from a loaded config. */
export async function buildApp(
  config: Config,
  overrides: AppOverrides = {},
  options: BuildOptions = {},
): Promise<App> {
  const logger = overrides.logger ?? createLogger(config.log.level);
  const clock = overrides.clock ?? systemClock;
  // First: an invalid policy file fails start-up before anything else is opened.
  const policy = openPolicy({
    file: config.policy.file,
    log: (level, obj, msg) => {
      logger[level](obj, msg);
    },
  });
  const store =
    overrides.store ??
    (await openStore({
      url: config.store.url,
      schema: config.store.schema,
      dataDir: config.dataDir,
      onError: (err) => {
        logger.error({ err }, 'store connection failed');
      },
    }));
  const auth = await createAuth({
    config,
    store,
    policy,
    clock,
    newId: overrides.newId ?? randomId,
    fetch: overrides.fetch ?? globalThis.fetch,
    warn: (message) => {
      logger.warn(message);
    },
    ...overrides.auth,
  });
  // metrics: one registry per app, fed by the pipeline, the schedulers and the audit writer.
  const metrics = new Metrics({
    models: config.models.map((m) => m.id),
    redis: config.ratelimit.url !== undefined,
  });
  // Rate limits and token quotas: counted in this process, or in the Redis every replica shares.
  let redisHealthy = true;
  const limiter = await openLimiter(config.ratelimit, {
    clock,
    newId: overrides.newId ?? randomId,
    log: (level, obj, msg) => {
      logger[level](obj, msg);
    },
    onHealth: (healthy) => {
      redisHealthy = healthy;
      metrics.setRedisHealthy(healthy);
    },
  });
  if (config.ratelimit.url !== undefined) redisHealthy = await limiter.healthy();
  const clientLimits = new ClientLimitsCache(
    store,
    config.auth.revocationSyncInterval * 1000,
    clock,
  );
  const inferenceDeps = {
    log: (level: 'info' | 'warn' | 'error', obj: Record<string, unknown>, msg: string) => {
      logger[level](obj, msg);
    },
    ...(overrides.loaders === undefined ? {} : { loaders: overrides.loaders }),
  };
  const inference = prepareInference(config, inferenceDeps);
  // What the registry deploys is served from the blob store; a model with an active registry
  // version is served as that version, not as its config entry (read before anything loads).
  const serving = new InferenceRegistryServing(inference.served, config.inference, inferenceDeps);
  // One content-addressed store for model artifacts and dataset files.
  const blobs = new BlobStore(join(config.dataDir, 'blobs'), {
    minFreeBytes: config.registry.minFreeBytes,
  });
  const restore = await serving.restoreActive(
    store.registry,
    (v) => blobs.pathOf(v.artifactSha256),
    (v) => withFolder(blobs, v),
  );
  const loadModels = (): Promise<void> => restore.load().then(() => inference.load());
  // --- scale-out (issue 11) ---
  // Replicas over one store are interchangeable: each follows the registry changes made on the
  // others within auth.revocationSyncInterval (local deploys take the same per-model lock, so a
  // version is never loaded twice), and probes the store so that /readyz reports an outage and
  // recovers by itself when the database is back.
  const scaleOutLog = (
    level: 'info' | 'warn' | 'error',
    obj: Record<string, unknown>,
    msg: string,
  ): void => {
    logger[level](obj, msg);
  };
  const registrySync = new RegistrySync({
    registry: store.registry,
    serving,
    blobs,
    intervalMs: config.auth.revocationSyncInterval * 1000,
    restored: () => restore.load(),
    clock,
    log: scaleOutLog,
  });
  const storeProbe = new StoreProbe({
    store,
    clock,
    log: scaleOutLog,
    onResult: (healthy) => {
      metrics.setStoreHealthy(healthy);
    },
  });
  registrySync.start();
  storeProbe.start();
  const scaleOut = {
    /** What the registry service deploys through. */
    serving: registrySync.serving,
    storeHealthy: () => storeProbe.healthy(),
    stop: () => Promise.all([registrySync.stop(), storeProbe.stop()]),
  };
  // --- end scale-out (issue 11) ---
  const audit = openAudit(config, store, auth, clock, logger);
  audit?.watchPolicy(policy);
  metrics.watchModels(
    () => inference.served.served(),
    (id) => inference.served.has(id),
  );
  if (audit !== undefined) metrics.watchAudit(audit.log);
  let metricsListener: MetricsServer | undefined;
  const listenMetrics = async (): Promise<string | undefined> => {
    if (config.metrics.port === undefined) return undefined;
    metricsListener ??= metricsServer(metrics);
    return metricsListener.listen(config.metrics.host, config.metrics.port);
  };
  const datasets = new DatasetService({
    store,
    blobs,
    clock,
    limits: config.registry,
    audit: audit?.log,
    issuer: config.auth.issuer,
  });
  let phase: 'starting' | 'serving' | 'draining' = 'starting';
  const http = await buildHttp({
    config,
    auth,
    store,
    logger,
    inference: inference.service,
    policy,
    ready: () => ({
      phase,
      models: inference.served.status(),
      audit: audit?.log.healthy(),
      store: scaleOut.storeHealthy(),
      ratelimit:
        config.ratelimit.url === undefined
          ? undefined
          : { healthy: redisHealthy, failOpen: config.ratelimit.failOpen },
    }),
    auditStage: audit?.stage,
    rateLimits: { limiter, policy, clientLimits },
    datasets,
    registry: new ModelRegistry({
      store: store.registry,
      blobs,
      policy,
      clock,
      allowedPaths: config.registry.allowedPaths,
      maxBlobBytes: config.registry.maxBlobBytes,
      serving: scaleOut.serving,
    }),
    metrics,
  });
  await http.ready();
  if (options.waitForModels !== false) await loadModels();
  phase = 'serving';
  const retention = datasets.startRetention((err) => {
    logger.error({ err }, 'dataset retention purge failed');
  });
  // Partial files of uploads cut by a crash; an upload lasts at most server.requestTimeoutMs.
  blobs
    .sweepPartials(2 * config.server.requestTimeoutMs + 60_000)
    .then((removed) => {
      if (removed > 0) logger.info({ removed }, 'removed partial uploads left by an earlier run');
    })
    .catch((err: unknown) => {
      logger.warn({ err }, 'could not sweep partial uploads');
    });
  return {
    http,
    auth,
    inference,
    store,
    config,
    policy,
    audit: audit?.log,
    loadModels,
    metrics,
    listenMetrics,
    close: async () => {
      phase = 'draining';
      await metricsListener?.close();
      // Stop accepting connections, let in-flight requests finish, then free the models.
      await http.close();
      await scaleOut.stop();
      await retention.stop();
      await inference.close();
      // What is still counted and the final checkpoint are written before the store closes.
      await audit?.close();
      await limiter.close();
      auth.close();
      policy.close();
      if (overrides.store === undefined) await store.close();
    },
  };
}
