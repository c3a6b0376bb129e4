/**
 * @module main — process entry for `gatehouse serve`: load config → build app → listen → load
 * the models (behind `/readyz`), and close gracefully (drain in-flight requests) on
 * SIGTERM/SIGINT. Binding comes first so that a busy port fails at once, before any model loads.
 */
import { buildApp, type App, type AppOverrides } from './app.js';
import type { Config } from './config/index.js';
import { ConfigError } from './errors.js';
import { createLogger } from './lib/logger.js';

/** A listening server. */
export interface Server {
  /** The bound address, e.g. `http://127.0.0.1:8080`. */
  readonly address: string;
  readonly app: App;
  /** Settles once every model is loaded or has failed (the server listens meanwhile). */
  readonly modelsLoaded: Promise<void>;
}

/** Why a bind failed, in words an operator acts on; undefined for unexpected errors. */
function bindProblem(err: unknown): string | undefined {
  const code = err instanceof Error && 'code' in err ? String(err.code) : undefined;
  if (code === 'EADDRINUSE') return 'is already in use (EADDRINUSE); stop the other server or';
  if (code === 'EACCES') return 'needs privileges to bind (EACCES);';
  if (code === 'EADDRNOTAVAIL') return 'is not an address of this machine (EADDRNOTAVAIL);';
  return undefined;
}

/**
 * Starts the server and resolves once it listens, before the models are loaded (they load in
 * the background; `/readyz` answers 503 until every required one is). A port that cannot be
 * bound rejects at once with a ConfigError naming `server.port`.
 */
export async function serve(config: Config, overrides: AppOverrides = {}): Promise<Server> {
  const logger = overrides.logger ?? createLogger(config.log.level);
  const started = performance.now();
  const app = await buildApp(config, { ...overrides, logger }, { waitForModels: false });
  const { host, port } = config.server;
  let address: string;
  try {
    address = await app.http.listen({ host, port });
  } catch (err) {
    await app.close();
    const problem = bindProblem(err);
    if (problem === undefined) throw err;
    throw new ConfigError(
      `server.port: ${host}:${port} ${problem} choose another with --port or server.port`,
    );
  }
  // The unauthenticated /metrics listener, when metrics.port is set (README "Metrics").
  let metrics: string | undefined;
  try {
    metrics = await app.listenMetrics();
  } catch (err) {
    await app.close();
    const problem = bindProblem(err);
    if (problem === undefined) throw err;
    const { host: mHost, port: mPort } = config.metrics;
    throw new ConfigError(
      `metrics.port: ${mHost}:${mPort ?? ''} ${problem} choose another with metrics.port`,
    );
  }
  logger.info(
    {
      address,
      ...(metrics === undefined ? {} : { metrics: `${metrics}/metrics` }),
      issuer: config.auth.issuer,
      dataDir: config.dataDir,
      store: app.store.kind,
    },
    'gatehouse listening; loading models',
  );
  const modelsLoaded = app.loadModels().then(() => {
    const status = app.inference.served.status();
    const missing = status.filter((m) => m.required && m.state !== 'ready').map((m) => m.id);
    const startupMs = Math.round(performance.now() - started);
    if (missing.length === 0) logger.info({ startupMs }, 'gatehouse ready');
    else logger.error({ startupMs, models: missing }, 'required models failed: not ready');
  });
  handleSignals(app, logger);
  return { address, app, modelsLoaded };
}

function handleSignals(app: App, logger: ReturnType<typeof createLogger>): void {
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    app.close().then(
      () => {
        logger.info('shutdown complete');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // `on`, not `once`: the listeners must stay registered while the server drains. A library
  // loaded with a model (signal-exit, through node-llama-cpp's proper-lockfile) re-raises the
  // signal when it sees no listener but its own, which killed the process mid-drain.
  process.on('SIGTERM', () => {
    shutdown('SIGTERM');
  });
  process.on('SIGINT', () => {
    shutdown('SIGINT');
  });
}
