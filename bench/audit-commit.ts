/**
 * @module bench/audit-commit — `npm run bench:audit-commit`: what one durable audit commit costs
 * in CPU, the floor under `bench:audit`'s durable-audit figures. The process is pinned to one
 * core as the bench:audit servers are (when taskset exists), so the writer thread's CPU is the
 * main thread's loss. Per batch size: the whole-process CPU of N events through the real writer
 * and store (encode, hash, hand-over, INSERTs, COMMIT with fsync / synchronous commit), split
 * into µs per commit and µs per event. Not a test: nothing is asserted.
 *
 * Options: --commits N per batch size (400). PostgreSQL runs when DATABASE_URL is set.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { aSigningKey, anEvent } from '../src/audit/fixtures.js';
import { createAuditLog } from '../src/audit/index.js';
import { openStore, type Store } from '../src/store/index.js';
import { printTable } from './support/table.js';

const { values } = parseArgs({ options: { commits: { type: 'string', default: '400' } } });
const commits = Number(values.commits);
if (!Number.isInteger(commits) || commits <= 0)
  throw new Error('--commits must be a positive integer');

// Re-run pinned to core 0 (as bench:audit pins its servers), unless already pinned.
if (process.env.GATEHOUSE_BENCH_PINNED === undefined) {
  const r = spawnSync(
    'taskset',
    ['-c', '0', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
      env: { ...process.env, GATEHOUSE_BENCH_PINNED: '1' },
    },
  );
  if (r.error === undefined) process.exit(r.status ?? 1);
}

/** CPU µs and wall µs per commit of `batch` events (`commits` commits, one after another). */
async function cost(store: Store, batch: number): Promise<{ cpu: number; wall: number }> {
  const key = await aSigningKey();
  const log = createAuditLog({
    store: store.audit,
    chain: `commit-${randomBytes(4).toString('hex')}`,
    sign: key.sign,
    issuer: 'http://bench',
    checkpointEvery: 1_000_000,
  });
  const event = anEvent();
  const round = () => Promise.all(Array.from({ length: batch }, () => log.record(event)));
  for (let i = 0; i < 20; i++) await round(); // warm-up
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < commits; i++) await round();
  const c = process.cpuUsage(c0);
  const wall = ((performance.now() - t0) * 1000) / commits;
  await log.close();
  return { cpu: (c.user + c.system) / commits, wall };
}

const rows: string[][] = [];
const measure = async (name: string, open: () => Promise<Store>, after?: () => Promise<void>) => {
  for (const batch of [1, 13, 32]) {
    const store = await open();
    try {
      const { cpu, wall } = await cost(store, batch);
      rows.push([name, String(batch), cpu.toFixed(0), (cpu / batch).toFixed(1), wall.toFixed(0)]);
    } finally {
      await store.close();
      await after?.();
    }
  }
};

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-commit-'));
try {
  await measure('SQLite', () =>
    openStore({
      url: `sqlite:${join(dir, `c-${randomBytes(4).toString('hex')}.db`)}`,
      dataDir: dir,
    }),
  );
  const url = process.env.DATABASE_URL ?? '';
  if (url !== '') {
    let schema = '';
    await measure(
      'PostgreSQL',
      () => {
        schema = `gatehouse_bench_${randomBytes(4).toString('hex')}`;
        return openStore({ url, schema, dataDir: dir });
      },
      async () => {
        const { Client } = await import('pg');
        const c = new Client({ connectionString: url });
        await c.connect();
        try {
          await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await c.end();
        }
      },
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
printTable(
  `one audit commit (process pinned to one core; ${commits} commits per batch size)`,
  [
    { title: 'store' },
    { title: 'events/commit', right: true },
    { title: 'µs CPU/commit', right: true },
    { title: 'µs CPU/event', right: true },
    { title: 'µs wall/commit', right: true },
  ],
  rows,
);
