/**
 * @module bench/receipts — `npm run bench:receipts`: what a signed receipt costs the server, per
 * way of signing it, side by side: main-thread CPU per receipt (the event loop's budget is a few
 * µs: an authenticated echo request costs ~100–130 µs of server CPU and receipts may cost ≤ 5%),
 * CPU of every thread per receipt (thread pool and workers included: on a 2-core machine that is
 * taken from the load as well), receipts per second and the latency a receipt adds. Figures are
 * medians of interleaved rounds. Not a test: nothing is asserted.
 *
 * Then the same signers inside a node:http server loaded over loopback by a separate process
 * (receipts arrive as responses finish): throughput with receipts vs without.
 *
 * Options: --runs N (5), --ms N per measured run (500), --warmup-ms N (200), --concurrency N
 * (receipts asked for together, like responses of concurrent connections; 32), --alg ES256|EdDSA|
 * RS256 (repeatable; default ES256, the server's default), --http-ms N per HTTP run (2000),
 * --request-us N of CPU per HTTP request, standing in for the pipeline (100), --only micro|http.
 */
import { generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { CompactSign, exportJWK, importJWK } from 'jose';
import { boundSigner, encodedHeader } from '../src/audit/receipts-sign.js';
import { createReceiptSigner } from '../src/audit/receipts-signer.js';
import { encodeClaims, RECEIPT_TYP, type ReceiptSubject } from '../src/audit/receipts.js';
import type { SigningAlg } from '../src/auth/index.js';
import { SIGNING_ALGS } from '../src/config/index.js';
import { median } from './support/measure.js';
import { httpRounds, printHttp, turnLater } from './support/receipts-http.js';
import { printTable } from './support/table.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    ms: { type: 'string', default: '500' },
    'warmup-ms': { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '32' },
    alg: { type: 'string', multiple: true },
    'http-ms': { type: 'string', default: '2000' },
    'request-us': { type: 'string', default: '100' },
    only: { type: 'string' },
  },
});
const positive = (name: string, raw: string): number => {
  const v = Number(raw);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
};
const runs = positive('runs', values.runs);
const ms = positive('ms', values.ms);
const warmupMs = positive('warmup-ms', values['warmup-ms']);
const width = positive('concurrency', values.concurrency);
if (values.only !== undefined && !['micro', 'http'].includes(values.only)) {
  throw new Error('--only must be micro or http');
}
const want = (part: string) => values.only === undefined || values.only === part;
const algs = (values.alg ?? ['ES256']).map((a) => {
  if (!(SIGNING_ALGS as readonly string[]).includes(a)) {
    throw new Error(`--alg must be one of ${SIGNING_ALGS.join(', ')}`);
  }
  return a as SigningAlg;
});

/** CPU time of the calling (main) thread in µs, from /proc (kernel ticks, 10 ms resolution). */
function mainThreadCpuUs(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000; // utime + stime, USER_HZ = 100
}

let seq = 0;
const subject = (): ReceiptSubject => {
  seq++;
  return {
    sub: 'client:bench',
    client_id: 'bench',
    request_id: `req-${seq}`,
    model: 'echo',
    model_sha256: null,
    prompt_sha256: 'a'.repeat(64),
    output_sha256: 'b'.repeat(64),
    chain: 'bench-replica',
    seq,
  };
};
const iss = 'http://127.0.0.1:8080';
const claimsBytes = (s: ReceiptSubject): Buffer =>
  Buffer.from(encodeClaims(s, iss, Math.floor(Date.now() / 1000)));

type Op = () => Promise<string>;
interface Option {
  name: string;
  op: Op;
  close?: () => Promise<unknown>;
  stats?: () => { receipts: number; signatures: number };
}

