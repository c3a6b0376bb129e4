/**
 * @module test/support/auth-app — the application from `buildApp`, with the identity area's
 * injectable parts (secret check, refusal hook) in the test's hands, so a
 * test can hold secret checks pending and watch refusals. No models, silent logs, SQLite in a
 * temp dir, a controllable clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { createClient, type Auth, type AuthDeps } from '../../src/auth/index.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createLogger } from '../../src/lib/logger.js';
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
  const store = await openStore({ dataDir: dir });
  const app = await buildApp(config, {
    clock,
    store,
    logger: createLogger('silent'),
    auth: { secretCheck: options.secretCheck, onRefusal: options.onRefusal },
  });
  const { http, auth } = app;
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
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
