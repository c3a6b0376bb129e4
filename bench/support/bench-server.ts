/**
 * @module bench/support/bench-server — what every benchmark server process shares: Gatehouse
 * built as `gatehouse serve` runs it (the compiled build when there is one, the configured log
 * level to stdout), a client and its access token, and the IPC protocol with the benchmark
 * (`ready` once listening, `cpu` on request, a clean exit on disconnect so that --cpu-prof
 * writes its profile).
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp as buildAppFromSource } from '../../src/app.js';
import { createClient } from '../../src/auth/index.js';
import type { Config } from '../../src/config/index.js';
import { systemClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import type { Store } from '../../src/store/index.js';

/** Messages between the benchmark and a server process. */
export type ServerMessage =
  { type: 'ready'; base: string; authorization: string } | { type: 'cpu'; us: number };

/** A server ready to listen, with the Authorization header its load client sends. */
export interface BenchServer {
  readonly http: FastifyInstance;
  readonly authorization: string;
}

/**
 * Gatehouse under `config` with a `developer` client named `clientName` and its token. `store`:
 * the bench env's store (SQLite); absent, the app opens the store its config names.
 */
export async function benchGatehouse(
  config: Config,
  clientName: string,
  store?: Store,
): Promise<BenchServer> {
  // The compiled build, as `gatehouse serve` (dist/cli/main.js) runs it; the TypeScript source
  // through tsx only when there is no build (tsx wraps every named function it compiles).
  const dist = new URL('../../dist/app.js', import.meta.url);
  const buildApp = existsSync(dist)
    ? ((await import(dist.href)) as { buildApp: typeof buildAppFromSource }).buildApp
    : buildAppFromSource;
  const app = await buildApp(config, {
    logger: createLogger(process.env.GATEWAY_LOG_LEVEL ?? 'info'),
    ...(store === undefined ? {} : { store }),
  });
  const { client, secret } = await createClient(app.store, systemClock, {
    name: clientName,
    roles: ['developer'],
  });
  const res = await app.http.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.id,
      client_secret: secret ?? '',
    }).toString(),
  });
  if (res.statusCode !== 200) throw new Error(`token endpoint answered ${String(res.statusCode)}`);
  return {
    http: app.http,
    authorization: `Bearer ${res.json<{ access_token: string }>().access_token}`,
  };
}

/** Listens on an ephemeral loopback port and serves the benchmark over IPC. */
export async function serveBenchmark(server: BenchServer): Promise<void> {
  if (process.send === undefined) throw new Error('a bench server needs an IPC channel');
  await server.http.listen({ host: '127.0.0.1', port: 0 });
  const { port } = server.http.server.address() as AddressInfo;
  const send = (m: ServerMessage): void => {
    process.send?.(m);
  };
  process.on('message', (m: { type: string }) => {
    if (m.type !== 'cpu') return;
    const u = process.cpuUsage();
    send({ type: 'cpu', us: u.user + u.system });
  });
  process.on('disconnect', () => {
    process.exit(0);
  });
  send({
    type: 'ready',
    base: `http://127.0.0.1:${String(port)}`,
    authorization: server.authorization,
  });
}