function workerSigner(alg: SigningAlg, key: KeyObject): Option {
  const pem = key.export({ format: 'pem', type: 'pkcs8' }).toString();
  const code = `
    const { parentPort, workerData: w } = require('node:worker_threads');
    const { createPrivateKey, sign } = require('node:crypto');
    const k = createPrivateKey(w.pem);
    const key = w.p1363 ? { key: k, dsaEncoding: 'ieee-p1363' } : k;
    parentPort.on('message', ({ id, input }) => {
      parentPort.postMessage({ id, sig: sign(w.hash, Buffer.from(input), key).toString('base64url') });
    });`;
  const b = boundSigner({ kid: 'bench', alg, privateKey: key });
  const worker = new Worker(code, {
    eval: true,
    workerData: { pem, hash: b.hash, p1363: alg === 'ES256' },
  });
  const waiting = new Map<number, (sig: string) => void>();
  worker.on('message', ({ id, sig }: { id: number; sig: string }) => {
    waiting.get(id)?.(sig);
    waiting.delete(id);
  });
  let next = 0;
  return {
    name: 'per response, worker thread (one message each)',
    op: () => {
      const input = `${encodedHeader(alg, 'bench', RECEIPT_TYP)}.${claimsBytes(subject()).toString('base64url')}`;
      const id = next++;
      return new Promise((resolve) => {
        waiting.set(id, (sig) => {
          resolve(`${input}.${sig}`);
        });
        worker.postMessage({ id, input });
      });
    },
    close: () => worker.terminate(),
  };
}

function keyFor(alg: SigningAlg): KeyObject {
  return generateKeyPairSync(
    ...((alg === 'ES256'
      ? ['ec', { namedCurve: 'P-256' }]
      : alg === 'EdDSA'
        ? ['ed25519']
        : ['rsa', { modulusLength: 2048 }]) as ['ec', { namedCurve: string }]),
  ).privateKey;
}

async function optionsFor(alg: SigningAlg): Promise<Option[]> {
  const privateKey = keyFor(alg);
  const cryptoKey = await importJWK(await exportJWK(privateKey), alg);
  const keys = { signingKey: () => ({ kid: 'bench', alg, privateKey }) };
  const b = boundSigner({ kid: 'bench', alg, privateKey });
  const single = createReceiptSigner({ keys, issuer: iss, clock: Date.now, mode: 'single' });
  const batch = createReceiptSigner({ keys, issuer: iss, clock: Date.now, mode: 'batch' });
  return [
    {
      name: 'no receipt (what the harness itself costs)',
      op: () => {
        subject();
        return Promise.resolve('');
      },
    },
    {
      name: 'per response, jose CompactSign (WebCrypto)',
      op: () =>
        new CompactSign(claimsBytes(subject()))
          .setProtectedHeader({ alg, kid: 'bench', typ: RECEIPT_TYP })
          .sign(cryptoKey),
    },
    {
      name: 'per response, node:crypto sign, synchronous',
      op: () => {
        const input = `${encodedHeader(alg, 'bench', RECEIPT_TYP)}.${claimsBytes(subject()).toString('base64url')}`;
        const sig = cryptoSign(b.hash, Buffer.from(input), b.key).toString('base64url');
        return Promise.resolve(`${input}.${sig}`);
      },
    },
    {
      name: 'per response, node:crypto sign on the thread pool (mode single)',
      op: () => single.sign(subject()),
      close: () => single.close(),
    },
    workerSigner(alg, privateKey),
    {
      name: 'Merkle batch, one signature per batch (mode batch, default)',
      op: () => batch.sign(subject()),
      close: () => batch.close(),
      stats: () => batch.stats(),
    },
  ];
}

interface Sample {
  mainUs: number;
  cpuUs: number;
  perSec: number;
  p50: number;
  p99: number;
}

