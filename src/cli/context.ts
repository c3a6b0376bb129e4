/**
 * @module cli/context — shared option parsing and resource opening for CLI commands. Admin
 * commands work directly on the data dir (or the configured store), like the server does.
 */
import { loadConfig, type Config } from '../config/index.js';
import { openStore, type Store } from '../store/index.js';

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Loads config honouring --config and --data-dir. */
export function configFrom(
  values: { config?: string | undefined; 'data-dir'?: string | undefined },
  extra: Record<string, unknown> = {},
): Config {
  const overrides: Record<string, unknown> = { ...extra };
  if (values['data-dir'] !== undefined) overrides.dataDir = values['data-dir'];
  return loadConfig({ file: values.config, overrides });
}

/** Opens the store, runs `fn`, closes the store. */
export async function withStore<T>(config: Config, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({
    url: config.store.url,
    schema: config.store.schema,
    dataDir: config.dataDir,
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Splits a comma/space separated list. */
export function list(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(/[\s,]+/).filter(Boolean);
}

/** Writes a line to stdout. */
export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A usage error: printed without a stack, exit code 2. */
export class UsageError extends Error {}
