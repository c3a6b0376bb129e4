/**
 * @module bench/support/flood-bench — a legitimate client's latency while 64 concurrent
 * wrong-secret requests hammer the token endpoint, over a real socket. The flood runs in its
 * own process (so its HTTP client does not share the server's event loop); the legitimate
 * client, in this process, alternates a token grant (its secret cached, as for any client that
 * asks every few minutes) and `GET /v1/models` with a never-seen token (a full ES256 check on
 * the libuv pool). Scenarios: no flood; the default configuration (throttle + bounded worker);
 * the bounded worker alone (throttling off); and the old way (scrypt on the libuv pool, bounded
 * only by the flood) for reference.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/app.js';
import { createClient } from '../../src/auth/index.js';
import { verifySecret } from '../../src/auth/secrets.js';
import { systemClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { quantile } from './clients.js';
import { openBenchEnv } from './setup.js';
import { printTable, ratio } from './table.js';

/** Wrong-secret requests in flight at once. */
export const FLOOD_WIDTH = 64;

export type FloodScenario = 'none' | 'default' | 'unthrottled' | 'libuv';

/** Medians over one scenario, ms, and what the flood got back. */
export interface FloodFigures {
  scenario: FloodScenario;
  grantMs: number;
  modelsMs: number;
  samples: number;
  /** Flood responses by status, and per second. */
  floodStatuses: Record<string, number>;
  floodPerSec: number;
}

const UNTHROTTLED = {
  maxFailuresPerClientSource: 1_000_000_000,
  maxFailuresPerSource: 1_000_000_000,
  maxFailuresPerClient: 1_000_000_000,
};

/** The flood: FLOOD_WIDTH closed loops of fetch, until told to stop; reports counts by status. */
const FLOOD_SOURCE = `
const [url, authorization, width] = process.argv.slice(1);
const body = 'grant_type=client_credentials';
const headers = { authorization, 'content-type': 'application/x-www-form-urlencoded' };
const counts = {};
let stop = false;
const started = performance.now();
process.on('message', () => { stop = true; });
const loop = async () => {
  while (!stop) {
    try {
      const r = await fetch(url, { method: 'POST', headers, body });
      await r.arrayBuffer();
      counts[r.status] = (counts[r.status] || 0) + 1;
    } catch { counts.error = (counts.error || 0) + 1; }
  }
};
process.send('ready');
Promise.all(Array.from({ length: Number(width) }, loop)).then(() => {
  process.send({ counts, seconds: (performance.now() - started) / 1000 });
  process.disconnect();
});
`;

function startFlood(url: string, authorization: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['-e', FLOOD_SOURCE, url, authorization, `${FLOOD_WIDTH}`],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  return new Promise((resolve) =>
    child.once('message', () => {
      resolve(child);
    }),
  );
}

function stopFlood(
  child: ChildProcess,
): Promise<{ counts: Record<string, number>; seconds: number }> {
  return new Promise((resolve) => {
    child.once('message', (m: { counts: Record<string, number>; seconds: number }) => {
      resolve(m);
    });
    child.send('stop');
  });
}