/** `at` receipts asked for together, again and again, for `runMs`. */
async function run(op: Op, runMs: number, at = width): Promise<Sample> {
  const latencies: number[] = [];
  const timed = async () => {
    const t = performance.now();
    await op();
    latencies.push(performance.now() - t);
  };
  const main = mainThreadCpuUs();
  const cpu = process.cpuUsage();
  const start = performance.now();
  let n = 0;
  do {
    await Promise.all(Array.from({ length: at }, timed));
    n += at;
  } while (performance.now() - start < runMs);
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  latencies.sort((x, y) => x - y);
  const q = (f: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))] ?? 0;
  return {
    mainUs: (mainThreadCpuUs() - main) / n,
    cpuUs: (used.user + used.system) / n,
    perSec: (n * 1000) / wall,
    p50: q(0.5),
    p99: q(0.99),
  };
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(
  `gatehouse bench:receipts — node ${process.version}, ${availableParallelism()} CPUs ` +
    `(${cpus()[0]?.model ?? '?'}), UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, ` +
    `load average ${load()}`,
);
console.log(
  `each figure: median of ${runs} interleaved runs of ~${ms} ms after a ${warmupMs} ms warm-up; ` +
    `${width} receipts asked for together (as by ${width} concurrent responses)\n` +
    'main = CPU of the main thread per receipt (/proc, 10 ms ticks); all = CPU of every thread ' +
    '(main, libuv pool, workers, GC); latency = from sign() to the receipt',
);

const columns = [
  { title: 'option' },
  { title: 'main µs/receipt', right: true },
  { title: 'all µs/receipt', right: true },
  { title: 'receipts/s', right: true },
  { title: 'p50 ms', right: true },
  { title: 'p99 ms', right: true },
];

/** Interleaved rounds of `options` with `at` receipts at a time; one table row each. */
async function measure(alg: SigningAlg, options: readonly Option[], at: number) {
  for (const o of options) await run(o.op, warmupMs, at);
  const samples = new Map<string, Sample[]>(options.map((o) => [o.name, []]));
  for (let r = 0; r < runs; r++) {
    process.stderr.write(`${alg}, ${at} at a time: round ${r + 1} of ${runs}\n`);
    for (const o of options) samples.get(o.name)?.push(await run(o.op, ms, at));
  }
  return options.map((o) => {
    const s = samples.get(o.name) ?? [];
    const m = (f: (x: Sample) => number) => median(s.map(f));
    return [
      o.name,
      m((x) => x.mainUs).toFixed(1),
      m((x) => x.cpuUs).toFixed(1),
      Math.round(m((x) => x.perSec)).toLocaleString('en-US'),
      m((x) => x.p50).toFixed(2),
      m((x) => x.p99).toFixed(2),
    ];
  });
}

for (const alg of want('micro') ? algs : []) {
  const options = await optionsFor(alg);
  printTable(`receipts, ${alg}, ${width} at a time`, columns, await measure(alg, options, width));
  const st = options.at(-1)?.stats?.() ?? { receipts: 0, signatures: 1 };
  console.log(`batch mode: ${(st.receipts / st.signatures).toFixed(1)} receipts per signature`);
  // An idle server: one receipt at a time shows the latency a lone response pays.
  const lone = options.filter((o) => o.name.includes('mode '));
  printTable(`receipts, ${alg}, one at a time`, columns, await measure(alg, lone, 1));
  for (const o of options) await o.close?.();
}

if (want('http')) {
  const alg = algs[0] ?? 'ES256';
  const requestUs = positive('request-us', values['request-us']);
  const privateKey = keyFor(alg);
  const keys = { signingKey: () => ({ kid: 'bench', alg, privateKey }) };
  const signer = (mode: 'batch' | 'single') =>
    createReceiptSigner({ keys, issuer: iss, clock: Date.now, mode });
  const sample = await signer('batch').sign(subject());
  const variants = [
    { name: 'no receipts', signer: null },
    {
      name: `a fixed ${String(sample.length)}-byte header a turn later`,
      signer: turnLater(sample),
    },
    { name: 'Merkle batch (default)', signer: signer('batch') },
    { name: 'per response on the thread pool (single)', signer: signer('single') },
  ];
  const figs = await httpRounds(
    variants,
    { requestUs, width, ms: positive('http-ms', values['http-ms']), runs },
    subject,
    (t) => process.stderr.write(`${t}\n`),
  );
  printHttp(
    `receipts in an HTTP server, ${alg}: ${String(requestUs)} µs of CPU per request, ` +
      `${String(width)} keep-alive connections over loopback`,
    variants,
    figs,
  );
  for (const v of variants) await v.signer?.close();
}
console.log(`\nload average now ${load()}`);
