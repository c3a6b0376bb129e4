/** @module store — chooses the persistence backend from configuration. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Store } from './types.js';

export type * from './types.js';
export { isStoreUnavailable, STORE_RETRY_AFTER, StoreUnavailableError } from './errors.js';
export { StoreProbe, type ProbeSink, type StoreProbeOptions } from './probe.js';

/** Opens the store named by `url` (postgres://…), or SQLite in `dataDir` when it is empty. */
export async function openStore(opts: {
  url?: string | undefined;
  /** PostgreSQL schema holding the tables (default: the server's search_path). */
  schema?: string | undefined;
  dataDir: string;
  /** Told about background store failures (e.g. a dropped idle connection). */
  onError?: ((error: Error) => void) | undefined;
}): Promise<Store> {
  const url = opts.url ?? '';
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { openPostgresStore } = await import('./backends/postgres.js');
    return openPostgresStore(url, {
      ...(opts.schema === undefined ? {} : { schema: opts.schema }),
      ...(opts.onError === undefined ? {} : { onError: opts.onError }),
    });
  }
  if (url !== '' && !url.startsWith('sqlite:')) {
    throw new ConfigError(
      'store.url: unsupported scheme (use postgres:// or leave empty for SQLite)',
    );
  }
  const file = url.startsWith('sqlite:')
    ? url.slice('sqlite:'.length)
    : join(opts.dataDir, 'gatehouse.db');
  if (file !== ':memory:') mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const { openSqliteStore } = await import('./backends/sqlite.js');
  return openSqliteStore(file);
}
