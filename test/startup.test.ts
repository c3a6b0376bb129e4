/**
 * Start-up order and readiness: the server listens before its models load, `/readyz` reports
 * each model's state and answers 503 until every required model is loaded, requests for a model
 * still loading get 503 with Retry-After (not 404), and a busy port fails at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../src/app.js';
import { createClient } from '../src/auth/index.js';
import { loadConfig, type Config } from '../src/config/index.js';
import { ConfigError } from '../src/errors.js';
import { loadModel as loadEcho } from '../src/inference/backends/echo.js';
import type { LoadModel } from '../src/inference/index.js';
import { createLogger } from '../src/lib/logger.js';
import { serve } from '../src/main.js';
import { basic, form } from './support/app-fixture.js';

const dirs: string[] = [];
const apps: App[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function configWith(models: unknown[], extra: Record<string, unknown> = {}): Config {
  const dir = mkdtempSync(join(tmpdir(), 'gh-startup-'));
  dirs.push(dir);
  return loadConfig({
    env: {},
    overrides: {
      models,
      inference: { moderation: null, promptInjection: null },
      dataDir: dir,
      log: { level: 'silent' },
      ...extra,
    },
  });
}

/** An echo loader that holds every load until `release()` (a model that takes its time). */
function gatedEcho(): { load: LoadModel; release: () => void } {
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    release,
    load: async (spec) => {
      await gate;
      if (spec.backend !== 'echo') throw new Error(`not an echo model: ${spec.id}`);
      return loadEcho(spec);
    },
  };
}

async function tokenFor(app: App): Promise<string> {
  const { client, secret } = await createClient(app.store, Date.now, {
    name: 'startup',
    roles: ['developer'],
    scopes: undefined,
    jwks: undefined,
    allowRefresh: false,
  });
  const res = await app.http.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: {
      authorization: basic(client.id, secret ?? ''),
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: form({ grant_type: 'client_credentials' }),
  });
  return res.json<{ access_token: string }>().access_token;
}

const chat = (app: App, token: string, model: string) =>
  app.http.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: { authorization: `Bearer ${token}` },
    payload: { model, messages: [{ role: 'user', content: 'hello there' }], max_tokens: 4 },
  });

