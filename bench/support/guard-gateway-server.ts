/**
 * @module bench/support/guard-gateway-server — one server process of the gateway section of
 * `bench:guard`: Gatehouse as `gatehouse serve` builds it (the echo chat model, a developer
 * client's token) with every guard on (argv `on`, the default config) or off (argv `off`,
 * config `guard: { enabled: false }`). Speaks bench/support/gateway-server.ts's `ServerMessage`
 * over IPC, so gateway-procs.ts starts, times and stops it.
 */
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { buildApp as buildAppFromSource } from '../../src/app.js';
import { createClient } from '../../src/auth/index.js';
import { systemClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import type { ServerMessage } from './gateway-server.js';
import { openBenchEnv } from './setup.js';

const mode = process.argv[2];
if (mode !== 'on' && mode !== 'off') throw new Error('usage: guard-gateway-server on|off');
if (process.send === undefined)
  throw new Error('guard-gateway-server must be started with an IPC channel');

const env = await openBenchEnv();
const config = env.config({
  server: { host: '127.0.0.1', port: 0 },
  models: [{ id: 'echo', backend: 'echo', task: 'generation' }],
  ...(mode === 'off' ? { guard: { enabled: false } } : {}),
});
// The compiled build when there is one, as bench/support/gateway-server.ts does.
const dist = new URL('../../dist/app.js', import.meta.url);
const buildApp = existsSync(dist)
  ? ((await import(dist.href)) as { buildApp: typeof buildAppFromSource }).buildApp
  : buildAppFromSource;
const app = await buildApp(config, {
  logger: createLogger(process.env.GATEWAY_LOG_LEVEL ?? 'info'),
  store: env.store,
});
const { client, secret } = await createClient(app.store, systemClock, {
  name: 'bench-guard',
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
const authorization = `Bearer ${res.json<{ access_token: string }>().access_token}`;

await app.http.listen({ host: '127.0.0.1', port: 0 });
const { port } = app.http.server.address() as AddressInfo;
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
send({ type: 'ready', base: `http://127.0.0.1:${String(port)}`, authorization });
