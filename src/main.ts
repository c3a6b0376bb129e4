/**
 * @module main — process entry for `gatehouse serve`: load config → build app → listen, and close
 * gracefully (drain in-flight requests) on SIGTERM/SIGINT.
 */
import { buildApp } from './app.js';
import type { Config } from './config/index.js';
import { createLogger } from './lib/logger.js';

/** Starts the server and resolves once it listens; returns the bound address. */
export async function serve(config: Config): Promise<string> {
  const logger = createLogger(config.log.level);
  const started = performance.now();
  const app = await buildApp(config, { logger });
  const address = await app.http.listen({ host: config.server.host, port: config.server.port });
  logger.info(
    {
      address,
      issuer: config.auth.issuer,
      dataDir: config.dataDir,
      store: app.store.kind,
      startupMs: Math.round(performance.now() - started),
    },
    'gatehouse listening',
  );
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
  process.once('SIGTERM', () => {
    shutdown('SIGTERM');
  });
  process.once('SIGINT', () => {
    shutdown('SIGINT');
  });
  return address;
}