describe('model loading and /readyz', () => {
  it('reports loading, answers 503 + Retry-After for a loading model, then becomes ready', async () => {
    const gated = gatedEcho();
    const app = await buildApp(
      configWith([{ id: 'slow', backend: 'echo' }]),
      { logger: createLogger('silent'), loaders: { echo: gated.load } },
      { waitForModels: false },
    );
    apps.push(app);
    const loaded = app.loadModels();
    const token = await tokenFor(app);

    const before = await app.http.inject({ method: 'GET', url: '/readyz' });
    expect(before.statusCode).toBe(503);
    expect(before.json()).toEqual({
      status: 'loading',
      store: 'ok',
      audit: 'ok',
      models: [{ id: 'slow', state: 'loading', required: true }],
    });
    const early = await chat(app, token, 'slow');
    expect(early.statusCode).toBe(503);
    expect(early.headers['retry-after']).toBe('5');
    expect(early.json<{ error: { message: string } }>().error.message).toMatch(/still loading/);
    // A model that is not configured at all is still a 404.
    expect((await chat(app, token, 'nope')).statusCode).toBe(404);

    gated.release();
    await loaded;
    const after = await app.http.inject({ method: 'GET', url: '/readyz' });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual({
      status: 'ready',
      store: 'ok',
      audit: 'ok',
      models: [{ id: 'slow', state: 'ready', required: true }],
    });
    expect((await chat(app, token, 'slow')).statusCode).toBe(200);
  });

  it('answers 503 while a required model failed to load, with a short reason and no path', async () => {
    const missing = join(tmpdir(), 'gh-no-such-dir', 'model.gguf');
    const app = await buildApp(
      configWith([
        { id: 'ok', backend: 'echo' },
        // Pinned (registry.requireDigest), so it fails for the missing file.
        { id: 'broken', backend: 'llama-cpp', path: missing, sha256: 'ab'.repeat(32) },
      ]),
      { logger: createLogger('silent') },
    );
    apps.push(app);
    const res = await app.http.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    const body = res.json<{ status: string; models: { id: string; state: string }[] }>();
    expect(body.status).toBe('not_ready');
    expect(body.models).toEqual([
      { id: 'ok', state: 'ready', required: true },
      {
        id: 'broken',
        state: 'failed',
        required: true,
        reason: 'model file missing, unreadable or not matching its sha256',
      },
    ]);
    expect(res.body).not.toContain('gh-no-such-dir');
  });

  it('is ready when only a model marked required: false failed, and still lists it', async () => {
    const app = await buildApp(
      configWith([
        { id: 'ok', backend: 'echo' },
        { id: 'extra', backend: 'onnx', path: join(tmpdir(), 'gh-nothing-here'), required: false },
      ]),
      { logger: createLogger('silent') },
    );
    apps.push(app);
    const res = await app.http.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ status: string; models: { id: string; state: string }[] }>();
    expect(body.status).toBe('ready');
    expect(body.models.map((m) => [m.id, m.state])).toEqual([
      ['ok', 'ready'],
      ['extra', 'failed'],
    ]);
  });

  it('counts a classifier as loading until it is built, with 503 + Retry-After on moderations', async () => {
    const gated = gatedEcho();
    const app = await buildApp(
      configWith([{ id: 'emb', backend: 'echo', task: 'embedding' }], {
        inference: { moderation: { model: 'emb' }, promptInjection: null },
      }),
      { logger: createLogger('silent'), loaders: { echo: gated.load } },
      { waitForModels: false },
    );
    apps.push(app);
    const loaded = app.loadModels();
    const token = await tokenFor(app);
    const moderate = () =>
      app.http.inject({
        method: 'POST',
        url: '/v1/moderations',
        headers: { authorization: `Bearer ${token}` },
        payload: { model: 'moderation', input: 'hello' },
      });
    const early = await moderate();
    expect(early.statusCode).toBe(503);
    expect(early.headers['retry-after']).toBe('5');
    const ready = await app.http.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json<{ models: unknown[] }>().models).toEqual([
      { id: 'emb', state: 'loading', required: true },
      { id: 'moderation', state: 'loading', required: true },
    ]);
    gated.release();
    await loaded;
    expect((await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect((await moderate()).statusCode).toBe(200);
  });
});

describe('serve()', () => {
  it('listens before the models are loaded', async () => {
    const gated = gatedEcho();
    const config = configWith([{ id: 'slow', backend: 'echo' }], {
      server: { host: '127.0.0.1', port: 0 },
    });
    const server = await serve(config, {
      logger: createLogger('silent'),
      loaders: { echo: gated.load },
    });
    apps.push(server.app);
    const before = await fetch(`${server.address}/readyz`);
    expect(before.status).toBe(503);
    expect(((await before.json()) as { status: string }).status).toBe('loading');
    gated.release();
    await server.modelsLoaded;
    expect((await fetch(`${server.address}/readyz`)).status).toBe(200);
  });

  it('fails at once with a ConfigError naming server.port when the port is taken', async () => {
    const blocker: NetServer = createServer();
    const port = await new Promise<number>((resolve) => {
      blocker.listen(0, '127.0.0.1', () => {
        const a = blocker.address();
        resolve(typeof a === 'object' && a !== null ? a.port : 0);
      });
    });
    try {
      const config = configWith([{ id: 'm', backend: 'echo' }], {
        server: { host: '127.0.0.1', port },
      });
      let loads = 0;
      const error = await serve(config, {
        logger: createLogger('silent'),
        loaders: {
          echo: (spec) => {
            loads++;
            return loadEcho(spec);
          },
        },
      }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(
        `server.port: 127.0.0.1:${port} is already in use (EADDRINUSE); stop the other server ` +
          'or choose another with --port or server.port',
      );
      // Bound before loading: no model was loaded for a server that never listened.
      expect(loads).toBe(0);
    } finally {
      blocker.close();
    }
  });
});
