/**
 * @module bench/gateway — `npm run bench:gateway`: the cost of Gatehouse's request path. In one
 * run, side by side, three servers each pinned to core 0 (one at a time) answer
 * `POST /v1/chat/completions` from a keep-alive load client pinned to core 1: (a) Gatehouse as
 * `gatehouse serve` runs it (authenticated, echo chat model, default info logging to a pipe),
 * (b) a bare Fastify route, (c) Fastify + jose `jwtVerify` with a verified-token cache. Rounds are
 * interleaved (a noisy neighbour hits every server alike); figures are medians. Prints req/s,
 * server CPU per request (from the server's own `process.cpuUsage`) and the ratios. Nothing is
 * asserted; the target (≥ 0.5× of the cached-JWT route) is printed for a reader.
 *
 * `× cached-JWT (CPU)` compares server CPU per request, which a busy shared machine disturbs far
 * less than throughput (the load client and other tenants take the same cores).
 *
 * Options: --rounds N (3), --ms N per round (3000), --warmup-ms N (1500), --connections N (32),
 * --log-level L (Gatehouse's log.level, default info), --audit on|off (default on: durable
 * audit and receipts, as `gatehouse serve` runs; off: the request path without the audit stage,
 * whose own cost `npm run bench:audit` measures), --guard on|off (default on; off: the content
 * guards off, whose own cost `npm run bench:guard` measures), --profile DIR (run Gatehouse under `node --cpu-prof`, profile into DIR; summarise it with
 * `node --import tsx bench/cpu-profile.ts DIR`).
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startLoad, startServer, pinned, type ServerProc } from './support/gateway-procs.js';
import type { GatewayKind } from './support/gateway-server.js';
import { median } from './support/measure.js';
import { perSec, printTable, ratio } from './support/table.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    ms: { type: 'string', default: '3000' },
    'warmup-ms': { type: 'string', default: '1500' },
    connections: { type: 'string', default: '32' },
    profile: { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    audit: { type: 'string', default: 'on' },
    guard: { type: 'string', default: 'on' },
  },
});
if (values.audit !== 'on' && values.audit !== 'off') throw new Error('--audit must be on or off');
if (values.guard !== 'on' && values.guard !== 'off') throw new Error('--guard must be on or off');
const int = (name: string, raw: string): number => {
  const v = Number(raw);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
};
const rounds = int('rounds', values.rounds);
const ms = int('ms', values.ms);
const warmupMs = int('warmup-ms', values['warmup-ms']);
const width = int('connections', values.connections);
// Read by the Gatehouse server process (bench/support/gateway-server.ts).
process.env.GATEWAY_LOG_LEVEL = values['log-level'];
process.env.GATEWAY_AUDIT = values.audit;
process.env.GATEWAY_GUARD = values.guard;

const BODY = JSON.stringify({
  model: 'echo',
  messages: [{ role: 'user', content: 'Hello! How are you today?' }],
  max_tokens: 16,
});
const LABEL: Record<GatewayKind, string> = {
  gatehouse: `Gatehouse (auth + policy + echo chat${values.audit === 'on' ? ' + durable audit + receipts' : ', audit off'}, ${values['log-level']} log)`,
  fastify: 'bare Fastify route',
  jose: 'Fastify + jose, cached verify',
};
const KINDS: readonly GatewayKind[] = ['gatehouse', 'fastify', 'jose'];

console.log(
  `gatehouse bench:gateway — node ${process.version}, ${availableParallelism()} CPUs, ` +
    `${pinned ? 'servers on core 0, load client on core 1 (taskset)' : 'NOT pinned (no taskset)'}, ` +
    `${width} connections, ${rounds} interleaved rounds of ${ms} ms, load average ${loadavg()[0]?.toFixed(2) ?? '?'}`,
);

interface Sample {
  reqPerSec: number;
  cpuUs: number;
  logBytes: number;
}

const load = startLoad(1);
const servers: ServerProc[] = [];
const samples = new Map<GatewayKind, Sample[]>(KINDS.map((k) => [k, []]));
try {
  for (const kind of KINDS) {
    const execArgv =
      kind === 'gatehouse' && values.profile !== undefined
        ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`]
        : [];
    servers.push(await startServer(kind, 0, execArgv));
  }
  const job = (s: ServerProc, t: number) => ({
    url: `${s.base}/v1/chat/completions`,
    authorization: s.authorization,
    body: BODY,
    width,
    ms: t,
  });
  for (const s of servers) await load.run(job(s, warmupMs));
  for (let r = 0; r < rounds; r++) {
    for (const s of servers) {
      const cpu0 = await s.cpuUs();
      const log0 = s.logBytes();
      const { reqPerSec, requests } = await load.run(job(s, ms));
      const cpu1 = await s.cpuUs();
      samples.get(s.kind)?.push({
        reqPerSec,
        cpuUs: (cpu1 - cpu0) / requests,
        logBytes: (s.logBytes() - log0) / requests,
      });
    }
    process.stderr.write(`round ${r + 1}/${rounds} done\n`);
  }
} finally {
  for (const s of servers) await s.close();
  await load.close();
}

const med = (k: GatewayKind, f: (s: Sample) => number) => median((samples.get(k) ?? []).map(f));
const rps = (k: GatewayKind) => med(k, (s) => s.reqPerSec);
const cpu = (k: GatewayKind) => med(k, (s) => s.cpuUs);
printTable(
  `POST /v1/chat/completions, medians of ${rounds} rounds`,
  [
    { title: 'server' },
    { title: 'req/s', right: true },
    { title: '× cached-JWT', right: true },
    { title: '× bare', right: true },
    { title: 'µs CPU/req', right: true },
    { title: '× cached-JWT (CPU)', right: true },
    { title: 'log B/req', right: true },
  ],
  KINDS.map((k) => [
    LABEL[k],
    perSec(rps(k)),
    ratio(rps(k) / rps('jose')),
    ratio(rps(k) / rps('fastify')),
    cpu(k).toFixed(1),
    ratio(cpu('jose') / cpu(k)),
    med(k, (s) => s.logBytes).toFixed(0),
  ]),
);
const byRate = rps('gatehouse') / rps('jose');
const byCpu = cpu('jose') / cpu('gatehouse');
console.log(
  `\ntarget: Gatehouse ≥ 0.50× of the cached-JWT route — by req/s ${ratio(byRate)} ` +
    `${byRate >= 0.5 ? 'PASS' : 'FAIL'}, by CPU per request ${ratio(byCpu)} ${byCpu >= 0.5 ? 'PASS' : 'FAIL'}` +
    `; load average now ${loadavg()[0]?.toFixed(2) ?? '?'}`,
);
