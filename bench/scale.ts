/**
 * @module bench/scale — `npm run bench:scale`: what scale-out buys and what it costs. Throughput
 * of 1 vs 3 replicas (separate `gatehouse serve` processes, traffic spread round-robin by this
 * process) on the `echo` model, with shared services (PostgreSQL store and audit, Redis limits)
 * and with the embedded ones (SQLite, in-memory limits); then the error of one shared limit under
 * 3 replicas × 64 connections (admitted vs configured requests per minute); and the cost of one
 * limit check, memory and Redis (µs, round trips: `bench/ratelimit.ts`). Prints tables.
 *
 * Needs DATABASE_URL and REDIS_URL for the shared rows (skipped, and said so, without them).
 * The load runs in this process (node:http, keep-alive) on the same machine as the replicas:
 * on a 2-core VM, 3 replicas and the client share 2 cores, so 3 replicas measure contention as
 * much as scale — the table says how many cores there were.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { availableParallelism, cpus } from 'node:os';
import { builtinPolicyText } from '../src/policy/index.js';
import { dropSchema, postgresForTests } from '../test/helpers/postgres.js';
import { redisForTests } from '../test/helpers/redis.js';
import { startReplicas, type Replicas } from '../test/helpers/replicas.js';
import { printTable, perSec } from './support/table.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_MS = 1500;
const ERROR_CONNECTIONS = 64;
/** The shared limit of the error run (per minute; the run lasts well under a minute). */
const ERROR_RPM = 300;

const BODY = JSON.stringify({
  model: 'echo',
  messages: [{ role: 'user', content: 'the quick brown fox jumps over the lazy dog' }],
  max_tokens: 8,
});

/** The built-in policy with developer's requests per minute set to `rpm`. */
function policyWith(rpm: number): string {
  const text = builtinPolicyText().replace(
    /(developer:\n(?: {4}.*\n| {6}.*\n)*? {4}limits:) \{\}\n/,
    `$1\n      requestsPerMinute: ${String(rpm)}\n`,
  );
  if (!text.includes(`requestsPerMinute: ${String(rpm)}`)) throw new Error('policy edit failed');
  return text;
}

interface Setup {
  name: string;
  storeUrl: string;
  schema?: string;
  ratelimitUrl?: string;
}

/** A client of role developer and a token for it, made through the replicas' own CLI and API. */
async function bearer(r: Replicas): Promise<string> {
  const out = await r.cli([
    'clients',
    'create',
    '--name',
    'bench',
    '--roles',
    'developer',
    '--json',
  ]);
  if (out.code !== 0) throw new Error(`clients create failed: ${out.stderr}`);
  const c = JSON.parse(out.stdout) as { client_id: string; client_secret: string };
  const res = await r.fetch('/oauth/token', {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  if (res.status !== 200) throw new Error(`token endpoint answered ${String(res.status)}`);
  return `Bearer ${((await res.json()) as { access_token: string }).access_token}`;
}

interface Run {
  ok: number;
  limited: number;
  failed: number;
  seconds: number;
  latencies: number[];
}

/** `width` closed-loop connections for `ms`, each request to the next replica in turn. */
async function load(urls: readonly string[], auth: string, width: number, ms: number) {
  const agents = urls.map((u) => ({
    url: new URL('/v1/chat/completions', u),
    agent: new Agent({ keepAlive: true, maxSockets: width }),
  }));
  let turn = 0;
  const run: Run = { ok: 0, limited: 0, failed: 0, seconds: 0, latencies: [] };
  const one = () =>
    new Promise<number>((resolve) => {
      const target = agents[turn++ % agents.length];
      if (target === undefined) {
        resolve(0);
        return;
      }
      const req = request(
        target.url,
        {
          method: 'POST',
          agent: target.agent,
          headers: {
            authorization: auth,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(BODY),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            resolve(res.statusCode ?? 0);
          });
        },
      );
      req.on('error', () => {
        resolve(0);
      });
      req.end(BODY);
    });
  const start = performance.now();
  const deadline = start + ms;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (performance.now() < deadline) {
        const sent = performance.now();
        const status = await one();
        if (status === 200) {
          run.ok++;
          run.latencies.push(performance.now() - sent);
        } else if (status === 429) run.limited++;
        else run.failed++;
      }
    }),
  );
  run.seconds = (performance.now() - start) / 1000;
  for (const a of agents) a.agent.destroy();
  return run;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function withReplicas<T>(
  setup: Setup,
  count: number,
  policyText: string,
  work: (r: Replicas, auth: string) => Promise<T>,
): Promise<T> {
  const r = await startReplicas({
    count,
    storeUrl: setup.storeUrl,
    ...(setup.schema === undefined ? {} : { schema: setup.schema }),
    ...(setup.ratelimitUrl === undefined ? {} : { ratelimitUrl: setup.ratelimitUrl }),
    policyText,
    // Replica i on core i mod cores, so replicas do not all land on one core.
    pin: true,
    config: {
      ...(setup.ratelimitUrl === undefined
        ? {}
        : { ratelimit: { url: setup.ratelimitUrl, keyPrefix: `gh-bench-${randomHex()}:` } }),
    },
  });
  try {
    return await work(r, await bearer(r));
  } finally {
    await r.close();
  }
}

