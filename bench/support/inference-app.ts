/**
 * @module bench/support/inference-app — the whole server as `gatehouse serve` builds it
 * (`buildApp`, real backends), listening on 127.0.0.1 on an ephemeral port, with a client
 * registered and an access token from its token endpoint (client_credentials). The backend
 * loaders are the real ones, wrapped only to note the resident set right after each model loads.
 */
import type { AddressInfo } from 'node:net';
import { buildApp, type App } from '../../src/app.js';
import { createClient } from '../../src/auth/index.js';
import type { EmbeddingHandle, LoadModel, ModelSpec } from '../../src/inference/index.js';
import { systemClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import type { BatchCounter } from './samples.js';
import { openBenchEnv } from './setup.js';

/** A listening server and what the benchmark needs to talk to it. */
export interface BenchApp {
  readonly app: App;
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  /** `Bearer <access token>` from POST /oauth/token. */
  readonly authorization: string;
  /** Resident set before `buildApp`, bytes. */
  readonly rssBefore: number;
  /** Resident set right after each model finished loading, bytes, by model id, in load order. */
  readonly rssAfterLoad: ReadonlyMap<string, number>;
  /** TCP connections the server has accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

const realLoader =
  (backend: 'tfjs' | 'llama-cpp'): LoadModel =>
  async (spec: ModelSpec) => {
    // Imported here, as the served models do, so the module's cost stays inside the load.
    if (backend === 'tfjs' && spec.backend === 'tfjs')
      return (await import('../../src/inference/backends/tfjs/index.js')).loadModel(spec);
    if (backend === 'llama-cpp' && spec.backend === 'llama-cpp')
      return (await import('../../src/inference/backends/llama-cpp/index.js')).loadModel(spec);
    throw new Error(`${backend} loader given a ${spec.backend} model`);
  };

function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/** Builds and starts the server with `models` (config entries, as in gatehouse.yaml). */
export async function startBenchApp(models: readonly Record<string, unknown>[]): Promise<BenchApp> {
  const env = await openBenchEnv();
  const config = env.config({ server: { host: '127.0.0.1', port: 0 }, models });
  const rssAfterLoad = new Map<string, number>();
  const tracked =
    (load: LoadModel): LoadModel =>
    async (spec) => {
      const handle = await load(spec);
      rssAfterLoad.set(spec.id, process.memoryUsage().rss);
      return handle;
    };
  const rssBefore = process.memoryUsage().rss;
  const app = await buildApp(config, {
    logger: createLogger('silent'),
    store: env.store,
    loaders: { tfjs: tracked(realLoader('tfjs')), 'llama-cpp': tracked(realLoader('llama-cpp')) },
  });
  try {
    for (const f of app.inference.served.failed()) {
      throw new Error(`model ${f.config.id} failed to load: ${f.error}`);
    }
    let connections = 0;
    app.http.server.on('connection', () => {
      connections++;
    });
    await app.http.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.http.server.address() as AddressInfo;
    const base = `http://127.0.0.1:${port}`;
    const { client, secret } = await createClient(app.store, systemClock, {
      name: 'bench-inference',
      roles: ['developer'],
    });
    const res = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: basic(client.id, secret ?? ''),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
    });
    if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}`);
    const { access_token: token } = (await res.json()) as { access_token: string };
    return {
      app,
      base,
      authorization: `Bearer ${token}`,
      rssBefore,
      rssAfterLoad,
      connections: () => connections,
      close: async () => {
        await app.close();
        await env.close();
      },
    };
  } catch (err) {
    await app.close();
    await env.close();
    throw err;
  }
}

/** The loaded embedding handle of model `id`. */
export function embeddingHandle(app: App, id: string): EmbeddingHandle {
  const { handle } = app.inference.served.get(id);
  if (handle.task !== 'embedding') throw new Error(`${id} is not an embedding model`);
  return handle;
}

/**
 * Counts the calls (batches), inputs and time reaching `handle.embed`. The micro-batcher looks the
 * method up on every batch, so wrapping it here sees exactly the batches the server forms; the
 * wrapper adds two clock reads per batch.
 */
export function countBatches(handle: EmbeddingHandle): BatchCounter {
  const counter: BatchCounter = {
    calls: 0,
    inputs: 0,
    busyMs: 0,
    workers: handle.parallelism ?? 1,
  };
  const embed = handle.embed.bind(handle);
  handle.embed = async (texts) => {
    counter.calls++;
    counter.inputs += texts.length;
    const started = performance.now();
    try {
      return await embed(texts);
    } finally {
      counter.busyMs += performance.now() - started;
    }
  };
  return counter;
}
