/**
 * @module bench/ratelimit — `npm run bench:ratelimit`: what a rate-limit check costs and how exact
 * a shared limit is. Per backend (memory; Redis when REDIS_URL is set or 127.0.0.1:6379 answers):
 * wall µs and CPU µs per admit+settle (requests/min + concurrency budgets) and per
 * admit+reserve+settle (+ tokens/min and /day), one request at a time (medians of interleaved
 * rounds); network round trips per check, from the limiter's stats() and, independently, from
 * the Redis server's own command counts. Then the error of a shared limit: N limiter instances
 * (separate connections, standing in for replicas) × C concurrent callers against one
 * requests-per-minute budget → requests admitted vs what the bucket allows. Not a test.
 *
 * Options: --runs N (5), --ms N per measured run (500), --warmup-ms N (200), --replicas N (3),
 * --callers N per replica (64), --limit N (100).
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import type { Config } from '../src/config/index.js';
import type { LimitsSpec } from '../src/policy/index.js';
import { openLimiter, type LimitInput, type RateLimiter } from '../src/ratelimit/index.js';
import { redisUrlForTests } from '../src/ratelimit/redis-url.case.js';
import { medians } from './support/measure.js';
import { printTable } from './support/table.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    ms: { type: 'string', default: '500' },
    'warmup-ms': { type: 'string', default: '200' },
    replicas: { type: 'string', default: '3' },
    callers: { type: 'string', default: '64' },
    limit: { type: 'string', default: '100' },
  },
});
const positive = (name: string, raw: string): number => {
  const v = Number(raw);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
};
const schedule = {
  runs: positive('runs', values.runs),
  ms: positive('ms', values.ms),
  warmupMs: positive('warmup-ms', values['warmup-ms']),
};
const replicas = positive('replicas', values.replicas);
const callers = positive('callers', values.callers);
const limit = positive('limit', values.limit);

const url = await redisUrlForTests('bench/ratelimit');
const runId = randomBytes(4).toString('hex');

function config(kind: 'memory' | 'redis'): Config['ratelimit'] {
  const base = {
    keyPrefix: `gatehouse-bench:${runId}:`,
    failOpen: false,
    timeoutMs: 1000,
    leaseMs: 60_000,
  };
  return kind === 'redis' && url !== undefined ? { ...base, url } : base;
}

let ids = 0;
const deps = {
  clock: Date.now,
  log: () => undefined,
  newId: () => `${runId}-${(++ids).toString(36)}`,
};

/** Budgets large enough never to refuse: the cost of a check, not of a refusal. */
const REQUEST_LIMITS: LimitsSpec = {
  requestsPerMinute: 10_000_000,
  concurrentRequests: 100_000,
  models: {},
};
const TOKEN_LIMITS: LimitsSpec = {
  ...REQUEST_LIMITS,
  tokensPerMinute: 1_000_000_000,
  tokensPerDay: 100_000_000_000,
};

/** 1,000 callers in turn (subject and client), so the budget cache is used as in service. */
const callerAt = (i: number, limits: LimitsSpec): LimitInput => ({
  sub: `user-${i % 1000}`,
  clientId: `client-${i % 100}`,
  model: 'echo',
  limits,
});

async function admitSettle(limiter: RateLimiter, i: number): Promise<void> {
  const r = await limiter.admit(callerAt(i, REQUEST_LIMITS));
  if (!r.ok) throw new Error(`refused: ${r.kind}`);
  await limiter.settle(r.admission, 0);
}

async function admitReserveSettle(limiter: RateLimiter, i: number): Promise<void> {
  const r = await limiter.admit(callerAt(i, TOKEN_LIMITS));
  if (!r.ok) throw new Error(`refused: ${r.kind}`);
  const reserved = await limiter.reserve(r.admission, 300);
  if (!reserved.ok) throw new Error(`refused: ${reserved.kind}`);
  await limiter.settle(r.admission, 120);
}