const randomHex = () => randomBytes(5).toString('hex');

async function main(): Promise<void> {
  const cores = availableParallelism();
  console.log(
    `bench:scale — ${String(cores)} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ` +
      `${String(CONNECTIONS)} connections × ${String(SECONDS)} s per row, echo model, Node ${process.version}`,
  );
  if (cores < 4)
    console.log(
      `note: ${String(cores)} cores for 3 replicas, their store and this load generator — ` +
        '3 replicas here measure sharing the cores, not adding them.',
    );
  const pg = await postgresForTests('bench:scale');
  const redis = await redisForTests('bench:scale');
  const schemas: string[] = [];
  const setups: Setup[] = [{ name: 'SQLite + memory limits', storeUrl: '' }];
  if (pg !== undefined && redis !== undefined) {
    const schema = `gatehouse_bench_${randomHex()}`;
    schemas.push(schema);
    setups.push({
      name: 'PostgreSQL + Redis limits',
      storeUrl: pg,
      schema,
      ratelimitUrl: redis,
    });
  }
  // A limit far above what the runs reach, so every request is checked but none is refused.
  const generous = policyWith(10_000_000);
  const rows: string[][] = [];
  const single = new Map<string, number>();
  try {
    for (const setup of setups) {
      for (const count of [1, 3]) {
        // SQLite is one file in one data dir: several processes share it (WAL), but it is the
        // embedded mode, measured for comparison only.
        try {
          const run = await withReplicas(setup, count, generous, async (r, auth) => {
            // Fresh processes: let the JIT and the pools warm up before measuring.
            await load(r.urls, auth, CONNECTIONS, WARMUP_MS);
            return load(r.urls, auth, CONNECTIONS, SECONDS * 1000);
          });
          const rps = run.ok / run.seconds;
          if (count === 1) single.set(setup.name, rps);
          const base = single.get(setup.name);
          const sorted = run.latencies.sort((a, b) => a - b);
          rows.push([
            setup.name,
            String(count),
            perSec(rps),
            base === undefined ? '' : `${(rps / base).toFixed(2)}×`,
            percentile(sorted, 50).toFixed(1),
            percentile(sorted, 99).toFixed(1),
            String(run.limited),
            String(run.failed),
          ]);
        } catch (err) {
          rows.push([setup.name, String(count), `failed: ${(err as Error).message.slice(0, 60)}`]);
        }
      }
    }
    printTable(
      `Throughput, POST /v1/chat/completions (echo), ${String(CONNECTIONS)} connections, round-robin`,
      [
        { title: 'setup' },
        { title: 'replicas', right: true },
        { title: 'req/s', right: true },
        { title: 'vs 1', right: true },
        { title: 'p50 ms', right: true },
        { title: 'p99 ms', right: true },
        { title: '429', right: true },
        { title: 'other', right: true },
      ],
      rows,
    );

    const shared = setups[1];
    if (shared === undefined) {
      console.log('\nshared-limit error: skipped (needs DATABASE_URL and REDIS_URL)');
      return;
    }
    const schema = `gatehouse_bench_${randomHex()}`;
    schemas.push(schema);
    const run = await withReplicas({ ...shared, schema }, 3, policyWith(ERROR_RPM), (r, auth) =>
      load(r.urls, auth, ERROR_CONNECTIONS, 3000),
    );
    const allows = ERROR_RPM + Math.floor((ERROR_RPM * run.seconds) / 60);
    printTable(
      `Shared limit: ${String(ERROR_RPM)} requests/minute, one caller, 3 replicas × ${String(ERROR_CONNECTIONS)} connections, 3 s`,
      [
        { title: 'configured', right: true },
        { title: 's', right: true },
        { title: 'bucket allows', right: true },
        { title: 'admitted', right: true },
        { title: 'error', right: true },
        { title: '429', right: true },
        { title: 'other', right: true },
      ],
      [
        [
          String(ERROR_RPM),
          run.seconds.toFixed(2),
          String(allows),
          String(run.ok),
          `${run.ok - allows >= 0 ? '+' : ''}${String(run.ok - allows)}`,
          String(run.limited),
          String(run.failed),
        ],
      ],
    );
    console.log(
      'A token bucket admits its capacity at once plus what refills while the run lasts ' +
        '(300 per minute: 5 per second); the error is admitted minus that.',
    );
  } finally {
    if (pg !== undefined) for (const s of schemas) await dropSchema(pg, s);
  }
}

/** The cost of one limit check, memory and Redis, in µs and round trips (bench:ratelimit). */
async function checkCost(): Promise<void> {
  console.log('');
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/ratelimit.ts'], {
    stdio: 'inherit',
    env: process.env,
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) console.log(`bench:ratelimit exited with ${String(code)}`);
}

await main();
await checkCost();
