/**
 * @module bench/inference — `npm run bench:inference`: inference throughput through the real HTTP
 * API (a separate load process with keep-alive connections, a token from the token endpoint) against the
 * same models called in-process, in one run: USE-lite embeddings (sentences/s at 1, 8 and 32
 * clients, batching on and off) and stories260K streamed chat (tokens/s, TTFT) when the GGUF is
 * present, plus the resident set after each model loads. Printed as tables with the target checks;
 * nothing is asserted.
 *
 * Options: --runs N (5), --ms N per measured run (1500), --warmup-ms N (500), --max-tokens N
 * (256), --threads N (tfjs workers; default as `gatehouse serve`: min(2, CPUs)),
 * --only embed|llama, --profile embed|llama (only HTTP embeddings ×32, or one streamed chat
 * client, for --profile-ms N, 10000: run it under `node --cpu-prof --cpu-prof-dir=/tmp/…
 * --import tsx` and read the result with bench/cpu-profile.ts).
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  countTokensUs,
  embedModels,
  embedRunners,
  EMBED_MODEL,
  fairnessFigures,
  NOBATCH_MODEL,
  type FairnessFigures,
} from './support/embed-bench.js';
import { startLoadProcess } from './support/http-load.js';
import { embeddingHandle, startBenchApp, type BenchApp } from './support/inference-app.js';
import {
  printChecks,
  printEmbed,
  printLlama,
  printMemory,
  type MemoryRow,
} from './support/inference-report.js';
import {
  apiLlamaRunners,
  apiText,
  haveStories,
  loadDirectLlama,
  STORIES_MODEL,
  STORIES_PATH,
  storiesModel,
  type DirectLlama,
} from './support/llama-bench.js';
import { profileRun, type ProfileTarget } from './support/profile-run.js';
import { interleave, type Runner, type Summary } from './support/samples.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    ms: { type: 'string', default: '1500' },
    'warmup-ms': { type: 'string', default: '500' },
    'max-tokens': { type: 'string', default: '256' },
    threads: { type: 'string', default: String(Math.min(2, availableParallelism())) },
    only: { type: 'string' },
    profile: { type: 'string' },
    'profile-ms': { type: 'string', default: '10000' },
  },
});

function positive(name: string, raw: string): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
}
const isPart = (v: string | undefined): v is ProfileTarget => v === 'embed' || v === 'llama';
if (values.only !== undefined && !isPart(values.only)) {
  throw new Error('--only must be embed or llama');
}
if (values.profile !== undefined && !isPart(values.profile)) {
  throw new Error('--profile must be embed or llama');
}
const profile = values.profile;
const schedule = {
  runs: positive('runs', values.runs),
  ms: positive('ms', values.ms),
  warmupMs: positive('warmup-ms', values['warmup-ms']),
};
const maxTokens = positive('max-tokens', values['max-tokens']);
const threads = positive('threads', values.threads);
const part = profile ?? values.only;
const withEmbed = part !== 'llama';
const withLlama = part !== 'embed' && haveStories();
if (profile === 'llama' && !withLlama) throw new Error(`${STORIES_PATH} is not present`);

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const started = performance.now();
const progress = (text: string) => process.stderr.write(`${text}…\n`);
console.log(
  `gatehouse bench:inference — node ${process.version}, ${availableParallelism()} CPUs ` +
    `(${cpus()[0]?.model ?? '?'}), load average ${load()}`,
);

const models = [
  // The batching-off copy is not profiled.
  ...(withEmbed ? embedModels(threads).slice(0, profile === undefined ? 2 : 1) : []),
  ...(withLlama ? [storiesModel()] : []),
];
progress('loading models');
const bench: BenchApp = await startBenchApp(models);
const loader = startLoadProcess();
let direct: DirectLlama | undefined;
try {
  if (profile !== undefined) {
    progress(`profiling ${profile} for ${values['profile-ms']} ms`);
    await profileRun(
      bench,
      loader,
      profile,
      positive('profile-ms', values['profile-ms']),
      maxTokens,
    );
  } else {
    await measureAll();
  }
} finally {
  await loader.close();
  await direct?.close();
  await bench.close();
}
console.log(
  `\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s, load average now ${load()}`,
);

async function measureAll(): Promise<void> {
  let sameText = '';
  const embed = withEmbed ? embedRunners(bench, loader) : {};
  let llama: Record<string, Runner> = {};
  if (withLlama) {
    const served = bench.app.inference.served.get(STORIES_MODEL).handle;
    if (served.task !== 'generation') throw new Error('stories is not a generation model');
    progress('loading stories260K directly with node-llama-cpp');
    direct = await loadDirectLlama(served.contextSize, maxTokens);
    const same = (await direct.text(0)) === (await apiText(bench, 0, maxTokens));
    sameText = `stories260K: the API and node-llama-cpp alone ${same ? 'wrote the same text' : 'wrote DIFFERENT texts'} for the first prompt (temperature 0).`;
    llama = { ...apiLlamaRunners(bench, loader, maxTokens), ...direct.runners };
  }
  console.log(
    `each figure: median of ${schedule.runs} interleaved runs of ~${schedule.ms} ms after a ` +
      `${schedule.warmupMs} ms warm-up; closed-loop clients (each sends its next request when ` +
      'the last one is answered);\nHTTP clients run in a separate process (node:http keep-alive agent for embeddings, fetch for streams) ' +
      'with a bearer token from POST /oauth/token (client_credentials), verified on every request ' +
      '(verify cache on, as in production).',
  );
  if (!withLlama && values.only !== 'embed') {
    console.log(`stories260K section skipped: ${STORIES_PATH} is not present.`);
  }
  const tokenizeUs = withEmbed ? countTokensUs(bench.app, 300) : Number.NaN;
  const connectionsBefore = bench.connections();
  const all = await interleave({ ...embed, ...llama }, schedule, progress);
  const part = (keys: readonly string[]) =>
    Object.fromEntries(keys.flatMap((k) => (all[k] === undefined ? [] : [[k, all[k]]]))) as Record<
      string,
      Summary
    >;
  const embedFigures = withEmbed ? part(Object.keys(embed)) : undefined;
  const llamaFigures = withLlama ? part(Object.keys(llama)) : undefined;
  const workers = withEmbed ? (embeddingHandle(bench.app, EMBED_MODEL).parallelism ?? 1) : 1;
  if (embedFigures !== undefined) {
    printEmbed(
      embedFigures,
      workers,
      schedule.runs,
      `${bench.connections() - connectionsBefore} TCP connections accepted over the whole run;\n` +
        `countTokens on the main thread (the service tokenizes each input for usage before batching): ${tokenizeUs.toFixed(0)} µs per sentence`,
    );
  }
  if (llamaFigures !== undefined) {
    printLlama(llamaFigures, schedule.runs, maxTokens);
    console.log(sameText);
  }
  if (withEmbed) printFairness(await fairnessFigures(bench.app));
  printMemory(await memoryRows());
  printChecks(embedFigures, workers, llamaFigures);
}

interface ModelsAnswer {
  data: {
    id: string;
    gatehouse: { load_ms: number; rss_delta_bytes: number; size_bytes: number | null };
  }[];
}

/** RSS after each load, with what GET /v1/models reports for it. */
async function memoryRows(): Promise<MemoryRow[]> {
  const res = await fetch(`${bench.base}/v1/models`, {
    headers: { authorization: bench.authorization },
  });
  if (res.status !== 200) throw new Error(`GET /v1/models answered ${res.status}`);
  const listed = new Map(((await res.json()) as ModelsAnswer).data.map((m) => [m.id, m.gatehouse]));
  const rows: MemoryRow[] = [
    { what: 'start (node, tsx, app code; before buildApp)', rssAfter: bench.rssBefore },
  ];
  const backend = new Map(models.map((m) => [String(m.id), String(m.backend)]));
  for (const [id, rssAfter] of bench.rssAfterLoad) {
    const g = listed.get(id);
    const note = id === NOBATCH_MODEL ? ', maxBatch 1' : '';
    rows.push({
      what: `loading ${id} (${backend.get(id) ?? '?'}${backend.get(id) === 'tfjs' ? `, ${threads} workers` : ''}${note})`,
      rssAfter,
      ...(g === undefined
        ? {}
        : {
            loadMs: g.load_ms,
            rssDelta: g.rss_delta_bytes,
            ...(g.size_bytes === null ? {} : { sizeBytes: g.size_bytes }),
          }),
    });
  }
  if (direct !== undefined) {
    rows.push({
      what: 'loading stories260K directly (node-llama-cpp, the bench’s own copy)',
      rssAfter: direct.rssAfter,
      loadMs: direct.loadMs,
      rssDelta: direct.rssDeltaBytes,
    });
  }
  rows.push({ what: 'end of the run (after all workloads)', rssAfter: process.memoryUsage().rss });
  return rows;
}

/** Identity B's one-sentence latency alone and while identity A floods 2,048-sentence requests. */
function printFairness(f: FairnessFigures): void {
  const q = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return (s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN).toFixed(0);
  };
  console.log(
    `\nfairness (InferenceService.embed, ${EMBED_MODEL}): identity B, one sentence per request, ` +
      `${f.alone.length} sequential requests — alone: median ${q(f.alone, 0.5)} ms, p95 ${q(f.alone, 0.95)} ms; ` +
      `while identity A keeps two 2,048-sentence requests in flight: median ${q(f.flooded, 0.5)} ms, ` +
      `p95 ${q(f.flooded, 0.95)} ms, ${f.refused} refused (429); A: ${f.bigDone} answered, ${f.bigRefused} refused (over its share), ${f.bigTimedOut} past the deadline.`,
  );
}
