/**
 * @module bench/support/guard-gateway-server — one server process of the gateway section of
 * `bench:guard`: Gatehouse as `gatehouse serve` builds it (the echo chat model, a developer
 * client's token) with every guard on (argv `on`, the default config) or off (argv `off`,
 * config `guard: { enabled: false }`). Speaks bench/support/gateway-server.ts's `ServerMessage`
 * over IPC, so gateway-procs.ts starts, times and stops it.
 */
import { benchGatehouse, serveBenchmark } from './bench-server.js';
import { openBenchEnv } from './setup.js';

const mode = process.argv[2];
if (mode !== 'on' && mode !== 'off') throw new Error('usage: guard-gateway-server on|off');

const env = await openBenchEnv();
const config = env.config({
  server: { host: '127.0.0.1', port: 0 },
  models: [{ id: 'echo', backend: 'echo', task: 'generation' }],
  ...(mode === 'off' ? { guard: { enabled: false } } : {}),
});
await serveBenchmark(await benchGatehouse(config, 'bench-guard', env.store));
