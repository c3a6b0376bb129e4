/**
 * @module bench/support/setup — the server's own wiring in a throw-away data dir: config from
 * `loadConfig` (an empty config file, so a `gatehouse.yaml` in the working directory cannot leak
 * in), the SQLite store from `openStore`, and the identity area from `createAuth`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuth, type Auth } from '../../src/auth/index.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { systemClock } from '../../src/lib/clock.js';
import { randomId } from '../../src/lib/random.js';
import { openStore, type Store } from '../../src/store/index.js';

/** A temp data dir with its store; `close` removes both. */
export interface BenchEnv {
  readonly dir: string;
  readonly store: Store;
  /** Config for this data dir with `overrides` applied (nested like gatehouse.yaml). */
  config(overrides?: Record<string, unknown>): Config;
  /** `createAuth` exactly as `buildApp` calls it, over this env's store. */
  auth(config: Config): Promise<Auth>;
  close(): Promise<void>;
}

/** Creates a fresh data dir and opens the SQLite store in it. */
export async function openBenchEnv(): Promise<BenchEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const file = join(dir, 'empty.yaml');
  writeFileSync(file, '');
  const store = await openStore({ dataDir: dir });
  const auths: Auth[] = [];
  return {
    dir,
    store,
    config: (overrides = {}) =>
      loadConfig({
        env: {},
        file,
        overrides: {
          models: [],
          inference: { moderation: null, promptInjection: null },
          ...overrides,
          dataDir: dir,
          log: { level: 'silent' },
        },
      }),
    auth: async (config) => {
      const auth = await createAuth({
        config,
        store,
        clock: systemClock,
        newId: randomId,
        fetch: globalThis.fetch,
        warn: (message) => {
          console.warn(`warn: ${message}`);
        },
      });
      auths.push(auth);
      return auth;
    },
    close: async () => {
      for (const a of auths) a.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
