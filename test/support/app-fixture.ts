/**
 * @module test/support/app-fixture — a real application in a temp data dir, for integration
 * tests: `inject()` without a socket, or `listen()` on an ephemeral port for real clients.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, type App, type AppOverrides } from '../../src/app.js';
import { createClient, type NewClient } from '../../src/auth/index.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createLogger } from '../../src/lib/logger.js';

export interface Fixture {
  app: App;
  config: Config;
  dir: string;
  /** Base URL once `listen()` was called, else the configured issuer. */
  base: string;
  /** Mutable clock in ms; tests move `fixture.now` to travel in time. */
  now: number;
  /** Registers a client and returns its id and secret. */
  client(input?: Partial<NewClient>): Promise<{ id: string; secret: string }>;
  /** Starts listening on 127.0.0.1 with an ephemeral port; the issuer is that URL. */
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** Config values (nested like gatehouse.yaml). */
  config?: Record<string, unknown>;
  /** Listen on a real socket (issuer becomes http://127.0.0.1:PORT). */
  listen?: boolean;
  /** Use the real clock instead of a controllable one. */
  realClock?: boolean;
  overrides?: AppOverrides;
}

function pickPort(): Promise<number> {
  return import('node:net').then(
    ({ createServer }) =>
      new Promise<number>((resolve, reject) => {
        const srv = createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
          const addr = srv.address();
          const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
          srv.close(() => {
            resolve(port);
          });
        });
      }),
  );
}

/** Builds an app in a fresh temp dir. */
export async function startApp(options: FixtureOptions = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const port = options.listen === true ? await pickPort() : 8080;
  const user = options.config ?? {};
  const server = {
    ...(user.server as Record<string, unknown> | undefined),
    host: '127.0.0.1',
    port,
  };
  const config = loadConfig({
    env: {},
    file: undefined,
    // No models unless a test asks for them: loading USE-lite costs a second per app.
    overrides: {
      models: [],
      inference: { moderation: null, promptInjection: null },
      ...user,
      dataDir: dir,
      server,
      log: { level: 'silent' },
    },
  });
  const state = { now: Date.now() };
  const app = await buildApp(config, {
    logger: createLogger('silent'),
    ...(options.realClock === true ? {} : { clock: () => state.now }),
    ...options.overrides,
  });
  if (options.listen === true) await app.http.listen({ host: '127.0.0.1', port });
  const fixture: Fixture = {
    app,
    config,
    dir,
    base: config.auth.issuer,
    get now() {
      return state.now;
    },
    set now(v: number) {
      state.now = v;
    },
    async client(input = {}) {
      const { client, secret } = await createClient(app.store, () => state.now, {
        name: input.name ?? 'test-client',
        roles: input.roles ?? ['developer'],
        scopes: input.scopes,
        jwks: input.jwks,
        allowRefresh: input.allowRefresh ?? false,
        limits: input.limits,
      });
      return { id: client.id, secret: secret ?? '' };
    },
    async close() {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** POSTs a client_credentials request for `client` (client_secret_basic) through inject(). */
export function requestToken(
  f: Fixture,
  client: { id: string; secret: string },
  params: Record<string, string> = {},
) {
  return f.app.http.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: {
      authorization: basic(client.id, client.secret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: form({ grant_type: 'client_credentials', ...params }),
  });
}

/** Status of `GET /v1/models` with `accessToken` as a bearer token. */
export async function modelsStatus(f: Fixture, accessToken: string): Promise<number> {
  const res = await f.app.http.inject({
    method: 'GET',
    url: '/v1/models',
    headers: { authorization: `Bearer ${accessToken}` },
  });
  return res.statusCode;
}

/** Form-encodes a body for the OAuth endpoints. */
export function form(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

/** HTTP Basic credentials, form-encoded first as RFC 6749 §2.3.1 requires. */
export function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}
