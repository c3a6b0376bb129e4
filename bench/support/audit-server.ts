/**
 * @module bench/support/audit-server — one server process of `bench:audit`: the whole app as
 * `gatehouse serve` builds it (compiled build when there is one), the echo chat model, default
 * logging to stdout, with the audit log `off`, `on` (durable events, no receipts) or `receipts`
 * (durable events and batched receipts), over SQLite in a temp dir or a PostgreSQL schema.
 * Arguments: MODE STORE where STORE is `sqlite` or `postgres://…#schema`. Reports its port and
 * authorization over IPC, and its CPU time when asked.
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { buildApp as buildAppFromSource } from '../../src/app.js';
import { createClient } from '../../src/auth/index.js';
import { systemClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import type { ServerMessage } from './gateway-server.js';
import { openBenchEnv } from './setup.js';

const [mode = 'on', storeArg = 'sqlite'] = process.argv.slice(2);
if (process.send === undefined) throw new Error('audit-server must be started with an IPC channel');

const env = await openBenchEnv();
const [url, schema] = storeArg === 'sqlite' ? [undefined, undefined] : storeArg.split('#');
const config = env.config({
  server: { host: '127.0.0.1', port: 0 },
  models: [{ id: 'echo', backend: 'echo', task: 'generation' }],
  audit: {
    enabled: mode !== 'off',
    receipts: mode === 'receipts' ? 'batch' : 'off',
    replicaId: `bench-${mode}`,
  },
  ...(url === undefined ? {} : { store: { url, schema } }),
});
const dist = new URL('../../dist/app.js', import.meta.url);
const buildApp = existsSync(dist)
  ? ((await import(dist.href)) as { buildApp: typeof buildAppFromSource }).buildApp
  : buildAppFromSource;
// SQLite: the env's own store file; PostgreSQL: the app opens the schema itself.
const app = await buildApp(config, {
  logger: createLogger(process.env.GATEWAY_LOG_LEVEL ?? 'info'),
  ...(url === undefined ? { store: env.store } : {}),
});
const { client, secret } = await createClient(app.store, systemClock, {
  name: 'bench-audit',
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
if (res.statusCode !== 200) throw new Error(`token endpoint answered ${res.statusCode}`);
const token = res.json<{ access_token: string }>().access_token;
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
send({ type: 'ready', base: `http://127.0.0.1:${port}`, authorization: `Bearer ${token}` });
