/**
 * @module bench/support/audit-server — one server process of `bench:audit`: the whole app as
 * `gatehouse serve` builds it (compiled build when there is one), the echo chat model, default
 * logging to stdout, with the audit log `off`, `on` (durable events, no receipts) or `receipts`
 * (durable events and batched receipts), over SQLite in a temp dir or a PostgreSQL schema.
 * Arguments: MODE STORE where STORE is `sqlite` or `postgres://…#schema`. Reports its port and
 * authorization over IPC, and its CPU time when asked.
 */
import { benchGatehouse, serveBenchmark } from './bench-server.js';
import { openBenchEnv } from './setup.js';

const [mode = 'on', storeArg = 'sqlite'] = process.argv.slice(2);

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
// SQLite: the env's own store file; PostgreSQL: the app opens the schema itself.
await serveBenchmark(
  await benchGatehouse(config, 'bench-audit', url === undefined ? env.store : undefined),
);