function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/** Runs one scenario: `samples` legit grants and /v1/models calls (after a warm-up). */
export async function benchFlood(scenario: FloodScenario, samples: number): Promise<FloodFigures> {
  const env = await openBenchEnv();
  const clientAuth =
    scenario === 'unthrottled'
      ? UNTHROTTLED
      : scenario === 'libuv'
        ? { ...UNTHROTTLED, hashThreads: 16, hashQueue: 10_000 }
        : {};
  const config = env.config({ server: { host: '127.0.0.1', port: 0 }, auth: { clientAuth } });
  const app = await buildApp(config, {
    store: env.store,
    logger: createLogger('silent'),
    // The old way: every check straight onto the libuv pool, as many at once as the flood sends.
    auth: { secretCheck: scenario === 'libuv' ? verifySecret : undefined },
  });
  const { http, auth } = app;
  let flood: ChildProcess | undefined;
  try {
    await http.listen({ host: '127.0.0.1', port: 0 });
    const { port } = http.server.address() as AddressInfo;
    const base = `http://127.0.0.1:${port}`;
    const legit = await createClient(env.store, systemClock, {
      name: 'legit',
      roles: ['developer'],
    });
    const other = await createClient(env.store, systemClock, {
      name: 'other',
      roles: ['developer'],
    });
    const headers = {
      authorization: basic(legit.client.id, legit.secret ?? ''),
      'content-type': 'application/x-www-form-urlencoded',
    };
    const grant = async () => {
      const t0 = performance.now();
      const res = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers,
        body: 'grant_type=client_credentials',
      });
      if (res.status !== 200) throw new Error(`legit grant answered ${res.status}`);
      await res.arrayBuffer();
      return performance.now() - t0;
    };
    // Fresh tokens: each /v1/models call is a full, uncached signature check.
    const tokens = await Promise.all(
      Array.from({ length: samples + 10 }, () =>
        auth.issuer.issue({
          subject: legit.client.id,
          clientId: legit.client.id,
          scopes: legit.client.scopes,
          roles: legit.client.roles,
          ttl: 600,
        }),
      ),
    );
    const models = async (i: number) => {
      const t0 = performance.now();
      const res = await fetch(`${base}/v1/models`, {
        headers: { authorization: `Bearer ${tokens[i]?.token ?? ''}` },
      });
      if (res.status !== 200) throw new Error(`/v1/models answered ${res.status}`);
      await res.arrayBuffer();
      return performance.now() - t0;
    };
    await grant(); // the legit client's secret is now cached, its (client, source) pair known
    if (scenario !== 'none') {
      // Wrong secrets for another client id, from the same address as the legit client.
      flood = await startFlood(`${base}/oauth/token`, basic(other.client.id, 'wrong-secret'));
      await new Promise((r) => setTimeout(r, 1500)); // let the flood build up
    }
    const grants: number[] = [];
    const calls: number[] = [];
    // The old way takes seconds per request: fewer of them tell the same story.
    const warm = scenario === 'libuv' ? 2 : 10;
    const n = scenario === 'libuv' ? Math.min(samples, 8) : samples;
    for (let i = 0; i < n + warm; i++) {
      const g = await grant();
      const m = await models(i);
      if (i >= warm) {
        grants.push(g);
        calls.push(m);
      }
    }
    let floodStatuses: Record<string, number> = {};
    let floodPerSec = 0;
    if (flood !== undefined) {
      const r = await stopFlood(flood);
      flood = undefined;
      floodStatuses = r.counts;
      floodPerSec = Object.values(r.counts).reduce((s, n) => s + n, 0) / r.seconds;
    }
    return {
      scenario,
      grantMs: quantile(grants, 0.5),
      modelsMs: quantile(calls, 0.5),
      samples: n,
      floodStatuses,
      floodPerSec,
    };
  } finally {
    flood?.kill();
    await app.close();
    await env.close();
  }
}

const LABEL: Record<FloodScenario, string> = {
  none: 'no flood',
  default: 'flood, default config (throttle + 1 worker)',
  unthrottled: 'flood, throttling off (bounded worker only)',
  libuv: 'flood, scrypt on the libuv pool (old way)',
};

/** The median of each figure over rounds of one scenario (flood answers summed). */
export function combineFlood(rounds: readonly FloodFigures[]): FloodFigures {
  const first = rounds[0];
  if (first === undefined) throw new Error('no rounds');
  const floodStatuses: Record<string, number> = {};
  for (const r of rounds)
    for (const [s, n] of Object.entries(r.floodStatuses))
      floodStatuses[s] = (floodStatuses[s] ?? 0) + n;
  return {
    scenario: first.scenario,
    grantMs: quantile(
      rounds.map((r) => r.grantMs),
      0.5,
    ),
    modelsMs: quantile(
      rounds.map((r) => r.modelsMs),
      0.5,
    ),
    samples: first.samples,
    floodStatuses,
    floodPerSec: quantile(
      rounds.map((r) => r.floodPerSec),
      0.5,
    ),
  };
}

/** Prints the scenarios side by side, with each one's factor over the no-flood baseline. */
export function printFlood(figs: readonly FloodFigures[], rounds: number): void {
  const base = figs.find((f) => f.scenario === 'none');
  const factor = (v: number, b: number | undefined) => (b === undefined ? '' : ratio(v / b));
  printTable(
    `Legitimate client under a ${FLOOD_WIDTH}-concurrent wrong-secret flood (real socket; median over ${rounds} interleaved rounds of the median of ${figs[0]?.samples ?? 0} requests; old way: ${figs.at(-1)?.samples ?? 0})`,
    [
      { title: 'scenario' },
      { title: 'grant ms', right: true },
      { title: '×', right: true },
      { title: '/v1/models ms', right: true },
      { title: '×', right: true },
      { title: 'flood answers' },
    ],
    figs.map((f) => [
      LABEL[f.scenario],
      f.grantMs.toFixed(1),
      factor(f.grantMs, base?.grantMs),
      f.modelsMs.toFixed(1),
      factor(f.modelsMs, base?.modelsMs),
      f.scenario === 'none'
        ? ''
        : `${f.floodPerSec.toFixed(0)}/s: ${Object.entries(f.floodStatuses)
            .map(([s, n]) => `${s}×${n}`)
            .join(' ')}`,
    ]),
  );
  console.log(
    'grant = client_credentials with a cached secret (the usual case); /v1/models with a token never\n' +
      'seen before (full ES256 check). Target: the default configuration within ~2–3× of no flood.',
  );
}
