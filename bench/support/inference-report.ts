/**
 * @module bench/support/inference-report — the printed tables of `bench:inference` and its target
 * checks: HTTP at 32 clients ≥ 0.9× the best in-process batched throughput, batching ≥ 2× no
 * batching at 32 clients, and streamed chat through the API ≥ 0.9× node-llama-cpp alone.
 */
import {
  bestDirectKey,
  directKey,
  HTTP_BASE64_KEY,
  httpKey,
  NOBATCH_MODEL,
  SERVICE_KEY,
} from './embed-bench.js';
import { apiKey, LLAMA_WIDTHS, llamaDirectKey } from './llama-bench.js';
import { spread, type Sample, type Summary } from './samples.js';
import { perSec, printTable, ratio, verdict } from './table.js';

/** HTTP at 32 clients as a share of the best in-process batched throughput. */
export const HTTP_TARGET = 0.9;
/** Batching on ÷ off at 32 clients. */
export const BATCHING_TARGET = 2;
/** Tokens/s through the API as a share of node-llama-cpp alone. */
export const LLAMA_TARGET = 0.9;

const num = (title: string) => ({ title, right: true });
const fixed = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(0)}%` : '–');
const get = (all: Readonly<Record<string, Summary>>, key: string): Sample | undefined =>
  all[key]?.median;
const rate = (all: Readonly<Record<string, Summary>>, key: string) =>
  get(all, key)?.perSec ?? Number.NaN;

const CPU_COLUMNS = [
  num('CPU ms/unit'),
  num('server cores'),
  num('main cores'),
  num('client cores'),
  num('others'),
  num('spread'),
];
const cpuCells = (s: Sample, sum: Summary) => [
  fixed(1000 / perCpuSecond(s), 2),
  fixed(s.cores, 2),
  fixed(s.mainCores, 2),
  fixed(s.clientCores, 2),
  fixed(s.otherCores, 2),
  pct(spread(sum)),
];

/** The embedding table, one row per workload in run order, then `notes` and a legend. */
export function printEmbed(
  all: Readonly<Record<string, Summary>>,
  workers: number,
  runs: number,
  notes: string,
): void {
  const best = bestDirectKey((k) => rate(all, k), workers);
  const label = (key: string): string => {
    if (key === SERVICE_KEY) return 'InferenceService.embed, 32 callers (micro-batcher, no HTTP)';
    if (key === HTTP_BASE64_KEY) return 'HTTP, 32 clients, encoding_format base64';
    const direct = /^direct b(\d+) ×(\d+)$/.exec(key);
    if (direct !== null) return `handle.embed(), batch ${direct[1]}, ${direct[2]} in flight`;
    const http = /^http( nobatch)? ×(\d+)$/.exec(key);
    if (http !== null) {
      const n = http[2] ?? '?';
      return `HTTP, ${n} client${n === '1' ? '' : 's'}${http[1] === undefined ? '' : `, batching off (${NOBATCH_MODEL}: maxBatch 1)`}`;
    }
    return key;
  };
  printTable(
    `use-lite (tfjs, ${workers} worker threads) — sentences/s; HTTP requests carry one sentence each; median of ${runs}`,
    [
      { title: 'workload' },
      num('sentences/s'),
      num('÷ best direct'),
      num('req/s'),
      num('p50 ms'),
      num('p99 ms'),
      num('mean batch'),
      num('workers busy'),
      ...CPU_COLUMNS,
    ],
    Object.entries(all).map(([key, sum]) => {
      const s = sum.median;
      return [
        `${label(key)}${key === best.key ? ' (best)' : ''}`,
        perSec(s.perSec),
        ratio(s.perSec / best.perSec),
        perSec(s.reqPerSec),
        fixed(s.p50Ms),
        fixed(s.p99Ms),
        fixed(s.meanBatch),
        pct(s.workerBusy),
        ...cpuCells(s, sum),
      ];
    }),
  );
  const at8 = get(all, httpKey(8));
  console.log(
    `latency at 8 HTTP clients: p50 ${fixed(at8?.p50Ms ?? Number.NaN)} ms, p99 ${fixed(at8?.p99Ms ?? Number.NaN)} ms; ${notes}\n` +
      'CPU ms/unit = CPU time of server + load process per sentence (or token); mean batch = inputs per handle.embed() call; workers busy = time with a call outstanding ÷ ' +
      '(wall × workers);\nserver cores = CPU time of this process (main thread + model workers + ' +
      'GC) ÷ wall time; main cores = the main thread’s share of it (Fastify, auth, routes, batcher, tokenizer);\nclient cores = the ' +
      'load process (HTTP client, JSON.parse); others = the rest of the machine’s busy CPU (other ' +
      'tenants of a shared VM); spread = (max − min) ÷ median over the runs.',
  );
}

/** The generation table. */
export function printLlama(
  all: Readonly<Record<string, Summary>>,
  runs: number,
  maxTokens: number,
): void {
  const rows: string[][] = [];
  for (const w of LLAMA_WIDTHS) {
    const direct = rate(all, llamaDirectKey(w));
    for (const [key, what] of [
      [apiKey(w), `API, /v1/chat/completions stream, ${w} client${w === 1 ? '' : 's'}`],
      [llamaDirectKey(w), `node-llama-cpp LlamaChatSession, ${w} at once`],
    ] as const) {
      const sum = all[key];
      if (sum === undefined) continue;
      const s = sum.median;
      rows.push([
        what,
        perSec(s.perSec),
        ratio(s.perSec / direct),
        perSec(s.reqPerSec),
        fixed(s.perSec / s.reqPerSec),
        fixed(s.ttftMs),
        fixed(s.p50Ms),
        fixed(s.p99Ms),
        fixed(s.chunksPerToken, 2),
        ...cpuCells(s, sum),
      ]);
    }
  }
  printTable(
    `stories260K (llama-cpp, threads 1, slots 2) — completion tokens/s, max ${maxTokens} tokens, temperature 0; median of ${runs}`,
    [
      { title: 'workload' },
      num('tokens/s'),
      num('÷ direct'),
      num('req/s'),
      num('tokens/req'),
      num('TTFT p50 ms'),
      num('p50 ms'),
      num('p99 ms'),
      num('chunks/token'),
      ...CPU_COLUMNS,
    ],
    rows,
  );
  console.log(
    'tokens: API = completion_tokens of the final usage chunk; direct = tokens node-llama-cpp ' +
      'reported (onToken). TTFT = send → first non-empty content chunk.',
  );
}

/** One row of the memory table. */
export interface MemoryRow {
  what: string;
  rssAfter: number;
  loadMs?: number;
  rssDelta?: number;
  sizeBytes?: number;
}

/** The memory table. */
export function printMemory(rows: readonly MemoryRow[]): void {
  const mib = (b: number | undefined) => (b === undefined ? '' : (b / 1048576).toFixed(1));
  printTable(
    'Memory — resident set (process.memoryUsage().rss, MiB) and what GET /v1/models reports (gatehouse.load_ms, rss_delta_bytes)',
    [{ title: 'after' }, num('RSS MiB'), num('load ms'), num('rss delta MiB'), num('artifact MiB')],
    rows.map((r) => [
      r.what,
      mib(r.rssAfter),
      r.loadMs === undefined ? '' : String(Math.round(r.loadMs)),
      mib(r.rssDelta),
      mib(r.sizeBytes),
    ]),
  );
}

/** Units per CPU-second of the benchmark's own processes (server + load process). */
export function perCpuSecond(s: Sample): number {
  return s.perSec / (s.cores + (Number.isNaN(s.clientCores) ? 0 : s.clientCores));
}

type Figures = Readonly<Record<string, Summary>>;

/** Check rows with `value(key)` as the figure compared. */
function checkRows(
  embed: Figures | undefined,
  workers: number,
  llama: Figures | undefined,
  value: (all: Figures, key: string) => number,
): string[][] {
  const rows: string[][] = [];
  const row = (model: string, check: string, r: number, target: number) => [
    model,
    check,
    ratio(r),
    `≥ ${ratio(target)}`,
    verdict(r >= target),
  ];
  if (embed !== undefined) {
    const best = bestDirectKey((k) => value(embed, k), workers);
    const http32 = value(embed, httpKey(32));
    rows.push(
      row(
        'use-lite',
        `HTTP ×32 ÷ best direct batched (${best.key.replace('direct ', '')})`,
        http32 / best.perSec,
        HTTP_TARGET,
      ),
      row(
        'use-lite',
        'HTTP ×32 batching on ÷ off',
        http32 / value(embed, httpKey(32, false)),
        BATCHING_TARGET,
      ),
      // Not a check: what batching can give at most, the model alone in-process. HTTP with
      // batching cannot beat the best direct figure, nor HTTP without it direct batch 1.
      [
        'use-lite',
        `  bound: model alone, best batched ÷ ${directKey(1, workers).replace('direct ', '')}`,
        ratio(best.perSec / value(embed, directKey(1, workers))),
        '',
        'reference',
      ],
    );
  }
  for (const w of llama === undefined ? [] : LLAMA_WIDTHS) {
    const r = value(llama ?? {}, apiKey(w)) / value(llama ?? {}, llamaDirectKey(w));
    rows.push(
      row(
        'stories260K',
        `API ÷ direct tokens/s, ${w} client${w === 1 ? '' : 's'}`,
        r,
        LLAMA_TARGET,
      ),
    );
  }
  return rows;
}

/** The target checks on wall-clock throughput, then the same ratios per CPU-second. */
export function printChecks(
  embed: Figures | undefined,
  workers: number,
  llama: Figures | undefined,
): void {
  const columns = [
    { title: 'model' },
    { title: 'check' },
    num('measured'),
    num('target'),
    { title: 'result' },
  ];
  printTable(
    'Target checks (wall-clock throughput, as specified)',
    columns,
    checkRows(embed, workers, llama, rate),
  );
  printTable(
    'The same ratios per CPU-second (units ÷ CPU time of server + load process): what a quiet machine would show if both sides could use every core',
    columns,
    checkRows(embed, workers, llama, (all, key) => {
      const s = get(all, key);
      return s === undefined ? Number.NaN : perCpuSecond(s);
    }),
  );
}
