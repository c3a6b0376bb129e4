/**
 * @module bench/audit-store — `npm run bench:audit-store`: the raw append rate of the audit log
 * (events/s, through the writer: hashing, group commit, durable commit) per store backend with
 * 1, 32 and 256 concurrent writers (so batches of about that size), and how long `audit verify`
 * takes per million events. PostgreSQL runs when DATABASE_URL is set (a fresh schema, dropped
 * afterwards). Not a test: nothing is asserted. Medians of --runs runs (default 3).
 *
 * Options: --ms N per append run (2000), --runs N (3), --verify-events N (100000).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { aSigningKey, anEvent, watched } from '../src/audit/fixtures.js';
import { createAuditLog, verifyAudit } from '../src/audit/index.js';
import { openStore, type Store } from '../src/store/index.js';
import { perSec, printTable } from './support/table.js';

const { values } = parseArgs({
  options: {
    ms: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '3' },
    'verify-events': { type: 'string', default: '100000' },
  },
});
const runMs = Number(values.ms);
const runs = Number(values.runs);
const verifyEvents = Number(values['verify-events']);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

/** Events/s with `writers` closed-loop writers for `runMs`, and the mean batch size. */
async function appendRate(store: Store, writers: number): Promise<{ rate: number; batch: number }> {
  const key = await aSigningKey();
  const w = watched(store.audit);
  const log = createAuditLog({
    store: w.store,
    chain: `bench-${randomBytes(4).toString('hex')}`,
    sign: key.sign,
    issuer: 'http://bench',
  });
  const event = anEvent();
  let done = 0;
  const until = performance.now() + runMs;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < until) {
        await log.record(event);
        done++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await log.close();
  return { rate: done / seconds, batch: done / Math.max(1, w.batches.length) };
}

/** Seconds `verify` takes per million events, over `count` events written through the writer. */
async function verifySpeed(store: Store, count: number): Promise<number> {
  const key = await aSigningKey();
  const log = createAuditLog({
    store: store.audit,
    chain: 'verify-bench',
    sign: key.sign,
    issuer: 'http://bench',
  });
  for (let i = 0; i < count; i += 256) {
    await Promise.all(
      Array.from({ length: Math.min(256, count - i) }, () => log.record(anEvent())),
    );
  }
  await log.close();
  const start = performance.now();
  const report = await verifyAudit(store.audit, key.jwks);
  const seconds = (performance.now() - start) / 1000;
  if (!report.ok) throw new Error(`bench chain does not verify: ${report.problem.message}`);
  return (seconds * 1_000_000) / count;
}

async function bench(name: string, open: () => Promise<Store>, cleanup: () => Promise<void>) {
  const rows: string[][] = [];
  for (const writers of [1, 32, 256]) {
    const results: { rate: number; batch: number }[] = [];
    for (let r = 0; r < runs; r++) {
      const store = await open();
      try {
        results.push(await appendRate(store, writers));
      } finally {
        await store.close();
      }
    }
    rows.push([
      name,
      String(writers),
      median(results.map((x) => x.batch)).toFixed(1),
      perSec(median(results.map((x) => x.rate))),
    ]);
  }
  const store = await open();
  let perMillion: number;
  try {
    perMillion = await verifySpeed(store, verifyEvents);
  } finally {
    await store.close();
    await cleanup();
  }
  return { rows, perMillion };
}

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-audit-'));
const results: { name: string; rows: string[][]; perMillion: number }[] = [];
try {
  let n = 0;
  results.push({
    name: 'sqlite',
    ...(await bench(
      'sqlite',
      () => openStore({ url: `sqlite:${join(dir, `a-${String(n++)}.db`)}`, dataDir: dir }),
      () => Promise.resolve(),
    )),
  });
  const url = process.env.DATABASE_URL ?? '';
  if (url !== '') {
    // A schema per store: verify reads every chain, so its store holds only its own.
    const schemas: string[] = [];
    results.push({
      name: 'postgres',
      ...(await bench(
        'postgres',
        () => {
          const schema = `gatehouse_bench_${randomBytes(4).toString('hex')}`;
          schemas.push(schema);
          return openStore({ url, schema, dataDir: dir });
        },
        async () => {
          const { Client } = await import('pg');
          const c = new Client({ connectionString: url });
          await c.connect();
          for (const s of schemas) await c.query(`DROP SCHEMA ${s} CASCADE`);
          await c.end();
        },
      )),
    });
  } else {
    console.log('postgres: skipped (set DATABASE_URL=postgres://… to include it)');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

printTable(
  `Audit append rate (durable, group commit; median of ${String(runs)} × ${String(runMs)} ms)`,
  [
    { title: 'backend' },
    { title: 'writers', right: true },
    { title: 'mean batch', right: true },
    { title: 'events/s', right: true },
  ],
  results.flatMap((r) => r.rows),
);
printTable(
  `audit verify (${verifyEvents.toLocaleString('en-US')} events, scaled)`,
  [{ title: 'backend' }, { title: 's per million events', right: true }],
  results.map((r) => [r.name, r.perMillion.toFixed(1)]),
);
