/**
 * @module bench/auth — `npm run bench:auth`: access-token verification per signing algorithm
 * (uncached full gate, cached, raw node:crypto) and token-endpoint throughput, printed as
 * tables. Not a test: nothing is asserted; the target checks are printed for a reader.
 *
 * Options: --runs N (5), --ms N per measured run (400), --warmup-ms N (150), --token-ms N (600),
 * --alg ES256|EdDSA|RS256 (repeatable; default all), --only verify|token|flood,
 * --flood-samples N (40): legit grants and /v1/models calls measured per flood scenario and
 * round; --flood-rounds N (3): interleaved rounds of the flood scenarios (medians printed).
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { SigningAlg } from '../src/auth/index.js';
import { SIGNING_ALGS } from '../src/config/index.js';
import { printToken, printVerify } from './support/report.js';
import { benchFlood, combineFlood, printFlood, type FloodFigures } from './support/flood-bench.js';
import { benchTokenEndpoint } from './support/token-bench.js';
import { benchPoolHop, benchVerify, type VerifyFigures } from './support/verify-bench.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    ms: { type: 'string', default: '400' },
    'warmup-ms': { type: 'string', default: '150' },
    'token-ms': { type: 'string', default: '600' },
    alg: { type: 'string', multiple: true },
    only: { type: 'string' },
    'flood-samples': { type: 'string', default: '40' },
    'flood-rounds': { type: 'string', default: '3' },
  },
});

function positive(name: string, raw: string): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const isAlg = (a: string): a is SigningAlg => (SIGNING_ALGS as readonly string[]).includes(a);
const algs = (values.alg ?? [...SIGNING_ALGS]).map((a) => {
  if (!isAlg(a)) throw new Error(`--alg must be one of ${SIGNING_ALGS.join(', ')}`);
  return a;
});
const ONLY = ['verify', 'token', 'flood'];
if (values.only !== undefined && !ONLY.includes(values.only)) {
  throw new Error(`--only must be one of ${ONLY.join(', ')}`);
}
const want = (part: string) => values.only === undefined || values.only === part;
const runs = positive('runs', values.runs);
const warmupMs = positive('warmup-ms', values['warmup-ms']);
const verifySchedule = { runs, ms: positive('ms', values.ms), warmupMs };
const tokenSchedule = { runs, ms: positive('token-ms', values['token-ms']), warmupMs };

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const started = performance.now();
console.log(
  `gatehouse bench:auth — node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model ?? '?'}), ` +
    `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, load average ${load()}`,
);
console.log(
  `each figure: median of ${runs} interleaved runs of ~${verifySchedule.ms} ms ` +
    `(token endpoint ~${tokenSchedule.ms} ms), after a ${warmupMs} ms warm-up\n` +
    'raw = crypto.verify on a KeyObject with the signing input and signature split in advance; ' +
    'cb = its callback form (libuv pool); seq = awaited one at a time; cores = CPU time ÷ wall time',
);

if (want('verify')) {
  const figs: VerifyFigures[] = [];
  for (const alg of algs) {
    process.stderr.write(`measuring verification, ${alg}…\n`);
    figs.push(await benchVerify(alg, verifySchedule));
  }
  printVerify(figs, await benchPoolHop(verifySchedule), runs);
}
if (want('token')) {
  const alg = algs[0] ?? 'ES256';
  process.stderr.write(`measuring the token endpoint, ${alg}…\n`);
  printToken(await benchTokenEndpoint(alg, tokenSchedule), runs);
}
if (want('flood')) {
  const samples = positive('flood-samples', values['flood-samples']);
  const rounds = positive('flood-rounds', values['flood-rounds']);
  const scenarios = ['none', 'default', 'unthrottled', 'libuv'] as const;
  const all: FloodFigures[] = [];
  // Rounds interleave the scenarios, so a noisy neighbour hits each alike.
  for (let r = 1; r <= rounds; r++) {
    for (const scenario of scenarios) {
      process.stderr.write(`round ${r}/${rounds}: a legit client under flood: ${scenario}…\n`);
      all.push(await benchFlood(scenario, samples));
    }
  }
  printFlood(
    scenarios.map((s) => combineFlood(all.filter((f) => f.scenario === s))),
    rounds,
  );
}
console.log(
  `\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s, load average now ${load()}`,
);