/** Scripts the Redis server ran (EVALSHA + EVAL), from INFO commandstats. */
async function scriptCalls(raw: Redis): Promise<number> {
  const info = await raw.info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) n += Number(m[1]);
  return n;
}

const kinds: ('memory' | 'redis')[] = url === undefined ? ['memory'] : ['memory', 'redis'];
const rows: string[][] = [];
for (const kind of kinds) {
  const limiter = await openLimiter(config(kind), deps);
  const { Redis } = await import('ioredis');
  const raw = kind === 'redis' && url !== undefined ? new Redis(url) : undefined;
  let i = 0;
  const serverBefore = raw === undefined ? 0 : await scriptCalls(raw);
  const figures = await medians(
    {
      settle: { batch: () => admitSettle(limiter, i++), perBatch: 1 },
      reserve: { batch: () => admitReserveSettle(limiter, i++), perBatch: 1 },
    },
    schedule,
  );
  const { checks, roundTrips } = limiter.stats();
  const server = raw === undefined ? 0 : (await scriptCalls(raw)) - serverBefore;
  raw?.disconnect();
  await limiter.close();
  rows.push([
    kind,
    (1e6 / figures.settle.perSec).toFixed(1),
    figures.settle.cpuUs.toFixed(1),
    (1e6 / figures.reserve.perSec).toFixed(1),
    figures.reserve.cpuUs.toFixed(1),
    (roundTrips / checks).toFixed(2),
    raw === undefined ? '—' : (server / checks).toFixed(2),
  ]);
}

printTable(
  `Cost of a check (one request at a time; medians of ${schedule.runs} rounds of ${schedule.ms} ms; ${cpus().length} CPUs)`,
  [
    { title: 'backend' },
    { title: 'admit+settle µs', right: true },
    { title: 'CPU µs', right: true },
    { title: 'admit+reserve+settle µs', right: true },
    { title: 'CPU µs', right: true },
    { title: 'round trips/check (stats)', right: true },
    { title: '(Redis server)', right: true },
  ],
  rows,
);

/** N limiters × C callers, each trying 4 times, against one budget of `limit` per minute. */
async function shared(kind: 'memory' | 'redis'): Promise<string[]> {
  const limiters = await Promise.all(
    Array.from({ length: replicas }, () => openLimiter(config(kind), deps)),
  );
  const input: LimitInput = {
    sub: `shared-${randomBytes(4).toString('hex')}`,
    clientId: 'bench',
    model: 'echo',
    limits: { requestsPerMinute: limit, models: {} },
  };
  let admitted = 0;
  let attempts = 0;
  const started = performance.now();
  await Promise.all(
    limiters.flatMap((l) =>
      Array.from({ length: callers }, async () => {
        for (let k = 0; k < 4; k++) {
          attempts++;
          if ((await l.admit(input)).ok) admitted++;
        }
      }),
    ),
  );
  const elapsed = performance.now() - started;
  await Promise.all(limiters.map((l) => l.close()));
  // A token bucket allows its capacity plus what refilled meanwhile.
  const bound = limit + Math.floor((limit * elapsed) / 60_000);
  return [
    kind,
    `${replicas} × ${callers}`,
    String(attempts),
    elapsed.toFixed(0),
    String(bound),
    String(admitted),
    `${admitted - bound >= 0 ? '+' : ''}${admitted - bound}`,
  ];
}

const sharedRows: string[][] = [];
for (const kind of kinds) sharedRows.push(await shared(kind));
printTable(
  `Shared limit: ${limit} requests/min, limiter instances × concurrent callers (4 attempts each)`,
  [
    { title: 'backend' },
    { title: 'instances × callers' },
    { title: 'attempts', right: true },
    { title: 'ms', right: true },
    { title: 'bucket allows', right: true },
    { title: 'admitted', right: true },
    { title: 'error', right: true },
  ],
  sharedRows,
);
if (url === undefined) console.log('\nRedis rows skipped: set REDIS_URL to include them.');
else
  console.log(
    '\nMemory instances count separately (each process its own budget); Redis instances share one.',
  );
