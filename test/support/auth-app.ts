/**
 * @module test/support/auth-app — the application wired exactly as `buildApp` does, but with
 * the identity area's injectable parts (secret check, refusal hook) in the test's hands, so a
 * test can hold secret checks pending and watch refusals. No models, silent logs, SQLite in a
 * temp dir, a controllable clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createAuth, createClient, type Auth, type AuthDeps } from '../../src/auth/index.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { buildHttp } from '../../src/http/server.js';
import { createInference } from '../../src/inference/index.js';
import { createLogger } from '../../src/lib/logger.js';
import { randomId } from '../../src/lib/random.js';
import { openStore, type Store } from '../../src/store/index.js';

export interface AuthApp {
  http: FastifyInstance;
  auth: Auth;
  store: Store;
  config: Config;
  /** The app's clock, ms; tests move it. */
  now: number;
  client(roles?: string[]): Promise<{ id: string; secret: string }>;
  close(): Promise<void>;
}

export interface AuthAppOptions {
  config?: Record<string, unknown>;
  secretCheck?: AuthDeps['secretCheck'];
  onRefusal?: AuthDeps['onRefusal'];
}

/** Builds the app in a fresh temp dir. */
export async function startAuthApp(options: AuthAppOptions = {}): Promise<AuthApp> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-auth-'));
  const config = loadConfig({
    env: {},
    file: undefined,
    overrides: {
      models: [],
      inference: { moderation: null, promptInjection: null },
      ...options.config,
      dataDir: dir,
      log: { level: 'silent' },
    },
  });
  const state = { now: Date.now() };
  const clock = () => state.now;
  const logger = createLogger('silent');
  const store = await openStore({ dataDir: dir });
  const auth = await createAuth({
    config,
    store,
    clock,
    newId: randomId,
    fetch: globalThis.fetch,
    warn: () => undefined,
    secretCheck: options.secretCheck,
    onRefusal: options.onRefusal,
  });
  const inference = await createInference(config, { log: () => undefined });
  const http = await buildHttp({
    config,
    auth,
    store,
    logger,
    inference: inference.service,
    ready: () => true,
  });
  await http.ready();
  return {
    http,
    auth,
    store,
    config,
    get now() {
      return state.now;
    },
    set now(v: number) {
      state.now = v;
    },
    async client(roles = ['developer']) {
      const { client, secret } = await createClient(store, clock, { name: 't', roles });
      return { id: client.id, secret: secret ?? '' };
    },
    async close() {
      await http.close();
      await inference.close();
      auth.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
