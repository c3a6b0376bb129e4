/**
 * @module bench/audit — `npm run bench:audit`: what durable audit and receipts cost on the request
 * path. In one run, side by side, Gatehouse servers (each pinned to core 0, one at a time) answer
 * authenticated `POST /v1/chat/completions` on the echo model from a keep-alive load client
 * pinned to core 1 (32 connections over loopback): audit off, audit on (every response waits for
 * its event's group commit: fsync'd in SQLite WAL / committed in PostgreSQL), and audit on with
 * receipts (Merkle-batched signatures), on SQLite and — when DATABASE_URL is set — PostgreSQL.
 * Rounds are interleaved; figures are medians. Then the raw append rate of each backend and the
 * time `audit verify` takes per million events (bench/audit-store.ts). Nothing is asserted; the
 * targets are printed for a reader: audit ≥ 0.85× of audit-off, receipts ≤ 5 % more, p99 added
 * ≤ 1 ms.
 *
 * Options: --rounds N (3), --ms N per round (3000), --warmup-ms N (1500), --connections N (32),
 * --no-store-bench (skip the append/verify part), --only sqlite|postgres (one backend),
 * --profile DIR (servers under `node --cpu-prof`; summarise with bench/cpu-profile.ts DIR).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pinned, startLoad, startScript } from './support/gateway-procs.js';
import { median } from './support/measure.js';
import { perSec, printTable, ratio } from './support/table.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    ms: { type: 'string', default: '3000' },
    'warmup-ms': { type: 'string', default: '1500' },
    connections: { type: 'string', default: '32' },
    'no-store-bench': { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'string' },
  },
});
const int = (name: string, raw: string): number => {
  const v = Number(raw);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
};
const rounds = int('rounds', values.rounds);
const ms = int('ms', values.ms);
const warmupMs = int('warmup-ms', values['warmup-ms']);
const width = int('connections', values.connections);
const pgUrl = process.env.DATABASE_URL ?? '';

const BODY = JSON.stringify({
  model: 'echo',
  messages: [{ role: 'user', content: 'Hello! How are you today?' }],
  max_tokens: 16,
});

type Mode = 'off' | 'on' | 'receipts';
const MODES: readonly Mode[] = ['off', 'on', 'receipts'];
const MODE_LABEL: Record<Mode, string> = {
  off: 'audit off',
  on: 'durable audit',
  receipts: 'durable audit + receipts',
};

/** Runs SQL on the bench database (schemas for the PostgreSQL servers). */
async function pg(sql: string): Promise<void> {
  const { Client } = await import('pg');
  const c = new Client({ connectionString: pgUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const backends: { name: string; arg: (mode: Mode) => string }[] = [];
if (values.only !== 'postgres') backends.push({ name: 'SQLite', arg: () => 'sqlite' });
const schemas: string[] = [];
if (pgUrl !== '' && values.only !== 'sqlite') {
  backends.push({
    name: 'PostgreSQL',
    arg: (mode) => {
      const schema = `gatehouse_bench_${mode}_${randomBytes(4).toString('hex')}`;
      schemas.push(schema);
      return `${pgUrl}#${schema}`;
    },
  });
} else {
  console.log('PostgreSQL: skipped (set DATABASE_URL=postgres://… to include it)');
}

console.log(
  `gatehouse bench:audit — node ${process.version}, ${availableParallelism()} CPUs, ` +
    `${pinned ? 'servers on core 0, load client on core 1 (taskset)' : 'NOT pinned (no taskset)'}, ` +
    `${width} connections, ${rounds} interleaved rounds of ${ms} ms, load average ${loadavg()[0]?.toFixed(2) ?? '?'}`,
);

interface Sample {
  reqPerSec: number;
  cpuUs: number;
  p50Ms: number;
  p99Ms: number;
}
interface Server {
  backend: string;
  mode: Mode;
  proc: Awaited<ReturnType<typeof startScript>>;
  samples: Sample[];
}

const load = startLoad(1);
const servers: Server[] = [];
try {
  for (const b of backends) {
    for (const mode of MODES) {
      const execArgv =
        values.profile === undefined
          ? []
          : ['--cpu-prof', `--cpu-prof-dir=${values.profile}/${b.name}-${mode}`];
      const proc = await startScript('./audit-server.ts', [mode, b.arg(mode)], 0, execArgv);
      servers.push({ backend: b.name, mode, proc, samples: [] });
    }
  }
  const job = (s: Server, t: number) => ({
    url: `${s.proc.base}/v1/chat/completions`,
    authorization: s.proc.authorization,
    body: BODY,
    width,
    ms: t,
  });
  for (const s of servers) await load.run(job(s, warmupMs));
  for (let r = 0; r < rounds; r++) {
    for (const s of servers) {
      const cpu0 = await s.proc.cpuUs();
      const out = await load.run(job(s, ms));
      const cpu1 = await s.proc.cpuUs();
      s.samples.push({
        reqPerSec: out.reqPerSec,
        cpuUs: (cpu1 - cpu0) / out.requests,
        p50Ms: out.p50Ms,
        p99Ms: out.p99Ms,
      });
    }
    process.stderr.write(`round ${r + 1}/${rounds} done\n`);
  }
} finally {
  for (const s of servers) await s.proc.close();
  await load.close();
  for (const schema of schemas) await pg(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

const med = (s: Server, f: (x: Sample) => number) => median(s.samples.map(f));
const find = (backend: string, mode: Mode): Server => {
  const s = servers.find((x) => x.backend === backend && x.mode === mode);
  if (s === undefined) throw new Error(`no ${backend} ${mode} server`);
  return s;
};
const rows: string[][] = [];
const verdicts: string[] = [];
for (const b of backends) {
  const off = find(b.name, 'off');
  const on = find(b.name, 'on');
  const rec = find(b.name, 'receipts');
  for (const s of [off, on, rec]) {
    rows.push([
      b.name,
      MODE_LABEL[s.mode],
      perSec(med(s, (x) => x.reqPerSec)),
      ratio(med(s, (x) => x.reqPerSec) / med(off, (x) => x.reqPerSec)),
      med(s, (x) => x.cpuUs).toFixed(1),
      med(s, (x) => x.p50Ms).toFixed(2),
      med(s, (x) => x.p99Ms).toFixed(2),
      (med(s, (x) => x.p99Ms) - med(off, (x) => x.p99Ms)).toFixed(2),
    ]);
  }
  const audit = med(on, (x) => x.reqPerSec) / med(off, (x) => x.reqPerSec);
  const receipts = 1 - med(rec, (x) => x.reqPerSec) / med(on, (x) => x.reqPerSec);
  const p99 = med(rec, (x) => x.p99Ms) - med(off, (x) => x.p99Ms);
  verdicts.push(
    `${b.name}: audit ${ratio(audit)} of audit-off (target ≥ 0.85×) ${audit >= 0.85 ? 'PASS' : 'FAIL'}; ` +
      `receipts cost ${(receipts * 100).toFixed(1)} % (target ≤ 5 %) ${receipts <= 0.05 ? 'PASS' : 'FAIL'}; ` +
      `p99 added ${p99.toFixed(2)} ms (target ≤ 1 ms) ${p99 <= 1 ? 'PASS' : 'FAIL'}`,
  );
}
printTable(
  `POST /v1/chat/completions (echo), ${width} connections, medians of ${rounds} rounds`,
  [
    { title: 'store' },
    { title: 'pipeline' },
    { title: 'req/s', right: true },
    { title: '× audit off', right: true },
    { title: 'µs CPU/req', right: true },
    { title: 'p50 ms', right: true },
    { title: 'p99 ms', right: true },
    { title: 'p99 added ms', right: true },
  ],
  rows,
);
console.log('');
for (const v of verdicts) console.log(v);
console.log(`load average now ${loadavg()[0]?.toFixed(2) ?? '?'}`);

if (!values['no-store-bench']) {
  console.log('\nraw append rate and verify time (bench/audit-store.ts):');
  const script = fileURLToPath(new URL('./audit-store.ts', import.meta.url));
  spawnSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit' });
}
